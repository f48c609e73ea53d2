"""The pseudo-terminal the SIL device serves on: the host opens the slave path with pyserial like a board.

Only plumbing lives here (open, raw mode, non-blocking reads and writes with a bounded output buffer); what
travels over it is decided by the firmware core's dispatcher.
"""

from __future__ import annotations

import errno
import os
import select
import tty


class PtyPort:
    """A pseudo-terminal pair in raw mode. The SIL reads and writes the master; `path` is what clients open.

    The SIL keeps the slave open too, so the master does not see EIO between two client connections
    (a board's USB port also exists while no program has it open).
    """

    # Bytes the SIL holds for a slow or absent reader before it drops whole frames, like the board's
    # USB TX ring (the host sees the drop as a sequence gap).
    MAX_PENDING = 256 * 1024

    def __init__(self):
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        os.set_blocking(self.master_fd, False)
        self.path = os.ttyname(self.slave_fd)
        self._pending = bytearray()
        self.dropped_bytes = 0
        self.closed = False

    def fileno(self) -> int:
        return self.master_fd

    def read(self, timeout_s: float) -> bytes:
        """Bytes the client wrote, waiting at most `timeout_s`; b"" when nothing arrived."""
        try:
            ready, _, _ = select.select([self.master_fd], [], [], max(0.0, timeout_s))
            if not ready:
                return b""
            return os.read(self.master_fd, 65536)
        except BlockingIOError:
            return b""
        except OSError as err:
            if err.errno == errno.EIO:  # no client holds the slave: nothing to read
                return b""
            raise

    def write(self, frame: bytes, droppable: bool = False) -> bool:
        """Queue `frame` for the client and push what the pty accepts now.

        A droppable frame (streamed samples and scores) is discarded whole when the queue is full;
        replies are always queued. Returns False when the frame was dropped.
        """
        if droppable and len(self._pending) + len(frame) > self.MAX_PENDING:
            self.dropped_bytes += len(frame)
            self.flush()
            return False
        self._pending += frame
        self.flush()
        return True

    def flush(self) -> None:
        """Write as much of the queue as the pty takes without blocking."""
        while self._pending:
            try:
                n = os.write(self.master_fd, self._pending)
            except BlockingIOError:
                return
            except OSError as err:
                if err.errno in (errno.EIO, errno.EAGAIN):
                    return
                raise
            if n <= 0:
                return
            del self._pending[:n]

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Close both ends: a client reading the slave sees the port vanish (EIO), as on unplugging a board."""
        if self.closed:
            return
        self.closed = True
        for fd in (self.master_fd, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass
