"""`tinyad alerts`: receive BTHome v2 alerts from tinyad boards (BLE scan) or from the SIL device (--sim)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinyad.errors import InputError


@click.command("alerts")
@click.option("--bind-key", envvar="TINYAD_BIND_KEY", default=None, metavar="HEX32",
              help="BTHome bind key (32 hex characters) for encrypted boards; also $TINYAD_BIND_KEY.")
@click.option("--json", "json_lines", is_flag=True, help="Print one JSON line per new reading.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append every new reading as a JSON line to this file.")
@click.option("--duration", "duration_s", type=float, default=None, help="Stop after this many seconds.")
@click.option("--count", "max_events", type=int, default=None, help="Stop after this many new readings.")
@click.option("--adapter", default=None, help="Bluetooth adapter (Linux/BlueZ), e.g. hci1.")
@click.option("--sim", is_flag=True, help="Poll the advertisement of a SIL device (ADV_GET) instead of scanning.")
@click.option("--port", "-p", default=None, envvar="TINYAD_PORT", show_envvar=True,
              help="Serial port of the SIL device (or a board) for --sim, as for the other device commands.")
@click.option("--address", default=None,
              help="MAC to attribute --sim advertisements to (the nonce of encrypted ones); default: the SIL's.")
def alerts(bind_key, json_lines, log_path, duration_s, max_events, adapter, sim, port, address):
    """Show alerts (live table, lines or --json), drop repeated packet ids, optionally append to --log."""
    from tinyad.ble.alerts import bleak_source, device_source, run_alerts
    from tinyad.ble.bthome import parse_bind_key
    from tinyad.ble.sources import SIL_ADDRESS

    try:
        key = parse_bind_key(bind_key)
    except ValueError as err:
        raise InputError(str(err), hint="the key is printed by the board at first boot as 32 hex characters") from err
    if sim and not port:
        raise InputError("--sim needs --port", hint="start the SIL device first; it prints its port")

    from tinyad.ble.receiver import Receiver

    client = None
    if sim:
        from tinyad.device.client import DeviceClient

        client = DeviceClient(port)
        source = device_source(client, address or SIL_ADDRESS)
    else:
        source = bleak_source(adapter)
    from tinyad.device.signals import sigterm_as_interrupt

    receiver = Receiver(bind_key=key)
    try:
        with sigterm_as_interrupt():  # `kill` (or `timeout`) ends it like Ctrl-C, summary included
            run_alerts(source, bind_key=key, json_lines=json_lines, log_path=log_path, duration_s=duration_s,
                       max_events=max_events, receiver=receiver)
    finally:
        if client is not None:
            client.close()
        # Even when the source failed (the port vanished): what was received until then is worth knowing.
        _print_summary(receiver, key, json_lines)
    counts = receiver.counts
    undecodable = counts.get("no_key", 0) + counts.get("wrong_key", 0)
    if undecodable and not counts.get("accepted", 0) and not counts.get("duplicate", 0):
        # Every tinyad advertisement failed to decrypt: the run showed nothing, which is not a success.
        if key is None:
            raise InputError(f"{undecodable} encrypted advertisement(s) received, none could be decoded: no "
                             f"bind key given", hint="pass --bind-key (or $TINYAD_BIND_KEY): the key set with "
                                                     "`tinyad config --bind-key`, 32 hex characters")
        raise InputError(f"{undecodable} encrypted advertisement(s) received, none could be decoded: wrong --bind-key "
                         f"(or --address)", hint="use the key the board was given (`tinyad config --get "
                                                 "BIND_KEY_CHECK` shows its check value), or check --address")


def _print_summary(receiver, key, json_lines: bool) -> None:
    summary = receiver.summary()["counts"]
    if json_lines:
        click.echo(json.dumps({"summary": summary}, sort_keys=True), err=True)
    else:
        click.echo("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.items())), err=True)
    if summary.get("accepted"):
        if key is None and summary.get("no_key"):
            click.echo("hint: encrypted boards seen; pass --bind-key", err=True)
        if key is not None and summary.get("wrong_key"):
            click.echo("hint: some advertisements failed the MIC check: wrong --bind-key (or --address)", err=True)
