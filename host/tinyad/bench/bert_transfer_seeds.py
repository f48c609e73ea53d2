"""Training-seed spread of the battery transfer benchmark: split 6's rack 4, the recipe unchanged, four sets of
training seeds.

Why (pre-registered in this docstring, in a commit before its only run). Every battery split is one training
run. Two runs of the same code on two machines moved F1 by up to 0.06 (session 8: 3000-step trainings drift
apart when float results differ), so one draw says less than its three decimals suggest, and the seed spread
has been on the closing notes' "left" list since. This measures it on purpose, on one machine, with nothing else
changed. Rack 4 (split 6) is the target whose F1, 0.807, is closest to the issue's 0.80 line: it is where the
spread decides whether "F1 >= 0.80 on 2 of 8 targets" is a property of the recipe or of the draw. The only scores
seen before this run are those of the quick mode (preset tiny, 200 steps: a wiring check).

The design, fixed before the run (nothing in it is tuned on its test numbers):
- Split 6's rack 4, unchanged: source racks 1, 2, 3, 5 over their whole span; training blocks by the deepest
  discharge rule (B1, B3, B5); validation tails, guards, fine-tuning, scratch and test rows as in split 6; the same
  4 injected test copies per test block and the same validation injections for every seed set.
- Recipe: split 5's candidate A, unchanged (preset small, soft 0.5 / uniform 0.15 / peak 0.15 / length 0, 3000
  pretraining steps, EMA 0.98, 3 seeds x 300 fine-tuning steps, fine-tune step and smoothing chosen on validation
  AUC-PR, scratch 3000 steps, quantile cut at the nominal 8 %).
- Training seeds: set k pretrains and trains from scratch with seed k and fine-tunes with seeds 3k, 3k+1, 3k+2
  (`bert_transfer.training_seeds`); sets 0-3. Set 0 is split 6's run, so its row reproduces split 6's rack 4
  figures (a same-machine check) or says that it does not.
- Reported: per set, the kept model's F1, (P+R)/2, F1 at the validation cut, the chosen step and smoothing, the
  scratch run's (P+R)/2; the median, minimum and maximum over the four sets, and how many sets reach each target.
- Stopping rule: one run, reported whatever it gives. Split 6's headline stays set 0's (pre-registered); no set is
  chosen by its test score, and no other target gets a seed sweep from this.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from tinyad.bench import BenchResult, markdown_table
from tinyad.bench.bert_transfer import (ANOMALY_RATE, EMA_DECAY, FINETUNE_SEEDS, TARGET_F1, TARGET_MAIN_S,
                                        TARGET_SCORE, _ess_root, _met, cadence, run_recipe, summarize,
                                        training_seeds)
from tinyad.bench.bert_transfer_rack3 import deepest_discharge_blocks, target_rack_split
from tinyad.bench.bert_transfer_replicate import RECIPE, _racks_text, source_racks_for
from tinyad.paths import REPO_ROOT

TARGET_RACK = 4
SEED_SETS = (0, 1, 2, 3)


def spread(values) -> dict:
    """Median, minimum, maximum and max - min of `values` (one per seed set)."""
    values = np.asarray(list(values), float)
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max()),
            "range": float(values.max() - values.min())}


def run(quick: bool = False, out_dir: Path | None = None, seed_sets=SEED_SETS,
        target_rack: int = TARGET_RACK) -> BenchResult:
    """Split 6's rack `target_rack` with each training-seed set of `seed_sets` (the tests run fewer): the recipe
    and the data unchanged, only the training seeds differ."""
    from tinyad.battery.bms import load_ess_lfp
    from tinyad.bert.model import PRESETS

    steps = 200 if quick else 3000
    preset = "tiny" if quick else RECIPE.preset
    window = PRESETS[preset]["window"]
    finetune_steps = cadence(steps, quick)[1]
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_seeds_quick" if quick
                                                                 else "bert_transfer_seeds"))
    started = time.perf_counter()
    target = load_ess_lfp(_ess_root(), target_rack)
    train_blocks = deepest_discharge_blocks(target)
    split, _ = target_rack_split(out_dir, window, target_rack, source_racks_for(target_rack), train_blocks)
    label, source_label = f"rack {target_rack}", _racks_text(source_racks_for(target_rack))
    per_set, rows = {}, []
    for k in seed_sets:
        base_seed, finetune_seeds = training_seeds(k)
        recipe = run_recipe(replace(split, run_dir=out_dir / f"seed_set_{k}"), steps, preset, quick,
                            options=RECIPE.outliers, seed_offset=k)
        s = summarize(recipe, steps, preset, source_label=source_label, target_label=label,
                      source_racks=source_racks_for(target_rack))
        f = s["figures"]
        per_set[str(k)] = {
            "base_seed": base_seed, "finetune_seeds": list(finetune_seeds), "chosen_finetune_step": recipe.chosen_step,
            "chosen_smoothing": recipe.chosen_smoothing, "finetuned_f1": f["finetuned_f1"],
            "finetuned_score": f["finetuned_score"], "finetuned_precision": f["finetuned_precision"],
            "finetuned_recall": f["finetuned_recall"], "finetuned_auc_pr": f["finetuned_auc_pr"],
            "validation_auc_pr_chosen": f["validation_auc_pr_chosen"], "validation_cut_f1": f["validation_cut_f1"],
            "scratch_score": f["scratch_score"], "scratch_f1": f["scratch_f1"], "zero_shot_score": f["zero_shot_score"],
            "main_comparison_s": recipe.core_s,
        }
        rows.append([k, base_seed, ", ".join(map(str, finetune_seeds)), recipe.chosen_step, recipe.chosen_smoothing,
                     f["validation_auc_pr_chosen"], f["finetuned_f1"], f["finetuned_score"], f["finetuned_precision"],
                     f["finetuned_recall"], f["validation_cut_f1"], f["scratch_f1"], f["scratch_score"],
                     f["zero_shot_score"], f"{recipe.core_s:.0f}"])
    total_s = time.perf_counter() - started
    keys = ("finetuned_f1", "finetuned_score", "validation_cut_f1", "scratch_f1", "scratch_score")
    spreads = {key: spread(per_set[str(k)][key] for k in seed_sets) for key in keys}
    meeting_f1 = [k for k in seed_sets if per_set[str(k)]["finetuned_f1"] >= TARGET_F1]
    meeting_score = [k for k in seed_sets if per_set[str(k)]["finetuned_score"] >= TARGET_SCORE]
    slowest = max(per_set[str(k)]["main_comparison_s"] for k in seed_sets)
    figures = {
        "target_rack": target_rack, "recipe": "split 5 candidate A (standing recipe)", "preset": preset,
        "outliers": RECIPE.outlier_text(), "pretrain_steps": steps, "finetune_steps": finetune_steps,
        "ema_decay": EMA_DECAY, "seed_sets": list(seed_sets), "per_set": per_set, "spread": spreads,
        "sets_meeting_f1": meeting_f1, "sets_meeting_score": meeting_score, "slowest_main_comparison_s": slowest,
        "test_labels_used_for_any_choice": False, "pre_registered": True, "total_s": total_s, "quick": quick,
    }
    table = markdown_table(
        ["seed set", "pretrain/scratch seed", "fine-tune seeds", "step (val.)", "smoothing (val.)",
         "validation AUC-PR", "F1", "(P+R)/2", "P", "R", "F1 at the validation cut", "scratch F1",
         "scratch (P+R)/2", "no update (P+R)/2", "main comparison s"], rows)
    spread_table = markdown_table(
        ["figure", "median", "min", "max", "max - min"],
        [[name, v["median"], v["min"], v["max"], v["range"]] for name, v in
         zip(("fine-tuned F1", "fine-tuned (P+R)/2", "F1 at the validation cut", "scratch F1", "scratch (P+R)/2"),
             spreads.values())])
    n, m = len(seed_sets), len(FINETUNE_SEEDS)
    seed_formula = ", ".join([f"{m}k"] + [f"{m}k+{i}" for i in range(1, m)])
    f1_spread = spreads["finetuned_f1"]
    markdown = f"""Training-seed spread on split 6's {label}: the recipe, the data, the validation and the test
injections unchanged; only the training seeds differ (set k: pretraining and scratch seed k, fine-tuning seeds
{seed_formula}; set 0 is split 6's run). Pre-registered in the docstring of `tinyad.bench.bert_transfer_seeds`,
in a commit before its first run; stopping rule: one run, split 6's headline stays set 0's, no set is chosen by
its test score. Recipe: preset `{preset}`, outliers {RECIPE.outlier_text()}, EMA {EMA_DECAY},
{m} seeds x {finetune_steps} fine-tune steps, step and smoothing chosen on validation AUC-PR, scratch {steps}
steps, quantile cut at the nominal {ANOMALY_RATE:.0%} rate; no choice saw a test label.

{table}

{spread_table}

- Over the {n} seed sets the kept model's F1 spans {f1_spread['min']:.3f}-{f1_spread['max']:.3f} (median
  {f1_spread['median']:.3f}, max - min {f1_spread['range']:.3f}). F1 >= {TARGET_F1:.2f} on {len(meeting_f1)} of
  {n} sets; (P+R)/2 >= {TARGET_SCORE:.2f} on {len(meeting_score)} of {n}.
- Slowest main comparison {slowest:.0f} s ({_met(slowest <= TARGET_MAIN_S)} the 15-min budget); wall time
  (2 shared cores) {total_s:.0f} s for the {n} sets.
"""
    return BenchResult(f"AnomalyBERT-style transfer: training-seed spread on split 6's {label}", markdown, figures)
