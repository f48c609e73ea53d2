"""Rack-to-rack transfer of the AnomalyBERT-style detector on the ess_lfp battery racks.

Split (one cut time T for every rack: the middle of rack 2's time span, 2021-06-11 00:30): no model sees any
row after T. The other racks (1, 3, 4, 5) before T pretrain the source model for S steps. Rack 2 before T is
split in time: the last VALIDATION_MINUTES before T are a validation set (injected anomalies, other seeds than
the test), the rows before that fine-tune the source model for S/10 steps with FINETUNE_SEEDS seeds; a model
from scratch trains S steps on all of rack 2 before T. Every run keeps an exponential moving average of its
weights (EMA_DECAY). Chosen on validation only: the number of fine-tune steps (the checkpoint with the best
mean validation score over the seeds; 0 = no update is a candidate) and the smoothing width of the scores of
the seed ensemble. Test: rack 2 after T + one window (4.3 h: the end of a charge, then idle) with injected
anomalies: the four training types plus drift, stuck and noise, never used in training; 4 seeded copies, ~8 %
of the steps labeled; an injection that moves no value by >= 1 std is redrawn.

Thresholds: the method's quantile cut at the nominal injection rate (8 %, fixed before testing); no threshold
or choice saw test labels. The "score vs steps" curves are test scores of every checkpoint, for reporting
only; the scratch reference for "steps to reach" is the median of its last 5 checkpoints. A variant repeats
the first recipe (rack-1 pretraining, one seed, no EMA, last checkpoint, no smoothing) for comparison.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from tinyad.bench import BenchResult, markdown_table
from tinyad.paths import REPO_ROOT, shared_data_dir

SOURCE_RACK, TARGET_RACK = 1, 2
PRETRAIN_RACKS = (1, 3, 4, 5)
ANOMALY_RATE = 0.08
TARGET_F1, TARGET_SCORE, TARGET_FRACTION = 0.80, 0.90, 0.25
VALIDATION_MINUTES = 60
VALIDATION_SEEDS = (100, 101, 102, 103)  # other injections than the test's seeds 0-3
FINETUNE_SEEDS = (0, 1, 2)
EMA_DECAY = 0.98  # ~50-step horizon: a sixth of the fine-tuning run
SMOOTHING_CHOICES = (1, 5, 9, 17)
# The validation set (cycling regime) is easy: at the 8 % cut every flagged step is an injected one, so
# (P+R)/2 saturates at the label count (0.905 for every checkpoint of the first run) and cannot choose.
# AUC-PR ranks all steps and still discriminates. (Changed after the first run of this recipe; see the notes.)
VALIDATION_KEY = "auc_pr"


def _first_step_reaching(history: list[dict], value: float, key: str = "score") -> int | None:
    for row in history:
        if row["step"] > 0 and row.get(key, -1.0) >= value:
            return int(row["step"])
    return None


def prepare_split(window: int):
    """(source, target, source rows before the cut, target rows before the cut, target held-out rows, cut)."""
    from tinyad.battery.bms import load_ess_lfp

    root = shared_data_dir() / "bms" / "ess_lfp"
    source, target = load_ess_lfp(root, SOURCE_RACK), load_ess_lfp(root, TARGET_RACK)
    cut = target.time_at(0.5)
    held_out = target.between(cut + pd.Timedelta(seconds=window * target.period_s), None)  # a window apart
    return source, target, source.between(None, cut), target.between(None, cut), held_out, cut


def pretraining_segments(cut, racks=PRETRAIN_RACKS) -> tuple[list[np.ndarray], dict[int, int]]:
    """The contiguous runs of every rack in `racks` before `cut` (another rack's rows, never rack 2's), and
    the row count per rack."""
    from tinyad.battery.bms import load_ess_lfp

    root = shared_data_dir() / "bms" / "ess_lfp"
    segments, rows = [], {}
    for rack in racks:
        before = load_ess_lfp(root, rack).between(None, cut)
        segments += before.segments()
        rows[rack] = len(before.frame)
    return segments, rows


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


def run(quick: bool = False, out_dir: Path | None = None) -> BenchResult:
    """Pretrain on racks 1, 3, 4, 5, fine-tune on rack 2 with 10 % of the steps (seed ensemble, EMA, steps and
    smoothing chosen on a validation split of rack 2's training range), compare with rack 2 from scratch."""
    from tinyad.bert.evaluate import CheckpointEvaluator, first_reaching, plot_history
    from tinyad.bert.model import PRESETS
    from tinyad.bert.train import TrainOptions, load_checkpoint, train

    steps = 200 if quick else 3000
    preset = "tiny" if quick else "small"
    finetune_steps, every = steps // 10, max(1, steps // 100)
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_quick" if quick else "bert_transfer"))
    out_dir.mkdir(parents=True, exist_ok=True)
    source, target, source_train, target_train, held_out, cut = prepare_split(PRESETS[preset]["window"])
    validation_start = cut - pd.Timedelta(minutes=VALIDATION_MINUTES)
    finetune_data = target_train.between(None, validation_start)
    validation_data = target_train.between(validation_start, None)
    evaluator = CheckpointEvaluator(held_out.values(), stride=16, seeds=range(4), anomaly_rate=ANOMALY_RATE)
    validator = CheckpointEvaluator(validation_data.values(), stride=16, seeds=VALIDATION_SEEDS,
                                    anomaly_rate=ANOMALY_RATE)
    common = dict(preset=preset, lr=1e-3, batch_size=32)

    started = time.perf_counter()
    pretrain_segments, pretrain_rows = pretraining_segments(cut)
    pre = train(pretrain_segments, source.channels,
                TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), seed=0, ema_decay=EMA_DECAY,
                             **common),
                out_dir / "racks_pretrain", evaluator=None, progress=not quick,
                source=f"racks {PRETRAIN_RACKS} before cut")
    fines = [train(finetune_data.segments(), target.channels,
                   TrainOptions(max_steps=finetune_steps, checkpoint_every=every, seed=seed, ema_decay=EMA_DECAY,
                                checkpoint=str(pre.final_checkpoint), **common),
                   out_dir / f"rack2_finetune_seed{seed}",
                   evaluator=_TestAndValidation(evaluator, validator, with_test=seed == FINETUNE_SEEDS[0]),
                   progress=not quick, source="rack 2 before the validation hour")
             for seed in FINETUNE_SEEDS]
    fine = fines[0]
    # Choices on validation only: fine-tune steps (mean over seeds), then the smoothing of the ensemble.
    chosen_step, validation_by_step = choose_steps([f.history for f in fines])
    members = [load_checkpoint(f.run_dir / f"step_{chosen_step:06d}") if chosen_step > 0
               else load_checkpoint(pre.final_checkpoint) for f in fines]
    ensemble = [m.model for m in members]
    # Fine-tuning refits the standardization on rack 2's fine-tuning rows: every member shares it.
    ft_standardizer = load_checkpoint(fine.final_checkpoint).standardizer
    validation_by_smoothing = {width: validator(ensemble, ft_standardizer, smoothing=width)
                               for width in SMOOTHING_CHOICES}
    from tinyad.bert.evaluate import choose_on_validation

    chosen_smoothing = choose_on_validation(validation_by_smoothing, key=VALIDATION_KEY)
    final_ft = evaluator(ensemble, ft_standardizer, with_report=True, smoothing=chosen_smoothing)
    # Reporting only (no choice): the ensemble of the seeds' last checkpoints, unsmoothed.
    final_ensemble_last = evaluator([f.model for f in fines], ft_standardizer, smoothing=1)
    scratch = train(target_train.segments(), target.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 20), seed=0,
                                 ema_decay=EMA_DECAY, **common),
                    out_dir / "rack2_scratch", evaluator=evaluator, progress=not quick,
                    source="rack 2 before cut")
    final_sc = evaluator(scratch.model, _standardizer(scratch), with_report=True)
    final_sc_smoothed = evaluator(scratch.model, _standardizer(scratch), smoothing=chosen_smoothing)
    core_s = time.perf_counter() - started
    # Variant: the first recipe (rack 1 only, one seed, no EMA, last checkpoint, no smoothing), same split.
    pre_old = train(source_train.segments(), source.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), seed=0, **common),
                    out_dir / "rack1_pretrain", evaluator=None, progress=not quick, source="rack 1 before cut")
    fine_old = train(target_train.segments(), target.channels,
                     TrainOptions(max_steps=finetune_steps, checkpoint_every=finetune_steps, seed=0,
                                  checkpoint=str(pre_old.final_checkpoint), **common),
                     out_dir / "rack2_finetune_first_recipe", evaluator=evaluator, progress=not quick,
                     source="rack 2 before cut")
    total_s = time.perf_counter() - started
    plot = plot_history({"fine-tune seed 0 (racks -> rack 2)": fine.history, "rack 2 from scratch": scratch.history},
                        out_dir / "score_vs_steps.png", title="rack 2 held-out, injected anomalies")

    final_seed0 = next(r for r in fine.history if r["step"] == finetune_steps)
    final_old, zero_old = fine_old.history[-1], fine_old.history[0]
    final_sc_same_budget = next(r for r in scratch.history if r["step"] >= finetune_steps)
    # Checkpoint scores jitter by a few points: the scratch reference is the median of its last 5 checkpoints.
    scratch_reference = float(np.median([r["score"] for r in scratch.history[-5:]]))
    finetune_median = float(np.median([r["score"] for r in fine.history[-5:]]))
    reach = _first_step_reaching(fine.history, scratch_reference)
    # Where the false alarms are: the first 50 min of the held-out range hold the end of the charge (current
    # to 0, relaxation), a transition no model saw before the cut.
    copy_length = len(held_out.frame)
    false_alarms = np.flatnonzero((final_ft["scores"] > final_ft["threshold"]) & (final_ft["labels"] == 0))
    early = int(50 * 60 / held_out.period_s)
    early_share = float(np.mean(false_alarms % copy_length < early)) if len(false_alarms) else 0.0
    from tinyad.bert.evaluate import score_where

    in_early = np.arange(len(final_ft["labels"])) % copy_length < early
    after_early = score_where(final_ft["scores"], final_ft["labels"], final_ft["threshold"], ~in_early)
    fraction = None if reach is None else reach / steps
    zero_shot = fine.history[0]
    n_seeds = len(FINETUNE_SEEDS)

    def row(name, n, r):
        return [name, n, r["score"], r["score_pa"], r["f1"], r["pa_f1"], r["auc_pr"], r["vus_pr"]]

    rows = [
        row("pretrained model (racks 1, 3, 4, 5) on rack 2, no update (step 0)", 0, zero_shot),
        row(f"rack 2 from scratch, {final_sc_same_budget['step']} steps (same budget as fine-tuning)",
            final_sc_same_budget["step"], final_sc_same_budget),
        row(f"**fine-tuned: {n_seeds}-seed ensemble, step {chosen_step} and smoothing {chosen_smoothing} chosen "
            "on validation**", chosen_step, final_ft),
        row(f"fine-tuned: {n_seeds}-seed ensemble, last checkpoint ({finetune_steps} steps), no smoothing "
            "(reporting only)", finetune_steps, final_ensemble_last),
        row(f"fine-tuned, seed 0 alone, last checkpoint ({finetune_steps} steps), no smoothing", finetune_steps,
            final_seed0),
        row(f"rack 2 from scratch, {steps} steps", steps, final_sc),
        row(f"rack 2 from scratch, {steps} steps, smoothing {chosen_smoothing}", steps, final_sc_smoothed),
        row("first recipe: rack-1 model, no update (step 0)", 0, zero_old),
        row(f"first recipe: rack-1 pretraining, fine-tuned {finetune_steps} steps, one seed, no EMA",
            finetune_steps, final_old),
    ]
    table = markdown_table(["model", "steps", "(P+R)/2", "(P+R)/2 PA", "F1", "PA-F1", "AUC-PR", "VUS-PR"], rows)
    val_score_by_step = {step: float(np.mean([next(r["val_score"] for r in f.history if r["step"] == step)
                                              for f in fines])) for step in validation_by_step}
    validation_table = markdown_table(
        ["fine-tune step", "validation AUC-PR, mean of seeds (the criterion)", "validation (P+R)/2, mean of seeds"],
        [[k, v, val_score_by_step[k]] for k, v in validation_by_step.items()])
    smoothing_table = markdown_table(
        ["smoothing (steps)", "validation AUC-PR of the ensemble (the criterion)", "validation (P+R)/2"],
        [[k, v["auc_pr"], v["score"]] for k, v in validation_by_smoothing.items()])
    curve = markdown_table(
        ["run", "step", "(P+R)/2", "F1", "AUC-PR", "validation (P+R)/2"],
        [["fine-tune seed 0", r["step"], r["score"], r["f1"], r["auc_pr"], r["val_score"]] for r in fine.history]
        + [["scratch", r["step"], r["score"], r["f1"], r["auc_pr"], ""] for r in scratch.history])
    by_type = markdown_table(
        ["anomaly type", "events", "recall fine-tuned (ensemble)", "recall scratch"],
        [[kind, sum(1 for k, _, _ in final_ft["events"] if k == kind), final_ft["recall_by_type"].get(kind, 0.0),
          final_sc["recall_by_type"].get(kind, 0.0)] for kind in final_ft["recall_by_type"]])
    met_f1 = final_ft["f1"] >= TARGET_F1
    met_score = final_ft["score"] >= TARGET_SCORE
    met_fraction = fraction is not None and fraction <= TARGET_FRACTION
    first_ft = first_reaching(fine.history)
    figures = {
        "preset": preset, "pretrain_steps": steps, "finetune_steps": finetune_steps,
        "pretrain_racks": list(PRETRAIN_RACKS), "finetune_seeds": len(FINETUNE_SEEDS), "ema_decay": EMA_DECAY,
        "chosen_finetune_step": chosen_step, "chosen_smoothing": chosen_smoothing,
        "validation_score_chosen": validation_by_smoothing[chosen_smoothing]["score"],
        "validation_auc_pr_chosen": validation_by_smoothing[chosen_smoothing]["auc_pr"],
        "finetuned_f1": final_ft["f1"], "finetuned_score": final_ft["score"], "finetuned_pa_f1": final_ft["pa_f1"],
        "finetuned_auc_pr": final_ft["auc_pr"], "finetuned_vus_pr": final_ft["vus_pr"],
        "finetuned_precision": final_ft["precision"], "finetuned_recall": final_ft["recall"],
        "finetuned_seed0_last_score": final_seed0["score"], "finetuned_seed0_last_f1": final_seed0["f1"],
        "scratch_f1": final_sc["f1"], "scratch_score": final_sc["score"],
        "scratch_pa_f1": final_sc["pa_f1"], "scratch_auc_pr": final_sc["auc_pr"], "scratch_vus_pr": final_sc["vus_pr"],
        "scratch_smoothed_score": final_sc_smoothed["score"],
        "scratch_same_budget_score": final_sc_same_budget["score"], "zero_shot_score": zero_shot["score"],
        "zero_shot_f1": zero_shot["f1"], "zero_shot_pa_f1": zero_shot["pa_f1"],
        "zero_shot_auc_pr": zero_shot["auc_pr"], "zero_shot_vus_pr": zero_shot["vus_pr"],
        "scratch_last5_median_score": scratch_reference, "finetune_last5_median_score": finetune_median,
        "first_recipe_finetuned_score": final_old["score"], "first_recipe_finetuned_f1": final_old["f1"],
        "first_recipe_zero_shot_score": zero_old["score"],
        "false_alarm_share_first_50min": early_share,
        "finetuned_ensemble_last_score": final_ensemble_last["score"],
        "finetuned_ensemble_last_f1": final_ensemble_last["f1"],
        "finetuned_score_after_first_50min": after_early["score"], "finetuned_f1_after_first_50min": after_early["f1"],
        "finetune_steps_to_scratch_score": reach, "finetune_fraction_of_scratch_steps": fraction,
        "first_finetune_checkpoint_reaching_0.90": first_ft,
        "first_scratch_checkpoint_reaching_0.90": first_reaching(scratch.history),
        "pretrain_s": pre.seconds, "finetune_s": [f.seconds for f in fines], "scratch_s": scratch.seconds,
        "total_s": total_s, "main_comparison_s": core_s,
        "test_anomaly_rate": float(final_ft["labels"].mean()), "test_steps": int(len(final_ft["labels"])),
        # No choice of this recipe reads test labels, but the recipe was revised after seeing test results:
        "test_labels_used_for_any_choice": False,
        "revised_after_seeing_test": ["recipe designed after the first recipe's test results",
                                      "validation criterion (P+R)/2 -> AUC-PR (the former was saturated)",
                                      "reporting-only rows: ensemble last checkpoint, score after the first 50 min"],
        "targets_met": {"f1>=0.80": met_f1, "score>=0.90": met_score, "fraction<=0.25": met_fraction,
                        "preset<=15min": core_s <= 900},
    }
    reach_text = (f"step {reach} = {fraction:.1%} of the scratch run's {steps} steps" if reach is not None
                  else f"never within {finetune_steps} steps")
    p = PRESETS[preset]
    preset_text = (f"{p['layers']} layer(s), width {p['width']}, {p['heads']} heads, window {p['window']} = "
                   f"{p['window'] * target.period_s / 60:.1f} min, patch {p['patch_size']}")
    zero_shot_note = (" The pretrained model with rack 2's standardization and no weight update (step 0) scores "
                      f"{zero_shot['score']:.3f}" + (", at or above the scratch reference: most of the "
                      "transfer gain is there before any fine-tuning step." if zero_shot["score"] >= scratch_reference
                      else "."))
    pretrain_text = ", ".join(f"rack {k} {v}" for k, v in pretrain_rows.items())
    markdown = f"""**Split.** Every model sees only rows before {cut} (the middle of rack 2's span). Pretraining:
racks {', '.join(map(str, PRETRAIN_RACKS))} before the cut ({pretrain_text} rows; rack 1 includes its
`explore/` hours 17:00-20:00; never a row of rack 2). Rack 2 before the cut ({len(target_train.frame)} rows, 4.5 h
of charge/discharge cycling): fine-tuning uses the rows before {validation_start} ({len(finetune_data.frame)}
rows), the last {VALIDATION_MINUTES} min ({len(validation_data.frame)} rows) are a validation set with injected
anomalies (seeds {VALIDATION_SEEDS[0]}-{VALIDATION_SEEDS[-1]}, same recipe as the test); scratch trains on all
{len(target_train.frame)} rows. Test: rack 2 from {held_out.frame['time'].iloc[0]} on ({len(held_out.frame)} rows,
one window after the cut: the end of a charge, then idle), 4 copies with injected anomalies
({figures['test_anomaly_rate']:.1%} of the steps labeled; soft/uniform replacing, peak noising, length adjusting,
and drift, stuck, noise, which training never uses; an injection that moves no value by >= 1 std is redrawn).

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
same cut. No threshold and no choice of this recipe saw test labels (the test curves below are reporting only).
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
  {'met' if met_f1 else 'NOT met'}), (P+R)/2 {final_ft['score']:.3f} = (P {final_ft['precision']:.3f} + R
  {final_ft['recall']:.3f}) / 2 (target >= 0.90: {'met' if met_score else 'NOT met'}). Validation (P+R)/2 of the
  chosen ensemble: {validation_by_smoothing[chosen_smoothing]['score']:.3f} (cycling regime; the test range is
  the end of a charge, then idle). Seed 0 alone: median of its last 5 checkpoints {finetune_median:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {scratch_reference:.3f}. Fine-tuning (seed 0)
  first reaches it at {reach_text} (target <= 25 %: {'met' if met_fraction else 'NOT met'}).{zero_shot_note}
- First checkpoint with (P+R)/2 >= 0.90: fine-tune seed 0 {first_ft}, scratch
  {figures['first_scratch_checkpoint_reaching_0.90']}.
- False alarms: {early_share:.0%} of the fine-tuned ensemble's false alarms fall in the first 50 min of the test
  range (end of the charge: current to 0 and relaxation), a transition that happens after the cut on every rack.
  On the rest of the test range (same threshold; a diagnosis, not a result) the ensemble scores (P+R)/2
  {after_early['score']:.3f} (P {after_early['precision']:.3f}, R {after_early['recall']:.3f}), F1 {after_early['f1']:.3f}.
- Wall time (2 shared cores, other jobs running): pretrain {pre.seconds:.0f} s, fine-tune
  {' + '.join(f'{f.seconds:.0f}' for f in fines)} s, scratch {scratch.seconds:.0f} s; main comparison
  {core_s:.0f} s (target <= 15 min: {'met' if core_s <= 900 else 'NOT met'}); with the first-recipe variant
  {total_s:.0f} s.

Validation (rack 2, last {VALIDATION_MINUTES} min before the cut) by fine-tune step:

{validation_table}

{smoothing_table}

Recall per injected type (same cut):

{by_type}

Score vs steps, test (reporting only; plot: `{plot.relative_to(REPO_ROOT) if plot.is_relative_to(REPO_ROOT) else plot}`):

{curve}
"""
    return BenchResult("AnomalyBERT-style transfer: battery racks 1, 3, 4, 5 -> rack 2", markdown, figures)


def _standardizer(result):
    from tinyad.bert.train import load_checkpoint

    return load_checkpoint(result.final_checkpoint).standardizer
