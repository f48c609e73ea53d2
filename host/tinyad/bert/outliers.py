"""Synthetic outliers (the AnomalyBERT recipe) and extra anomaly types for test sets.

Every injector is a pure function: it takes a window (steps, channels) and explicit parameters, returns a NEW
window and the per-time-step label mask (bool, (steps,)) of the steps it changed. Randomness lives only in
`sample_outlier` / `inject_series`, which draw those parameters from a numpy Generator.

Training types (each with its own probability in `OutlierProbabilities`):
- soft replacing: blend a segment taken from elsewhere (this or another data set) into chosen channels;
- uniform replacing: chosen channels of a segment set to one constant;
- peak noising: spikes added at single steps;
- length adjusting: a segment stretched or compressed in time (the rest shifts; needs context after the window).
Test-only types, never used in training, to check generalization: drift (a ramp added), stuck (a channel frozen
at its value), noise (a burst of extra Gaussian noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyad.errors import InputError

TRAIN_TYPES = ("soft_replacing", "uniform_replacing", "peak_noising", "length_adjusting")
UNSEEN_TYPES = ("drift", "stuck", "noise")
SLOW_TYPES = ("length_adjusting", "stuck")


def _check_segment(window: np.ndarray, start: int, length: int) -> None:
    if window.ndim != 2:
        raise InputError(f"a window must be (steps, channels), got shape {window.shape}")
    if length < 1 or start < 0 or start + length > window.shape[0]:
        raise InputError(f"segment [{start}, {start + length}) outside a window of {window.shape[0]} steps")


def _mask(steps: int, start: int, length: int) -> np.ndarray:
    mask = np.zeros(steps, bool)
    mask[start:start + length] = True
    return mask


def soft_replace(window: np.ndarray, start: int, source: np.ndarray, channels, weight: float):
    """Blend `source` (length, channels of `window`) into `window[start:start+len(source)]` on `channels`:
    x = weight * source + (1 - weight) * x. weight 1 replaces outright."""
    source = np.asarray(source, dtype=window.dtype)
    length = source.shape[0]
    _check_segment(window, start, length)
    out = window.copy()
    ch = np.asarray(channels)
    out[start:start + length, ch] = weight * source[:, ch] + (1.0 - weight) * window[start:start + length, ch]
    return out, _mask(window.shape[0], start, length)


def uniform_replace(window: np.ndarray, start: int, length: int, channels, value: float):
    """Set `channels` of steps [start, start+length) to the constant `value`."""
    _check_segment(window, start, length)
    out = window.copy()
    out[start:start + length, np.asarray(channels)] = value
    return out, _mask(window.shape[0], start, length)


def peak_noise(window: np.ndarray, positions, channels, magnitudes):
    """Add spikes: `window[positions[i], channels] += magnitudes[i]`. Only the spiked steps are labeled."""
    positions = np.atleast_1d(np.asarray(positions, dtype=int))
    magnitudes = np.broadcast_to(np.asarray(magnitudes, dtype=window.dtype), positions.shape)
    if window.ndim != 2 or positions.min() < 0 or positions.max() >= window.shape[0]:
        raise InputError(f"peak positions {positions.tolist()} outside a window of {window.shape[0]} steps")
    out = window.copy()
    ch = np.asarray(channels)
    for pos, mag in zip(positions, magnitudes):
        out[pos, ch] += mag
    mask = np.zeros(window.shape[0], bool)
    mask[positions] = True
    return out, mask


def _resample_linear(segment: np.ndarray, new_length: int) -> np.ndarray:
    """Linear interpolation of a (length, channels) segment to `new_length` steps (end points kept)."""
    old = np.linspace(0.0, 1.0, segment.shape[0])
    new = np.linspace(0.0, 1.0, new_length)
    return np.stack([np.interp(new, old, segment[:, c]) for c in range(segment.shape[1])], axis=1)


def length_adjust(context: np.ndarray, steps: int, start: int, length: int, new_length: int, channels=None):
    """Stretch (new_length > length) or compress a segment in time and return the first `steps` steps.

    `context` is the window plus what follows it (at least `steps + length - new_length` steps when
    compressing): the series after the segment shifts left or right, as if the process ran faster or slower.
    Channels not in `channels` (default: all) are left as they were. Labeled: the new segment's steps.
    """
    if context.ndim != 2:
        raise InputError(f"context must be (steps, channels), got shape {context.shape}")
    if new_length < 2 or length < 2 or start < 0 or start + length > context.shape[0] or start >= steps:
        raise InputError(f"bad length adjustment: segment [{start}, {start + length}) -> {new_length} steps")
    needed = steps + max(0, length - new_length)
    if context.shape[0] < needed:
        raise InputError(f"length adjusting needs {needed} steps of context, got {context.shape[0]}")
    adjusted = np.concatenate([context[:start], _resample_linear(context[start:start + length], new_length),
                               context[start + length:]])[:steps].astype(context.dtype)
    out = context[:steps].copy()
    ch = np.arange(context.shape[1]) if channels is None else np.asarray(channels)
    out[:, ch] = adjusted[:, ch]
    mask = _mask(steps, start, min(new_length, steps - start))
    return out, mask


def drift(window: np.ndarray, start: int, length: int, channels, amount: float):
    """Test-only: add a linear ramp from 0 to `amount` over the segment (a slowly failing sensor)."""
    _check_segment(window, start, length)
    out = window.copy()
    ramp = np.linspace(0.0, amount, length, dtype=window.dtype)[:, None]
    ch = np.asarray(channels)
    out[start:start + length, ch] += ramp
    return out, _mask(window.shape[0], start, length)


def stuck(window: np.ndarray, start: int, length: int, channels):
    """Test-only: freeze `channels` at their value at `start` for the segment (a stuck reading)."""
    _check_segment(window, start, length)
    out = window.copy()
    ch = np.asarray(channels)
    out[start:start + length, ch] = window[start, ch]
    return out, _mask(window.shape[0], start, length)


def noise(window: np.ndarray, start: int, length: int, channels, sigma: float, rng: np.random.Generator):
    """Test-only: add Gaussian noise of std `sigma` to the segment (a loose connection)."""
    _check_segment(window, start, length)
    out = window.copy()
    ch = np.asarray(channels)
    out[start:start + length, ch] += rng.normal(0.0, sigma, (length, len(ch))).astype(window.dtype)
    return out, _mask(window.shape[0], start, length)


# --------------------------------------------------------------------------------------- random drawing


@dataclass
class OutlierProbabilities:
    """Per-window probability of each training outlier type (AnomalyBERT defaults; they must sum to <= 1,
    the rest of the windows stay clean)."""

    soft_replacing: float = 0.5
    uniform_replacing: float = 0.15
    peak_noising: float = 0.15
    length_adjusting: float = 0.0

    def as_array(self) -> np.ndarray:
        probs = np.array([getattr(self, name) for name in TRAIN_TYPES], dtype=float)
        if (probs < 0).any() or probs.sum() > 1.0 + 1e-9:
            given = ", ".join(f"{name} {float(value):g}" for name, value in zip(TRAIN_TYPES, probs))
            raise InputError(f"outlier probabilities ({given}) must be >= 0 and sum <= 1",
                             hint="lower one of --soft_replacing/--uniform_replacing/--peak_noising/"
                                  "--length_adjusting")
        return probs


def _random_channels(rng: np.random.Generator, n_channels: int) -> np.ndarray:
    count = int(rng.integers(1, n_channels + 1))
    return np.sort(rng.choice(n_channels, size=count, replace=False))


def sample_outlier(context: np.ndarray, steps: int, kind: str, rng: np.random.Generator,
                   donor: np.ndarray | None = None, max_fraction: float = 0.2):
    """Apply one outlier of type `kind` with random parameters to `context[:steps]` (context may be longer, for
    length adjusting). `donor` is a (n, channels) series to take soft-replacing segments from (another data
    set); default: the context itself. Values are assumed standardized (about zero mean, unit std)."""
    window = context[:steps]
    n_channels = window.shape[1]
    max_len = max(2, int(steps * max_fraction))
    length = int(rng.integers(2, max_len + 1))
    start = int(rng.integers(0, steps - length + 1))
    channels = _random_channels(rng, n_channels)
    if kind == "soft_replacing":
        from_donor = donor is not None and len(donor) >= length
        source_series = donor if from_donor else context
        offsets = np.arange(source_series.shape[0] - length + 1)
        if not from_donor:  # a segment blended with itself would not change: take a non-overlapping one
            apart = offsets[np.abs(offsets - start) >= length]
            offsets = apart if len(apart) else offsets[offsets != start]
        if len(offsets):
            offset = int(rng.choice(offsets))
            source = source_series[offset:offset + length]
        else:  # the segment is the whole context: blend in its time reversal
            source = context[start:start + length][::-1]
        if source.shape[1] != n_channels:  # another data set with other channels: reuse its first ones
            source = np.resize(source, (length, n_channels)) if source.shape[1] < n_channels \
                else source[:, :n_channels]
        weight = float(rng.uniform(0.5, 1.0))
        return soft_replace(window, start, source, channels, weight)
    if kind == "uniform_replacing":
        value = float(rng.uniform(window.min() - 1.0, window.max() + 1.0))
        return uniform_replace(window, start, length, channels, value)
    if kind == "peak_noising":
        count = int(rng.integers(1, 4))
        positions = rng.choice(steps, size=count, replace=False)
        magnitudes = rng.choice([-1.0, 1.0], size=count) * rng.uniform(2.0, 6.0, size=count)
        return peak_noise(window, positions, channels, magnitudes)
    if kind == "length_adjusting":
        factor = float(rng.choice([rng.uniform(0.3, 0.7), rng.uniform(1.5, 3.0)]))
        length = max(4, length)
        start = int(rng.integers(0, steps - length + 1))
        new_length = int(np.clip(round(length * factor), 2, steps - start))
        if context.shape[0] < steps + max(0, length - new_length):
            new_length = length + 2 if start + length + 2 <= steps else max(2, length // 2)
            if context.shape[0] < steps + max(0, length - new_length):
                return window.copy(), np.zeros(steps, bool)
        return length_adjust(context, steps, start, length, new_length, channels)
    if kind == "drift":
        return drift(window, start, length, channels, float(rng.choice([-1, 1]) * rng.uniform(1.5, 4.0)))
    if kind == "stuck":
        return stuck(window, start, length, channels)
    if kind == "noise":
        return noise(window, start, length, channels, float(rng.uniform(0.5, 1.5)), rng)
    raise InputError(f"unknown outlier type {kind!r}", hint=f"one of {TRAIN_TYPES + UNSEEN_TYPES}")


def synthesize_batch(contexts: np.ndarray, steps: int, probabilities: OutlierProbabilities,
                     rng: np.random.Generator, donor: np.ndarray | None = None):
    """Training batch: for each context (batch, >= steps, channels) draw at most one outlier type with the
    given probabilities. Returns windows (batch, steps, channels) float32 and labels (batch, steps) float32."""
    probs = probabilities.as_array()
    choices = rng.choice(len(TRAIN_TYPES) + 1, size=len(contexts), p=np.append(probs, max(0.0, 1 - probs.sum())))
    windows = np.empty((len(contexts), steps, contexts.shape[2]), np.float32)
    labels = np.zeros((len(contexts), steps), np.float32)
    for i, choice in enumerate(choices):
        if choice == len(TRAIN_TYPES):
            windows[i] = contexts[i, :steps]
            continue
        windows[i], mask = sample_outlier(contexts[i], steps, TRAIN_TYPES[choice], rng, donor)
        labels[i] = mask
    return windows, labels


def inject_series(series: np.ndarray, kinds, rng: np.random.Generator, anomaly_rate: float = 0.08,
                  min_length: int = 8, max_length: int = 48, donor: np.ndarray | None = None,
                  margin: int = 16, min_effect: float = 1.0):
    """Test set: inject separate anomaly segments into a long standardized series (n, channels) until about
    `anomaly_rate` of the steps are labeled, cycling through `kinds`. Segments do not overlap and keep
    `margin` clean steps between them; a draw longer than a short series can hold (with its margins) is redrawn
    (never the case above 3 * 2 * max_length + 2 * margin steps). An injection that changes no value by at least
    `min_effect` (in the series' standardized units) is redrawn: freezing a channel that barely moves changes
    nothing, and a label on unchanged data would measure luck. Returns (series, labels (n,) int8, list of
    (kind, start, stop))."""
    out = np.asarray(series, np.float32).copy()
    labels = np.zeros(len(out), np.int8)
    events = []
    target = int(anomaly_rate * len(out))
    attempts = 0
    kinds = list(kinds)
    while labels.sum() < target and attempts < 10_000:
        attempts += 1
        # Cycle through the types; a type gets up to 50 draws to produce a visible change, then is skipped
        # once, so a hard-to-place type cannot stall the loop.
        kind = kinds[(len(events) + attempts // 50) % len(kinds)]
        # Slow faults only show over longer stretches of slow telemetry: twice the length for them.
        scale = 2 if kind in SLOW_TYPES else 1
        length = int(rng.integers(min_length * scale, max_length * scale + 1))
        span = length * 3 if kind == "length_adjusting" else length
        if len(out) - span - margin <= margin:  # no room for this draw in a short series (a 20-min block): redraw
            continue
        start = int(rng.integers(margin, len(out) - span - margin))
        if labels[max(0, start - margin):start + span + margin].any():
            continue
        context = out[start:start + span]
        if kind == "length_adjusting":
            new_length = int(length * rng.choice([0.4, 2.0]))
            piece, _ = length_adjust(context, length * 2, 0, length, new_length)
            # Everything after the adjusted segment is shifted in time until the series resumes: label it all.
            mask = np.ones(len(piece), bool)
        elif kind == "peak_noising":
            count = max(1, length // 8)
            positions = rng.choice(length, size=count, replace=False)
            channels = _random_channels(rng, out.shape[1])
            magnitudes = rng.choice([-1.0, 1.0], size=count) * rng.uniform(3.0, 6.0, size=count)
            piece, mask = peak_noise(context, positions, channels, magnitudes)
        elif kind == "soft_replacing":  # a stretch of another time (or of the donor data set) blended in
            source_series = donor if donor is not None and len(donor) > length else out
            offset = int(rng.integers(0, len(source_series) - length + 1))
            piece, mask = soft_replace(context, 0, source_series[offset:offset + length],
                                       _random_channels(rng, out.shape[1]), float(rng.uniform(0.7, 1.0)))
        else:
            piece, mask = sample_outlier(context, length, kind, rng, donor, max_fraction=1.0)
            # sample_outlier drew its own sub-segment; keep its mask (a part of the segment)
        if np.abs(piece - context[:len(piece)]).max() < min_effect:
            continue
        out[start:start + len(piece)] = piece
        labels[start:start + len(mask)] |= mask.astype(np.int8)
        events.append((kind, start, start + len(mask)))
    return out, labels, events
