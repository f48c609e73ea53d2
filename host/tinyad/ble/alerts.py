"""`tinyad alerts` as a typed API: wire sources, the receiver and the sinks together and run until done."""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

from tinyad.ble.receiver import Advert, AlertEvent, JsonLinesLog, Receiver, consume, format_table
from tinyad.ble.sources import SIL_ADDRESS, BleakSource, DevicePollSource, SourceThread
from tinyad.errors import DeviceError, TinyadError


def event_line(event: AlertEvent) -> str:
    """One human-readable line per new reading."""
    state = "ERROR (sensor/model)" if not event.running else ("ALERT" if event.alert else "ok")
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    rssi = f" rssi {event.rssi}" if event.rssi is not None else ""
    return (f"{stamp} {event.address} {event.name or '-'} {state} score {event.score:.2f} "
            f"pkt {event.packet_id}{' enc' if event.encrypted else ''}{rssi}")


class LiveView:
    """Prints events: JSON lines, a redrawn table (on a terminal) or one line per event."""

    def __init__(self, receiver: Receiver, out: TextIO, json_lines: bool, table: bool, redraw_s: float = 0.5):
        self.receiver = receiver
        self.out = out
        self.json_lines = json_lines
        self.table = table
        self.redraw_s = redraw_s
        self._dirty = False
        self._last_draw = 0.0

    def __call__(self, event: AlertEvent) -> None:
        if self.json_lines:
            self.out.write(event.to_json() + "\n")
            self.out.flush()
        elif self.table:
            self._dirty = True
        else:
            self.out.write(event_line(event) + "\n")
            self.out.flush()

    def idle(self) -> None:
        now = time.monotonic()
        if self.table and self._dirty and now - self._last_draw >= self.redraw_s:
            self.out.write("\x1b[H\x1b[J" + format_table(self.receiver) + "\n")  # home + clear, then redraw
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
) -> Receiver:
    """Receive alerts until Ctrl-C, `duration_s` seconds, or `max_events` new readings.

    start_source(adverts, stop) returns the function a source thread runs (see sources.py); it must only
    enqueue. Decoding, de-duplication, printing and logging all happen here, in the calling thread.
    Returns the receiver (its counters say what was skipped and why). Raises DeviceError when the source
    fails (no Bluetooth adapter, the serial device vanished); pass your own `receiver` to keep its counters
    for a summary even then.
    """
    out = out or sys.stdout
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

    def idle() -> None:
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
