"""`tinyad config`: set the BTHome bind key and read/write the alert CONFIG keys of a board or the SIL device."""

from __future__ import annotations

import json
import sys

import click

from tinyad.errors import DeviceError, InputError


@click.command("config")
@click.option("--port", "-p", required=True, envvar="TINYAD_PORT", show_envvar=True,
              help="Serial port of the board, or the pty printed by `tinyad sim`.")
@click.option("--bind-key", default=None, metavar="HEX32",
              help="Encrypt the BLE advertisements with this BTHome bind key (32 hex characters; '-' reads it "
                   "from stdin, which keeps it out of the shell history). The device stores it and answers with "
                   "its check value only.")
@click.option("--clear-bind-key", is_flag=True, help="Switch BLE encryption off (forget the bind key).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set a config key, e.g. THRESHOLD_ON=2.5 or AFFINE_SCALE+1=0.5 (repeatable, applied in order).")
@click.option("--get", "keys", multiple=True, metavar="KEY", help="Read a config key (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def config(port, bind_key, clear_bind_key, assignments, keys, as_json):
    """Set the bind key and config keys; without --set/--get/--bind-key, list every config key."""
    from tinyad.ble.bthome import parse_bind_key
    from tinyad.device.client import DeviceClient
    from tinyad.device.configure import (ALERT_INPUT_KEYS, all_key_names, check_alert_inputs, check_channels,
                                         configure, display_value, model_key_warning, parse_assignment, parse_key)

    if bind_key is not None and clear_bind_key:
        raise click.UsageError("give --bind-key or --clear-bind-key, not both")
    key = None
    if bind_key is not None:
        if bind_key == "-":
            bind_key = sys.stdin.readline()
        try:
            key = parse_bind_key(bind_key)
        except ValueError as err:
            raise InputError(str(err), hint="generate one with: python -c 'import os; print(os.urandom(16).hex())'") \
                from err
    sets = [parse_assignment(text) for text in assignments]  # all checked before anything is sent
    gets = [parse_key(name) for name in keys]

    def show(name, value):
        # Printed as each value is stored, so a later rejection cannot hide what was already applied.
        # Floats as the shortest text that reads back as the same float32: pasted into --set it restores them.
        click.echo(f"{name} = {display_value(name, value)}")

    def show_bind_key(report):
        if report.bind_key_check:
            click.echo(f"bind key set: check value {report.bind_key_check.hex()} "
                       f"(advertisements {'encrypted' if report.encrypted else 'NOT encrypted'})")
        else:
            click.echo("bind key cleared: advertisements are not encrypted")

    stored = []  # model keys set so far: warned about even when a later setting is rejected

    def on_set(name, value):
        if model_key_warning(name):
            stored.append(name)
        if not as_json:
            show(name, value)

    with DeviceClient(port) as client:
        if not (sets or gets or key is not None or clear_bind_key):
            gets = all_key_names(client.info().channels)
        else:
            check_channels([name for name, _ in sets] + gets, client.info().channels)
        # One call for the key and the settings: a rejected setting then says the key was already set.
        on_bind_key = None if as_json else show_bind_key
        try:
            report = configure(client, bind_key=key, clear_bind_key=clear_bind_key, sets=sets, on_value=on_set,
                               on_bind_key=on_bind_key)
        finally:
            for name in stored:
                click.secho(f"warning: {model_key_warning(name)}", fg="yellow", err=True)
        report.values.update(configure(client, gets=gets, on_value=None if as_json else show).values)
        touched = {name.upper() for name, _ in sets} | set(gets)
        if touched & set(ALERT_INPUT_KEYS):
            # A probability (SCORE_KIND 1) never reaches a logit threshold such as the default 1: say so now,
            # with the values in force, rather than leave a device that silently never alerts.
            try:
                problems, hint = check_alert_inputs(client)
            except DeviceError as err:  # the --set values are stored: a failed check must not hide the report
                click.secho(f"warning: could not check the thresholds: {err}", fg="yellow", err=True)
                problems, hint = [], None
            for problem in problems:
                click.secho(f"warning: {problem}", fg="yellow", err=True)
            if hint:
                click.echo(f"hint: {hint}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_dict()))  # keys in the order set/asked for, not sorted
