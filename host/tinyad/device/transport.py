"""Serial transport to a board or the SIL device: bytes in and out with a deadline on every read.

The transport owns the port and the frame decoder (the firmware's own C++ decoder through tinyad._core
when it is built, else the Python reference codec). Every failure of the port itself - it vanished, it was
never there, it stopped answering - becomes a DeviceError that names the port.
"""

from __future__ import annotations

import os
import time
from collections import deque

from tinyad.errors import DeviceError

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_BAUD = 921600
# pyserial's own read timeout: short, so a deadline is checked several times a second.
POLL_S = 0.05


class SerialTransport:
    """A framed serial link: `send(frame_bytes)`, `next_frame(deadline)`; context manager closes the port."""

    def __init__(self, port: str, baudrate: int | None = None, open_timeout_s: float = DEFAULT_TIMEOUT_S,
                 decoder=None, serial_factory=None):
        import serial

        # The firmware's default (Kconfig TINYAD_UART_BAUD); a pty ignores it. $TINYAD_BAUD overrides.
        baudrate = baudrate or int(os.environ.get("TINYAD_BAUD", DEFAULT_BAUD))

        from tinyad.device import codec

        self.port = port
        self.decoder = decoder if decoder is not None else codec.new_decoder()
        self._frames: deque = deque()
        self.bytes_in = 0
        self.bytes_out = 0
        factory = serial_factory or serial.Serial
        try:
            self._serial = factory(port, baudrate=baudrate, timeout=POLL_S, write_timeout=open_timeout_s)
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceError(f"cannot open {port}: {err}",
                              hint="check the port name (`ls /dev/ttyUSB* /dev/ttyACM*`), the cable, and that "
                                   "no other program (a serial monitor, `tinyad monitor`) holds the port") from err

    # -- context manager -------------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self._serial.close()
        except Exception:  # closing a vanished port may fail; nothing is left to release
            pass

    # -- bytes -----------------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write `data` completely or raise DeviceError (vanished port, write deadline)."""
        import serial

        try:
            n = self._serial.write(data)
            self._serial.flush()
        except serial.SerialTimeoutException as err:
            raise DeviceError(f"{self.port}: write timed out", hint="the device is not reading its port") from err
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            raise self._vanished(err) from err
        self.bytes_out += n or 0

    def _read_some(self) -> bytes:
        import serial

        try:
            waiting = self._serial.in_waiting
            return self._serial.read(max(1, min(waiting, 65536)))
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            raise self._vanished(err) from err

    def _vanished(self, err: Exception) -> DeviceError:
        return DeviceError(f"{self.port}: the port vanished ({err})",
                           hint="the board was unplugged or reset, or the SIL device stopped; reconnect "
                                "and run the command again")

    # -- frames ----------------------------------------------------------------------------------------
    def next_frame(self, deadline: float):
        """The next decoded frame, or None once `time.monotonic()` passes `deadline`."""
        while not self._frames:
            if time.monotonic() >= deadline:
                return None
            data = self._read_some()
            if data:
                self.bytes_in += len(data)
                self._frames.extend(self.decoder.feed(data))
        return self._frames.popleft()

    def drain(self, quiet_s: float = 0.05, max_s: float = 2.0) -> int:
        """Discard decoded and incoming frames until the line has been quiet for `quiet_s` (at most `max_s`);
        returns the number of frames discarded (used after stopping a stream)."""
        dropped = len(self._frames)
        self._frames.clear()
        give_up = time.monotonic() + max_s
        while time.monotonic() < give_up:
            frame = self.next_frame(min(give_up, time.monotonic() + quiet_s))
            if frame is None:
                break
            dropped += 1
        return dropped

    def reset_input(self) -> None:
        """Forget unread bytes and frames (before a request whose reply must not be confused with old ones)."""
        self._frames.clear()
        try:
            self._serial.reset_input_buffer()
        except Exception as err:
            raise self._vanished(err) from err
