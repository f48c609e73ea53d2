"""Scoring a checkpoint: per-step anomaly scores over long series, the method's own score and the common suite.

The method's score (AnomalyBERT's evaluation): cut the scores at the quantile that flags a given anomaly rate,
optionally point-adjust, and report score = (precision + recall) / 2; over a run, the first checkpoint whose
score reaches 0.90. Beside it, the project's common suite (tinyad.evaluation): unadjusted and point-adjusted
F1, AUC-PR, VUS-PR. Test sets are held-out time ranges with injected anomalies (`make_test_set`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad import evaluation
from tinyad.bert.outliers import TRAIN_TYPES, UNSEEN_TYPES, inject_series
from tinyad.errors import InputError

TARGET_SCORE = 0.90


def compiled_inference(model):
    """`model(windows, training=False)` as a tf.function, traced once per model and kept on it: an eager call
    costs 40-110 ms of Python per batch (tiny and small presets), the traced one 3-20 ms. The outputs equal the
    eager call's up to float32 rounding: grappler's arithmetic rewrites move logits by at most 1.2e-6 (measured on
    a fine-tuned checkpoint; a quick battery benchmark's F1 and (P+R)/2 are unchanged, its VUS-PR moves by 1e-9).
    Every score in the project goes through here, so a checkpoint scored during training and by `bert evaluate`
    agree bit for bit. A checkpoint's weights assigned into the model later
    (EMA swaps) are read at every call, as the variables are captured, not their values. Anything else
    callable the same way (a test's stand-in model) is called as it is."""
    import keras

    if not isinstance(model, keras.Model):
        return lambda windows: np.asarray(model(windows, training=False))
    traced = getattr(model, "_tinyad_inference", None)
    if traced is None:
        import tensorflow as tf

        traced = tf.function(lambda windows: model(windows, training=False), reduce_retracing=True)
        model._tinyad_inference = traced
    return lambda windows: np.asarray(traced(np.asarray(windows, np.float32)))


def in_checkpoint_channels(channels: list[str], data, name: str | None = None) -> tuple:
    """(`data`, tidy telemetry, with the checkpoint's `channels` in its order; a note or None): channels beyond the
    checkpoint's are left out with a note (an export that grew a column), the same names in another order are put in
    the checkpoint's; a checkpoint channel the data lack is refused (InputError naming `name`, else the data's
    source) with a hint (`notes.other_channels_hint`: rename, load-bms or fine-tune)."""
    from tinyad.bert.notes import other_channels_hint

    note = None
    extra = [c for c in data.channels if c not in channels]
    if extra and all(c in data.channels for c in channels):
        note = f"{data.source}: channels not used by the checkpoint: {', '.join(extra)}"
        data = data.only(channels)
    data = data.in_order_of(channels)  # same names, other order: as trained
    if data.channels != list(channels):
        raise InputError(f"{name or data.source} has channels {data.channels}, the checkpoint {list(channels)}",
                         hint=other_channels_hint(list(channels), data.channels))
    return data, note


def check_stride(stride: int, window: int | None = None) -> None:
    """Refuse a --window_sliding below 1 or above the window (`window` None: not known yet, only the first):
    windows further apart than their length leave the steps between them without any score."""
    if stride < 1:
        raise InputError(f"--window_sliding must be >= 1, got {stride}",
                         hint="the stride of the scoring windows in steps, e.g. --window_sliding 16 (the default)")
    if window is not None and stride > window:
        raise InputError(f"--window_sliding {stride} is longer than the window ({window} steps): the steps between "
                         "two windows would get no score",
                         hint=f"give --window_sliding {window} or less (16 by default; 1 scores every offset)")


def score_series(model, series: np.ndarray, window: int, stride: int, batch_size: int = 64) -> np.ndarray:
    """Per-step anomaly scores (sigmoid of the logits) of a standardized series (n, channels): windows every
    `stride` steps (the last one aligned to the end), overlapping scores averaged. A series shorter than the
    window is padded by repeating its last row (the padding's scores are dropped)."""
    series = np.asarray(series, np.float32)
    if series.ndim != 2 or not len(series):
        raise InputError(f"series must be (steps, channels), got shape {series.shape}")
    if not np.isfinite(series).all():
        raise InputError("series contains NaN or inf", hint="load it through tinyad.battery (gap filling)")
    check_stride(stride, window)
    n = len(series)
    padded = series if n >= window else np.concatenate([series, np.repeat(series[-1:], window - n, axis=0)])
    starts = list(range(0, len(padded) - window + 1, stride))
    if starts[-1] != len(padded) - window:
        starts.append(len(padded) - window)
    windows = np.stack([padded[s:s + window] for s in starts])
    infer = compiled_inference(model)
    logits = np.concatenate([infer(windows[i:i + batch_size])
                             for i in range(0, len(windows), batch_size)])
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    total = np.zeros(len(padded))
    count = np.zeros(len(padded))
    if not np.isfinite(probs).all():
        raise InputError("the model's scores are NaN: its weights are not finite, as after a training that diverged",
                         hint="retrain with a lower --lr, or use a checkpoint from before the divergence")
    for s, p in zip(starts, probs):
        total[s:s + window] += p
        count[s:s + window] += 1
    return (total / count)[:n]


def smooth_scores(scores: np.ndarray, width: int) -> np.ndarray:
    """Centered moving average of per-step scores over `width` steps (odd; 1 = unchanged). At the ends the
    average runs over the steps that exist, so a series keeps its length and no value is invented."""
    scores = np.asarray(scores, float)
    if width < 1 or width % 2 == 0:
        raise InputError(f"smoothing width must be an odd number >= 1, got {width}")
    if width == 1 or not len(scores):
        return scores.copy()
    half = width // 2
    cumulative = np.concatenate([[0.0], np.cumsum(scores)])
    index = np.arange(len(scores))
    lo, hi = np.maximum(index - half, 0), np.minimum(index + half + 1, len(scores))
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def ensemble_series_scores(models, series: np.ndarray, stride: int, smoothing: int = 1) -> np.ndarray:
    """The mean of several models' per-step scores on one standardized series (one model is an ensemble of
    one), then smoothed over `smoothing` steps. Models must share the window length."""
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    windows = {int(m.input_shape[1]) for m in models}
    if len(windows) != 1:
        raise InputError(f"ensemble members have different windows {sorted(windows)}")
    window = windows.pop()
    mean = np.mean([score_series(m, series, window, stride) for m in models], axis=0)
    return smooth_scores(mean, smoothing)


def choose_on_validation(candidates: dict, key: str = "score") -> object:
    """The candidate whose validation result has the highest `key` (ties: the first, i.e. the earliest/simplest
    when candidates are listed in that order). `candidates` maps a choice to its VALIDATION result dict."""
    if not candidates:
        raise InputError("nothing to choose from")
    best, best_value = None, float("-inf")
    for choice, result in candidates.items():
        value = float(result[key])
        if value > best_value:
            best, best_value = choice, value
    return best


def check_anomaly_rate(rate: float, option: str = "--anomaly-rate") -> None:
    """Refuse a rate outside (0, 1), with the share meant when it reads as a percentage (8 -> 0.08)."""
    if not (np.isfinite(rate) and 0.0 < rate < 1.0):
        hint = (f"it is a share of the steps: {rate:g} % is {option} {rate / 100:g}" if 1.0 <= rate < 100.0
                else "a share of the steps, e.g. 0.08 for 8 %")
        raise InputError(f"{option} must be between 0 and 1, got {rate:g}", hint=hint)


def quantile_threshold(scores: np.ndarray, anomaly_rate: float) -> float:
    """The threshold that flags the top `anomaly_rate` fraction of the scores."""
    check_anomaly_rate(anomaly_rate)
    return float(np.quantile(np.asarray(scores, float), 1.0 - anomaly_rate))


def score_segments(checkpoint, segments, stride: int) -> np.ndarray:
    """Per-step scores of real telemetry: `segments` are its contiguous runs (steps, channels) in the
    checkpoint's units, each standardized and scored on its own (a window across a gap would score the seam),
    then concatenated. `checkpoint`: a loaded Checkpoint or its path (a run folder means its last); `segments`:
    arrays in the checkpoint's channel order, or DataFrames matched by name (`as_channel_segments`), or one."""
    from tinyad.bert.train import as_channel_segments, load_checkpoint

    if isinstance(checkpoint, (str, os.PathLike)):
        checkpoint = load_checkpoint(Path(checkpoint))
    segments = as_channel_segments(segments, checkpoint.channels, "scoring data")
    if not segments:
        raise InputError("nothing to score: no rows")
    window = checkpoint.config.window
    return np.concatenate([score_series(checkpoint.model, checkpoint.standardizer.apply(part), window, stride)
                           for part in segments])


def score_unlabelled(checkpoint, segments, stride: int, anomaly_rate: float, reference=None, keep=None,
                     threshold: float | None = None) -> tuple:
    """(scores, threshold, flags) for real telemetry (`score_segments`) and the method's cut: the
    (1 - anomaly_rate) quantile of the scores of `reference`, known-normal telemetry given as segments, or by
    default of these scores themselves. The default cut flags about `anomaly_rate` of any series by
    construction: it ranks the steps of this series and cannot tell whether it holds an anomaly at all. With a
    reference, `anomaly_rate` is the share of normal steps above the cut (the false alarm rate on the
    reference), and a series like the reference gets about that share flagged. A given `threshold` (a reference
    cut saved earlier, `saved_reference_cut`) is used as it is. `keep` (a bool per step): the steps to return,
    scored with the rest around them (a time range whose first windows see the data before it)."""
    if isinstance(checkpoint, (str, os.PathLike)):
        from tinyad.bert.train import load_checkpoint

        checkpoint = load_checkpoint(Path(checkpoint))
    scores = score_segments(checkpoint, segments, stride)
    if keep is not None:
        scores = scores[np.asarray(keep, bool)]
    if threshold is None:
        basis = scores if reference is None else score_segments(checkpoint, reference, stride)
        threshold = quantile_threshold(basis, anomaly_rate)
    return scores, float(threshold), scores > threshold


@dataclass
class SavedCut:
    """A cut set on known-normal telemetry by an earlier `bert score --reference` run (its summary.json)."""

    threshold: float
    anomaly_rate: float  # the share of the reference's steps above it
    reference: str       # the reference as given then
    reference_warnings: list = field(default_factory=list)  # what was wrong with the reference (too short, ...)


def saved_reference_cut(summary_path: str | os.PathLike, weights_sha256: str, window_sliding: int) -> SavedCut:
    """The reference cut recorded in `summary_path`, refused (InputError naming the file) unless it was set on a
    reference with these very weights (`weights_sha256` of the checkpoint's weights file) and this window stride:
    scores of another model or stride are on another scale, and the threshold would mean nothing."""
    import json
    import math

    path = Path(summary_path)
    rerun = "run `tinyad bert score` once with --reference and this checkpoint, and pass its summary.json"
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read a `bert score` summary ({err})", hint=rerun) from None
    if not isinstance(saved, dict) or saved.get("cut") != "reference":
        what = saved.get("cut") if isinstance(saved, dict) else None
        raise InputError(f"{path}: its cut was not set on a reference ({'cut: ' + repr(what) if what else 'no cut'})"
                         ": a cut ranked within other data flags a share of that data by construction", hint=rerun)
    threshold = saved.get("threshold")
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise InputError(f"{path}: no finite threshold ({threshold!r})", hint=rerun)
    if "checkpoint_sha256" not in saved:
        raise InputError(f"{path}: records no hash of the checkpoint it was set with (an older tinyad wrote it)",
                         hint=rerun)
    if saved["checkpoint_sha256"] != weights_sha256:
        raise InputError(f"{path}: the cut was set with other weights (checkpoint {saved.get('checkpoint')!r}, "
                         f"step {saved.get('step')}) than this checkpoint's", hint=rerun)
    if saved.get("window_sliding") != window_sliding:
        raise InputError(f"{path}: the cut was set with --window_sliding {saved.get('window_sliding')}, this run "
                         f"uses {window_sliding}", hint=f"pass --window_sliding {saved.get('window_sliding')}, or "
                                                        f"{rerun}")
    return SavedCut(float(threshold), float(saved.get("anomaly_rate", float("nan"))), str(saved.get("reference")),
                    [str(w) for w in saved.get("reference_warnings") or []])


def score_at(scores: np.ndarray, labels: np.ndarray, threshold: float, adjust: bool = False,
             part_starts=()) -> dict:
    """Flag scores above `threshold`, point-adjust if `adjust` (events cut at `part_starts`, where concatenated
    copies begin), and return precision, recall, score = (precision + recall) / 2, F1, the threshold and the
    share of steps flagged (before adjusting)."""
    flagged = np.asarray(scores) > threshold
    predicted = flagged.astype(np.int8)
    if adjust:
        predicted = evaluation.point_adjust(labels, predicted, part_starts).astype(np.int8)
    point = evaluation.pointwise(labels, predicted)
    return {"precision": point["precision"], "recall": point["recall"],
            "score": (point["precision"] + point["recall"]) / 2.0, "f1": point["f1"], "threshold": float(threshold),
            "flagged_rate": float(flagged.mean())}


def method_score(scores: np.ndarray, labels: np.ndarray, anomaly_rate: float, adjust: bool = False,
                 part_starts=()) -> dict:
    """AnomalyBERT's score: `score_at` the (1 - anomaly_rate) quantile of the scores themselves."""
    return score_at(scores, labels, quantile_threshold(scores, anomaly_rate), adjust, part_starts)


def score_where(scores: np.ndarray, labels: np.ndarray, threshold: float, keep: np.ndarray) -> dict:
    """`score_at` on the steps where `keep` is true only (a fixed threshold, e.g. the cut over the whole series;
    for reporting where the errors are, not for choosing)."""
    scores, labels, keep = np.asarray(scores, float), np.asarray(labels), np.asarray(keep, bool)
    if not (scores.shape == labels.shape == keep.shape):
        raise InputError(f"scores {scores.shape}, labels {labels.shape} and mask {keep.shape} differ in shape")
    return score_at(scores[keep], labels[keep], threshold)


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray, n_thresholds: int = 200) -> float:
    """The threshold with the best unadjusted F1 on a labeled VALIDATION set (never call it on test)."""
    scores = np.asarray(scores, float)
    candidates = np.unique(np.quantile(scores, np.linspace(0.5, 0.999, n_thresholds)))
    f1s = [evaluation.pointwise(labels, (scores > t).astype(np.int8))["f1"] for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def blocks_for_evaluation(segments: list, window: int, what: str, option: str) -> tuple[list, str | None]:
    """The segments long enough for one window (injected anomalies and their scores need a whole window), and
    a note on the ones left out (None if none). No segment long enough is an InputError naming `option`."""
    long_enough = [s for s in segments if len(s) >= window]
    if not long_enough:
        longest = max((len(s) for s in segments), default=0)
        raise InputError(f"{what}: no contiguous run of {window} steps (one window) to evaluate on "
                         f"(longest: {longest}, total: {sum(len(s) for s in segments)})",
                         hint=f"widen {option} so that it holds several windows of {window} steps in a row, or use "
                              "data with fewer gaps (each gap starts a new run)")
    left_out = len(segments) - len(long_enough)
    note = None
    if left_out:
        steps = sum(len(s) for s in segments if len(s) < window)
        note = (f"{what}: {left_out} segment(s) shorter than a window ({window} steps) left out of the "
                f"evaluation ({steps} steps)")
    return long_enough, note


def held_out_check(trained: dict, data, scored, score_range, range_text: str, dataset: str) -> tuple[list, str | None]:
    """(warnings, note) for evaluating on `scored` (the `score_range` of `data`, named `range_text` and `dataset`)
    with a checkpoint whose training record is `trained` (its meta's "train": the probe of the rows it trained on,
    and those of the runs it was fine-tuned from). A warning when the range holds steps the checkpoint, or the
    checkpoint it was fine-tuned from, trained on: the numbers are then not held out. Otherwise a note when the
    range is not the one the training run evaluated its checkpoints on."""
    from tinyad.bert.train import trained_rows_in, trained_steps_in

    probe = trained.get("probe")
    for which, earlier in [("trained", probe), *(("pre-trained (before fine-tuning)", p)
                                                 for p in trained.get("earlier_probes", []))]:
        if (steps := trained_steps_in(data, scored, earlier)):
            span = (f"its training span {earlier['span'][0]} .. {earlier['span'][1]}" if earlier.get("span")
                    else f"its range {earlier.get('range')}")
            return [f"the range {range_text} of {dataset} holds {steps} steps the checkpoint was {which} on "
                    f"({span}): these numbers are not held out; pick a range after the training one"], None
    if probe and probe.get("eval_range") and trained_rows_in(data, probe) and (
            list(score_range) != probe["eval_range"]):
        return [], (f"the training run evaluated its checkpoints on the range {probe['eval_range']} of its data "
                    f"(trained on {probe['range']}); this is {range_text}")
    return [], None


def first_reaching(history: list[dict], key: str = "score", target: float = TARGET_SCORE) -> int | None:
    """The step of the first checkpoint whose `key` reaches `target` (None if none does)."""
    for row in history:
        if row.get(key, float("-inf")) >= target:
            return int(row["step"])
    return None


@dataclass
class TestSet:
    """A standardized series with injected anomalies: labels per step, the events, what it was made from."""

    series: np.ndarray
    labels: np.ndarray
    events: list = field(default_factory=list)
    description: str = ""
    part_starts: list = field(default_factory=list)  # where each later copy begins, if copies are concatenated

    @property
    def anomaly_rate(self) -> float:
        return float(self.labels.mean())


def make_test_set(standardized: np.ndarray, seed: int, kinds=TRAIN_TYPES + UNSEEN_TYPES,
                  anomaly_rate: float = 0.08, donor: np.ndarray | None = None, description: str = "") -> TestSet:
    """Inject anomalies of `kinds` (default: the training types and the unseen ones) into a standardized
    held-out series; `donor` (standardized, another data set) feeds soft replacing."""
    rng = np.random.default_rng(seed)
    series, labels, events = inject_series(standardized, kinds, rng, anomaly_rate, donor=donor)
    return TestSet(series, labels, events, description)


def evaluate_scores(scores: np.ndarray, test: TestSet, anomaly_rate: float, threshold: float | None = None,
                    name: str = "bert") -> dict:
    """Every number for one checkpoint on one test set:
    - method score without and with point adjustment, cut at `anomaly_rate` (a prior, not the test labels);
    - the common suite (F1, PA-F1, AUC-PR, VUS-PR, ...) at `threshold` (chosen on validation) if given,
      else at the same quantile cut."""
    raw = method_score(scores, test.labels, anomaly_rate, adjust=False)
    adjusted = method_score(scores, test.labels, anomaly_rate, adjust=True, part_starts=test.part_starts)
    cut = raw["threshold"] if threshold is None else threshold
    rep = evaluation.report(test.labels, (scores > cut).astype(np.int8), scores, name=name,
                            threshold_saw_test_labels=False, part_starts=test.part_starts)
    return {
        "score": raw["score"], "precision": raw["precision"], "recall": raw["recall"],
        "score_pa": adjusted["score"], "f1": rep.f1, "pa_f1": rep.pa_f1, "auc_pr": rep.auc_pr,
        "vus_pr": rep.vus_pr, "event_f1": rep.event_f1, "threshold": float(cut), "report": rep,
    }


def make_test_sets(standardized: np.ndarray, seeds, anomaly_rate: float = 0.08, kinds=TRAIN_TYPES + UNSEEN_TYPES,
                   donor: np.ndarray | None = None) -> list[TestSet]:
    """One injected copy of the held-out series per seed (more events than one copy has, so the numbers are
    stable); they are scored separately and concatenated."""
    return [make_test_set(standardized, seed, kinds, anomaly_rate, donor, f"seed {seed}") for seed in seeds]


def score_test_sets(model, tests: list[TestSet], stride: int, smoothing: int = 1) -> tuple[np.ndarray, TestSet]:
    """Scores of every test set (`model` may be a list: an ensemble, scores averaged; smoothed per test set,
    never across two sets), concatenated, with the concatenated labels and events (global positions) and where
    each copy begins (`part_starts`: flagged runs and VUS-PR's buffers stay inside their copy)."""
    scores = np.concatenate([ensemble_series_scores(model, t.series, stride, smoothing) for t in tests])
    offsets = np.concatenate([[0], np.cumsum([len(t.labels) for t in tests])[:-1]])
    events = [(kind, int(a + off), int(b + off)) for t, off in zip(tests, offsets) for kind, a, b in t.events]
    merged = TestSet(np.concatenate([t.series for t in tests]), np.concatenate([t.labels for t in tests]),
                     events, f"{len(tests)} injected copies", evaluation.part_starts_of([t.labels for t in tests]))
    return scores, merged


def per_kind_recall(scores: np.ndarray, labels: np.ndarray, events: list, threshold: float) -> dict:
    """Per injected anomaly type: the fraction of its labeled steps scored above `threshold`."""
    hits: dict[str, list] = {}
    for kind, start, stop in events:
        labeled = np.asarray(labels[start:stop]).astype(bool)
        hits.setdefault(kind, []).append(np.asarray(scores[start:stop])[labeled] > threshold)
    return {kind: float(np.concatenate(parts).mean()) for kind, parts in sorted(hits.items())}


class CheckpointEvaluator:
    """Scores every checkpoint on a held-out raw series with injected anomalies (seeded, so every checkpoint
    and every run sees the same test set once standardized with its model's standardizer). `model` may be a
    list of models (an ensemble: scores averaged); `smoothing` is a moving-average width over the scores.

    `held_out_raw` is one array (n, channels) or a list of arrays (separate time blocks, never joined): block i
    gets one injected copy per seed with seed + BLOCK_SEED_STRIDE * i, so blocks do not share injection layouts
    (block 0, and a single array, use the seeds as given). Test sets are ordered block by block, seeds within a
    block; each is scored and smoothed alone, then all are concatenated."""

    BLOCK_SEED_STRIDE = 1000

    def __init__(self, held_out_raw, stride: int, seeds=(0, 1, 2, 3), anomaly_rate: float = 0.08,
                 donor_raw: np.ndarray | None = None, smoothing: int = 1):
        blocks = list(held_out_raw) if isinstance(held_out_raw, (list, tuple)) else [held_out_raw]
        if not blocks:
            raise InputError("no held-out data: the list of blocks is empty")
        if not all(np.isfinite(block).all() for block in blocks):
            raise InputError("held-out data contains NaN or inf")
        self.held_out_raw, self.blocks = held_out_raw, blocks
        self.stride, self.seeds = stride, tuple(seeds)
        self.anomaly_rate, self.donor_raw, self.smoothing = anomaly_rate, donor_raw, smoothing
        self._latest_sets: tuple[tuple, list[TestSet]] | None = None

    def block_seeds(self, index: int) -> tuple[int, ...]:
        """The injection seeds of block `index` (block 0: the seeds as given)."""
        return tuple(seed + self.BLOCK_SEED_STRIDE * index for seed in self.seeds)

    def copy_lengths(self) -> list[int]:
        """The length of every test set, in the order they are concatenated."""
        return [len(block) for block in self.blocks for _ in self.seeds]

    def test_sets(self, standardizer) -> list[TestSet]:
        donor = None if self.donor_raw is None else standardizer.apply(self.donor_raw)
        sets = []
        for index, block in enumerate(self.blocks):
            copies = make_test_sets(standardizer.apply(block), self.block_seeds(index), self.anomaly_rate,
                                    donor=donor)
            if len(self.blocks) > 1:
                for copy in copies:
                    copy.description = f"block {index}, {copy.description}"
            sets += copies
        return sets

    def test_sets_of_latest(self, standardizer) -> list[TestSet]:
        """`test_sets(standardizer)`, made once for the standardizer of consecutive calls: a run scores every
        checkpoint with one standardizer, and the seeded injections give the same sets each time."""
        key = (tuple(standardizer.mean), tuple(standardizer.std))
        if self._latest_sets is None or self._latest_sets[0] != key:
            self._latest_sets = (key, self.test_sets(standardizer))
        return self._latest_sets[1]

    def __call__(self, model, standardizer, threshold: float | None = None, with_report: bool = False,
                 smoothing: int | None = None) -> dict:
        smoothing = self.smoothing if smoothing is None else smoothing
        scores, merged = score_test_sets(model, self.test_sets_of_latest(standardizer), self.stride, smoothing)
        result = evaluate_scores(scores, merged, self.anomaly_rate, threshold)
        report = result.pop("report")
        result["recall_by_type"] = per_kind_recall(scores, merged.labels, merged.events, result["threshold"])
        if with_report:
            result["report"] = report
            result["scores"], result["labels"], result["events"] = scores, merged.labels, merged.events
            result["part_starts"] = merged.part_starts
        return result


def plot_history(histories: dict[str, list[dict]], path, key: str = "score", title: str = "",
                 target: float | None = TARGET_SCORE, extra_keys=("f1",), with_loss: bool = False):
    """PNG: `key` (and `extra_keys`, dashed) versus training steps, one line per run; `with_loss` adds the mean
    training loss of each checkpoint on a second axis (dotted)."""
    from tinyad.plots import new_figure

    fig, ax = new_figure(figsize=(7, 4))
    loss_axis = ax.twinx() if with_loss else None
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i}"
        steps = [row["step"] for row in history]
        ax.plot(steps, [row.get(key, np.nan) for row in history], "o-", color=color, label=f"{name} {key}")
        for j, extra in enumerate(extra_keys):
            if any(extra in row for row in history):
                ax.plot(steps, [row.get(extra, np.nan) for row in history], ("--", "-.", (0, (5, 1)))[j % 3],
                        color=color, alpha=0.6, label=f"{name} {extra}")
        if loss_axis is not None:
            loss_axis.plot(steps, [row.get("loss", np.nan) for row in history], ":", color=color, alpha=0.8,
                           label=f"{name} training loss")
    if target is not None:
        ax.axhline(target, color="grey", lw=0.8, ls=":", label=f"target {target:.2f}")
    ax.set_xlabel("training steps")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if loss_axis is not None:
        loss_axis.set_ylabel("training loss (dotted)")
        more_handles, more_labels = loss_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize=7, loc="lower right")
    ax.set_title(title or f"{key} vs steps")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
