"""What the SIL device's simulated IMU produces: raw int16 sensor counts from a session file or a synthetic
machine, plus the replay clock that releases them at the sample rate times a speed factor."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from tinyad.errors import InputError
from tinyad.preprocess import physical_to_counts
from tinyad.session import GAP_FACTOR  # a step longer than this many periods is a gap



@dataclass
class SampleSource:
    """Raw counts (n, channels) int16 in the model's channel order, replayed in a loop. `warnings`: what the
    caller should tell the user about the data (values clipped, gaps in the time column). `dlpf_hz`: the sensor
    low-pass the samples were recorded with (0: unknown); the SIL reports it in INFO as a board reports its DLPF."""

    counts: np.ndarray
    sample_rate_hz: float
    description: str
    warnings: list[str] = field(default_factory=list)
    dlpf_hz: float = 0.0

    def __post_init__(self):
        self.counts = np.ascontiguousarray(self.counts, dtype=np.int16)
        if self.counts.ndim != 2 or self.counts.shape[0] == 0:
            raise InputError(f"{self.description}: replay data must be (samples, channels), got {self.counts.shape}")

    def take(self, start: int, count: int) -> np.ndarray:
        """Samples start .. start+count-1, wrapping around at the end (a recording replays in a loop)."""
        n = self.counts.shape[0]
        idx = (np.arange(start, start + count) % n)
        return self.counts[idx]


def session_source(path, channels: list[str], units_per_count: list[float], window: int | None = None
                   ) -> SampleSource:
    """Replay a recorded session: its channels (in the model's order) converted back to raw counts.

    window: the model's window; a shorter session is refused (its loop would be scored as one seamed window).
    The source's warnings name values beyond the model's full scale (clipped) and gaps in the time column (the
    replay plays the samples back to back, so a gap is spliced shut)."""
    from tinyad.session import model_channels, read_session

    session = read_session(path)
    data = model_channels(session, channels, str(path))
    rate = session.meta.sample_rate_hz
    if window is not None and session.n_samples < window:
        raise InputError(f"{path}: {session.n_samples} samples, shorter than one window of the model ({window})",
                         hint=f"replay a session of at least one window: {window} samples ({window / rate:g} s at "
                              f"{rate:g} Hz)")
    counts = physical_to_counts(data, units_per_count)
    notes = clip_warnings(data, channels, units_per_count, str(path)) + gap_warnings(session.t, rate, str(path))
    return SampleSource(counts, rate, f"session {path}", warnings=notes, dlpf_hz=session.meta.dlpf_hz)


def clip_warnings(data, channels: list[str], units_per_count: list[float], where: str) -> list[str]:
    """The lines of `session.full_scale_warnings` for values beyond the model's full scale (32768 counts of
    `units_per_count`), which the replay saturates at the int16 rails as the board does."""
    from tinyad.session import full_scale_warnings

    limits = [32768 * float(upc) for upc in units_per_count]
    return full_scale_warnings(data, channels, limits, where, scale_name="the model's full scale",
                               consequence="they are clipped to the full scale in the replay, as on the board",
                               hint="check the session's units, or use a model with a larger full scale")


def gap_warnings(t, sample_rate_hz: float, where: str) -> list[str]:
    """A line when the time column has gaps (steps > GAP_FACTOR sample periods): the replay ignores time."""
    steps = np.diff(np.asarray(t, np.float64))
    gaps = steps > GAP_FACTOR / sample_rate_hz
    if not gaps.any():
        return []
    largest = float(steps.max())
    return [f"{where}: the time column has {int(gaps.sum())} gap(s) longer than {GAP_FACTOR:g} sample periods, "
            f"the largest {largest:.4g} s (~{largest * sample_rate_hz - 1:.0f} samples missing); the replay plays "
            "the samples back to back, so the gaps are spliced shut"]


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
    drawn = session.meta.extra
    state = f", {drawn['rpm']:.0f} rpm" if "rpm" in drawn else ""
    if condition != "normal" and "severity" in drawn:
        state += f", severity {drawn['severity']:.2f}"
    return SampleSource(physical_to_counts(session.data[:, order], units_per_count), sample_rate_hz,
                        f"synthetic {condition}{machine}{state}, recording {seed}", dlpf_hz=session.meta.dlpf_hz)


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
