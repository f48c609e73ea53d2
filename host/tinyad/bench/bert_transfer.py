"""Rack-to-rack transfer of the AnomalyBERT-style detector on the ess_lfp battery racks, on two splits.

The recipe (`run_recipe`, the same on both splits): the other racks (1, 3, 4, 5) pretrain the source model for
S steps. Rack 2's training rows are split in time: a validation part (injected anomalies, other seeds than the
test) and the rest, which fine-tunes the source model for S/10 steps with FINETUNE_SEEDS seeds; a model from
scratch trains S steps on all of rack 2's training rows. Every run keeps an exponential moving average of its
weights (EMA_DECAY). Chosen on validation only: the number of fine-tune steps (the checkpoint with the best mean
validation score over the seeds; 0 = no update is a candidate) and the smoothing width of the scores of the
seed ensemble. Test sets carry injected anomalies: the four training types plus drift, stuck and noise, never
used in training; 4 seeded copies of every test range, ~8 % of the steps labeled; an injection that moves no
value by >= 1 std is redrawn.

Split 1, single cut (one cut time T for every rack: the middle of rack 2's time span, 2021-06-11 00:30): no
model sees any row after T. Pretraining: racks 1, 3, 4, 5 before T. Validation: rack 2's last
VALIDATION_MINUTES before T; fine-tuning: rack 2's rows before that; scratch: all of rack 2 before T. Test:
rack 2 after T + one window (4.3 h: the end of a charge, then idle), a regime no training range contains.

Split 2, interleaved time blocks (pre-registered before its first run, after the single-cut results were known):
rack 2's span is divided into N_BLOCKS equal time blocks; TRAIN_BLOCKS (B0, B2, B4) train, TEST_BLOCKS (B1, B3,
B5) test. Guard: at every boundary between a training and a test block, the `window` rows of the test block next
to it are dropped (used by nothing), so no test window overlaps a training row. Validation: the last
INTERLEAVED_VALIDATION_MINUTES of each training block; fine-tuning: the rest of the training blocks (one segment
per block, never a window across blocks); scratch: all training-block rows; pretraining: racks 1, 3, 4, 5, only
their rows inside the training blocks' time ranges. Test: 4 copies of each test block (12 copies; block i uses
seeds 0-3 + 1000 i). It tests transfer within the regimes the target rack's training blocks cover.

Split 3, the same blocks with source racks over their whole span (pre-registered before its only run, after
split 2's result and its diagnosis: test block B1 holds rack 2's only discharge to SOC 0, cell voltage difference
up to 239 mV, a regime no training block contains): identical to split 2 except that pretraining uses racks 1, 3,
4, 5 over their whole span, the test blocks' hours included (the racks share one plant, so they pass through the
same regimes at the same times). Never a rack-2 row, never a label. This is the issue's premise (a source site
with a long history covering every regime, a target with little data), which split 2's restriction did not model.

Thresholds: the method's quantile cut at the nominal injection rate (8 %, fixed before testing); no threshold
or choice saw test labels. The "score vs steps" curves are test scores of every checkpoint, for reporting
only; the scratch reference for "steps to reach" is the median of its last 5 checkpoints. On the single cut, a
variant repeats the first recipe (rack-1 pretraining, one seed, no EMA, last checkpoint, no smoothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tinyad.bench import BenchResult, markdown_table
from tinyad.paths import REPO_ROOT, shared_data_dir

SOURCE_RACK, TARGET_RACK = 1, 2
PRETRAIN_RACKS = (1, 3, 4, 5)
ANOMALY_RATE = 0.08
TARGET_F1, TARGET_SCORE, TARGET_FRACTION = 0.80, 0.90, 0.25
TARGET_MAIN_S = 900
VALIDATION_MINUTES = 60
VALIDATION_SEEDS = (100, 101, 102, 103)  # other injections than the test's seeds 0-3
TEST_SEEDS = (0, 1, 2, 3)
FINETUNE_SEEDS = (0, 1, 2)
EMA_DECAY = 0.98  # ~50-step horizon: a sixth of the fine-tuning run
SMOOTHING_CHOICES = (1, 5, 9, 17)
# The validation set (cycling regime) is easy: at the 8 % cut every flagged step is an injected one, so
# (P+R)/2 saturates at the label count (0.905 for every checkpoint of the first run) and cannot choose.
# AUC-PR ranks all steps and still discriminates. (Changed after the first run of this recipe; see the notes.)
VALIDATION_KEY = "auc_pr"
# Interleaved split (pre-registered; nothing here was tuned on its test numbers).
N_BLOCKS = 6
TRAIN_BLOCKS = (0, 2, 4)
TEST_BLOCKS = (1, 3, 5)
INTERLEAVED_VALIDATION_MINUTES = 20


class Cadence(NamedTuple):
    """How long the recipe's runs train and how often they are checkpointed (each checkpoint is scored)."""

    steps: int  # pretraining and from scratch
    finetune_steps: int  # 10 % of `steps`
    finetune_every: int
    scratch_every: int


def cadence(steps: int, quick: bool) -> Cadence:
    """The benchmark's cadence: fine-tuning 10 % of `steps` checkpointed every 1 % of `steps`, scratch every 5 %.
    A quick run (a wiring check) scores a quarter and a half as many: fine-tuning every 2.5 %, scratch every 10 %
    (the fine-tuning budget, so the scratch run still has a checkpoint at that budget)."""
    finetune_steps = steps // 10
    if quick:
        return Cadence(steps, finetune_steps, max(1, steps // 40), max(1, finetune_steps))
    return Cadence(steps, finetune_steps, max(1, steps // 100), max(1, steps // 20))


def _first_step_reaching(history: list[dict], value: float, key: str = "score") -> int | None:
    for row in history:
        if row["step"] > 0 and row.get(key, -1.0) >= value:
            return int(row["step"])
    return None


def _ess_root() -> Path:
    return shared_data_dir() / "bms" / "ess_lfp"


def prepare_split(window: int):
    """(source, target, source rows before the cut, target rows before the cut, target held-out rows, cut)."""
    from tinyad.battery.bms import load_ess_lfp

    root = _ess_root()
    source, target = load_ess_lfp(root, SOURCE_RACK), load_ess_lfp(root, TARGET_RACK)
    cut = target.time_at(0.5)
    held_out = target.between(cut + pd.Timedelta(seconds=window * target.period_s), None)  # a window apart
    return source, target, source.between(None, cut), target.between(None, cut), held_out, cut


def rack_segments(ranges, racks=PRETRAIN_RACKS, channels=None,
                  period_s: float = 5.0) -> tuple[list[np.ndarray], dict[int, int]]:
    """The contiguous runs of every rack in `racks` inside the time ranges `ranges` ((start, end) pairs,
    start <= time < end, None = open; separate ranges are separate segments), and the row count per rack.
    `channels` (default: all) picks and orders the columns; `period_s` is the grid the racks are loaded on."""
    from tinyad.battery.bms import load_ess_lfp
    from tinyad.errors import InputError

    segments, rows = [], {}
    for rack in racks:
        telemetry = load_ess_lfp(_ess_root(), rack, period_s=period_s)
        if channels is not None:
            missing = [c for c in channels if c not in telemetry.channels]
            if missing:
                raise InputError(f"ess_lfp rack {rack} has no channel(s) {missing}")
            telemetry = replace(telemetry, channels=list(channels))
        rows[rack] = 0
        for start, end in ranges:
            part = telemetry.between(start, end)
            segments += part.segments()
            rows[rack] += len(part.frame)
    return segments, rows


def pretraining_segments(cut, racks=PRETRAIN_RACKS) -> tuple[list[np.ndarray], dict[int, int]]:
    """The contiguous runs of every rack in `racks` before `cut` (another rack's rows, never rack 2's), and
    the row count per rack."""
    return rack_segments([(None, cut)], racks)


def block_bounds(telemetry, n_blocks: int = N_BLOCKS) -> list[tuple]:
    """(start, end) times of `n_blocks` equal time blocks of the telemetry's span (start <= time < end; the
    last block's end is None, so it keeps the last row)."""
    edges = [telemetry.time_at(k / n_blocks) for k in range(n_blocks + 1)]
    return [(edges[k], edges[k + 1] if k < n_blocks - 1 else None) for k in range(n_blocks)]


def guarded_rows(block, drop_first: int, drop_last: int):
    """The block without its first `drop_first` and last `drop_last` rows (by row, on the fixed grid)."""
    frame = block.frame
    if drop_first + drop_last >= len(frame):
        from tinyad.errors import InputError

        raise InputError(f"{block.source}: {len(frame)} rows, cannot drop {drop_first} + {drop_last} guard rows")
    start = frame["time"].iloc[drop_first]
    end = frame["time"].iloc[len(frame) - drop_last] if drop_last else None
    return block.between(start, end)


@dataclass
class InterleavedBlock:
    """One time block of rack 2 in the interleaved split, and what it is used for."""

    index: int
    start: object
    end: object  # None: to the end of the data
    role: str  # "train" | "test"
    rows: int
    guard_first: int = 0  # rows dropped at the start (test blocks next to a training block)
    guard_last: int = 0
    used: object = None  # test: the guarded telemetry; train: the whole block
    finetune: object = None  # train: the rows before the validation part
    validation: object = None  # train: the last INTERLEAVED_VALIDATION_MINUTES


class BlockRows(NamedTuple):
    """Row counts of an interleaved split: fine-tuning, validation and scratch (training blocks), test (guarded)."""

    finetune_rows: int
    validation_rows: int
    scratch_rows: int
    test_rows: int


def block_rows(blocks: list[InterleavedBlock]) -> BlockRows:
    """The row counts of an interleaved split's blocks (see BlockRows)."""
    train = [b for b in blocks if b.role == "train"]
    return BlockRows(sum(len(b.finetune.frame) for b in train), sum(len(b.validation.frame) for b in train),
                     sum(len(b.used.frame) for b in train),
                     sum(len(b.used.frame) for b in blocks if b.role == "test"))


def prepare_interleaved(target, window: int, n_blocks: int = N_BLOCKS, train_blocks=TRAIN_BLOCKS,
                        validation_minutes: int = INTERLEAVED_VALIDATION_MINUTES) -> list[InterleavedBlock]:
    """Rack 2 cut into `n_blocks` equal time blocks; training blocks are split into fine-tuning rows and a
    validation tail, test blocks lose `window` rows at every boundary with a training block (the guard)."""
    blocks = []
    bounds = block_bounds(target, n_blocks)
    for k, (start, end) in enumerate(bounds):
        part = target.between(start, end)
        if k in train_blocks:
            block_end = end if end is not None else part.frame["time"].iloc[-1] + pd.Timedelta(
                seconds=target.period_s)
            validation_start = block_end - pd.Timedelta(minutes=validation_minutes)
            blocks.append(InterleavedBlock(k, start, end, "train", len(part.frame), used=part,
                                           finetune=part.between(None, validation_start),
                                           validation=part.between(validation_start, None)))
        else:
            first = window if k - 1 in train_blocks else 0
            last = window if k + 1 in train_blocks else 0
            blocks.append(InterleavedBlock(k, start, end, "test", len(part.frame), first, last,
                                           used=guarded_rows(part, first, last)))
    return blocks


@dataclass
class Split:
    """What the recipe trains and tests on (raw units; the runs standardize): one split of the data."""

    name: str
    run_dir: Path
    channels: list
    pretrain_segments: list
    finetune_segments: list
    validation_raw: object  # one array or a list of blocks (CheckpointEvaluator)
    scratch_segments: list
    test_raw: object  # one array or a list of blocks
    pretrain_source: str
    finetune_source: str
    scratch_source: str
    details: dict = field(default_factory=dict)
    target_tag: str = "rack2"  # names the target's run directories


@dataclass
class RecipeRun:
    """Everything the recipe produced on one split."""

    split: Split
    evaluator: object
    validator: object
    pre: object
    fines: list
    chosen_step: int
    validation_by_step: dict
    validation_by_smoothing: dict
    chosen_smoothing: int
    ensemble: list
    ft_standardizer: object
    final_ft: dict
    final_ensemble_last: dict
    scratch: object
    final_sc: dict
    final_sc_smoothed: dict
    core_s: float
    finetune_seeds: tuple = FINETUNE_SEEDS  # the fine-tuning runs' seeds, in the order of `fines`


def choose_steps(histories: list[list[dict]], key: str = "val_auc_pr") -> tuple[int, dict[int, float]]:
    """The checkpoint step with the best mean VALIDATION `key` over the seeds' histories (ties: the earliest
    step), and that mean per step. Only steps every history has are candidates."""
    from tinyad.bert.evaluate import choose_on_validation

    common = sorted(set.intersection(*({row["step"] for row in h} for h in histories)))
    means = {step: float(np.mean([next(r[key] for r in h if r["step"] == step) for h in histories]))
             for step in common}
    return choose_on_validation({step: {"score": value} for step, value in means.items()}), means


class _TestAndValidation:
    """Evaluator for train(): the test numbers (reporting only) plus the validation score as `val_*`."""

    def __init__(self, test, validation, with_test: bool = True):
        self.test, self.validation, self.with_test = test, validation, with_test

    def __call__(self, model, standardizer) -> dict:
        val = self.validation(model, standardizer)
        row = {"val_score": val["score"], "val_f1": val["f1"], "val_auc_pr": val["auc_pr"]}
        if self.with_test:
            row.update(self.test(model, standardizer))
        return row


def training_seeds(offset: int = 0) -> tuple[int, tuple[int, ...]]:
    """(pretraining and scratch seed, fine-tuning seeds) of training-seed set `offset`: 0 is the benchmarks'
    (0 and FINETUNE_SEEDS); offset k uses k and the next len(FINETUNE_SEEDS) seeds after set k - 1's, so no two
    sets share a fine-tuning seed. The test and validation injections do not depend on it."""
    if offset < 0:
        raise ValueError(f"seed offset must be >= 0, got {offset}")
    return offset, tuple(seed + len(FINETUNE_SEEDS) * offset for seed in FINETUNE_SEEDS)


def run_recipe(split: Split, steps: int, preset: str, quick: bool, started: float | None = None,
               options: dict | None = None, seed_offset: int = 0) -> RecipeRun:
    """Pretrain on the split's other-rack rows, fine-tune on rack 2 with 10 % of the steps (seed ensemble, EMA,
    steps and smoothing chosen on the split's validation rows), train rack 2 from scratch, score all on test.
    `started` (perf_counter) is where the main comparison's wall time starts (default: now); `options` are
    further TrainOptions fields for every run (e.g. the synthetic-outlier probabilities); `seed_offset` picks
    the training seeds (`training_seeds`; 0 in every split's benchmark)."""
    from tinyad.bert.evaluate import CheckpointEvaluator, choose_on_validation
    from tinyad.bert.train import TrainOptions, load_checkpoint, train

    started = time.perf_counter() if started is None else started
    finetune_steps, every, scratch_every = cadence(steps, quick)[1:]
    out = split.run_dir
    out.mkdir(parents=True, exist_ok=True)
    evaluator = CheckpointEvaluator(split.test_raw, stride=16, seeds=TEST_SEEDS, anomaly_rate=ANOMALY_RATE)
    validator = CheckpointEvaluator(split.validation_raw, stride=16, seeds=VALIDATION_SEEDS,
                                    anomaly_rate=ANOMALY_RATE)
    common = dict(preset=preset, lr=1e-3, batch_size=32, **(options or {}))
    base_seed, finetune_seeds = training_seeds(seed_offset)
    pre = train(split.pretrain_segments, split.channels,
                TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), seed=base_seed,
                             ema_decay=EMA_DECAY, **common),
                out / "racks_pretrain", evaluator=None, progress=not quick, source=split.pretrain_source,
                overwrite=True)
    fines = [train(split.finetune_segments, split.channels,
                   TrainOptions(max_steps=finetune_steps, checkpoint_every=every, seed=seed, ema_decay=EMA_DECAY,
                                checkpoint=str(pre.final_checkpoint), **common),
                   out / f"{split.target_tag}_finetune_seed{seed}",
                   evaluator=_TestAndValidation(evaluator, validator, with_test=seed == finetune_seeds[0]),
                   progress=not quick, source=split.finetune_source, overwrite=True)
             for seed in finetune_seeds]
    # Choices on validation only: fine-tune steps (mean over seeds), then the smoothing of the ensemble.
    chosen_step, validation_by_step = choose_steps([f.history for f in fines])
    members = [load_checkpoint(f.run_dir / f"step_{chosen_step:06d}") if chosen_step > 0
               else load_checkpoint(pre.final_checkpoint) for f in fines]
    ensemble = [m.model for m in members]
    # Fine-tuning refits the standardization on rack 2's fine-tuning rows: every member shares it.
    ft_standardizer = load_checkpoint(fines[0].final_checkpoint).standardizer
    validation_by_smoothing = {width: validator(ensemble, ft_standardizer, smoothing=width)
                               for width in SMOOTHING_CHOICES}
    chosen_smoothing = choose_on_validation(validation_by_smoothing, key=VALIDATION_KEY)
    final_ft = evaluator(ensemble, ft_standardizer, with_report=True, smoothing=chosen_smoothing)
    # Reporting only (no choice): the ensemble of the seeds' last checkpoints, unsmoothed.
    final_ensemble_last = evaluator([f.model for f in fines], ft_standardizer, smoothing=1)
    scratch = train(split.scratch_segments, split.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=scratch_every, seed=base_seed,
                                 ema_decay=EMA_DECAY, **common),
                    out / f"{split.target_tag}_scratch", evaluator=evaluator, progress=not quick,
                    source=split.scratch_source, overwrite=True)
    final_sc = evaluator(scratch.model, _standardizer(scratch), with_report=True)
    final_sc_smoothed = evaluator(scratch.model, _standardizer(scratch), smoothing=chosen_smoothing)
    core_s = time.perf_counter() - started
    return RecipeRun(split, evaluator, validator, pre, fines, chosen_step, validation_by_step,
                     validation_by_smoothing, chosen_smoothing, ensemble, ft_standardizer, final_ft,
                     final_ensemble_last, scratch, final_sc, final_sc_smoothed, core_s, finetune_seeds)


def false_alarm_share_by_block(result: dict, lengths: list[int], test_blocks, copies_per_block: int) -> dict:
    """The share of the false alarms (flagged, not injected) that falls in each test block (reporting only)."""
    copy_block = np.repeat(np.arange(len(test_blocks)), copies_per_block)
    step_block = np.repeat(copy_block, lengths)
    false_alarm = (result["scores"] > result["threshold"]) & (result["labels"] == 0)
    n_false = int(false_alarm.sum())
    return {f"B{b.index}": (float(false_alarm[step_block == i].sum() / n_false) if n_false else 0.0)
            for i, b in enumerate(test_blocks)}


def best_possible_score(cut_rate: float, label_rate: float) -> float:
    """(P+R)/2 of a perfect ranking cut at `cut_rate` when `label_rate` of the steps are labeled."""
    precision = min(1.0, label_rate / cut_rate) if cut_rate > 0 else 0.0
    recall = min(1.0, cut_rate / label_rate) if label_rate > 0 else 0.0
    return (precision + recall) / 2


def validation_cut(recipe: RecipeRun) -> dict:
    """The kept model's test figures at a cut fixed on validation instead of the injection rate: the threshold
    with the best F1 on the validation set's scores (same ensemble, same smoothing), applied to the test scores
    (`recipe.final_ft`, scored with_report). Returns {"raw", "adjusted"} (`score_at` without and with point
    adjustment) and "validation_f1". Reporting only: the test labels choose nothing."""
    from tinyad.bert.evaluate import best_f1_threshold, score_at

    validation = recipe.validator(recipe.ensemble, recipe.ft_standardizer, with_report=True,
                                  smoothing=recipe.chosen_smoothing)
    threshold = best_f1_threshold(validation["scores"], validation["labels"])
    scores, labels, starts = recipe.final_ft["scores"], recipe.final_ft["labels"], recipe.final_ft["part_starts"]
    return {"raw": score_at(scores, labels, threshold),
            "adjusted": score_at(scores, labels, threshold, adjust=True, part_starts=starts),
            "validation_f1": score_at(validation["scores"], validation["labels"], threshold)["f1"]}


def _result_row(name, n, r):
    return [name, n, r["score"], r["score_pa"], r["f1"], r["pa_f1"], r["auc_pr"], r["vus_pr"]]


RESULT_HEADERS = ["model", "steps", "(P+R)/2", "(P+R)/2 PA", "F1", "PA-F1", "AUC-PR", "VUS-PR"]


def summarize(recipe: RecipeRun, steps: int, preset: str, source_label: str = "racks 1, 3, 4, 5",
              target_label: str = "rack 2", source_racks=PRETRAIN_RACKS) -> dict:
    """The numbers and tables every split reports, from one recipe run (test numbers: reporting only).
    `source_label` / `target_label` name the pretraining data and the target in the table rows."""
    from tinyad.bert.evaluate import first_reaching

    finetune_steps = steps // 10
    fines, fine, scratch = recipe.fines, recipe.fines[0], recipe.scratch
    final_ft, final_sc = recipe.final_ft, recipe.final_sc
    final_seed0 = next(r for r in fine.history if r["step"] == finetune_steps)  # the first seed's (0 by default)
    first_seed = recipe.finetune_seeds[0]
    final_sc_same_budget = next(r for r in scratch.history if r["step"] >= finetune_steps)
    # Checkpoint scores jitter by a few points: the scratch reference is the median of its last 5 checkpoints.
    scratch_reference = float(np.median([r["score"] for r in scratch.history[-5:]]))
    finetune_median = float(np.median([r["score"] for r in fine.history[-5:]]))
    reach = _first_step_reaching(fine.history, scratch_reference)
    fraction = None if reach is None else reach / steps
    zero_shot = fine.history[0]
    n_seeds = len(FINETUNE_SEEDS)
    chosen_step, chosen_smoothing = recipe.chosen_step, recipe.chosen_smoothing
    rows = [
        _result_row(f"pretrained model ({source_label}) on {target_label}, no update (step 0)", 0, zero_shot),
        _result_row(f"{target_label} from scratch, {final_sc_same_budget['step']} steps (same budget as fine-tuning)",
                    final_sc_same_budget["step"], final_sc_same_budget),
        _result_row(f"**fine-tuned: {n_seeds}-seed ensemble, step {chosen_step} and smoothing {chosen_smoothing} "
                    "chosen on validation**", chosen_step, final_ft),
        _result_row(f"fine-tuned: {n_seeds}-seed ensemble, last checkpoint ({finetune_steps} steps), no smoothing "
                    "(reporting only)", finetune_steps, recipe.final_ensemble_last),
        _result_row(f"fine-tuned, seed {first_seed} alone, last checkpoint ({finetune_steps} steps), no smoothing",
                    finetune_steps, final_seed0),
        _result_row(f"{target_label} from scratch, {steps} steps", steps, final_sc),
        _result_row(f"{target_label} from scratch, {steps} steps, smoothing {chosen_smoothing}", steps,
                    recipe.final_sc_smoothed),
    ]
    at_cut = validation_cut(recipe)
    rows.insert(3, [f"the same fine-tuned ensemble, cut where F1 is best on validation (flags "
                    f"{at_cut['raw']['flagged_rate']:.1%} of the test steps; reporting only)", chosen_step,
                    at_cut["raw"]["score"], at_cut["adjusted"]["score"], at_cut["raw"]["f1"], at_cut["adjusted"]["f1"],
                    final_ft["auc_pr"], final_ft["vus_pr"]])
    val_score_by_step = {step: float(np.mean([next(r["val_score"] for r in f.history if r["step"] == step)
                                              for f in fines])) for step in recipe.validation_by_step}
    validation_table = markdown_table(
        ["fine-tune step", "validation AUC-PR, mean of seeds (the criterion)", "validation (P+R)/2, mean of seeds"],
        [[k, v, val_score_by_step[k]] for k, v in recipe.validation_by_step.items()])
    smoothing_table = markdown_table(
        ["smoothing (steps)", "validation AUC-PR of the ensemble (the criterion)", "validation (P+R)/2"],
        [[k, v["auc_pr"], v["score"]] for k, v in recipe.validation_by_smoothing.items()])
    curve = markdown_table(
        ["run", "step", "(P+R)/2", "F1", "AUC-PR", "validation (P+R)/2"],
        [[f"fine-tune seed {first_seed}", r["step"], r["score"], r["f1"], r["auc_pr"], r["val_score"]]
         for r in fine.history]
        + [["scratch", r["step"], r["score"], r["f1"], r["auc_pr"], ""] for r in scratch.history])
    by_type = markdown_table(
        ["anomaly type", "events", "recall fine-tuned (ensemble)", "recall scratch"],
        [[kind, sum(1 for k, _, _ in final_ft["events"] if k == kind), final_ft["recall_by_type"].get(kind, 0.0),
          final_sc["recall_by_type"].get(kind, 0.0)] for kind in final_ft["recall_by_type"]])
    met_f1 = final_ft["f1"] >= TARGET_F1
    met_score = final_ft["score"] >= TARGET_SCORE
    met_fraction = fraction is not None and fraction <= TARGET_FRACTION
    met_time = recipe.core_s <= TARGET_MAIN_S
    first_ft = first_reaching(fine.history)
    chosen_validation = recipe.validation_by_smoothing[chosen_smoothing]
    figures = {
        "preset": preset, "pretrain_steps": steps, "finetune_steps": finetune_steps,
        "pretrain_racks": list(source_racks), "finetune_seeds": len(FINETUNE_SEEDS), "ema_decay": EMA_DECAY,
        "chosen_finetune_step": chosen_step, "chosen_smoothing": chosen_smoothing,
        "validation_score_chosen": chosen_validation["score"],
        "validation_auc_pr_chosen": chosen_validation["auc_pr"],
        "finetuned_f1": final_ft["f1"], "finetuned_score": final_ft["score"], "finetuned_pa_f1": final_ft["pa_f1"],
        "finetuned_auc_pr": final_ft["auc_pr"], "finetuned_vus_pr": final_ft["vus_pr"],
        "finetuned_precision": final_ft["precision"], "finetuned_recall": final_ft["recall"],
        "finetuned_seed0_last_score": final_seed0["score"], "finetuned_seed0_last_f1": final_seed0["f1"],
        "scratch_f1": final_sc["f1"], "scratch_score": final_sc["score"],
        "scratch_pa_f1": final_sc["pa_f1"], "scratch_auc_pr": final_sc["auc_pr"], "scratch_vus_pr": final_sc["vus_pr"],
        "scratch_smoothed_score": recipe.final_sc_smoothed["score"],
        "scratch_same_budget_score": final_sc_same_budget["score"], "zero_shot_score": zero_shot["score"],
        "zero_shot_f1": zero_shot["f1"], "zero_shot_pa_f1": zero_shot["pa_f1"],
        "zero_shot_auc_pr": zero_shot["auc_pr"], "zero_shot_vus_pr": zero_shot["vus_pr"],
        "scratch_last5_median_score": scratch_reference, "finetune_last5_median_score": finetune_median,
        "finetuned_ensemble_last_score": recipe.final_ensemble_last["score"],
        "finetuned_ensemble_last_f1": recipe.final_ensemble_last["f1"],
        "finetune_steps_to_scratch_score": reach, "finetune_fraction_of_scratch_steps": fraction,
        "first_finetune_checkpoint_reaching_0.90": first_ft,
        "first_scratch_checkpoint_reaching_0.90": first_reaching(scratch.history),
        "pretrain_s": recipe.pre.seconds, "finetune_s": [f.seconds for f in fines], "scratch_s": scratch.seconds,
        "main_comparison_s": recipe.core_s,
        "test_anomaly_rate": float(final_ft["labels"].mean()), "test_steps": len(final_ft["labels"]),
        # A cut at the nominal rate flags ANOMALY_RATE of the steps: with more steps labeled, recall is capped.
        "best_possible_score_at_cut": best_possible_score(ANOMALY_RATE, float(final_ft["labels"].mean())),
        "validation_cut_threshold": at_cut["raw"]["threshold"], "validation_cut_validation_f1": at_cut["validation_f1"],
        "validation_cut_f1": at_cut["raw"]["f1"], "validation_cut_score": at_cut["raw"]["score"],
        "validation_cut_precision": at_cut["raw"]["precision"], "validation_cut_recall": at_cut["raw"]["recall"],
        "validation_cut_flagged_rate": at_cut["raw"]["flagged_rate"],
        "test_labels_used_for_any_choice": False,
        "targets_met": {"f1>=0.80": met_f1, "score>=0.90": met_score, "fraction<=0.25": met_fraction,
                        "preset<=15min": met_time},
    }
    reach_text = (f"step {reach} = {fraction:.1%} of the scratch run's {steps} steps" if reach is not None
                  else f"never within {finetune_steps} steps")
    zero_shot_note = (f" The pretrained model with {target_label}'s standardization and no weight update (step 0) "
                      f"scores {zero_shot['score']:.3f}" + (", at or above the scratch reference: most of the "
                      "transfer gain is there before any fine-tuning step." if zero_shot["score"] >= scratch_reference
                      else "."))
    # "Reaches" above is seed 0's test curve touching the reference once; the model one would keep is the
    # validation-chosen ensemble, so say where it stands too (step 0 chosen: no update at all).
    chosen_model = "the pretrained model itself (validation chose step 0: no update)" if chosen_step == 0 else \
        f"the validation-chosen ensemble (step {chosen_step})"
    zero_shot_note += (f" Against the same reference, {chosen_model} scores {final_ft['score']:.3f}: "
                       + ("at or above it." if final_ft["score"] >= scratch_reference else "below it."))
    figures["chosen_model_at_or_above_scratch_reference"] = bool(final_ft["score"] >= scratch_reference)
    raw = at_cut["raw"]
    validation_cut_note = (
        f"The targets are read at the method's cut, which flags {ANOMALY_RATE:.0%} of the test steps (the injection "
        f"rate, known in advance); cut instead at the threshold with the best F1 on {target_label}'s validation set "
        f"(F1 {at_cut['validation_f1']:.3f} there), the same model flags {raw['flagged_rate']:.1%} of the test steps: "
        f"F1 {raw['f1']:.3f}, (P+R)/2 {raw['score']:.3f} (P {raw['precision']:.3f}, R {raw['recall']:.3f}); "
        "reporting only, no choice uses it.")
    return dict(rows=rows, validation_cut_note=validation_cut_note, validation_table=validation_table,
                smoothing_table=smoothing_table, curve=curve,
                by_type=by_type, figures=figures, reach_text=reach_text, zero_shot_note=zero_shot_note,
                met_f1=met_f1, met_score=met_score, met_fraction=met_fraction, met_time=met_time,
                scratch_reference=scratch_reference, finetune_median=finetune_median, first_ft=first_ft,
                zero_shot=zero_shot, final_seed0=final_seed0, chosen_validation=chosen_validation)


def _detail_tables(s: dict, plot: Path, validation_where: str, target_label: str = "rack 2") -> str:
    """The tables every split ends with: validation by step and by smoothing, recall per type, test curve."""
    return f"""Validation ({target_label}, {validation_where}) by fine-tune step:

{s['validation_table']}

{s['smoothing_table']}

Recall per injected type (same cut):

{s['by_type']}

Score vs steps, test (reporting only; plot: `{_rel(plot)}`):

{s['curve']}
"""


def _met(flag: bool) -> str:
    return "met" if flag else "NOT met"


def _rel(path: Path):
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


INTERLEAVED_NOTE = (
    "The interleaved split was added (and pre-registered in a commit before its first run) after the single-cut "
    "results were known, because the single cut tests a regime (end of charge, idle) no training range contains; "
    "it tests rack-to-rack transfer within regimes the target rack's training blocks cover. Both are reported; "
    "the single cut remains the harder extrapolation test.")


ALL_TIMES_NOTE = (
    "Split 3 was added after split 2's result and its diagnosis (test block B1 holds rack 2's only discharge to "
    "SOC 0, cell voltage difference up to 239 mV; no training block goes below SOC 11 % or above 64 mV), and "
    "pre-registered in a commit before its only run. It differs from split 2 in one thing: racks 1, 3, 4, 5 "
    "pretrain over their whole span, the test blocks' hours included (the racks share one plant and pass through "
    "the same regimes at the same times). No rack-2 row and no label enters pretraining. This is the issue's "
    "premise (a source site whose long history covers every regime, a target with little data); split 2's "
    "restriction did not model it. Rack 2's fine-tuning, validation, scratch and test rows are split 2's.")


def single_cut_split(out_dir: Path, window: int) -> tuple[Split, dict]:
    """Split 1: one cut time for every rack (the middle of rack 2's span)."""
    source, target, source_train, target_train, held_out, cut = prepare_split(window)
    validation_start = cut - pd.Timedelta(minutes=VALIDATION_MINUTES)
    finetune_data = target_train.between(None, validation_start)
    validation_data = target_train.between(validation_start, None)
    pretrain_segments, pretrain_rows = pretraining_segments(cut)
    split = Split("single cut", out_dir, target.channels, pretrain_segments, finetune_data.segments(),
                  validation_data.values(), target_train.segments(), held_out.values(),
                  f"racks {PRETRAIN_RACKS} before cut", "rack 2 before the validation hour", "rack 2 before cut")
    return split, dict(source=source, target=target, source_train=source_train, target_train=target_train,
                       held_out=held_out, cut=cut, validation_start=validation_start, finetune_data=finetune_data,
                       validation_data=validation_data, pretrain_rows=pretrain_rows)


def interleaved_split(out_dir: Path, window: int, source_all_times: bool = False) -> tuple[Split, dict]:
    """Split 2: interleaved time blocks of rack 2 (pre-registered; see the module docstring). With
    `source_all_times` (split 3) the other racks pretrain over their whole span instead of the training blocks'."""
    from tinyad.battery.bms import load_ess_lfp

    target = load_ess_lfp(_ess_root(), TARGET_RACK)
    blocks = prepare_interleaved(target, window)
    train, test = [b for b in blocks if b.role == "train"], [b for b in blocks if b.role == "test"]
    pretrain_ranges = [(None, None)] if source_all_times else [(b.start, b.end) for b in train]
    pretrain_segments, pretrain_rows = rack_segments(pretrain_ranges)
    finetune_segments = [s for b in train for s in b.finetune.segments()]
    scratch_segments = [s for b in train for s in b.used.segments()]
    name = "interleaved_source_all_times" if source_all_times else "interleaved"
    split = Split(name, out_dir / name, target.channels, pretrain_segments, finetune_segments,
                  [b.validation.values() for b in train], scratch_segments, [b.used.values() for b in test],
                  f"racks {PRETRAIN_RACKS} over their whole span" if source_all_times
                  else f"racks {PRETRAIN_RACKS} inside rack 2's training blocks {TRAIN_BLOCKS}",
                  "rack 2 training blocks without their validation tails", "rack 2 training blocks")
    return split, dict(target=target, blocks=blocks, train=train, test=test, pretrain_rows=pretrain_rows)


def run(quick: bool = False, out_dir: Path | None = None) -> BenchResult:
    """Pretrain on racks 1, 3, 4, 5, fine-tune on rack 2 with 10 % of the steps (seed ensemble, EMA, steps and
    smoothing chosen on a validation split of rack 2's training range), compare with rack 2 from scratch; on
    the single cut, then on the interleaved time blocks."""
    from tinyad.bert.evaluate import plot_history, score_where
    from tinyad.bert.model import PRESETS
    from tinyad.bert.train import TrainOptions, train

    steps = 200 if quick else 3000
    preset = "tiny" if quick else "small"
    window = PRESETS[preset]["window"]
    finetune_steps, every = cadence(steps, quick)[1:3]
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_quick" if quick else "bert_transfer"))
    out_dir.mkdir(parents=True, exist_ok=True)
    common = dict(preset=preset, lr=1e-3, batch_size=32)

    # ---------------------------------------------------------------------------------- split 1: single cut
    started = time.perf_counter()
    split, info = single_cut_split(out_dir, window)
    source, target, source_train, target_train = (info["source"], info["target"], info["source_train"],
                                                   info["target_train"])
    held_out, cut, validation_start = info["held_out"], info["cut"], info["validation_start"]
    finetune_data, validation_data, pretrain_rows = (info["finetune_data"], info["validation_data"],
                                                     info["pretrain_rows"])
    recipe = run_recipe(split, steps, preset, quick, started)
    evaluator, core_s = recipe.evaluator, recipe.core_s
    pre, fines, fine, scratch = recipe.pre, recipe.fines, recipe.fines[0], recipe.scratch
    final_ft = recipe.final_ft
    chosen_step, chosen_smoothing = recipe.chosen_step, recipe.chosen_smoothing
    # Variant: the first recipe (rack 1 only, one seed, no EMA, last checkpoint, no smoothing), same split.
    pre_old = train(source_train.segments(), source.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), seed=0, **common),
                    out_dir / "rack1_pretrain", evaluator=None, progress=not quick, source="rack 1 before cut",
                    overwrite=True)
    fine_old = train(target_train.segments(), target.channels,
                     TrainOptions(max_steps=finetune_steps, checkpoint_every=finetune_steps, seed=0,
                                  checkpoint=str(pre_old.final_checkpoint), **common),
                     out_dir / "rack2_finetune_first_recipe", evaluator=evaluator, progress=not quick,
                     source="rack 2 before cut", overwrite=True)
    total_s = time.perf_counter() - started
    plot = plot_history({"fine-tune seed 0 (racks -> rack 2)": fine.history, "rack 2 from scratch": scratch.history},
                        out_dir / "score_vs_steps.png", title="rack 2 held-out, injected anomalies")

    s = summarize(recipe, steps, preset)
    final_old, zero_old = fine_old.history[-1], fine_old.history[0]
    # Where the false alarms are: the first 50 min of the held-out range hold the end of the charge (current
    # to 0, relaxation), a transition no model saw before the cut.
    copy_length = len(held_out.frame)
    false_alarms = np.flatnonzero((final_ft["scores"] > final_ft["threshold"]) & (final_ft["labels"] == 0))
    early = int(50 * 60 / held_out.period_s)
    early_share = float(np.mean(false_alarms % copy_length < early)) if len(false_alarms) else 0.0
    in_early = np.arange(len(final_ft["labels"])) % copy_length < early
    after_early = score_where(final_ft["scores"], final_ft["labels"], final_ft["threshold"], ~in_early)
    n_seeds = len(FINETUNE_SEEDS)
    rows = s["rows"] + [
        _result_row("first recipe: rack-1 model, no update (step 0)", 0, zero_old),
        _result_row(f"first recipe: rack-1 pretraining, fine-tuned {finetune_steps} steps, one seed, no EMA",
                    finetune_steps, final_old),
    ]
    table = markdown_table(RESULT_HEADERS, rows)
    recipe_figures = s["figures"]
    figures = {
        **recipe_figures,
        "first_recipe_finetuned_score": final_old["score"], "first_recipe_finetuned_f1": final_old["f1"],
        "first_recipe_zero_shot_score": zero_old["score"],
        "false_alarm_share_first_50min": early_share,
        "finetuned_score_after_first_50min": after_early["score"], "finetuned_f1_after_first_50min": after_early["f1"],
        "total_s": total_s,
        # No choice of this recipe reads test labels, but the recipe was revised after seeing test results:
        "revised_after_seeing_test": ["recipe designed after the first recipe's test results",
                                      "validation criterion (P+R)/2 -> AUC-PR (the former was saturated)",
                                      "reporting-only rows: ensemble last checkpoint, score after the first 50 min"],
    }
    met_f1, met_score, met_fraction = s["met_f1"], s["met_score"], s["met_fraction"]
    p = PRESETS[preset]
    preset_text = (f"{p['layers']} layer(s), width {p['width']}, {p['heads']} heads, window {p['window']} = "
                   f"{p['window'] * target.period_s / 60:.1f} min, patch {p['patch_size']}")
    pretrain_text = ", ".join(f"rack {k} {v}" for k, v in pretrain_rows.items())
    validation_by_smoothing = recipe.validation_by_smoothing
    markdown = f"""### Single cut

**Split.** Every model sees only rows before {cut} (the middle of rack 2's span). Pretraining:
racks {', '.join(map(str, PRETRAIN_RACKS))} before the cut ({pretrain_text} rows; rack 1 includes its
`explore/` hours 17:00-20:00; never a row of rack 2). Rack 2 before the cut ({len(target_train.frame)} rows, 4.5 h
of charge/discharge cycling): fine-tuning uses the rows before {validation_start} ({len(finetune_data.frame)}
rows), the last {VALIDATION_MINUTES} min ({len(validation_data.frame)} rows) are a validation set with injected
anomalies (seeds {VALIDATION_SEEDS[0]}-{VALIDATION_SEEDS[-1]}, same recipe as the test); scratch trains on all
{len(target_train.frame)} rows. Test: rack 2 from {held_out.frame['time'].iloc[0]} on ({len(held_out.frame)} rows,
one window after the cut: the end of a charge, then idle), 4 copies with injected anomalies
({figures['test_anomaly_rate']:.1%} of the steps labeled; soft/uniform replacing, peak noising, length adjusting,
and drift, stuck, noise; training never uses those three, nor length adjusting, whose probability is 0 in this
recipe: 4 of the 7 test types are unseen; an injection that moves no value by >= 1 std is redrawn).

**Setup.** Preset `{preset}` ({preset_text}; the 6-layer `method` preset exists but is not used), lr 1e-3,
batch 32, window sliding 16, synthetic outliers soft 0.5 / uniform 0.15 / peak 0.15 / length 0.0 (AnomalyBERT
defaults). Windows are centered per channel (operating-point invariance). Every run keeps an EMA of its weights
(decay {EMA_DECAY}); checkpoints hold the averaged weights. Fine-tuning: {n_seeds} seeds x {finetune_steps} steps
from the pretrained model, checkpoint every {every} steps; the scores of the {n_seeds} seeds are averaged.

**Choices, on validation only.** Fine-tune steps: the checkpoint with the best mean validation AUC-PR over the
seeds (step 0 = no update is a candidate; ties: the earliest) -> **step {chosen_step}**. Smoothing (centered
moving average of the ensemble's scores, widths {', '.join(map(str, SMOOTHING_CHOICES))}; best validation AUC-PR)
-> **{chosen_smoothing}**. Validation (P+R)/2 is not the criterion: on this easy validation set it saturates at
the label count (every flagged step is injected) and is the same for every checkpoint.

**Thresholds.** Quantile cut at the nominal {ANOMALY_RATE:.0%} injection rate, fixed before testing; F1 uses the
same cut. This is AnomalyBERT's evaluation: a prevalence-matched cut, which needs the anomaly rate known (the test
sets are built to about that rate) and flags that share of the test scores whatever they are, so F1 and (P+R)/2
nearly coincide; on real telemetry `bert score --reference` sets the cut on known-normal data instead. VUS-PR's
100-step buffer is wide against these dense events (a random score gets about 0.24 against AUC-PR 0.08 here):
read AUC-PR. No threshold and no choice of this recipe saw test labels (the test curves below are reporting only).
Caveats, in order: (1) the recipe (multi-rack pretraining, EMA, seed ensemble, validation choice of steps and
smoothing) was designed after the first recipe's test results were known; its settings (EMA decay 0.98, 3 seeds,
60-min validation, smoothing candidates) were fixed before it was scored on test. (2) Its first run chose with
validation (P+R)/2, which was saturated (0.905 everywhere) and so picked step 0 / no smoothing; it scored test
(P+R)/2 0.778 (F1 0.778). The criterion was then switched to validation AUC-PR, after that test result had been
seen (second run: step 60, smoothing 5, test (P+R)/2 0.738). (3) After the second run, two reporting-only
numbers were added (the ensemble's last checkpoints unsmoothed; the score outside the first 50 min of the test
range); they choose nothing. The headline stays the validation-chosen ensemble even though the first recipe
(last row) scores higher on test: picking between them by that would be a choice on test labels.

{table}

- Fine-tuned (ensemble, choices on validation): F1 {final_ft['f1']:.3f} (target >= 0.80:
  {_met(met_f1)}), (P+R)/2 {final_ft['score']:.3f} = (P {final_ft['precision']:.3f} + R
  {final_ft['recall']:.3f}) / 2 (target >= 0.90: {_met(met_score)}). Validation (P+R)/2 of the
  chosen ensemble: {validation_by_smoothing[chosen_smoothing]['score']:.3f} (cycling regime; the test range is
  the end of a charge, then idle). Seed 0 alone: median of its last 5 checkpoints {s['finetune_median']:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {s['scratch_reference']:.3f}. Fine-tuning (seed 0)
  first reaches it at {s['reach_text']} (target <= 25 %: {_met(met_fraction)}).{s['zero_shot_note']}
- {s['validation_cut_note']}
- First checkpoint with (P+R)/2 >= 0.90: fine-tune seed 0 {s['first_ft']}, scratch
  {figures['first_scratch_checkpoint_reaching_0.90']}.
- False alarms: {early_share:.0%} of the fine-tuned ensemble's false alarms fall in the first 50 min of the test
  range (end of the charge: current to 0 and relaxation), a transition that happens after the cut on every rack.
  On the rest of the test range (same threshold; a diagnosis, not a result) the ensemble scores (P+R)/2
  {after_early['score']:.3f} (P {after_early['precision']:.3f}, R {after_early['recall']:.3f}), F1 {after_early['f1']:.3f}.
- Wall time (2 shared cores): pretrain {pre.seconds:.0f} s, fine-tune
  {' + '.join(f'{f.seconds:.0f}' for f in fines)} s, scratch {scratch.seconds:.0f} s; main comparison
  {core_s:.0f} s (target <= 15 min: {_met(core_s <= TARGET_MAIN_S)}); with the first-recipe variant
  {total_s:.0f} s.

{_detail_tables(s, plot, f"last {VALIDATION_MINUTES} min before the cut")}"""
    interleaved_markdown, figures["interleaved"] = _run_interleaved(out_dir, steps, preset, quick, window)
    markdown += "\n" + interleaved_markdown
    all_times_markdown, figures["interleaved_source_all_times"] = _run_interleaved(
        out_dir, steps, preset, quick, window, source_all_times=True)
    markdown += "\n" + all_times_markdown
    return BenchResult("AnomalyBERT-style transfer: battery racks 1, 3, 4, 5 -> rack 2", markdown, figures)


def _run_interleaved(out_dir: Path, steps: int, preset: str, quick: bool, window: int,
                     source_all_times: bool = False) -> tuple[str, dict]:
    """Split 2 (interleaved time blocks), or split 3 with `source_all_times`: the same recipe; its Markdown
    section and figures."""
    from tinyad.bert.evaluate import plot_history

    finetune_steps, every = cadence(steps, quick)[1:3]
    started = time.perf_counter()
    split, info = interleaved_split(out_dir, window, source_all_times)
    recipe = run_recipe(split, steps, preset, quick, started)
    s = summarize(recipe, steps, preset)
    target, blocks, train, test = info["target"], info["blocks"], info["train"], info["test"]
    final_ft, fine = recipe.final_ft, recipe.fines[0]
    plot = plot_history({"fine-tune seed 0 (racks -> rack 2)": fine.history,
                         "rack 2 from scratch": recipe.scratch.history},
                        split.run_dir / f"score_vs_steps_{split.name}.png",
                        title="rack 2 interleaved test blocks, injected anomalies")
    # Reporting only: how the fine-tuned ensemble's false alarms spread over the test blocks.
    false_by_block = false_alarm_share_by_block(final_ft, recipe.evaluator.copy_lengths(), test, len(TEST_SEEDS))
    n_seeds = len(FINETUNE_SEEDS)
    period = target.period_s
    guard_min = window * period / 60
    counts = block_rows(blocks)
    finetune_rows, validation_rows, scratch_rows, test_rows = counts
    pretrain_rows = info["pretrain_rows"]
    pretrain_text = ", ".join(f"rack {k} {v}" for k, v in pretrain_rows.items())

    def _end(b):
        return b.end if b.end is not None else f"{b.used.frame['time'].iloc[-1]} (last row)"

    def _use(b):
        if b.role == "train":
            return (f"fine-tune {len(b.finetune.frame)} rows to {b.validation.frame['time'].iloc[0]}, validation "
                    f"{len(b.validation.frame)} rows")
        return (f"test {len(b.used.frame)} rows ({b.used.frame['time'].iloc[0]} - {b.used.frame['time'].iloc[-1]}; "
                f"guard: {b.guard_first} first + {b.guard_last} last rows dropped)")

    block_table = markdown_table(["block", "from", "to", "role", "rows", "use"],
                                 [[f"B{b.index}", b.start, _end(b), b.role, b.rows, _use(b)] for b in blocks])
    validation_seed_text = ", ".join(
        f"B{b.index}: {recipe.validator.block_seeds(i)[0]}-{recipe.validator.block_seeds(i)[-1]}"
        for i, b in enumerate(train))
    test_seed_text = ", ".join(
        f"B{b.index}: {recipe.evaluator.block_seeds(i)[0]}-{recipe.evaluator.block_seeds(i)[-1]}"
        for i, b in enumerate(test))
    figures = {
        **s["figures"],
        "n_blocks": N_BLOCKS, "train_blocks": list(TRAIN_BLOCKS), "test_blocks": list(TEST_BLOCKS),
        "block_starts": [str(b.start) for b in blocks], "guard_rows": window,
        "validation_minutes_per_block": INTERLEAVED_VALIDATION_MINUTES,
        **counts._asdict(), "pretrain_rows": {str(k): v for k, v in pretrain_rows.items()},
        "test_copies": len(test) * len(TEST_SEEDS),
        "false_alarm_share_by_test_block": false_by_block,
        "pre_registered": True, "added_after_single_cut_results": True,
        "source_racks_over_whole_span": source_all_times, "added_after_split_2_results": source_all_times,
    }
    met = s["figures"]["targets_met"]
    core_s = recipe.core_s
    pretrain_scope = ("over their whole span, the test blocks' hours included (same plant, same regimes at the "
                      "same times)" if source_all_times else "only their rows inside the training blocks' time ranges "
                      "(no rack contributes a row from a test block's time)")
    title = ("Split 3: interleaved blocks, source racks over their whole span" if source_all_times
             else "Interleaved split")
    markdown = f"""### {title}

{ALL_TIMES_NOTE if source_all_times else INTERLEAVED_NOTE}

**Split.** Rack 2's span ({blocks[0].start} - {target.frame['time'].iloc[-1]}) is divided into {N_BLOCKS} equal
time blocks; training blocks {', '.join(f'B{k}' for k in TRAIN_BLOCKS)}, test blocks
{', '.join(f'B{k}' for k in TEST_BLOCKS)}. Guard: at each boundary between a training and a test block, the
{window} rows ({guard_min:.1f} min, the model window) of the test block next to it are dropped and used by
nothing, so no test window overlaps a training row. Validation: the last {INTERLEAVED_VALIDATION_MINUTES} min of
each training block ({validation_rows} rows, injected anomalies, seeds {validation_seed_text}). Fine-tuning: the
rest of the training blocks ({finetune_rows} rows, one segment per block: no window across a block boundary).
Scratch: all {scratch_rows} training-block rows, {steps} steps. Pretraining: racks
{', '.join(map(str, PRETRAIN_RACKS))}, {pretrain_scope} ({pretrain_text} rows; never a row of rack 2). Test: {test_rows} rows, 4
injected copies of each test block ({figures['test_copies']} copies, seeds {test_seed_text};
{figures['test_anomaly_rate']:.1%} of the steps labeled, same anomaly types as the single cut; injected events
overshoot the nominal rate more in short blocks, so a cut at {ANOMALY_RATE:.0%} caps recall and the best possible
(P+R)/2 is {figures['best_possible_score_at_cut']:.3f}).

{block_table}

Setup, choices and thresholds as for the single cut (preset `{preset}`, EMA {EMA_DECAY}, {n_seeds} seeds x
{finetune_steps} fine-tune steps checkpointed every {every}; fine-tune step and smoothing chosen on validation
AUC-PR; quantile cut at the nominal {ANOMALY_RATE:.0%} rate). The first-recipe variant is not repeated here.

**Choices, on validation only.** Fine-tune step -> **{recipe.chosen_step}**, smoothing ->
**{recipe.chosen_smoothing}**.

{markdown_table(RESULT_HEADERS, s['rows'])}

- Fine-tuned (ensemble, choices on validation): F1 {final_ft['f1']:.3f} (target >= 0.80:
  {_met(s['met_f1'])}), (P+R)/2 {final_ft['score']:.3f} = (P {final_ft['precision']:.3f} + R
  {final_ft['recall']:.3f}) / 2 (target >= 0.90: {_met(s['met_score'])}). Validation (P+R)/2 of the
  chosen ensemble: {s['chosen_validation']['score']:.3f}. Seed 0 alone: median of its last 5 checkpoints
  {s['finetune_median']:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {s['scratch_reference']:.3f}. Fine-tuning (seed 0)
  first reaches it at {s['reach_text']} (target <= 25 %: {_met(s['met_fraction'])}).{s['zero_shot_note']}
- {s['validation_cut_note']}
- First checkpoint with (P+R)/2 >= 0.90: fine-tune seed 0 {s['first_ft']}, scratch
  {s['figures']['first_scratch_checkpoint_reaching_0.90']}.
- False alarms of the fine-tuned ensemble by test block (reporting only):
  {', '.join(f'{k} {v:.0%}' for k, v in false_by_block.items())}.
- Wall time (2 shared cores): pretrain {recipe.pre.seconds:.0f} s, fine-tune
  {' + '.join(f'{f.seconds:.0f}' for f in recipe.fines)} s, scratch {recipe.scratch.seconds:.0f} s; main
  comparison {core_s:.0f} s (target <= 15 min: {_met(met['preset<=15min'])}).

{_detail_tables(s, plot, f"last {INTERLEAVED_VALIDATION_MINUTES} min of each training block")}"""
    return markdown, figures


def _standardizer(result):
    from tinyad.bert.train import load_checkpoint

    return load_checkpoint(result.final_checkpoint).standardizer
