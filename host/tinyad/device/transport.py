"""Serial transport to a board or the SIL device: bytes in and out with a deadline on every read.

The transport owns the port and the frame decoder (the firmware's own C++ decoder through tinyad._core
when it is built, else the Python reference codec). Every failure of the port itself - it vanished, it was
never there, it stopped answering - becomes a DeviceError that names the port.
"""

from __future__ import annotations

import errno
import os
import time
from collections import deque

from tinyad.errors import DeviceError, InputError

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_BAUD = 921600
# pyserial's own read timeout: short, so a deadline is checked several times a second.
POLL_S = 0.05
# Bytes kept from what arrived outside valid frames, to show the user (a boot log, another baud rate's noise).
UNFRAMED_SAMPLE_BYTES = 256


def parse_baud(text: str | int, source: str = "$TINYAD_BAUD") -> int:
    """A baud rate from the environment or an option: a positive integer no larger than a serial driver takes
    (pyserial passes it to the OS as a C int). InputError naming `source` otherwise."""
    value = None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str) and text.strip().isdigit():  # no signs, decimals or exponents: "9600.0" is a typo
        value = int(text.strip())
    if value is None or not 0 < value < 2**31:
        raise InputError(f"invalid {source} {str(text)!r}: a positive integer baud rate, e.g. {DEFAULT_BAUD}",
                         hint=f"the firmware's default is {DEFAULT_BAUD} (Kconfig TINYAD_UART_BAUD); unset "
                              f"{source} to use it")
    return value


def baud_from_env() -> int:
    """$TINYAD_BAUD (validated) or the firmware's default."""
    text = os.environ.get("TINYAD_BAUD")
    return DEFAULT_BAUD if text is None or text == "" else parse_baud(text)


def printable_excerpt(data: bytes, limit: int = 60) -> str:
    """The printable text in `data` (runs of other bytes become one space), at most `limit` characters."""
    text = "".join(chr(b) if 32 <= b < 127 else " " for b in data)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


class SerialTransport:
    """A framed serial link: `send(frame_bytes)`, `next_frame(deadline)`; context manager closes the port."""

    def __init__(self, port: str, baudrate: int | None = None, open_timeout_s: float = DEFAULT_TIMEOUT_S,
                 decoder=None, serial_factory=None):
        import serial

        # The firmware's default (Kconfig TINYAD_UART_BAUD); a pty ignores it. $TINYAD_BAUD overrides.
        baudrate = baud_from_env() if baudrate is None else parse_baud(baudrate, "baud rate")

        from tinyad.device import codec

        self.port = port
        self.decoder = decoder if decoder is not None else codec.new_decoder()
        self._frames: deque = deque()
        self.bytes_in = 0
        self.bytes_out = 0
        # Bytes received since the last valid frame (all of them while no frame came), and the first of them:
        # tells "nothing answered" from "something else talks on this port".
        self.unframed_bytes = 0
        self.unframed_sample = bytearray()
        factory = serial_factory or serial.Serial
        try:
            # exclusive: a second program on the port would steal replies and frames from this one (POSIX:
            # flock, which a pty honours too; Windows ports are exclusive anyway).
            self._serial = factory(port, baudrate=baudrate, timeout=POLL_S, write_timeout=open_timeout_s,
                                   exclusive=True)
        except (serial.SerialException, OSError, ValueError) as err:
            raise _open_error(port, err) from err

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
        """The next decoded frame, or None once `time.monotonic()` passes `deadline` with no frame in what has
        arrived. What is waiting on the port is read before the deadline is judged: a host paused past it (Ctrl-Z,
        a laptop asleep) finds the device's frames in the buffer, not a silent device."""
        while not self._frames:
            data = self._read_some()
            if data:
                self.bytes_in += len(data)
                frames = self.decoder.feed(data)
                if frames:
                    self.unframed_bytes = 0
                    self.unframed_sample.clear()
                else:
                    self.unframed_bytes += len(data)
                    room = UNFRAMED_SAMPLE_BYTES - len(self.unframed_sample)
                    if room > 0:
                        self.unframed_sample += data[:room]
                self._frames.extend(frames)
            if not self._frames and time.monotonic() >= deadline:  # also when bytes keep coming but no frame
                return None
        return self._frames.popleft()

    def unframed_note(self) -> str | None:
        """A sentence on the bytes received since the last valid frame, or None when there were none."""
        if not self.unframed_bytes:
            return None
        text = printable_excerpt(bytes(self.unframed_sample))
        return (f"received {self.unframed_bytes} byte(s) that were not tinyad frames"
                + (f", e.g. {text!r}" if text else " (no printable text)"))

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


def _open_error(port: str, err: Exception) -> DeviceError:
    """The DeviceError for a port that would not open: busy (locked by another program), missing, or refused."""
    code = getattr(err, "errno", None)
    text = str(err)
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY) or "exclusively lock" in text:
        return DeviceError(f"port busy: another program has {port} open",
                           hint="close the other tinyad command (monitor, record, alerts --sim) or serial monitor "
                                "(screen, minicom, idf.py monitor) on that port, then run this again")
    # pyserial repeats the errno in its message ("[Errno 2] could not open port X: [Errno 2] No such file ...");
    # the system's own words for the errno say it once.
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else text
    return DeviceError(f"cannot open {port}: {reason}",
                       hint="check the port name (`ls /dev/ttyUSB* /dev/ttyACM*`), the cable, and that no other "
                            "program (a serial monitor, `tinyad monitor`) holds the port")
