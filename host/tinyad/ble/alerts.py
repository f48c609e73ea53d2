"""`tinyad alerts` as a typed API: wire sources, the receiver and the sinks together and run until done."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, TextIO

from tinyad.ble.receiver import Advert, AlertEvent, DeviceState, JsonLinesLog, Receiver, consume, format_table
from tinyad.ble.sources import SIL_ADDRESS, BleakSource, DevicePollSource, SourceThread
from tinyad.errors import DeviceError, TinyadError


def event_line(event: AlertEvent) -> str:
    """One human-readable line per new reading."""
    state = "ERROR (sensor/model)" if not event.running else ("ALERT" if event.alert else "ok")
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    rssi = f" rssi {event.rssi}" if event.rssi is not None else ""
    return (f"{stamp} {event.address} {event.name or '-'} {state} score {event.score:.2f} "
            f"pkt {event.packet_id}{' enc' if event.encrypted else ''}{rssi}")


def key_check_text(bind_key: bytes) -> str:
    """The check value of a bind key as 8 hex digits (what `tinyad config --get BIND_KEY_CHECK` shows)."""
    from tinyad.protocol import bind_key_check_value

    return bind_key_check_value(bind_key).hex()


# What to do where the receiver sees no MAC (encrypted BTHome puts the MAC in the nonce).
NO_MAC_HINT = ("macOS (CoreBluetooth) hides MAC addresses, so encrypted adverts cannot be decrypted there: switch "
               "encryption off (`tinyad config -p PORT --clear-bind-key`; a menuconfig key comes back at reboot, so "
               "build without CONFIG_TINYAD_BLE_BIND_KEY), read the board's advertisement over USB with `tinyad "
               "alerts --sim -p PORT --bind-key KEY --address <board MAC>` (the boot log prints the MAC), or receive "
               "on Linux (BlueZ), Windows or Home Assistant")


# The local name a tinyad board advertises: CONFIG_TINYAD_BLE_NAME, by default "tinyad" (the SIL's "tinyad-sil"),
# complete in plain adverts; an encrypted one leaves room for 4 characters of it (AD type 0x08, shortened): "tiny".
TINYAD_NAME = "tinyad"
SHORTENED_NAME_CHARS = 4


def looks_like_tinyad(name: str | None) -> bool:
    """True for a local name a tinyad board advertises by default: `tinyad...` complete, or shortened to a prefix
    of "tinyad" of at least 4 characters (`tiny` in encrypted adverts). A board given another name does not."""
    if not name:
        return False
    return name.startswith(TINYAD_NAME) or (len(name) >= SHORTENED_NAME_CHARS and TINYAD_NAME.startswith(name))


# Skip reasons of adverts that a bind key or a MAC would have decoded.
UNDECRYPTED = ("wrong_key", "no_key", "no_mac")


class SkipNotes:
    """Says, while the receiver runs, when a device's adverts arrive but cannot be decoded (wrong or no bind key,
    no MAC) or arrive plain although a --bind-key was given: one line per device and problem, the first time.

    An encrypted advert that cannot be decrypted says nothing about its sender but its name: it is put down to a
    tinyad board only when the name looks like one (looks_like_tinyad), when the device's adverts decoded before,
    or with `sim` (a device polled with --sim: every advert is its own). Other senders (an encrypted Shelly BLU,
    say) are named as "a BTHome device (maybe not a tinyad board)", and do not count in tinyad_skips.

    device_check: the check value the device reports (`tinyad alerts --sim` reads it), None when unknown;
    address_hint: added to the wrong-key line when the address may be the culprit (a board polled with --sim)."""

    def __init__(self, bind_key: bytes | None = None, device_check: bytes | None = None,
                 address_hint: str | None = None, sim: bool = False):
        self.key_check = key_check_text(bind_key) if bind_key is not None else None
        self.device_check = device_check.hex() if device_check is not None else None
        self.address_hint = address_hint
        self.sim = sim
        self.noted: set[tuple[str, str]] = set()

    def is_tinyad(self, device: DeviceState) -> bool:
        """Whether this device's adverts are put down to a tinyad board."""
        return self.sim or device.accepted > 0 or looks_like_tinyad(device.name)

    def tinyad_skips(self, receiver: Receiver) -> Counter:
        """The skip counts (reason -> adverts) of the devices that look like tinyad boards."""
        total: Counter = Counter()
        for device in receiver.devices.values():
            if self.is_tinyad(device):
                total.update(device.skipped)
        return total

    def other_undecrypted(self, receiver: Receiver) -> dict[str, int]:
        """Address (with its name) -> undecrypted adverts, for BTHome senders that do not look like tinyad boards."""
        return {(f"{d.address} ({d.name!r})" if d.name else d.address): sum(d.skipped[r] for r in UNDECRYPTED)
                for d in receiver.devices.values()
                if not self.is_tinyad(d) and any(d.skipped[r] for r in UNDECRYPTED)}

    def __call__(self, receiver: Receiver) -> list[str]:
        notes = []
        for device in receiver.devices.values():
            problems = [r for r in UNDECRYPTED if device.skipped[r] and not device.accepted]
            if self.key_check is not None and device.last_event is not None and not device.last_event.encrypted:
                problems.append("plain")
            for problem in problems:
                if (device.address, problem) not in self.noted:
                    self.noted.add((device.address, problem))
                    notes.append(self.text(device, problem))
        return notes

    def wrong_key(self) -> str:
        """Why the key fails, as far as the check values tell."""
        mine = f"this key's check value is {self.key_check}"
        if self.device_check is None:
            why = (f"{mine}; compare it with the board's: `tinyad config -p PORT --get BIND_KEY_CHECK` "
                   "(or the boot log)")
        elif self.device_check == "0" * 8:
            why = f"{mine}, and the device reports no key (00000000)"
        elif self.device_check == self.key_check:
            why = (f"{mine}, the same as the device's, so the key is right and the MAC in the nonce is not: give "
                   f"the board's own MAC with --address (for the SIL device leave --address out)")
        else:
            why = f"{mine}, the device's is {self.device_check}: not the key the device was given"
        return why + (f"; {self.address_hint}" if self.address_hint and self.device_check != self.key_check else "")

    @staticmethod
    def other_device(device: DeviceState) -> str:
        """How a sender that does not look like a tinyad board is named."""
        named = f"named {device.name!r}" if device.name else "no name advertised"
        return (f"a BTHome device (maybe not a tinyad board: {named}; a tinyad board advertises {TINYAD_NAME!r}, "
                f"or {TINYAD_NAME[:SHORTENED_NAME_CHARS]!r} when encrypted)")

    def text(self, device: DeviceState, problem: str) -> str:
        address = device.address
        if problem in UNDECRYPTED and not self.is_tinyad(device):
            who = f"encrypted adverts from {address}, {self.other_device(device)},"
            if problem == "wrong_key":
                return f"{who} cannot be decrypted with this key; if it is a tinyad board: {self.wrong_key()}"
            if problem == "no_key":
                return (f"{who} arrive; if it is a tinyad board, pass --bind-key (or $TINYAD_BIND_KEY), the key set "
                        f"with `tinyad config --bind-key`")
            return (f"{who} arrive but that address is not a MAC, which decryption needs; if it is a tinyad board: "
                    f"{NO_MAC_HINT}")
        if problem == "wrong_key":
            return f"adverts from {address} arrive but cannot be decrypted with this key: {self.wrong_key()}"
        if problem == "no_key":
            return (f"encrypted adverts from {address} arrive: pass --bind-key (or $TINYAD_BIND_KEY), the key "
                    f"set with `tinyad config --bind-key`")
        if problem == "no_mac":
            return (f"encrypted adverts from {address} arrive but that address is not a MAC, which decryption "
                    f"needs: {NO_MAC_HINT}")
        return (f"adverts from {address} are not encrypted: they need no --bind-key (to encrypt them: `tinyad "
                f"config -p PORT --bind-key KEY`)")


class LiveView:
    """Prints events: JSON lines, a redrawn table (on a terminal) or one line per event."""

    def __init__(self, receiver: Receiver, out: TextIO, json_lines: bool, table: bool, redraw_s: float = 0.5):
        self.receiver = receiver
        self.out = out
        self.json_lines = json_lines
        self.table = table
        self.redraw_s = redraw_s
        self.notes: list[str] = []  # shown under the table, which clears the screen on each redraw
        self._dirty = False
        self._last_draw = 0.0

    def __call__(self, event: AlertEvent) -> None:
        if self.json_lines:
            self.out.write(event.to_json() + "\n")
            self.out.flush()
        elif self.table:
            self.changed()
        else:
            self.out.write(event_line(event) + "\n")
            self.out.flush()

    def changed(self) -> None:
        """Something the table shows changed (a reading, a note): redraw it at the next idle()."""
        self._dirty = True

    def idle(self) -> None:
        now = time.monotonic()
        if self.table and self._dirty and now - self._last_draw >= self.redraw_s:
            notes = "".join(f"note: {note}\n" for note in self.notes)
            self.out.write("\x1b[H\x1b[J" + format_table(self.receiver) + "\n" + notes)  # home + clear, redraw
            self.out.flush()
            self._dirty = False
            self._last_draw = now


def run_alerts(
    start_source: Callable[["queue.Queue[Advert]", threading.Event], Callable[[], None]],
    bind_key: bytes | None = None,
    json_lines: bool = False,
    table: bool | None = None,
    log_path: str | Path | None = None,
    duration_s: float | None = None,
    max_events: int | None = None,
    out: TextIO | None = None,
    receiver: Receiver | None = None,
    notes: Callable[[Receiver], list[str]] | None = None,
    err: TextIO | None = None,
) -> Receiver:
    """Receive alerts until Ctrl-C, `duration_s` seconds, or `max_events` new readings.

    start_source(adverts, stop) returns the function a source thread runs (see sources.py); it must only
    enqueue. Decoding, de-duplication, printing and logging all happen here, in the calling thread.
    Returns the receiver (its counters say what was skipped and why). Raises DeviceError when the source
    fails (no Bluetooth adapter, the serial device vanished); pass your own `receiver` to keep its counters
    for a summary even then. notes(receiver) (e.g. a SkipNotes) is asked after every advertisement for new
    lines to show while running; they go to `err` (stderr) as "note: ..." and under the table.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if max_events is not None and max_events < 1:
        raise ValueError(f"max_events must be >= 1, got {max_events}")
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    if table is None:
        table = not json_lines and out.isatty()
    adverts: "queue.Queue[Advert]" = queue.Queue()
    stop = threading.Event()
    receiver = receiver if receiver is not None else Receiver(bind_key=bind_key)
    view = LiveView(receiver, out, json_lines, table)
    log = JsonLinesLog(log_path) if log_path else None
    seen = {"events": 0}

    def count(_event: AlertEvent) -> None:
        seen["events"] += 1

    def limit_reached() -> bool:
        return max_events is not None and seen["events"] >= max_events

    sinks = [view] + ([log] if log else []) + [count]
    thread = SourceThread("tinyad-alerts-source", start_source(adverts, stop))
    deadline = None if duration_s is None else time.monotonic() + duration_s

    def idle() -> None:  # also called after every advertisement
        for note in notes(receiver) if notes is not None else ():
            view.notes.append(note)
            view.changed()  # the table shows its notes: redraw it even when no reading came with this one
            err.write(f"note: {note}\n")  # once per device and problem, while running: not only at the end
            err.flush()
        view.idle()
        if deadline is not None and time.monotonic() >= deadline:
            stop.set()
        if not thread.is_alive():
            stop.set()

    thread.start()
    try:
        consume(adverts, receiver, sinks, stop, idle=idle, done=limit_reached)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(timeout=2.0)
        if log:
            log.close()
    if thread.error is not None:
        error = thread.error
        if isinstance(error, TinyadError):  # already says what failed (e.g. the port vanished) and what to do
            raise error
        what = getattr(start_source, "description", "advertisement source")
        raise DeviceError(f"{what} failed: {type(error).__name__}: {error}",
                          hint=getattr(start_source, "hint", None)) from error
    return receiver


def _described(start, description: str, hint: str):
    start.description = description
    start.hint = hint
    return start


def bleak_source(adapter: str | None = None):
    """start_source for a bleak scan."""
    return _described(
        lambda adverts, stop: BleakSource(adverts, stop, adapter).run, "BLE scan (bleak)",
        "Linux: bluetoothd must run (systemctl start bluetooth) and `bluetoothctl show` list a powered adapter; "
        "containers and CI have no Bluetooth: use --sim with `tinyad sim`")


def device_source(client, address: str = SIL_ADDRESS, interval_s: float = 0.05):
    """start_source polling ADV_GET on an open DeviceClient (SIL or board)."""
    return _described(
        lambda adverts, stop: DevicePollSource(adverts, stop, client, address, interval_s).run,
        f"ADV_GET polling on {getattr(client, 'port', 'the device')}",
        "is `tinyad sim` (or the board) still running on that port?")
