"""Pure evaluation functions for anomaly detectors: point-wise, point-adjusted, event-wise and ranking metrics.

Conventions
- `y_true`, `y_pred`: 1-D arrays of 0/1 (or bool), one entry per time step; 1 = anomaly.
- `score`: 1-D float array, higher = more anomalous.
- Events are maximal runs of 1s, returned as half-open `(start, stop)` index pairs.
- `part_starts`: where arrays concatenate several series (e.g. SKAB's test files), the index at which each
  series after the first begins (`part_starts_of`). Runs are cut there, so an anomaly that ends one file and
  one that starts the next stay two events. Point-wise metrics do not depend on it.
- Rates with an empty denominator are 0.0 (e.g. precision when nothing is flagged), never NaN, so that
  concatenated tables stay summable; the raw counts are returned beside them (`Report` prints such a rate as
  n/a).
- pandas Series are taken by position; two with different indexes are refused (`same_index`).

Point adjustment (`point_adjust`) marks a whole true anomaly segment as detected if any point of it is
flagged. It inflates scores so much that random detectors look state of the art (Kim et al., AAAI 2022):
every table in tinyad prints it beside the unadjusted F1, never alone.
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError


def _binary(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{name} must be 1-D (one entry per time step), got shape {array.shape}")
    if array.dtype == bool:
        return array
    if array.size and not np.isfinite(array.astype(float)).all():
        raise InputError(f"{name} contains NaN or infinite values")
    unique = np.unique(array)
    if not np.isin(unique, (0, 1)).all():
        raise InputError(f"{name} must hold only 0 and 1, found {unique[:5].tolist()}",
                         hint="threshold the scores first, or pass them as `score`")
    return array.astype(bool)


def _scores(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(f"{name} must be 1-D (one entry per time step), got shape {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array))[0])
        raise InputError(f"{name}: entry {row} is NaN or infinite",
                         hint="detectors must produce a finite score for every time step")
    return array


def _same_length(**arrays) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"arrays differ in length: {lengths}")


def same_index(**values) -> None:
    """InputError when two of `values` are pandas Series or DataFrames with different indexes (other values,
    and None, are skipped): the metrics pair entries by position, so shuffled or shifted Series would be scored
    against the wrong rows. E.g. same_index(y_true=labels, y_pred=flags.sort_index(ascending=False)) raises."""
    indexed = {name: value.index for name, value in values.items()
               if value is not None and hasattr(value, "index") and hasattr(value, "to_numpy")}
    names = list(indexed)
    for other in names[1:]:
        if not indexed[names[0]].equals(indexed[other]):
            raise InputError(f"{names[0]} and {other} are pandas objects with different indexes (entries are "
                             "paired by position)",
                             hint=f"align them first, e.g. {other}.reindex({names[0]}.index), or pass each "
                                  "as .to_numpy() in time order")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def part_starts_of(parts) -> list[int]:
    """The index at which each part after the first begins in the parts' concatenation, e.g. parts of lengths
    3, 2 and 4 -> [3, 5]. Empty parts add no boundary."""
    lengths = [len(part) for part in parts]
    return sorted({int(i) for i in np.cumsum(lengths)[:-1] if 0 < i < sum(lengths)})


def _checked_part_starts(part_starts, length: int) -> np.ndarray:
    starts = np.asarray(list(part_starts), dtype=np.int64)
    if starts.ndim != 1 or np.any(starts <= 0) or np.any(starts >= length) or np.any(np.diff(starts) <= 0):
        raise InputError(f"part_starts must be increasing indices inside 1..{length - 1}, got "
                         f"{starts.tolist()[:5]}", hint="build them with part_starts_of(parts)")
    return starts


def events(labels, part_starts=()) -> list[tuple[int, int]]:
    """Maximal runs of 1s in a 0/1 array as half-open (start, stop) pairs, e.g. [0,1,1,0,1] -> [(1,3),(4,5)].
    A run is cut at each of `part_starts` (where a concatenated series begins): [1,1,1,1] with part_starts [2]
    -> [(0,2),(2,4)]."""
    flags = _binary("labels", labels).astype(np.int8)
    edges = np.diff(np.concatenate(([0], flags, [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    runs = [(int(a), int(b)) for a, b in zip(starts, stops)]
    if len(part_starts) == 0:
        return runs
    cuts = _checked_part_starts(part_starts, len(flags))
    split = []
    for start, stop in runs:
        inside = [int(c) for c in cuts if start < c < stop]
        bounds = [start, *inside, stop]
        split += list(zip(bounds[:-1], bounds[1:]))
    return split


def join_events(runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    """Half-open runs in time order with those apart by fewer than `max_gap` steps joined into one, e.g.
    join_events([(1, 3), (4, 5), (9, 10)], 2) -> [(1, 5), (9, 10)]: one episode, not its fragments."""
    if max_gap < 0:
        raise InputError(f"max_gap must be >= 0, got {max_gap}")
    joined: list[tuple[int, int]] = []
    for start, stop in runs:
        if joined and start - joined[-1][1] < max_gap:
            joined[-1] = (joined[-1][0], max(stop, joined[-1][1]))
        else:
            joined.append((int(start), int(stop)))
    return joined


def pointwise(y_true, y_pred) -> dict:
    """Point-wise confusion metrics.

    Returns precision, recall, f1, far (false alarm rate = FP / (FP + TN), the SKAB definition),
    mar (missed alarm rate = FN / (FN + TP)) and the counts tp, fp, fn, tn.
    """
    same_index(y_true=y_true, y_pred=y_pred)
    truth, pred = _binary("y_true", y_true), _binary("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(~truth & pred))
    fn = int(np.sum(truth & ~pred))
    tn = int(np.sum(~truth & ~pred))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "far": _ratio(fp, fp + tn),
        "mar": _ratio(fn, fn + tp),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def point_adjust(y_true, y_pred, part_starts=()) -> np.ndarray:
    """Point-adjusted predictions: every true anomaly segment that has at least one flagged point becomes
    fully flagged; points outside true segments are left as they are. Segments are cut at `part_starts`
    (a flag in one file does not adjust the next file's rows). Returns a bool array."""
    same_index(y_true=y_true, y_pred=y_pred)
    truth, pred = _binary("y_true", y_true), _binary("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    adjusted = pred.copy()
    for start, stop in events(truth, part_starts):
        if pred[start:stop].any():
            adjusted[start:stop] = True
    return adjusted


def point_adjusted_f1(y_true, y_pred, part_starts=()) -> float:
    """F1 of the point-adjusted predictions. Report it only beside the unadjusted F1."""
    return pointwise(y_true, point_adjust(y_true, y_pred, part_starts))["f1"]


def event_prf(y_true, y_pred, part_starts=()) -> dict:
    """Event-wise (overlap) precision, recall and F1.

    recall = share of true events overlapped by at least one flagged point;
    precision = share of predicted events (runs of flagged points) that overlap a true event. A run counts
    once however long it is: flagging every point is one correct event (precision 1.0), so read event scores
    beside the point-wise precision and FAR. True and flagged runs are both cut at `part_starts`.
    Also returns the counts: true_events, pred_events, detected_events, correct_pred_events.
    """
    same_index(y_true=y_true, y_pred=y_pred)
    truth, pred = _binary("y_true", y_true), _binary("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    true_events, pred_events = events(truth, part_starts), events(pred, part_starts)
    detected = sum(1 for a, b in true_events if pred[a:b].any())
    correct = sum(1 for a, b in pred_events if truth[a:b].any())
    precision, recall = _ratio(correct, len(pred_events)), _ratio(detected, len(true_events))
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_events": len(true_events),
        "pred_events": len(pred_events),
        "detected_events": detected,
        "correct_pred_events": correct,
    }


def auc_pr(y_true, score) -> float:
    """Area under the precision-recall curve as average precision (sklearn; the same as TSB-AD's AUC-PR).
    Returns NaN if y_true has no anomaly, or only anomalies (the metric is undefined, or 1.0 whatever the
    scores)."""
    from sklearn.metrics import average_precision_score

    same_index(y_true=y_true, score=score)
    truth, values = _binary("y_true", y_true), _scores("score", score)
    _same_length(y_true=truth, score=values)
    if truth.all() or not truth.any():  # one class: no ranking to judge (every step anomalous gives a vacuous 1.0)
        return float("nan")
    return float(average_precision_score(truth, values))


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve (sklearn). NaN if y_true holds only one class."""
    from sklearn.metrics import roc_auc_score

    same_index(y_true=y_true, score=score)
    truth, values = _binary("y_true", y_true), _scores("score", score)
    _same_length(y_true=truth, score=values)
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, values))


def _merged_ranges(segments: list[tuple[int, int]], window: int, length: int) -> list[tuple[int, int]]:
    """Inclusive ranges around the inclusive `segments`, widened by window//2 each side and merged where
    the widened ranges touch (TSB-AD's `new_sequence`, including its end-clipping of the last range only)."""
    half = window // 2
    merged = []
    start = max(segments[0][0] - half, 0)
    for (_, end), (next_start, _) in zip(segments[:-1], segments[1:]):
        if end + half < next_start - half:
            merged.append((start, end + half))
            start = next_start - half
    merged.append((start, min(segments[-1][1] + half, length - 1)))
    return merged


# Soft labels held at once by `vus` (4e6 float64 = 32 MB): the widths of a long series are taken a few at a time.
SOFT_LABEL_VALUES = 4_000_000


def _soft_labels(truth: np.ndarray, segments: list[tuple[int, int]], windows) -> np.ndarray:
    """Labels widened by a decaying sqrt ramp of window//2 points each side of every segment (TSB-AD's
    `sequencing`), one row per width in `windows`: 1 inside a segment, sqrt(1 - d / window) at distance d
    outside, summed where ramps overlap, capped at 1. Added segment by segment as TSB-AD adds them, so every row
    is the very float TSB-AD gets for that width."""
    windows = np.asarray(windows)
    labels = np.repeat(truth.astype(float)[None, :], len(windows), axis=0)
    length, halves = len(truth), windows // 2
    reach = int(halves.max(initial=0))
    distance = np.arange(1, reach + 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # width 0 and 1 have no ramp (masked out below)
        ramp = np.where(distance[None, :] <= halves[:, None],
                        np.sqrt(1 - distance[None, :] / windows[:, None]), 0.0)  # (widths, distance)
    for start, end in segments:
        after = distance[end + distance < length]
        labels[:, end + after] += ramp[:, after - 1]
        before = distance[start - distance >= 0]
        labels[:, start - before] += ramp[:, before - 1]
    return np.minimum(labels, 1.0)


def vus(y_true, score, sliding_window: int = 100, n_thresholds: int = 250, part_starts=()) -> dict:
    """Volume under the range-based PR and ROC surfaces (Paparrizos et al., VLDB 2022), as computed by the
    TSB-AD package (`RangeAUC_volume_opt`): for every buffer width 0..sliding_window the labels are widened
    by a sqrt ramp, range-based recall (times the share of detected ranges), FPR and precision are taken at
    `n_thresholds` score quantiles, and the areas are averaged over the widths.

    Returns {"vus_pr": float, "vus_roc": float, "series": int}; both areas NaN when y_true has no anomaly or
    only anomalies. With `part_starts` (a concatenation of several series), each series is scored on its own,
    as TSB-AD defines the measure (its buffers and thresholds never cross a boundary), and the areas are the
    mean over the series that hold both classes; "series" counts them (NaN areas if none does).
    Sums in score order instead of a (thresholds x time) matrix (`_vus_one`): a million steps take seconds and
    a few hundred MB; agrees with TSB-AD 1.5 to floating-point rounding (tested when installed).
    """
    same_index(y_true=y_true, score=score)
    truth, values = _binary("y_true", y_true), _scores("score", score)
    _same_length(y_true=truth, score=values)
    if sliding_window < 0 or n_thresholds < 1:
        raise InputError(f"sliding_window must be >= 0 and n_thresholds >= 1, got "
                         f"{sliding_window}, {n_thresholds}")
    if len(part_starts):
        cuts = _checked_part_starts(part_starts, len(truth))
        scored = [_vus_one(t, v, sliding_window, n_thresholds)
                  for t, v in zip(np.split(truth, cuts), np.split(values, cuts)) if t.any() and not t.all()]
        if not scored:
            return {"vus_pr": float("nan"), "vus_roc": float("nan"), "series": 0}
        return {"vus_pr": float(np.mean([r["vus_pr"] for r in scored])),
                "vus_roc": float(np.mean([r["vus_roc"] for r in scored])), "series": len(scored)}
    if truth.all() or not truth.any():  # one class: undefined (TSB-AD fails on an all-anomalous series)
        return {"vus_pr": float("nan"), "vus_roc": float("nan"), "series": 0}
    return {**_vus_one(truth, values, sliding_window, n_thresholds), "series": 1}


def _vus_one(truth: np.ndarray, values: np.ndarray, sliding_window: int, n_thresholds: int) -> dict:
    """`vus` of one series holding both classes (checked arrays). The steps flagged at a threshold (score >= it)
    are a prefix of the steps in descending score order, so every sum over them is a cumulative sum in that
    order, and a range holds a flagged step when its highest score reaches the threshold: no (thresholds x time)
    matrix, all buffer widths at once (a few at a time on a long series, to bound memory)."""
    length = len(truth)
    segments = [(a, b - 1) for a, b in events(truth)]  # inclusive, as in TSB-AD
    positives = float(truth.sum())

    order = np.argsort(-values, kind="stable")
    descending = values[order]
    thresholds = descending[np.linspace(0, length - 1, n_thresholds).astype(int)]
    n_flagged = np.searchsorted(-descending, -thresholds, side="right")  # steps scoring >= each threshold
    n_predicted = n_flagged.astype(float)[:, None]
    outside = ~truth
    padded = np.append(values, -np.inf)  # so that a range ending at the last step has an end index

    def flagged_sum(rows):  # (thresholds, rows): the sum of each row over the steps flagged at each threshold
        sums = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(rows[:, order], axis=1)], axis=1)
        return sums[:, n_flagged].T

    widths = np.arange(sliding_window + 1)
    per_chunk = max(1, int(SOFT_LABEL_VALUES // length))  # soft labels of this many widths at a time
    ap_per_width, auc_per_width = [], []
    for chunk in np.array_split(widths, int(np.ceil(len(widths) / per_chunk))):
        soft = _soft_labels(truth, segments, chunk)  # (widths, time)
        ranges = [_merged_ranges(segments, int(window), length) for window in chunk]
        bounds = np.array([edge for r in ranges for a, b in r for edge in (a, b + 1)])
        highest = np.maximum.reduceat(padded, bounds)[0::2]  # the top score in each range
        hits = highest[None, :] >= thresholds[:, None]  # (thresholds, all ranges): a flagged step inside
        offsets = np.cumsum([0] + [len(r) for r in ranges[:-1]])
        existence_ratio = np.add.reduceat(hits, offsets, axis=1) / np.array([len(r) for r in ranges])
        # Inside the ranges the effective label is soft*pred, forced to 1 on true anomalies; outside it is 0.
        true_positive = flagged_sum(soft)
        n_labels = positives + flagged_sum(soft * outside)
        false_positive = n_predicted - true_positive
        p_new = (positives + n_labels) / 2
        tpr = np.minimum(true_positive / p_new, 1.0) * existence_ratio
        with np.errstate(divide="ignore", invalid="ignore"):  # every step anomalous: no FPR (NaN VUS-ROC)
            fpr = false_positive / (length - p_new)
        precision = true_positive / n_predicted
        zeros, ones = np.zeros((1, len(chunk))), np.ones((1, len(chunk)))
        tpr_curve = np.concatenate([zeros, tpr, ones])
        fpr_curve = np.concatenate([zeros, fpr, ones])
        auc_per_width += list(np.sum(np.diff(fpr_curve, axis=0) * (tpr_curve[1:] + tpr_curve[:-1]) / 2, axis=0))
        ap_per_width += list(np.sum(np.diff(tpr_curve[:-1], axis=0) * precision, axis=0))
    return {"vus_pr": float(np.mean(ap_per_width)), "vus_roc": float(np.mean(auc_per_width))}


def vus_pr(y_true, score, sliding_window: int = 100, n_thresholds: int = 250, part_starts=()) -> float:
    """VUS-PR (the TSB-AD recommended accuracy measure); see `vus` for the definition (and `part_starts`)."""
    return vus(y_true, score, sliding_window, n_thresholds, part_starts)["vus_pr"]
