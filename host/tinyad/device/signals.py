"""SIGTERM handled like Ctrl-C by the long-running device commands (monitor, record, alerts).

`kill`, systemd and process supervisors send SIGTERM; without this, Python dies at once, so a monitor leaves the
board streaming. With it the same clean stop as Ctrl-C runs. (`tinyad sim` has its own handlers, which only set
a stop flag: SilDevice.stop_on_signals.)"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """A KeyboardInterrupt raised by SIGTERM: stops the same way, and says that it was not Ctrl-C."""


def interrupt_reason(err: KeyboardInterrupt) -> str:
    """How a recording or a run was stopped, for metadata and messages."""
    return "interrupted (SIGTERM)" if isinstance(err, Terminated) else "interrupted (Ctrl-C)"


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt (Terminated) in the main thread (a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def handler(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
