"""Split 5 of the battery transfer benchmark: a target rack never used as one (ess_lfp rack 3), with the
recipe's training levers chosen on validation.

Why (pre-registered in this docstring, in a commit before its only run). Splits 1-4 missed F1 >= 0.80 and
(P+R)/2 >= 0.90. Split 4's diagnosis (by test labels, so a diagnosis and never a choice): the small body finds
peak noising and uniform replacing almost always, but recalls soft replacing 0.62, noise 0.23 and length
adjusting 0.13. Two levers follow from it, and neither was tried:
- length adjusting is one of the issue's four training types, but the recipe uses AnomalyBERT's default
  probabilities, where it is 0, so training never shows it while every test set injects it;
- the 2-layer, width-64 body may be too small for the types that keep the signal's own shapes.
Trying them on rack 2 or the BESS log would tune on test rows whose results are known. Rack 3 has never been a
target: no model has been scored on a held-out range of rack 3 (it was only a pretraining source, unlabeled).
The only scores seen before this run are those of the quick mode (preset tiny, 200 steps: a wiring check).

The design, fixed before the run (nothing in it is tuned on its test numbers):
- Target: ess_lfp rack 3 (the lowest-numbered rack never used as a target), its span in N_BLOCKS = 6 equal time
  blocks; training B1, B3, B5, test B0, B2, B4; one model window of guard rows dropped at every boundary between
  a training and a test block; validation: the last 20 min of each training block (split 3's), injected anomalies
  of other seeds; fine-tuning: the rest of each training block; scratch: all training-block rows.
- Why B1, B3, B5 train (chosen on the unlabeled data, disclosed): before choosing, the per-block SOC, current and
  cell-voltage-difference ranges of racks 3, 4 and 5 were looked at (no model, no label). On rack 3 this
  assignment puts the deepest discharge (B1: SOC 0 %, 177 mV) in training, and the training blocks cover the
  whole range of every channel of the test blocks (range coverage 100 %, against 23 % for B0, B2, B4). Test
  blocks: B0 charge/discharge cycling, B2 a constant-current charge, B4 idle at 100 % SOC.
- Source: racks 1, 2, 4, 5 over their whole span (split 3's premise: a source site whose history covers every
  regime), 5 channels; never a row of rack 3.
- Candidates, each the whole `bert_transfer.run_recipe` (3000 pretraining steps, EMA 0.98, 3 seeds x 300
  fine-tuning steps, fine-tune step and smoothing chosen on validation AUC-PR, scratch 3000 steps, quantile cut at
  the nominal 8 %, 4 injected test copies per test block with the four training types plus drift, stuck, noise):
  A. the standing recipe: preset small, soft replacing 0.5 / uniform 0.15 / peak 0.15 / length adjusting 0;
  B. A with length adjusting switched on: 0.35 / 0.15 / 0.15 / 0.15;
  C. B on the `medium` body (3 layers, width 128, 4 heads; small's window 128 and patch 4, so the split and its
     guards are the same): the largest body whose recipe fits the 15-min budget here (0.09 s per step against
     small's 0.03, measured on rack 1).
- The choice among the candidates: the highest validation AUC-PR of the candidate's chosen ensemble (after its
  own step and smoothing choices); ties: the earlier candidate. The validation sets inject the same seven types as
  the test sets (other seeds), so they can show the gain of a training type. The headline is the chosen
  candidate's test score; the others' test scores are printed beside it, for reporting only, and never move it.
- Stopping rule: one run, reported whatever it gives; no other split or recipe on rack 3 follows. If the
  headline misses the targets, the issue stays open with its number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tinyad.bench import BenchResult, markdown_table
from tinyad.bench.bert_transfer import (ANOMALY_RATE, EMA_DECAY, FINETUNE_SEEDS, INTERLEAVED_VALIDATION_MINUTES,
                                        RESULT_HEADERS, TARGET_F1, TARGET_MAIN_S, TARGET_SCORE, VALIDATION_KEY, Split,
                                        _detail_tables, _ess_root, _met, block_rows, cadence,
                                        false_alarm_share_by_block, prepare_interleaved, rack_segments, run_recipe,
                                        summarize)
from tinyad.bench.bert_transfer_bess import block_regimes_table, coverage_comparison
from tinyad.paths import REPO_ROOT

TARGET_RACK = 3
SOURCE_RACKS = (1, 2, 4, 5)
N_BLOCKS = 6
TRAIN_BLOCKS = (1, 3, 5)
OTHER_ASSIGNMENT = (0, 2, 4)
SOURCE_LABEL = "racks 1, 2, 4, 5"
TARGET_LABEL = "rack 3"


@dataclass(frozen=True)
class Candidate:
    """One pre-registered variant of the recipe: a body and the synthetic-outlier probabilities."""

    key: str
    description: str
    preset: str
    outliers: dict = field(default_factory=dict)  # TrainOptions fields; empty = AnomalyBERT's defaults

    def outlier_text(self) -> str:
        from tinyad.bert.train import TrainOptions

        o = replace(TrainOptions(), **self.outliers)
        return (f"soft {o.soft_replacing:g} / uniform {o.uniform_replacing:g} / peak {o.peak_noising:g} / "
                f"length {o.length_adjusting:g}")


WITH_LENGTH_ADJUSTING = dict(soft_replacing=0.35, length_adjusting=0.15)
CANDIDATES = (
    Candidate("A", "standing recipe", "small"),
    Candidate("B", "length adjusting in training", "small", WITH_LENGTH_ADJUSTING),
    Candidate("C", "length adjusting, medium body", "medium", WITH_LENGTH_ADJUSTING),
)


def deepest_discharge_blocks(target, n_blocks: int = N_BLOCKS) -> tuple[int, ...]:
    """Of the two alternating block assignments, the training blocks of the one that holds the target's largest
    cell voltage difference (its deepest discharge). Label-free: split 5's rule for choosing training blocks."""
    from tinyad.bench.bert_transfer import block_bounds

    peaks = [target.between(start, end).frame["voltage_diff_mv"].max() for start, end in block_bounds(target, n_blocks)]
    deepest = max(range(n_blocks), key=lambda k: peaks[k])
    return tuple(range(deepest % 2, n_blocks, 2))


def target_rack_split(out_dir: Path, window: int, target_rack: int = TARGET_RACK, source_racks=SOURCE_RACKS,
                      train_blocks=TRAIN_BLOCKS) -> tuple[Split, dict]:
    """An ess_lfp rack as the target (split 5: rack 3; see the module docstring): the source racks' segments over
    their whole span, the target's blocks (`train_blocks` train, the others test) and their roles."""
    from tinyad.battery.bms import load_ess_lfp

    if target_rack in source_racks:
        from tinyad.errors import InputError

        raise InputError(f"rack {target_rack} cannot be both the target and a source")
    target = load_ess_lfp(_ess_root(), target_rack)
    blocks = prepare_interleaved(target, window, N_BLOCKS, train_blocks, INTERLEAVED_VALIDATION_MINUTES)
    train, test = [b for b in blocks if b.role == "train"], [b for b in blocks if b.role == "test"]
    pretrain_segments, pretrain_rows = rack_segments([(None, None)], source_racks, channels=target.channels)
    tag = f"rack{target_rack}"
    split = Split(tag, out_dir / tag, target.channels, pretrain_segments,
                  [s for b in train for s in b.finetune.segments()], [b.validation.values() for b in train],
                  [s for b in train for s in b.used.segments()], [b.used.values() for b in test],
                  f"racks {', '.join(map(str, source_racks))} over their whole span",
                  f"rack {target_rack} training blocks without their validation tails",
                  f"rack {target_rack} training blocks", target_tag=tag)
    return split, dict(target=target, blocks=blocks, train=train, test=test, pretrain_rows=pretrain_rows)


def choose_candidate(validation_auc_pr: dict) -> str:
    """The candidate key with the highest validation AUC-PR (ties: the first listed)."""
    from tinyad.bert.evaluate import choose_on_validation

    return choose_on_validation({key: {"auc_pr": value} for key, value in validation_auc_pr.items()}, key="auc_pr")


def run(quick: bool = False, out_dir: Path | None = None) -> BenchResult:
    """Every candidate recipe: pretrain on racks 1, 2, 4, 5, fine-tune on rack 3's training blocks, compare with
    rack 3 from scratch; the candidate is chosen on validation, the others are reported beside it."""
    from tinyad.bert.evaluate import plot_history
    from tinyad.bert.model import PRESETS

    steps = 200 if quick else 3000
    finetune_steps, every = cadence(steps, quick)[1:3]
    window = PRESETS["tiny" if quick else "small"]["window"]
    assert all(PRESETS[c.preset]["window"] == PRESETS["small"]["window"] for c in CANDIDATES)
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_rack3_quick" if quick
                                                                 else "bert_transfer_rack3"))
    started = time.perf_counter()
    split, info = target_rack_split(out_dir, window)
    target, blocks, test_blocks = info["target"], info["blocks"], info["test"]
    runs = {}
    for candidate in CANDIDATES:
        preset = "tiny" if quick else candidate.preset
        recipe = run_recipe(replace(split, run_dir=split.run_dir / candidate.key), steps, preset, quick,
                            options=candidate.outliers)
        runs[candidate.key] = (candidate, preset, recipe,
                               summarize(recipe, steps, preset, source_label=SOURCE_LABEL, target_label=TARGET_LABEL,
                                         source_racks=SOURCE_RACKS))
    validation = {key: recipe.validation_by_smoothing[recipe.chosen_smoothing][VALIDATION_KEY]
                  for key, (_, _, recipe, _) in runs.items()}
    chosen = choose_candidate(validation)
    candidate, preset, recipe, s = runs[chosen]
    total_s = time.perf_counter() - started
    final_ft = recipe.final_ft
    false_by_block = false_alarm_share_by_block(final_ft, recipe.evaluator.copy_lengths(), test_blocks,
                                                len(recipe.evaluator.seeds))
    plot = plot_history({**{f"{key}: fine-tune seed 0": r.fines[0].history for key, (_, _, r, _) in runs.items()},
                         f"{chosen}: rack 3 from scratch": recipe.scratch.history},
                        split.run_dir / "score_vs_steps_rack3.png", title="rack 3 test blocks, injected anomalies")

    candidate_rows = []
    for key, (c, c_preset, r, cs) in runs.items():
        f = r.final_ft
        candidate_rows.append([
            f"**{key}**" if key == chosen else key, c.description, c_preset, c.outlier_text(),
            f"{r.chosen_step} / {r.chosen_smoothing}", validation[key], f["score"], f["f1"], f["precision"],
            f["recall"], f["auc_pr"], cs["scratch_reference"], f"{r.core_s:.0f}"])
    candidate_table = markdown_table(
        ["candidate", "what", "preset", "outliers in training", "step / smoothing (validation)",
         "validation AUC-PR (the criterion)", "test (P+R)/2", "test F1", "P", "R", "test AUC-PR",
         "scratch reference (P+R)/2", "main comparison s"], candidate_rows)
    recall_table = markdown_table(
        ["anomaly type", *[f"recall {key} (fine-tuned)" for key in runs]],
        [[kind, *[r.final_ft["recall_by_type"].get(kind, 0.0) for _, _, r, _ in runs.values()]]
         for kind in final_ft["recall_by_type"]])
    coverage, other_coverage, coverage_table = coverage_comparison(target, TRAIN_BLOCKS, OTHER_ASSIGNMENT)
    block_table = block_regimes_table(blocks)
    met = s["figures"]["targets_met"]
    figures = {
        **s["figures"],
        "target": f"ess_lfp rack {TARGET_RACK}", "source": SOURCE_LABEL, "n_blocks": N_BLOCKS,
        "train_blocks": list(TRAIN_BLOCKS), "test_blocks": [b.index for b in test_blocks], "guard_rows": window,
        "pretrain_rows": {str(k): v for k, v in info["pretrain_rows"].items()},
        "range_coverage": coverage, "range_coverage_other_assignment": other_coverage,
        "chosen_candidate": chosen, "validation_auc_pr_by_candidate": validation,
        "candidates": {key: {"preset": p, "outliers": c.outlier_text(), "chosen_step": r.chosen_step,
                             "chosen_smoothing": r.chosen_smoothing, "test_score": r.final_ft["score"],
                             "test_f1": r.final_ft["f1"], "scratch_reference": cs["scratch_reference"],
                             "fraction_of_scratch_steps": cs["figures"]["finetune_fraction_of_scratch_steps"],
                             "main_comparison_s": r.core_s}
                       for key, (c, p, r, cs) in runs.items()},
        "false_alarm_share_by_test_block": false_by_block,
        "pre_registered": True, "added_after_split_4_results": True, "total_s": total_s, "quick": quick,
    }
    guard_min = window * target.period_s / 60
    counts = block_rows(blocks)
    finetune_rows, validation_rows, scratch_rows, test_rows = counts
    pretrain_text = ", ".join(f"rack {k} {v}" for k, v in info["pretrain_rows"].items())
    markdown = f"""Split 5: a fresh target rack, with two levers chosen on validation. Split 4's diagnosis (by test
labels) named the injected types the small body misses: soft replacing, noise and length adjusting. Length
adjusting is never in training (AnomalyBERT's default probability is 0), and the body may be too small. Trying
either on rack 2 or the BESS log would tune on known test rows, so this split uses rack 3, which no model had
been scored on. Pre-registered in the docstring of `tinyad.bench.bert_transfer_rack3`, in a commit before its
only run. Stopping rule: no other split or recipe on rack 3.

**Split.** Source: {SOURCE_LABEL} over their whole span ({pretrain_text} rows; never a row of rack 3). Target:
rack 3 ({len(target.frame)} rows, {target.period_s:g}-s grid) in {N_BLOCKS} equal time blocks; training
{', '.join(f'B{k}' for k in TRAIN_BLOCKS)}, test {', '.join(f'B{b.index}' for b in test_blocks)}; guard: the
{window} rows ({guard_min:.1f} min, one model window) of a test block next to a training block are dropped.
Validation: the last {INTERLEAVED_VALIDATION_MINUTES} min of each training block ({validation_rows} rows,
injected anomalies of other seeds). Fine-tuning: the rest ({finetune_rows} rows). Scratch: all {scratch_rows}
training-block rows. Test: {test_rows} rows, 4 injected copies per test block ({figures['test_anomaly_rate']:.1%}
of the steps labeled; the best possible (P+R)/2 at the {ANOMALY_RATE:.0%} cut is
{figures['best_possible_score_at_cut']:.3f}). The assignment was chosen on the unlabeled data (disclosed): it puts
the deepest discharge (B1) in training, and the training rows cover every channel's range in the test blocks.

{block_table}

{coverage_table}

**Candidates** (each the whole rack-2 recipe: EMA {EMA_DECAY}, {len(FINETUNE_SEEDS)} seeds x {finetune_steps}
fine-tune steps checkpointed every {every}, fine-tune step and smoothing chosen on validation AUC-PR, scratch
{steps} steps, quantile cut at the nominal {ANOMALY_RATE:.0%} rate). The candidate is chosen by the validation
AUC-PR of its chosen ensemble; the other rows' test numbers are reporting only.

{candidate_table}

**Chosen on validation: {chosen}** ({candidate.description}, preset `{preset}`, outliers
{candidate.outlier_text()}).

{markdown_table(RESULT_HEADERS, s['rows'])}

- Fine-tuned (candidate {chosen}, ensemble, choices on validation): F1 {final_ft['f1']:.3f} (target >=
  {TARGET_F1:.2f}: {_met(s['met_f1'])}), (P+R)/2 {final_ft['score']:.3f} = (P {final_ft['precision']:.3f} + R
  {final_ft['recall']:.3f}) / 2 (target >= {TARGET_SCORE:.2f}: {_met(s['met_score'])}). Validation (P+R)/2 of
  the chosen ensemble: {s['chosen_validation']['score']:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {s['scratch_reference']:.3f}. Fine-tuning (seed 0)
  reaches it: {s['reach_text']} (target <= 25 %: {_met(s['met_fraction'])}).{s['zero_shot_note']}
- {s['validation_cut_note']}
- False alarms of the chosen ensemble by test block (reporting only):
  {', '.join(f'{k} {v:.0%}' for k, v in false_by_block.items())}.
- Wall time (2 shared cores): main comparison of the chosen candidate {recipe.core_s:.0f} s (target <= 15 min:
  {_met(met['preset<=15min'])}, limit {TARGET_MAIN_S} s); all three candidates {total_s:.0f} s.

Recall per injected type, every candidate (test labels: a diagnosis, not a choice):

{recall_table}

{_detail_tables(s, plot, f"last {INTERLEAVED_VALIDATION_MINUTES} min of each training block", TARGET_LABEL)}"""
    return BenchResult("AnomalyBERT-style transfer to a fresh rack: racks 1, 2, 4, 5 -> rack 3 (split 5)", markdown,
                       figures)
