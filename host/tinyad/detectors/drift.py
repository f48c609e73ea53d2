"""Drift-robust preprocessing for label-free detectors, decided on normal (training) data only.

Some channels wander slowly during a normal run (on SKAB: the two temperatures warm up over the whole
experiment). A detector fitted on the first rows then flags every later row of such a channel, anomalous or
not, which shows up as false alarms after an anomaly has ended. `drifting_channels` finds those channels from
normal data alone (how far the level moves between the two halves of each normal segment), and
`difference_channels` replaces them by their first differences, which keep short events (a spike, a step)
but not the slow level.
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError


def _matrix(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise InputError(f"{name} must be 2-D (time, channels), got shape {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise InputError(f"{name}: row {row} has NaN or infinite values")
    return array


def half_shift(segment) -> np.ndarray:
    """Per channel: |mean(second half) - mean(first half)| / std(first half) of one normal segment
    (a constant first half counts as std 1). Odd lengths give the middle row to the second half."""
    values = _matrix("segment", segment)
    if len(values) < 4:
        raise InputError(f"a segment needs at least 4 rows to compare its halves, got {len(values)}")
    first, second = values[: len(values) // 2], values[len(values) // 2:]
    spread = first.std(axis=0)
    spread = np.where(spread > 1e-12, spread, 1.0)
    return np.abs(second.mean(axis=0) - first.mean(axis=0)) / spread


def drifting_channels(normal_segments, min_shift: float = 0.5) -> np.ndarray:
    """Indices of the channels whose median `half_shift` over the normal segments exceeds `min_shift`
    (in standard deviations of the first half). Uses no label: pass only data known to be normal."""
    segments = list(normal_segments)
    if not segments:
        raise InputError("no normal segments to look for drift in")
    shifts = np.array([half_shift(s) for s in segments])
    if shifts.ndim != 2:
        raise InputError("normal segments must all have the same number of channels")
    return np.flatnonzero(np.median(shifts, axis=0) > min_shift)


def difference_channels(values, channels) -> np.ndarray:
    """A copy of `values` (time, channels) with the given channels replaced by their first differences;
    row 0 repeats row 1's difference so the length (and every row's alignment) is unchanged."""
    array = _matrix("values", values).copy()
    channels = np.asarray(channels, dtype=int).reshape(-1)
    if channels.size == 0:
        return array
    if channels.min() < 0 or channels.max() >= array.shape[1]:
        raise InputError(f"channel indices {channels.tolist()} out of range for {array.shape[1]} channels")
    if len(array) < 2:
        raise InputError("differencing needs at least 2 rows")
    steps = np.diff(array[:, channels], axis=0)
    array[1:, channels] = steps
    array[0, channels] = steps[0]
    return array
