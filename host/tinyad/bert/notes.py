"""What `tinyad bert` says of a run, a cut and a set of scores: pure functions from numbers to sentences (the
method's cut and its ceiling, a training that diverged, scores that collapsed or tie at the cut, channels that
are not the checkpoint's)."""

from __future__ import annotations

import math

import numpy as np

# Fewer injected events than this in an evaluation earn a note: its figures rest on a handful of events.
FEW_EVENTS = 10


def score_ceiling(flagged: int, anomalous: int) -> float:
    """The highest (P+R)/2 a cut flagging `flagged` steps can reach with `anomalous` labelled: precision is at most
    labelled/flagged and recall at most flagged/labelled. E.g. 8 flagged, 4 labelled: (0.5 + 1) / 2 = 0.75."""
    if not flagged or not anomalous:
        return 0.0
    return (min(1.0, anomalous / flagged) + min(1.0, flagged / anomalous)) / 2


def method_cut_text(anomaly_rate: float, threshold: float, flagged: int, anomalous: int, steps: int) -> str:
    """The method's cut and the ceiling it puts on (P+R)/2 (`score_ceiling`), with `flagged` of `steps` above
    the cut and `anomalous` labelled."""
    share, flagged_share = (anomalous / steps, flagged / steps) if steps else (0.0, 0.0)
    ceiling = score_ceiling(flagged, anomalous)
    return (f"cut: the top {anomaly_rate:.0%} of the scores (above {threshold:.4g}, --anomaly-rate; "
            f"{flagged_share:.1%} of the steps flagged); {share:.1%} are labelled anomalous, so (P+R)/2 can reach at "
            f"most {ceiling:.3f} here")


# The final checkpoint this far below a run's earlier best (P+R)/2 is taken for a training that diverged.
DIVERGED_DROP = 0.2


def diverged_warning(history: list[dict]) -> str | None:
    """A warning when a run's last checkpoint has a non-finite loss, or scores DIVERGED_DROP or more below
    its best earlier checkpoint (step 0 of a fine-tuning run included), as when --lr is too large. It names no
    checkpoint to pick instead: picking by these scores would use the evaluation range's labels."""
    if not history:
        return None
    last = history[-1]
    loss = last.get("loss")
    if loss is not None and not math.isfinite(loss) and last.get("step", 0) > 0:
        return (f"the loss at step {last['step']} is {loss}: training diverged; retrain with a lower --lr")
    scored = [row for row in history[:-1] if "score" in row]
    if "score" not in last or not scored:
        return None
    best = max(scored, key=lambda row: row["score"])
    if best["score"] - last["score"] < DIVERGED_DROP:
        return None
    return (f"the final checkpoint scores (P+R)/2 {last['score']:.3f}, down from {best['score']:.3f} at step "
            f"{best['step']}: the training likely diverged"
            + (f" (loss {loss:.4g})" if loss is not None else "") + "; retrain with a lower --lr or fewer "
            "steps rather than pick a checkpoint by these scores (that would use the evaluation range's labels)")


def collapsed_scores_note(scores, few: int = 20) -> str | None:
    """A warning when the scores take only a handful of distinct values (a model whose training diverged
    answers nearly the same for every window): a quantile cut then flags whatever ties, not the highest scores.
    None for scores that spread."""
    distinct = len(np.unique(np.round(np.asarray(scores, float), 6)))
    if len(scores) <= few or distinct > few:
        return None
    return (f"the {len(scores)} scores take only {distinct} distinct value(s) (from {np.min(scores):.4g} to "
            f"{np.max(scores):.4g}): the model answers nearly the same for everything, as after a training that "
            "diverged (or on data that do not change); the cut then flags ties, not the highest scores: check the "
            "run's history (loss and scores) and retrain with a lower --lr")


def tied_cut_note(scores, threshold: float, anomaly_rate: float) -> str | None:
    """A note when steps tied at the cut leave clearly fewer than `anomaly_rate` of the steps above it (a flat
    stretch of data scores alike, and a step at the cut is not above it); None otherwise. E.g. scores ten 0.1,
    five 0.5, one 0.9 at rate 0.25: the cut is 0.5, one step of 16 (6.2 %) is above it."""
    scores = np.asarray(scores, float)
    tied = int(np.sum(scores == threshold))
    flagged = float(np.mean(scores > threshold)) if len(scores) else 0.0
    if tied < 2 or flagged >= 0.9 * anomaly_rate:
        return None
    return (f"{tied} steps score exactly the cut ({threshold:.4g}) and are not above it: {flagged:.1%} of the steps "
            f"are flagged, not {anomaly_rate:.0%} (data that hold still score alike)")


def other_channels_hint(checkpoint: list[str], data: list[str]) -> str:
    """What to do when a data set's channels are not the checkpoint's: rename what is only named otherwise (same
    count, the unmatched names paired by position, as fine-tuning would pair them), load raw BMS exports with
    load-bms (many more columns than the model takes), else fine-tune on the data."""
    from tinyad.bert.train import checkpoint_positions

    fine_tune = "fine-tune the checkpoint on this data first (tinyad bert train --checkpoint)"
    order = checkpoint_positions(checkpoint, data)
    if order is not None:
        pairs = [(was, now) for was, now in zip(checkpoint, order) if was != now]
        if len(pairs) == 1:
            return (f"if they are the same signal named otherwise, rename {pairs[0][1]!r} -> {pairs[0][0]!r} in the "
                    "data; else " + fine_tune)
        return (f"if {', '.join(repr(now) for _, now in pairs)} are {', '.join(repr(was) for was, _ in pairs)} "
                "named otherwise, rename each to the checkpoint's name for the same signal; else " + fine_tune)
    if len(data) > 2 * len(checkpoint):
        return ("a raw export? `tinyad bert load-bms` turns BMS files into the tidy table of the main channels; "
                "else " + fine_tune)
    return fine_tune
