"""Alert state machine reference (docs/protocol.md, "Scoring and alerts"), used by the trace tests against the
C++ core and by host-side replays.

States: OK, PENDING (at or above `on` for fewer than min_windows consecutive windows), ALERT (stays until the
score drops below `off` <= `on`: hysteresis), COOLDOWN (after the window that clears an alert, the next
cooldown_windows windows are ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from tinyad.errors import InputError


class AlertState(IntEnum):
    OK = 0
    PENDING = 1
    ALERT = 2
    COOLDOWN = 3


@dataclass
class AlertConfig:
    threshold_on: float
    threshold_off: float
    min_windows: int = 3
    cooldown_windows: int = 10

    def __post_init__(self):
        if not np.isfinite(self.threshold_on) or not np.isfinite(self.threshold_off):
            raise InputError("alert thresholds must be finite")
        if self.threshold_off > self.threshold_on:
            raise InputError(f"threshold_off {self.threshold_off} > threshold_on {self.threshold_on}",
                             hint="the off threshold must not exceed the on threshold (hysteresis)")
        if self.min_windows < 1 or self.cooldown_windows < 0:
            raise InputError("min_windows must be >= 1 and cooldown_windows >= 0")


class AlertMachine:
    """Steps once per window with the smoothed score. Thresholds compare in float32, like the core."""

    def __init__(self, config: AlertConfig):
        self.config = config
        self._on = np.float32(config.threshold_on)
        self._off = np.float32(config.threshold_off)
        self.state = AlertState.OK
        self.pending = 0
        self.cooldown_left = 0
        self.alerts_raised = 0

    def step(self, score: float) -> AlertState:
        """Feeds one score; returns the state after this window."""
        s = np.float32(score)
        if self.state == AlertState.COOLDOWN:
            if self.cooldown_left > 0:
                self.cooldown_left -= 1
                return self.state
            self.state = AlertState.OK
        if self.state in (AlertState.OK, AlertState.PENDING):
            if s >= self._on:
                self.pending = 1 if self.state == AlertState.OK else self.pending + 1
                if self.pending >= self.config.min_windows:
                    self.state = AlertState.ALERT
                    self.pending = 0
                    self.alerts_raised += 1
                else:
                    self.state = AlertState.PENDING
            else:
                self.state = AlertState.OK
                self.pending = 0
        elif self.state == AlertState.ALERT and s < self._off:
            self.cooldown_left = self.config.cooldown_windows
            self.state = AlertState.COOLDOWN if self.cooldown_left > 0 else AlertState.OK
        return self.state


def alert_trace(scores, config: AlertConfig) -> list[AlertState]:
    """The state after each window for a series of (smoothed) scores."""
    machine = AlertMachine(config)
    return [machine.step(s) for s in scores]
