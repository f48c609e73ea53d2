"""Rack-to-rack transfer of the AnomalyBERT-style detector on the ess_lfp battery racks.

Split (one cut time T for every rack: the middle of rack 2's time span, 2021-06-11 00:30): no model sees any
row after T. Rack 1 before T (7 h, one 25-min hole) pretrains the source model for S steps. On rack 2, before
T (4.5 h), we (a) fine-tune the rack-1 model for S/10 steps and (b) train from scratch for S steps. Every
checkpoint is scored on rack 2 after T + one window (4.3 h: the end of a charge, then idle) with injected
anomalies: the four training types plus drift, stuck and noise, never used in training; 4 seeded copies,
~8 % of the steps labeled; an injection that moves no value by >= 1 std is redrawn.

Thresholds: the method's quantile cut at the nominal injection rate (8 %, fixed before testing); no threshold
saw test labels. The "score vs steps" curves are reported for every checkpoint; the headline is the LAST
checkpoint of each run (no checkpoint is picked with test labels); the scratch reference for "steps to reach"
is the median of its last 5 checkpoints. A variant fine-tunes from a model pretrained on all 12 h of rack 1.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from tinyad.bench import BenchResult, markdown_table
from tinyad.paths import REPO_ROOT, shared_data_dir

SOURCE_RACK, TARGET_RACK = 1, 2
ANOMALY_RATE = 0.08
TARGET_F1, TARGET_SCORE, TARGET_FRACTION = 0.80, 0.90, 0.25


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


def run(quick: bool = False, out_dir: Path | None = None) -> BenchResult:
    """Pretrain on rack 1, fine-tune on rack 2 with 10 % of the steps, compare with rack 2 from scratch."""
    from tinyad.bert.evaluate import CheckpointEvaluator, first_reaching, plot_history
    from tinyad.bert.model import PRESETS
    from tinyad.bert.train import TrainOptions, train

    steps = 200 if quick else 3000
    preset = "tiny" if quick else "small"
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_quick" if quick else "bert_transfer"))
    out_dir.mkdir(parents=True, exist_ok=True)
    source, target, source_train, target_train, held_out, cut = prepare_split(PRESETS[preset]["window"])
    evaluator = CheckpointEvaluator(held_out.values(), stride=16, seeds=range(4), anomaly_rate=ANOMALY_RATE)
    common = dict(preset=preset, lr=1e-3, batch_size=32, seed=0)

    started = time.perf_counter()
    pre = train(source_train.segments(), source.channels,
                TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), **common),
                out_dir / "rack1_pretrain", evaluator=None, progress=not quick, source="rack 1 before cut")
    fine = train(target_train.segments(), target.channels,
                 TrainOptions(max_steps=steps // 10, checkpoint_every=max(1, steps // 100),
                              checkpoint=str(pre.final_checkpoint), **common),
                 out_dir / "rack2_finetune", evaluator=evaluator, progress=not quick, source="rack 2 before cut")
    scratch = train(target_train.segments(), target.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 20), **common),
                    out_dir / "rack2_scratch", evaluator=evaluator, progress=not quick,
                    source="rack 2 before cut")
    core_s = time.perf_counter() - started
    # Variant: the source rack's whole history (all 12 h of rack 1, including hours that are test time on
    # rack 2 - another rack, never rack 2's rows): what a longer source history buys.
    pre_all = train(source.segments(), source.channels,
                    TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), **common),
                    out_dir / "rack1_all_pretrain", evaluator=None, progress=not quick, source="rack 1, all hours")
    fine_all = train(target_train.segments(), target.channels,
                     TrainOptions(max_steps=steps // 10, checkpoint_every=max(1, steps // 100),
                                  checkpoint=str(pre_all.final_checkpoint), **common),
                     out_dir / "rack2_finetune_from_all", evaluator=evaluator, progress=not quick,
                     source="rack 2 before cut")
    total_s = time.perf_counter() - started
    plot = plot_history({"fine-tune (rack 1 -> rack 2)": fine.history, "rack 2 from scratch": scratch.history,
                         "fine-tune from all of rack 1 (variant)": fine_all.history},
                        out_dir / "score_vs_steps.png", title="rack 2 held-out, injected anomalies")

    # Full evaluation (common suite) of the final checkpoints; same cut for both.
    final_ft = evaluator(fine.model, _standardizer(fine), with_report=True)
    final_sc = evaluator(scratch.model, _standardizer(scratch), with_report=True)
    final_all = evaluator(fine_all.model, _standardizer(fine_all), with_report=True)
    final_sc_same_budget = next(r for r in scratch.history if r["step"] >= steps // 10)
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
    fraction = None if reach is None else reach / steps
    zero_shot = fine.history[0]

    rows = [
        ["rack-1 model on rack 2, no update (step 0)", 0, zero_shot["score"], zero_shot["score_pa"],
         zero_shot["f1"], zero_shot["pa_f1"], zero_shot["auc_pr"], zero_shot["vus_pr"]],
        [f"rack 2 from scratch, {final_sc_same_budget['step']} steps (same budget as fine-tuning)",
         final_sc_same_budget["step"], final_sc_same_budget["score"], final_sc_same_budget["score_pa"],
         final_sc_same_budget["f1"], final_sc_same_budget["pa_f1"], final_sc_same_budget["auc_pr"],
         final_sc_same_budget["vus_pr"]],
        [f"fine-tuned, {steps // 10} steps", steps // 10, final_ft["score"], final_ft["score_pa"], final_ft["f1"],
         final_ft["pa_f1"], final_ft["auc_pr"], final_ft["vus_pr"]],
        [f"rack 2 from scratch, {steps} steps", steps, final_sc["score"], final_sc["score_pa"], final_sc["f1"],
         final_sc["pa_f1"], final_sc["auc_pr"], final_sc["vus_pr"]],
        [f"variant: fine-tuned from all 12 h of rack 1, {steps // 10} steps", steps // 10, final_all["score"],
         final_all["score_pa"], final_all["f1"], final_all["pa_f1"], final_all["auc_pr"], final_all["vus_pr"]],
    ]
    table = markdown_table(["model", "steps", "(P+R)/2", "(P+R)/2 PA", "F1", "PA-F1", "AUC-PR", "VUS-PR"], rows)
    curve = markdown_table(
        ["run", "step", "(P+R)/2", "F1", "AUC-PR"],
        [["fine-tune", r["step"], r["score"], r["f1"], r["auc_pr"]] for r in fine.history]
        + [["scratch", r["step"], r["score"], r["f1"], r["auc_pr"]] for r in scratch.history])
    by_type = markdown_table(
        ["anomaly type", "events", "recall fine-tuned", "recall scratch"],
        [[kind, sum(1 for k, _, _ in final_ft["events"] if k == kind), final_ft["recall_by_type"].get(kind, 0.0),
          final_sc["recall_by_type"].get(kind, 0.0)] for kind in final_ft["recall_by_type"]])
    met_f1 = final_ft["f1"] >= TARGET_F1
    met_score = final_ft["score"] >= TARGET_SCORE
    met_fraction = fraction is not None and fraction <= TARGET_FRACTION
    first_ft = first_reaching(fine.history)
    figures = {
        "preset": preset, "pretrain_steps": steps, "finetune_steps": steps // 10,
        "finetuned_f1": final_ft["f1"], "finetuned_score": final_ft["score"], "finetuned_pa_f1": final_ft["pa_f1"],
        "finetuned_auc_pr": final_ft["auc_pr"], "finetuned_vus_pr": final_ft["vus_pr"],
        "scratch_f1": final_sc["f1"], "scratch_score": final_sc["score"],
        "scratch_same_budget_score": final_sc_same_budget["score"], "zero_shot_score": zero_shot["score"],
        "scratch_last5_median_score": scratch_reference, "finetune_last5_median_score": finetune_median,
        "finetuned_from_all_rack1_f1": final_all["f1"], "finetuned_from_all_rack1_score": final_all["score"],
        "false_alarm_share_first_50min": early_share,
        "finetune_steps_to_scratch_score": reach, "finetune_fraction_of_scratch_steps": fraction,
        "first_finetune_checkpoint_reaching_0.90": first_ft,
        "first_scratch_checkpoint_reaching_0.90": first_reaching(scratch.history),
        "pretrain_s": pre.seconds, "finetune_s": fine.seconds, "scratch_s": scratch.seconds, "total_s": total_s,
        "main_comparison_s": core_s,
        "test_anomaly_rate": float(final_ft["labels"].mean()), "test_steps": int(len(final_ft["labels"])),
        "targets_met": {"f1>=0.80": met_f1, "score>=0.90": met_score, "fraction<=0.25": met_fraction,
                        "preset<=15min": core_s <= 900},
    }
    reach_text = (f"step {reach} = {fraction:.1%} of the scratch run's {steps} steps" if reach is not None
                  else f"never within {steps // 10} steps")
    p = PRESETS[preset]
    preset_text = (f"{p['layers']} layer(s), width {p['width']}, {p['heads']} heads, window {p['window']} = "
                   f"{p['window'] * target.period_s / 60:.1f} min, patch {p['patch_size']}")
    zero_shot_note = (" The rack-1 model with rack 2's standardization and no weight update (step 0) already "
                      f"scores {zero_shot['score']:.3f}" + (", at or above the scratch reference: most of the "
                      "transfer gain is there before any fine-tuning step." if zero_shot["score"] >= scratch_reference
                      else "."))
    markdown = f"""**Split.** Every model sees only rows before {cut} (the middle of rack 2's span): rack 1
{len(source_train.frame)} rows, rack 2 {len(target_train.frame)} rows (4.5 h, charge/discharge cycling). Test:
rack 2 from {held_out.frame['time'].iloc[0]} on ({len(held_out.frame)} rows, one window after the cut: the end of
a charge, then idle), 4 copies with injected anomalies ({figures['test_anomaly_rate']:.1%} of the steps labeled;
soft/uniform replacing, peak noising, length adjusting, and drift, stuck, noise, which training never uses; an
injection that moves no value by >= 1 std is redrawn). Soft replacing in the test borrows from the same series.

**Setup.** Preset `{preset}` ({preset_text}; the 6-layer `method` preset exists but is not
used), lr 1e-3 for every run, batch 32, window sliding 16, synthetic outliers soft 0.5 /
uniform 0.15 / peak 0.15 / length 0.0 (AnomalyBERT defaults), one seed. Windows are centered per channel
(operating-point invariance); this was added after a first run without it scored (P+R)/2 0.30 (scratch) because
the idle test range (SOC 100 %, low temperature) lies outside the training range and was flagged as a whole.

**Thresholds.** Quantile cut at the nominal {ANOMALY_RATE:.0%} injection rate, fixed before testing; F1 uses the
same cut. No threshold saw test labels, no checkpoint was picked on test: the last checkpoint of each run is
reported; curves below give every checkpoint (they jitter by a few points from checkpoint to checkpoint).

{table}

- Fine-tuned (last checkpoint, {steps // 10} steps): F1 {final_ft['f1']:.3f} (target >= 0.80:
  {'met' if met_f1 else 'NOT met'}), (P+R)/2 {final_ft['score']:.3f} (target >= 0.90: {'met' if met_score else
  'NOT met'}); median of its last 5 checkpoints {finetune_median:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {scratch_reference:.3f}. Fine-tuning first
  reaches it at {reach_text} (target <= 25 %: {'met' if met_fraction else 'NOT met'}).{zero_shot_note}
- First checkpoint with (P+R)/2 >= 0.90: fine-tune {first_ft}, scratch
  {figures['first_scratch_checkpoint_reaching_0.90']}.
- False alarms: {early_share:.0%} of the fine-tuned model's false alarms fall in the first 50 min of the test
  range (end of the charge: current to 0 and relaxation), a transition that happens after the cut on every rack.
- Wall time (2 shared cores, other jobs running): pretrain {pre.seconds:.0f} s, fine-tune {fine.seconds:.0f} s,
  scratch {scratch.seconds:.0f} s; main comparison {core_s:.0f} s (target <= 15 min: {'met' if core_s <= 900
  else 'NOT met'}); with the variant {total_s:.0f} s.

Recall per injected type (final checkpoints, same cut):

{by_type}

Score vs steps (plot: `{plot.relative_to(REPO_ROOT) if plot.is_relative_to(REPO_ROOT) else plot}`):

{curve}
"""
    return BenchResult("AnomalyBERT-style transfer: battery rack 1 -> rack 2", markdown, figures)


def _standardizer(result):
    from tinyad.bert.train import load_checkpoint

    return load_checkpoint(result.final_checkpoint).standardizer
