"""What the SIL device's simulated IMU produces: raw int16 sensor counts from a session file or a synthetic
machine, plus the replay clock that releases them at the sample rate times a speed factor."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from tinyad.errors import InputError
from tinyad.preprocess import physical_to_counts



@dataclass
class SampleSource:
    """Raw counts (n, channels) int16 in the model's channel order, replayed in a loop."""

    counts: np.ndarray
    sample_rate_hz: float
    description: str

    def __post_init__(self):
        self.counts = np.ascontiguousarray(self.counts, dtype=np.int16)
        if self.counts.ndim != 2 or self.counts.shape[0] == 0:
            raise InputError(f"{self.description}: replay data must be (samples, channels), got {self.counts.shape}")

    def take(self, start: int, count: int) -> np.ndarray:
        """Samples start .. start+count-1, wrapping around at the end (a recording replays in a loop)."""
        n = self.counts.shape[0]
        idx = (np.arange(start, start + count) % n)
        return self.counts[idx]


def session_source(path, channels: list[str], units_per_count: list[float]) -> SampleSource:
    """Replay a recorded session: its channels (in the model's order) converted back to raw counts."""
    from tinyad.session import read_session

    session = read_session(path)
    missing = [c for c in channels if c not in session.meta.channels]
    if missing:
        raise InputError(
            f"{path}: the model needs channels {channels}, the session has {session.meta.channels}",
            hint=f"record or import a session with {missing}",
        )
    order = [session.meta.channels.index(c) for c in channels]
    counts = physical_to_counts(session.data[:, order], units_per_count)
    return SampleSource(counts, session.meta.sample_rate_hz, f"session {path}")


def synth_source(condition: str, channels: list[str], units_per_count: list[float], sample_rate_hz: float,
                 seconds: float = 60.0, seed: int = 0, machine_seed: int | None = None) -> SampleSource:
    """A synthetic motor in a named condition (tinyad.synth's MPU6050 model), replayed as raw counts.
    `machine_seed` picks one machine on one clamp (None: a machine drawn from `seed`)."""
    from tinyad.synth import synth_session

    session = synth_session(condition, duration_s=seconds, sample_rate_hz=sample_rate_hz, seed=seed,
                            machine_seed=machine_seed)
    missing = [c for c in channels if c not in session.meta.channels]
    if missing:
        raise InputError(f"the synthetic motor has no channels {missing}")
    order = [session.meta.channels.index(c) for c in channels]
    machine = "" if machine_seed is None else f", machine {machine_seed}"
    return SampleSource(physical_to_counts(session.data[:, order], units_per_count), sample_rate_hz,
                        f"synthetic {condition}{machine}")


class ReplayClock:
    """How many samples are due: sample_rate * speed * elapsed wall time. speed <= 0 means as fast as the
    reader takes them (the pty's back pressure paces the stream)."""

    def __init__(self, sample_rate_hz: float, speed: float = 1.0):
        self.rate = sample_rate_hz * speed if speed > 0 else math.inf
        self.start = time.monotonic()
        self.released = 0

    def restart(self) -> None:
        self.start = time.monotonic()
        self.released = 0

    def due(self, limit: int) -> int:
        """Samples to release now (at most `limit`)."""
        if math.isinf(self.rate):
            return limit
        target = int((time.monotonic() - self.start) * self.rate)
        return max(0, min(limit, target - self.released))

    def lag(self) -> int:
        """Samples overdue right now (0 when unpaced or keeping up)."""
        if math.isinf(self.rate):
            return 0
        return max(0, int((time.monotonic() - self.start) * self.rate) - self.released)

    def seconds_until_next(self) -> float:
        if math.isinf(self.rate):
            return 0.0
        return max(0.0, (self.released + 1) / self.rate - (time.monotonic() - self.start))
