"""From anomaly scores to alarms without labels: EWMA smoothing, Telemanom's nonparametric dynamic threshold
with pruning (Hundman et al., KDD 2018), and static baselines (quantile, mean + k sigma of training errors).

Everything here is a pure function of the error sequence (and, for the static baselines, of the training
errors): no threshold in this module can see labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyad.errors import InputError


def _errors(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name} is empty")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array))[0])
        raise InputError(f"{name}: entry {row} is NaN or infinite")
    return array


def ewma(errors, span: float) -> np.ndarray:
    """Exponentially weighted moving average with alpha = 2 / (span + 1), started at the first value
    (pandas `ewm(span, adjust=False)`): s[0] = e[0], s[t] = alpha * e[t] + (1 - alpha) * s[t-1]."""
    values = _errors("errors", errors)
    if span < 1:
        raise InputError(f"EWMA span must be >= 1, got {span}")
    alpha = 2.0 / (span + 1.0)
    smoothed = np.empty_like(values)
    smoothed[0] = values[0]
    for t in range(1, len(values)):
        smoothed[t] = alpha * values[t] + (1 - alpha) * smoothed[t - 1]
    return smoothed


def quantile_threshold(train_errors, q: float = 0.99) -> float:
    """Static baseline: the q-quantile of the (smoothed) errors on normal training data."""
    if not 0 < q <= 1:
        raise InputError(f"quantile must be in (0, 1], got {q}")
    return float(np.quantile(_errors("train_errors", train_errors), q))


def sigma_threshold(train_errors, k: float = 3.0) -> float:
    """Static baseline: mean + k * standard deviation of the (smoothed) errors on normal training data."""
    values = _errors("train_errors", train_errors)
    return float(values.mean() + k * values.std())


def _runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique indices -> inclusive (first, last) runs of consecutive integers."""
    if len(indices) == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks], [indices[-1]]))
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def _with_buffer(indices: np.ndarray, buffer: int, length: int) -> np.ndarray:
    """Indices widened by `buffer` steps on each side, clipped to [0, length)."""
    if len(indices) == 0:
        return indices
    offsets = np.arange(-buffer, buffer + 1)
    widened = (indices[:, None] + offsets[None, :]).ravel()
    return np.unique(widened[(widened >= 0) & (widened < length)])


@dataclass
class EpsilonSearch:
    """Outcome of the z search on one error window."""

    z: float | None  # None: no z passed the guard rails
    epsilon: float  # mean + z * std (inf when z is None)
    score: float
    scores: dict = field(default_factory=dict)  # z -> objective (only for z passing the guard rails)


def find_epsilon(smoothed, z_range=np.arange(2.5, 12.0, 0.5), buffer: int = 1, max_sequences: int = 5,
                 max_flagged_fraction: float = 0.5) -> EpsilonSearch:
    """Telemanom's threshold search: for epsilon = mean + z * std, score

        (delta_mean / mean + delta_std / std) / (n_sequences^2 + n_flagged)

    where delta_* is the drop in mean/std of the errors once the points >= epsilon are removed, n_flagged
    counts those points widened by `buffer` steps each side, and n_sequences the runs among them longer
    than one point. The z with the highest score wins (ties: the larger z, as in telemanom's `>=`), among
    those flagging at most `max_sequences` sequences and less than `max_flagged_fraction` of the points.
    """
    errors = _errors("smoothed errors", smoothed)
    mean, std = float(errors.mean()), float(errors.std())
    best = EpsilonSearch(z=None, epsilon=float("inf"), score=-np.inf)
    if std == 0 or mean == 0:
        return best
    for z in np.asarray(z_range, dtype=float):
        epsilon = mean + z * std
        below = errors[errors < epsilon]
        flagged = _with_buffer(np.flatnonzero(errors >= epsilon), buffer, len(errors))
        if len(flagged) == 0 or len(below) == 0:
            continue
        sequences = [run for run in _runs(flagged) if run[0] != run[1]]
        mean_decrease = (mean - below.mean()) / mean
        std_decrease = (std - below.std()) / std
        score = (mean_decrease + std_decrease) / (len(sequences) ** 2 + len(flagged))
        if len(sequences) > max_sequences or len(flagged) >= max_flagged_fraction * len(errors):
            continue
        best.scores[float(z)] = float(score)
        if score >= best.score:
            best.z, best.epsilon, best.score = float(z), float(epsilon), float(score)
    return best


def prune(sequence_maxima, non_anomalous_max: float, p: float) -> np.ndarray:
    """Telemanom's pruning of weak anomalies. Sort the sequence maxima in descending order and append the
    largest error that was not flagged; walking down, a sequence is kept only if somewhere at or below it
    the list drops by at least the fraction `p` ((m_i - m_{i+1}) / m_i >= p). Returns a bool keep-mask in
    the order of `sequence_maxima`."""
    maxima = np.asarray(sequence_maxima, dtype=float)
    if maxima.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(-maxima, kind="stable")
    chain = np.concatenate((maxima[order], [non_anomalous_max]))
    drops = (chain[:-1] - chain[1:]) / np.where(chain[:-1] == 0, 1.0, chain[:-1])
    significant = np.flatnonzero(drops >= p)
    keep_sorted = np.zeros(len(maxima), dtype=bool)
    if len(significant):
        keep_sorted[: significant[-1] + 1] = True
    keep = np.zeros(len(maxima), dtype=bool)
    keep[order] = keep_sorted
    return keep


@dataclass
class DynamicThreshold:
    """Result of `dynamic_threshold`: the alarm per time step and, per error window, the epsilon used."""

    flags: np.ndarray  # bool, one per time step
    epsilons: list  # (window start, window stop, epsilon or inf)
    sequences: list  # kept (first, last) inclusive runs
    pruned: list  # runs removed by pruning


def dynamic_threshold(smoothed, window: int | None = None, step: int | None = None, buffer: int = 1,
                      p: float = 0.13, z_range=np.arange(2.5, 12.0, 0.5), max_sequences: int = 5,
                      max_flagged_fraction: float = 0.5, min_error: float = 0.0) -> DynamicThreshold:
    """Telemanom's nonparametric dynamic threshold over a smoothed error sequence.

    The sequence is cut into error windows of `window` points advancing by `step` (default: the whole
    sequence as one window). In each window epsilon comes from `find_epsilon`; points >= epsilon (and above
    `min_error`) are widened by `buffer`, grouped into sequences and pruned with `prune(p)` against the
    largest non-flagged error of the window. A time step is an alarm if any window keeps it.
    """
    errors = _errors("smoothed errors", smoothed)
    n = len(errors)
    window = n if window is None or window >= n else int(window)
    step = window if step is None else int(step)
    if window < 2 or step < 1:
        raise InputError(f"error window must be >= 2 and step >= 1, got {window}, {step}")
    starts = list(range(0, max(n - window, 0) + 1, step))
    if starts[-1] + window < n:  # the tail must be covered too
        starts.append(n - window)
    flags = np.zeros(n, dtype=bool)
    epsilons, kept_runs, pruned_runs = [], [], []
    for start in starts:
        segment = errors[start:start + window]
        search = find_epsilon(segment, z_range, buffer, max_sequences, max_flagged_fraction)
        epsilons.append((start, start + window, search.epsilon))
        if search.z is None:
            continue
        above = np.flatnonzero((segment >= search.epsilon) & (segment > min_error))
        flagged = _with_buffer(above, buffer, len(segment))
        if len(flagged) == 0:
            continue
        runs = _runs(flagged)
        outside = np.ones(len(segment), dtype=bool)
        outside[flagged] = False
        non_anomalous_max = float(segment[outside].max()) if outside.any() else 0.0
        keep = prune([segment[a:b + 1].max() for a, b in runs], non_anomalous_max, p)
        for (a, b), kept in zip(runs, keep):
            run = (start + a, start + b)
            if kept:
                flags[run[0]:run[1] + 1] = True
                kept_runs.append(run)
            else:
                pruned_runs.append(run)
    return DynamicThreshold(flags=flags, epsilons=epsilons, sequences=kept_runs, pruned=pruned_runs)
