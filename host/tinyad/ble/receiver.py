"""The alert receiver: source-agnostic queue of advertisements -> decoded, de-duplicated alert events.

Sources (a bleak scanner, the SIL device polled over serial, a test) only enqueue `Advert` items; one
consumer decodes them with tinyad.ble.bthome, drops repeats by packet id per device, counts every
advertisement it skips and never raises on bad input.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tinyad.ble.bthome import (BTHOME_UUID, BTHOME_UUID16, BTHomeError, BTHomePacket, decode_service_data,
                               parse_ad_structures)

# Same rule as BTHome receivers (bthome-ble): a packet id is new when it is 1..63 ahead of the last one
# (mod 256), and any id is accepted again after this many seconds without a packet from the device.
PACKET_ID_WINDOW = 64
RESET_AFTER_S = 4.0

# Skip reasons that mean "could not decode" (as opposed to repeats or other devices' traffic).
ERROR_REASONS = ("truncated", "wrong_key", "no_key", "no_mac", "bad_object", "bad_item", "replayed")


@dataclass(frozen=True)
class Advert:
    """One received advertisement as a source enqueues it: no decoding in the callback.

    data is a bleak AdvertisementData, or the raw advertising payload (AD structures) as bytes.
    """

    address: str
    data: object
    rssi: int | None
    time: float


@dataclass(frozen=True)
class AlertEvent:
    """A new reading from a tinyad board."""

    time: float
    address: str
    name: str | None
    rssi: int | None
    packet_id: int
    alert: bool
    running: bool
    score: float
    encrypted: bool
    counter: int | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class DeviceState:
    """What the receiver remembers per device address."""

    address: str
    name: str | None = None
    last_packet_id: int | None = None
    last_counter: int | None = None
    last_seen: float = 0.0
    last_event: AlertEvent | None = None
    accepted: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count


class Receiver:
    """Decodes and de-duplicates advertisements; `process` returns an AlertEvent for new readings."""

    def __init__(self, bind_key: bytes | None = None, reset_after_s: float = RESET_AFTER_S):
        self.bind_key = bind_key
        self.reset_after_s = reset_after_s
        self.devices: dict[str, DeviceState] = {}
        self.counts: Counter = Counter()  # received, accepted, and one key per skip reason

    def process(self, advert: Advert) -> AlertEvent | None:
        """Decode one advertisement. Skipped ones (not BTHome, duplicate, stale, undecodable) are counted
        in `counts` (and per device for BTHome senders) and give None; nothing here raises."""
        self.counts["received"] += 1
        try:
            service_data, name = self._service_data(advert.data)
        except BTHomeError as err:
            self.counts[err.reason] += 1
            return None
        except Exception:  # a source handed us something unexpected: count it, keep running
            self.counts["bad_item"] += 1
            return None
        if service_data is None:
            self.counts["not_bthome"] += 1
            return None

        device = self.devices.get(advert.address)
        if device is None:
            device = self.devices[advert.address] = DeviceState(advert.address)
        if name:
            device.name = name
        try:
            packet = decode_service_data(service_data, advert.address, self.bind_key)
        except BTHomeError as err:
            return self._skip(device, err.reason, advert.time)
        if not packet.is_tinyad or packet.packet_id is None:
            return self._skip(device, "foreign", advert.time)

        reason = self._repeat_reason(device, packet, advert.time)
        device.last_seen = advert.time
        if reason is not None:
            return self._skip(device, reason, advert.time)

        device.last_packet_id = packet.packet_id
        if packet.counter is not None:
            device.last_counter = packet.counter
        device.accepted += 1
        self.counts["accepted"] += 1
        event = AlertEvent(
            time=advert.time,
            address=advert.address,
            name=device.name,
            rssi=advert.rssi,
            packet_id=packet.packet_id,
            alert=bool(packet.alert),
            running=bool(packet.running) if packet.running is not None else True,
            score=float(packet.score),
            encrypted=packet.encrypted,
            counter=packet.counter,
        )
        device.last_event = event
        return event

    def _skip(self, device: DeviceState, reason: str, when: float) -> None:
        self.counts[reason] += 1
        device.skipped[reason] += 1
        if reason not in ("duplicate", "stale", "replayed"):
            device.last_seen = max(device.last_seen, when)
        return None

    def _repeat_reason(self, device: DeviceState, packet: BTHomePacket, when: float) -> str | None:
        """None for a new reading, else why it is a repeat: duplicate, stale (older id) or replayed."""
        if device.last_packet_id is None or when - device.last_seen > self.reset_after_s:
            return None
        ahead = (packet.packet_id - device.last_packet_id) % 256
        if ahead == 0:
            return "duplicate"
        if ahead >= PACKET_ID_WINDOW:
            return "stale"
        # An encrypted counter must move forward: a captured packet replayed with a fresh-looking id is
        # impossible (the id is inside the ciphertext), but an old one re-sent later must not count.
        if packet.counter is not None and device.last_counter is not None and packet.counter <= device.last_counter:
            return "replayed"
        return None

    @staticmethod
    def _service_data(data) -> tuple[bytes | None, str | None]:
        """BTHome service data and local name from AdvertisementData or raw AD bytes."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            fields = parse_ad_structures(bytes(data))
            return fields.service_data.get(BTHOME_UUID16), fields.local_name
        service_data = getattr(data, "service_data", None) or {}
        payload = service_data.get(BTHOME_UUID)
        return (bytes(payload) if payload is not None else None), getattr(data, "local_name", None)

    def summary(self) -> dict:
        """Counters for the end-of-run line and tests."""
        return {"counts": dict(self.counts), "devices": {a: {"accepted": d.accepted, "skipped": dict(d.skipped)}
                                                          for a, d in self.devices.items()}}


def consume(
    adverts: "queue.Queue[Advert]",
    receiver: Receiver,
    sinks: Iterable[Callable[[AlertEvent], None]],
    stop: threading.Event,
    idle: Callable[[], None] | None = None,
    poll_s: float = 0.2,
    done: Callable[[], bool] | None = None,
) -> None:
    """The single consumer: decode queued adverts until `stop` is set and the queue is drained, or at once
    when `done()` turns true after an event (e.g. a --count limit)."""
    sinks = list(sinks)
    while True:
        try:
            advert = adverts.get(timeout=poll_s)
        except queue.Empty:
            if stop.is_set():
                return
            if idle is not None:
                idle()
            continue
        event = receiver.process(advert)
        if event is not None:
            for sink in sinks:
                sink(event)
            if done is not None and done():
                return
        if idle is not None:
            idle()


class JsonLinesLog:
    """Appends one JSON line per event to a log file, flushed per line so a crash loses nothing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def __call__(self, event: AlertEvent) -> None:
        self._file.write(event.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def format_table(receiver: Receiver, now: float | None = None) -> str:
    """The live table: one row per tinyad device, newest state first."""
    now = time.time() if now is None else now
    rows = [f"{'address':<18} {'name':<14} {'state':<8} {'score':>6} {'pkt':>4} {'rssi':>5} {'age s':>6} "
            f"{'new':>5} {'dup':>5} {'err':>4}"]
    for device in sorted(receiver.devices.values(), key=lambda d: d.address):
        event = device.last_event
        if event is None:
            continue
        state = "ERROR" if not event.running else ("ALERT" if event.alert else "ok")
        errors = sum(v for k, v in device.skipped.items() if k not in ("duplicate", "stale", "replayed"))
        rows.append(
            f"{device.address:<18} {(device.name or '-')[:14]:<14} {state:<8} {event.score:>6.3f} "
            f"{event.packet_id:>4} {event.rssi if event.rssi is not None else '-':>5} {now - event.time:>6.1f} "
            f"{device.accepted:>5} {device.skipped['duplicate'] + device.skipped['stale']:>5} {errors:>4}"
        )
    counts = receiver.counts
    rows.append(f"received {counts['received']}, new {counts['accepted']}, duplicates {counts['duplicate']}, "
                f"stale {counts['stale']}, errors {sum(v for k, v in counts.items() if k in ERROR_REASONS)}")
    return "\n".join(rows)

