"""Scoring real telemetry with a checkpoint (`tinyad bert score`): per-step scores, the cut, alarm episodes, and
the files written (scores.csv, scores.png, summary.json). No injected anomalies and no labels; the command only
prints and writes what `score_telemetry` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.atomic import atomic_path, write_text_atomic

# What `bert score` writes into its --out folder (an earlier run's are removed before scoring)
SCORE_FILES = ("scores.csv", "scores.png", "summary.json")
# Episodes listed on screen, the highest peaks first (all of them are in summary.json)
EPISODES_SHOWN = 10


@dataclass
class ScoredTelemetry:
    """What `score_telemetry` found: `data` the scored time range, `times` its step times (with their zone when the
    loader converted them to UTC), the per-step `scores`, the cut (`threshold`, `cut_text`), `flags` above it, the
    alarm `regions` and `episodes` (half-open step ranges; episodes join runs less than a window apart), `filled`
    the steps interpolated over short gaps, and the `warnings` and `notes` to print."""

    data: object
    times: object
    scores: np.ndarray
    threshold: float
    flags: np.ndarray
    regions: list
    episodes: list
    filled: np.ndarray
    step: int
    window: int
    anomaly_rate: float
    reference: str | None
    cut_text: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def zone_text(self) -> str:
        return "times in UTC" if self.data.time_zone else "times as written in the data, no time zone given"

    def highest_episodes(self, most: int = EPISODES_SHOWN) -> list[tuple[int, int]]:
        """The `most` episodes with the highest peak score, highest first."""
        return sorted(self.episodes, key=lambda r: -float(self.scores[r[0]:r[1]].max()))[:most]


def score_telemetry(loaded, whole, score_range: tuple[float, float] | None, window_sliding: int,
                    anomaly_rate: float | None, normal_segments=None, reference: str | None = None,
                    saved=None, threshold_from: str | Path | None = None) -> ScoredTelemetry:
    """Score `whole` (telemetry in the checkpoint's channels) with the `loaded` checkpoint and cut it.

    `score_range` (fractions of the span) is scored within the whole data, then cut out: its first and last steps
    are judged with the data around them as the model's windows see it, not as the edge of a series (a range
    starting in a transient would alarm at its start). The cut: the (1 - anomaly_rate) quantile of these scores, or
    of `normal_segments`' (known-normal telemetry, named `reference`), or the threshold of a `saved` reference cut
    (`evaluate.SavedCut`, read from `threshold_from`). `anomaly_rate` None: 0.001 with a reference, else 0.08."""
    from tinyad.battery.bms import TIME_COLUMN
    from tinyad.bert.evaluate import score_unlabelled
    from tinyad.bert.notes import collapsed_scores_note, tied_cut_note
    from tinyad.evaluation import events, join_events

    if saved is not None:
        anomaly_rate, reference = saved.anomaly_rate, saved.reference
    elif anomaly_rate is None:
        anomaly_rate = 0.001 if reference else 0.08
    bounds = score_range or (0.0, 1.0)
    data = whole.time_slice(*bounds)
    scores, threshold, flags = score_unlabelled(loaded, whole.segments(), window_sliding, anomaly_rate,
                                                normal_segments, keep=whole.time_slice_rows(*bounds),
                                                threshold=saved.threshold if saved else None)
    regions = events(flags)
    times = data.frame[TIME_COLUMN]
    # Times the loader converted to UTC keep their +00:00 in the file and on screen: not mistaken for local time.
    times = times.dt.tz_localize(data.time_zone) if data.time_zone else times
    cut = (f"{1 - anomaly_rate:.1%} quantile of the reference's scores" if reference
           else f"{1 - anomaly_rate:.0%} quantile")
    if saved is not None:
        cut += f" ({saved.reference}, saved in {threshold_from})"
    scored = ScoredTelemetry(data, times, scores, threshold, flags, regions,
                             join_events(regions, loaded.config.window),  # runs less than a window apart: one
                             data.interpolated_rows(), loaded.step, loaded.config.window, anomaly_rate, reference, cut)
    if (inside := steps_trained_on(loaded, whole, data)):
        scored.notes.append(f"{inside} of the {len(scores)} steps scored are ones the checkpoint was trained on: "
                            "scores run lower there than on new data")
    if note := collapsed_scores_note(scores):
        scored.warnings.append(note)
    elif not reference:
        if tied := tied_cut_note(scores, threshold, anomaly_rate):
            scored.notes.append(tied)
        scored.notes.append("this cut flags that share of any data by construction; set it on known-normal "
                            "telemetry with --reference before calling a region an anomaly")
    return scored


# A reference cut resting on fewer of the reference's steps above it than this is a noisy estimate.
FEW_STEPS_ABOVE_CUT = 10


def reference_warnings(loaded, reference_data, anomaly_rate: float, name: str) -> list[str]:
    """Why a cut set on `reference_data` (known-normal telemetry, named `name`) may not mean what it should: too
    few steps for its quantile (it then rests on a handful of its highest scores), or steps the checkpoint trained
    on (scores there run lower than on new normal data, so the cut sits too low: more false alarms)."""
    import math

    found = []
    steps = len(reference_data.frame)
    if steps * anomaly_rate < FEW_STEPS_ABOVE_CUT:
        found.append(f"the reference {name} holds {steps} steps: its {1 - anomaly_rate:.1%} quantile rests on its "
                     f"{max(1, round(steps * anomaly_rate))} highest score(s), a noisy cut; give at least "
                     f"{math.ceil(FEW_STEPS_ABOVE_CUT / anomaly_rate):,} steps of known-normal telemetry")
    if (inside := steps_trained_on(loaded, reference_data, reference_data)):
        found.append(f"the reference {name} holds {inside} steps the checkpoint was trained on: scores there run "
                     "lower than on new normal data, so the cut sits too low (more false alarms); take known-"
                     "normal telemetry from outside the training span")
    return found


def steps_trained_on(loaded, data, part) -> int:
    """How many steps of `part` (a range of `data`) the checkpoint, or one it was fine-tuned from, trained on."""
    from tinyad.bert.train import trained_steps_in

    trained = loaded.meta.get("train", {})
    for probe in [trained.get("probe"), *trained.get("earlier_probes", [])]:
        if (inside := trained_steps_in(data, part, probe)):
            return inside
    return 0


def write_scores_csv(scored: ScoredTelemetry, path: str | Path) -> Path:
    """time, score, alarm (0/1), interpolated (0/1) per step, written atomically (a reader never sees half a
    file)."""
    import pandas as pd

    with atomic_path(path) as partial:
        pd.DataFrame({"time": scored.times.to_numpy(), "score": scored.scores, "alarm": scored.flags.astype(np.int8),
                      "interpolated": scored.filled.astype(np.int8)}).to_csv(partial, index=False)
    return Path(path)


def plot_scored_telemetry(scored: ScoredTelemetry, path: str | Path) -> Path:
    """The scores, the cut and the alarms over the signals (`bert.plots.plot_scores`)."""
    from tinyad.bert.plots import plot_scores

    return plot_scores(scored.data, scored.scores, scored.threshold, scored.flags, path,
                       title=f"{scored.data.source}: checkpoint step {scored.step}, {scored.cut_text}")


def score_summary(scored: ScoredTelemetry, dataset: str, checkpoint, weights_sha256: str | None,
                  window_sliding: int, threshold_from=None, earlier_warnings=(), reference_warnings=()) -> dict:
    """summary.json: the cut (with the weights' hash and the stride, so `--threshold-from` can check a later run
    uses the same scale), the alarms and every episode; `warnings` the scoring's and `earlier_warnings` (reading
    the data and the reference), where a nightly job looks; `reference_warnings` what was wrong with the reference
    the cut was set on, carried on by every run that reuses the cut."""
    scores, times = scored.scores, scored.times
    return {"dataset": dataset, "checkpoint": str(checkpoint), "step": scored.step,
            "checkpoint_sha256": weights_sha256, "window_sliding": window_sliding, "steps": len(scores),
            "alarm_steps": int(scored.flags.sum()), "alarms": bool(scored.flags.any()),
            "threshold": float(scored.threshold),
            "cut": "reference" if scored.reference else "within the data", "anomaly_rate": scored.anomaly_rate,
            "reference": scored.reference, "threshold_from": str(threshold_from) if threshold_from else None,
            "episodes": [{"start": str(times.iloc[a]), "end": str(times.iloc[b - 1]),
                          "peak_score": float(scores[a:b].max())} for a, b in scored.episodes],
            "interpolated_steps": int(scored.filled.sum()), "warnings": [*earlier_warnings, *scored.warnings],
            "reference_warnings": list(reference_warnings)}


def write_summary(summary: dict, path: str | Path) -> Path:
    import json

    return write_text_atomic(path, json.dumps(summary, indent=2) + "\n")


# What a summary says of the run that wrote it (its alarms), as against the cut it records
RESULT_KEYS = ("dataset", "steps", "alarm_steps", "alarms", "episodes", "interpolated_steps", "warnings")


def keep_only_the_cut(path: str | Path) -> Path:
    """Rewrite an earlier summary.json down to its cut: the summary a nightly job keeps in the folder it writes and
    reads again with --threshold-from. Its alarms are an earlier run's and must not stand as this run's, but its
    cut must survive a run that fails (a missing file one night would lose the reference cut for good). The run
    that succeeds writes the whole summary again."""
    import json

    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return Path(path)  # not a summary: left as it is, for `saved_reference_cut` to name what is wrong
    if not isinstance(saved, dict):
        return Path(path)
    saved.update({key: None for key in RESULT_KEYS})
    saved["status"] = ("only the cut: the run reading it with --threshold-from did not finish writing this folder "
                       "(its alarms are not here)")
    return write_summary(saved, path)
