"""`tinyad alerts`: receive BTHome v2 alerts from tinyad boards (BLE scan) or from the SIL device (--sim)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import click
from click.core import ParameterSource

from tinyad.errors import DeviceError, InputError

# Where a bind key comes from: the board never prints it (only its check value).
KEY_SOURCE_HINT = ("the bind key is the one the board was given with `tinyad config -p PORT --bind-key HEX` (or "
                   "menuconfig's CONFIG_TINYAD_BLE_BIND_KEY): 32 hex characters; the board never prints the key, only "
                   "its check value (`tinyad config -p PORT --get BIND_KEY_CHECK`)")


@dataclass
class SimDevice:
    """What `--sim` reads from the device before polling: for the hints when nothing decodes or arrives."""

    is_sil: bool
    encrypted: bool
    check: bytes | None         # the device's BIND_KEY_CHECK (4 bytes), None when it has no key
    windows_scored: int | None  # STATUS before the run: did the device score anything meanwhile?


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
@click.pass_context
def alerts(ctx, bind_key, json_lines, log_path, duration_s, max_events, adapter, sim, port, address):
    """Show alerts (live table, lines or --json), drop repeated packet ids, optionally append to --log."""
    from tinyad.ble.alerts import SkipNotes, bleak_source, device_source, run_alerts
    from tinyad.ble.bthome import BTHomeError, parse_bind_key, parse_mac
    from tinyad.ble.sources import SIL_ADDRESS

    from_env = ctx.get_parameter_source("bind_key") is ParameterSource.ENVIRONMENT
    try:
        key = parse_bind_key(bind_key)
    except ValueError as err:
        where = "$TINYAD_BIND_KEY" if from_env else "--bind-key"
        raise InputError(f"{where}: {err}", hint=KEY_SOURCE_HINT + (
            "; fix or unset the environment variable TINYAD_BIND_KEY" if from_env else "")) from err
    # Checked up front, as monitor does: 0 or -1 would otherwise still print a reading.
    if max_events is not None and max_events < 1:
        raise InputError(f"--count {max_events} must be at least 1",
                         hint="the number of new readings to show, e.g. --count 10; leave it out to run until Ctrl-C")
    if duration_s is not None and not duration_s > 0:
        raise InputError(f"--duration {duration_s:g} must be a positive number of seconds",
                         hint="e.g. --duration 30, or leave it out to run until Ctrl-C")
    if not sim:
        # Only when typed: $TINYAD_PORT set for the other commands must not stop a Bluetooth scan.
        typed = [f"--{name}" for name in ("port", "address")
                 if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if typed:
            verb = "apply" if len(typed) > 1 else "applies"
            raise InputError(f"{' and '.join(typed)} {verb} to --sim only; without --sim `tinyad alerts` scans over "
                             f"Bluetooth", hint="add --sim to poll the advertisement of the device on that port (the "
                                                "SIL device, or a board over USB), or leave it out to scan")
    if sim and not port:
        raise InputError("--sim needs --port", hint="start the SIL device first; it prints its port")
    if address is not None:
        try:
            parse_mac(address)
        except BTHomeError as err:
            raise InputError(f"--address {address!r} is not a MAC address",
                             hint=f"six bytes as AA:BB:CC:DD:EE:FF: a board's Bluetooth address (its boot log prints "
                                  f"it); the SIL's, {SIL_ADDRESS}, is the default") from err

    from tinyad.ble.receiver import Receiver

    client = None
    device = None
    if sim:
        from tinyad.device.client import DeviceClient

        client = DeviceClient(port)
        try:
            device = _read_sim_device(client)
        except BaseException:
            client.close()
            raise
        source = device_source(client, address or SIL_ADDRESS)
    else:
        source = bleak_source(adapter)
    from tinyad.device.signals import sigterm_as_interrupt

    address_hint = None
    if device is not None and not device.is_sil and address is None:
        address_hint = "a board's adverts need its MAC: give it with --address (the boot log prints it)"
    notes = SkipNotes(key, device.check if device is not None else None, address_hint, sim=sim)
    receiver = Receiver(bind_key=key)
    started = time.monotonic()
    scored_after = None
    try:
        with sigterm_as_interrupt():  # `kill` (or `timeout`) ends it like Ctrl-C, summary included
            run_alerts(source, bind_key=key, json_lines=json_lines, log_path=log_path, duration_s=duration_s,
                       max_events=max_events, receiver=receiver, notes=notes)
        elapsed_s = time.monotonic() - started
        if client is not None and not receiver.counts.get("received"):
            scored_after = _windows_scored(client)  # did the device score anything while we polled?
    finally:
        if client is not None:
            client.close()
        # Even when the source failed (the port vanished): what was received until then is worth knowing.
        _print_summary(receiver, key, json_lines, notes)
    _check_outcome(receiver, key, notes, elapsed_s, device, scored_after)


def _read_sim_device(client) -> SimDevice:
    info = client.info()
    check = None
    if info.encrypted:
        from tinyad.device.configure import BIND_KEY_CHECK

        try:
            check = (int(client.config_get(BIND_KEY_CHECK)) & 0xFFFFFFFF).to_bytes(4, "big")
        except DeviceError:  # only for a hint: the wrong-key note then asks for the check value instead
            check = None
    return SimDevice(info.is_sil, info.encrypted, check, _windows_scored(client))


def _windows_scored(client) -> int | None:
    try:
        return client.status().windows_scored
    except DeviceError:  # only for a hint
        return None


def _check_outcome(receiver, key, notes, elapsed_s: float, device: SimDevice | None, scored_after) -> None:
    """Raise when the run showed nothing: adverts from a tinyad board arrived but none could be decrypted (exit 2,
    the input's fault), or no usable advert from a tinyad board arrived (exit 3, like a device that stays silent for
    `monitor`). Undecrypted adverts count as a board's only when notes.is_tinyad says so (its name, or --sim)."""
    counts = receiver.counts
    if counts.get("accepted", 0) or counts.get("duplicate", 0):
        return
    skips = notes.tinyad_skips(receiver)
    undecodable = skips["no_key"] + skips["wrong_key"]
    if undecodable:
        # Every tinyad advertisement failed to decrypt: the run showed nothing, which is not a success.
        if key is None:
            raise InputError(f"{undecodable} encrypted advertisement(s) received, none could be decoded: no "
                             f"bind key given", hint="pass --bind-key (or $TINYAD_BIND_KEY): the key set with "
                                                     "`tinyad config --bind-key`, 32 hex characters")
        if notes.key_check == notes.device_check:  # the device has this very key: the nonce's MAC is wrong
            raise InputError(f"{undecodable} encrypted advertisement(s) received, none could be decoded: wrong "
                             f"--address (the --bind-key is right)", hint=notes.wrong_key())
        # --address exists only with --sim: over Bluetooth the MAC is the sender's own.
        either, check = (" (or --address)", ", or check --address") if device is not None else ("", "")
        raise InputError(f"{undecodable} encrypted advertisement(s) received, none could be decoded: wrong "
                         f"--bind-key{either}", hint=f"{notes.wrong_key()}; use the key the board was given{check}")
    no_mac = skips["no_mac"]
    if no_mac:
        from tinyad.ble.alerts import NO_MAC_HINT

        raise InputError(f"{no_mac} encrypted advertisement(s) received, none could be decoded: the sender's address "
                         f"is not a MAC, and the nonce of encrypted BTHome needs it", hint=NO_MAC_HINT)
    received = counts.get("received", 0)
    if received and device is not None:  # --sim: every advertisement is the device's, so it is not a tinyad one
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()) if reason != "received")
        raise DeviceError(f"{received} advertisement(s) read from the device in {elapsed_s:.1f} s, none usable "
                          f"({skipped})", hint="tinyad firmware advertises BTHome v2 (UUID 0xFCD2) with a problem "
                                               "(or vibration) flag and a count score: does the device on that port "
                                               "run it (`tinyad info -p PORT`)?")
    if received:
        others = notes.other_undecrypted(receiver)
        also = (f"; undecrypted ones came from {', '.join(others)}, which do not look like tinyad boards"
                if others else "")
        raise DeviceError(f"{received} advertisement(s) received in {elapsed_s:.1f} s, none usable from a tinyad "
                          f"board{also}",
                          hint="a tinyad board sends BTHome v2 (UUID 0xFCD2) with a problem (or vibration) flag and "
                               "a count score, named 'tinyad' ('tiny' when encrypted); is it powered and in range "
                               "(`tinyad info -p PORT`: BLE BTHome)?")
    if device is None:
        hint = ("is the board powered, in range and advertising (`tinyad info -p PORT` shows BLE BTHome)? On Linux "
                "`bluetoothctl show` must list a powered adapter")
    elif device.is_sil and device.windows_scored is not None and scored_after == device.windows_scored:
        hint = ("the SIL device scored no window meanwhile: `tinyad sim --speed 0` scores windows (and advertises) "
                "only while a host streams from it; restart it with --speed 1 (real time) or faster")
    elif device.windows_scored is not None and scored_after == device.windows_scored:
        hint = "the board scored no window meanwhile: `tinyad info -p PORT` shows its status (a sensor error?)"
    else:
        hint = "the device advertises after each scored window; `tinyad info -p PORT` shows its status"
    raise DeviceError(f"no advertisement received in {elapsed_s:.1f} s", hint=hint)


def _print_summary(receiver, key, json_lines: bool, notes) -> None:
    # Never an empty "summary: ": received 0 says that nothing arrived.
    summary = {"received": 0, **receiver.summary()["counts"]}
    if json_lines:
        click.echo(json.dumps({"summary": summary}, sort_keys=True), err=True)
    else:
        click.echo("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.items())), err=True)
    if summary.get("accepted"):
        skips = notes.tinyad_skips(receiver)  # another device's encrypted adverts are not this command's business
        if key is None and skips["no_key"]:
            click.echo("hint: encrypted tinyad boards seen; pass --bind-key", err=True)
        if key is not None and skips["wrong_key"]:
            either = " (or --address)" if notes.sim else ""
            click.echo(f"hint: some tinyad advertisements failed the MIC check: wrong --bind-key{either}", err=True)
