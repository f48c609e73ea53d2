"""Advertisement sources for the receiver. Each runs in its own thread and only enqueues `Advert`s.

* `BleakSource`: a bleak BleakScanner; its detection callback puts (address, AdvertisementData, rssi, time)
  on the queue and returns (no decoding in the callback, which runs on bleak's event loop).
* `DevicePollSource`: polls ADV_GET on a serial device (the SIL device or a board over USB) and enqueues the
  raw advertisement bytes, so `tinyad alerts --sim` works end to end without a radio.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Callable

from tinyad.ble.receiver import Advert

# The address the SIL device's beacon uses in its BTHome nonce (a locally administered MAC). The SIL must
# configure tinyad._core.bthome.Beacon with these bytes for encrypted --sim runs to decrypt.
SIL_ADDRESS = "02:00:00:00:AD:01"


class SourceThread(threading.Thread):
    """A daemon thread running a source; an exception ends the source and is kept in `error`."""

    def __init__(self, name: str, target: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as err:  # reported by the consumer, never swallowed
            self.error = err


class BleakSource:
    """Scans with bleak until `stop` is set. Active scanning (the bleak default) also collects scan
    responses; BTHome data is in the advertisement itself, so passive scanning would do as well."""

    def __init__(self, adverts: "queue.Queue[Advert]", stop: threading.Event, adapter: str | None = None):
        self.adverts = adverts
        self.stop = stop
        self.adapter = adapter

    def _on_detection(self, device, advertisement_data) -> None:
        # Only enqueue: decoding happens in the consumer thread.
        self.adverts.put_nowait(Advert(device.address, advertisement_data, advertisement_data.rssi, time.time()))

    async def _scan(self) -> None:
        from bleak import BleakScanner

        kwargs = {"detection_callback": self._on_detection}
        if self.adapter:  # BlueZ only (bleak >= 1: the `bluez` dict replaces the old `adapter` kwarg)
            kwargs["bluez"] = {"adapter": self.adapter}
        async with BleakScanner(**kwargs):
            while not self.stop.is_set():
                await asyncio.sleep(0.1)

    def run(self) -> None:
        asyncio.run(self._scan())


class DevicePollSource:
    """Polls `client.adv()` (raw advertisement bytes, b"" when not advertising) every `interval_s`."""

    def __init__(self, adverts: "queue.Queue[Advert]", stop: threading.Event, client, address: str = SIL_ADDRESS,
                 interval_s: float = 0.05):
        self.adverts = adverts
        self.stop = stop
        self.client = client
        self.address = address
        self.interval_s = interval_s
        self.polls = 0

    def run(self) -> None:
        while not self.stop.is_set():
            raw = self.client.adv()
            self.polls += 1
            if raw:
                self.adverts.put_nowait(Advert(self.address, bytes(raw), None, time.time()))
            self.stop.wait(self.interval_s)
