"""Split 6 of the battery transfer benchmark: split 5's chosen recipe, unchanged, on the racks never used as
targets (ess_lfp racks 1, 4 and 5).

Why (pre-registered in this docstring, in a commit before its only run). Split 5 (rack 3) chose the standing
recipe on validation and scored F1 0.849 (target >= 0.80 met), (P+R)/2 0.857 (target >= 0.90 missed). One rack
is one draw. This split asks whether that result holds on the other racks that no model has been scored on, with
nothing chosen anew. The only scores seen before this run are those of the quick mode (preset tiny, 200 steps: a
wiring check).

The design, fixed before the run (nothing in it is tuned on its test numbers):
- Targets: racks 1, 4 and 5, each in turn; source: the other four racks over their whole span (never a row of
  the target).
- Blocks: each target's span in 6 equal time blocks, training blocks by split 5's rule, applied by
  `deepest_discharge_blocks` (label-free): of the two alternating assignments, the one whose training blocks
  hold the target's largest cell voltage difference. Looked at before this was written (no model, no label):
  rack 4 -> B1, B3, B5 (B1: SOC 0 %, 285 mV; range coverage of the test rows 94 %, against 56 % for the other
  assignment); rack 5 -> B1, B3, B5 (B1 325 mV; coverage 83 % against 59 %); rack 1 -> B0, B2, B4 (B2: 231 mV;
  its 12-h span starts at 17:00 with the `explore/` hours, a 25-min hole in B0; coverage 56 % against 48 %).
  Guards, 20-min validation tails, fine-tuning and scratch rows as in split 5.
- Recipe: split 5's chosen candidate A, unchanged: preset small, AnomalyBERT's outlier probabilities (soft 0.5 /
  uniform 0.15 / peak 0.15 / length 0), 3000 pretraining steps, EMA 0.98, 3 seeds x 300 fine-tuning steps, the
  fine-tune step and the smoothing chosen on validation AUC-PR, scratch 3000 steps, a quantile cut at the nominal
  8 %, 4 injected test copies per test block (the four training types plus drift, stuck, noise). Candidates B and
  C are not rerun: the choice between them was made once, on rack 3.
- Reported: per target rack, F1, (P+R)/2 and the other figures of split 5; the median over the three racks.
- Stopping rule: one run, reported whatever it gives; no other split or recipe on racks 1, 4 or 5 follows. After
  it, every ess_lfp rack has been a target once.

Rerun once in session 7 with nothing changed but the summary's wording (lists printed as Python lists): a
reproduction check, with no choice in it; its commit message says whether any figure moved.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tinyad.bench import BenchResult, markdown_table
from tinyad.bench.bert_transfer import (ANOMALY_RATE, EMA_DECAY, FINETUNE_SEEDS, RESULT_HEADERS, TARGET_F1,
                                        TARGET_MAIN_S, TARGET_SCORE, _detail_tables, _ess_root, _met, block_rows,
                                        cadence, false_alarm_share_by_block, run_recipe, summarize)
from tinyad.bench.bert_transfer_bess import block_regimes_table, coverage_comparison
from tinyad.bench.bert_transfer_rack3 import CANDIDATES, N_BLOCKS, deepest_discharge_blocks, target_rack_split
from tinyad.paths import REPO_ROOT

TARGET_RACKS = (1, 4, 5)
ALL_RACKS = (1, 2, 3, 4, 5)
RECIPE = CANDIDATES[0]  # split 5's choice on validation: the standing recipe


def _racks_text(racks) -> str:
    """Rack numbers as prose: "racks 4, 5", "rack 4", or "no rack" for an empty list."""
    racks = list(racks)
    if not racks:
        return "no rack"
    return ("rack " if len(racks) == 1 else "racks ") + ", ".join(map(str, racks))


def source_racks_for(target_rack: int) -> tuple[int, ...]:
    """Every ess_lfp rack but the target."""
    return tuple(r for r in ALL_RACKS if r != target_rack)


def run(quick: bool = False, out_dir: Path | None = None, target_racks=TARGET_RACKS) -> BenchResult:
    """For each of racks 1, 4, 5 (`target_racks`; the tests run fewer): pretrain on the other racks, fine-tune on its
    training blocks with split 5's chosen recipe, compare with the rack from scratch; score on its test blocks with
    injected anomalies."""
    from tinyad.battery.bms import load_ess_lfp
    from tinyad.bert.evaluate import plot_history
    from tinyad.bert.model import PRESETS

    steps = 200 if quick else 3000
    preset = "tiny" if quick else RECIPE.preset
    window = PRESETS[preset]["window"]
    finetune_steps, every = cadence(steps, quick)[1:3]
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_replicate_quick" if quick
                                                                 else "bert_transfer_replicate"))
    started = time.perf_counter()
    per_rack, sections, summary_rows = {}, [], []
    for rack in target_racks:
        target = load_ess_lfp(_ess_root(), rack)
        train_blocks = deepest_discharge_blocks(target)
        other_blocks = tuple(k for k in range(N_BLOCKS) if k not in train_blocks)
        split, info = target_rack_split(out_dir, window, rack, source_racks_for(rack), train_blocks)
        recipe = run_recipe(split, steps, preset, quick, options=RECIPE.outliers)
        label, source_label = f"rack {rack}", _racks_text(source_racks_for(rack))
        s = summarize(recipe, steps, preset, source_label=source_label, target_label=label,
                      source_racks=source_racks_for(rack))
        final_ft, blocks, test_blocks = recipe.final_ft, info["blocks"], info["test"]
        false_by_block = false_alarm_share_by_block(final_ft, recipe.evaluator.copy_lengths(), test_blocks,
                                                    len(recipe.evaluator.seeds))
        coverage, other_coverage, _ = coverage_comparison(target, train_blocks, other_blocks)
        counts = block_rows(blocks)
        plot = plot_history({f"fine-tune seed 0 ({source_label} -> {label})": recipe.fines[0].history,
                             f"{label} from scratch": recipe.scratch.history},
                            split.run_dir / f"score_vs_steps_rack{rack}.png",
                            title=f"{label} test blocks, injected anomalies")
        per_rack[str(rack)] = {
            **s["figures"], **counts._asdict(), "train_blocks": list(train_blocks),
            "test_blocks": [b.index for b in test_blocks], "range_coverage": coverage,
            "range_coverage_other_assignment": other_coverage, "false_alarm_share_by_test_block": false_by_block,
        }
        summary_rows.append([label, ", ".join(f"B{k}" for k in train_blocks), coverage, recipe.chosen_step,
                             recipe.chosen_smoothing, s["chosen_validation"]["auc_pr"], final_ft["score"],
                             final_ft["precision"], final_ft["recall"], final_ft["f1"],
                             s["figures"]["best_possible_score_at_cut"], s["figures"]["validation_cut_f1"],
                             s["zero_shot"]["score"],
                             s["scratch_reference"], s["reach_text"], f"{recipe.core_s:.0f}"])
        kept_side = "at or above" if s["figures"]["chosen_model_at_or_above_scratch_reference"] else "below"
        sections.append(f"""#### Target rack {rack}

Source {source_label} over their whole span ({', '.join(f'rack {k} {v}' for k, v in info['pretrain_rows'].items())}
rows). Training blocks {', '.join(f'B{k}' for k in train_blocks)} (the deepest discharge is in training; range
coverage of the test rows {coverage:.0%}, against {other_coverage:.0%} for the other assignment). Fine-tuning
{counts.finetune_rows} rows, validation {counts.validation_rows}, scratch {counts.scratch_rows}, test
{counts.test_rows} rows x 4 injected copies ({s['figures']['test_anomaly_rate']:.1%} labeled). Chosen on
validation: fine-tune step {recipe.chosen_step}, smoothing {recipe.chosen_smoothing}. F1 {final_ft['f1']:.3f}
(target >= {TARGET_F1:.2f}: {_met(s['met_f1'])}), (P+R)/2 {final_ft['score']:.3f} (target >= {TARGET_SCORE:.2f}:
{_met(s['met_score'])}); fine-tuning reaches the scratch reference {s['scratch_reference']:.3f}: {s['reach_text']}
({_met(s['met_fraction'])}; seed 0's test curve), the kept model's {final_ft['score']:.3f} is {kept_side} it; main \
comparison {recipe.core_s:.0f} s ({_met(recipe.core_s <= TARGET_MAIN_S)}).
{s['validation_cut_note']}
False alarms by test block: {', '.join(f'{k} {v:.0%}' for k, v in false_by_block.items())}.

{block_regimes_table(blocks)}

{markdown_table(RESULT_HEADERS, s['rows'])}

{_detail_tables(s, plot, "last 20 min of each training block", label)}""")
    total_s = time.perf_counter() - started
    scores = [per_rack[str(r)]["finetuned_score"] for r in target_racks]
    f1s = [per_rack[str(r)]["finetuned_f1"] for r in target_racks]
    median_score, median_f1 = float(np.median(scores)), float(np.median(f1s))
    median_validation_cut_f1 = float(np.median([per_rack[str(r)]["validation_cut_f1"] for r in target_racks]))
    figures = {
        "recipe": "split 5 candidate A (standing recipe)", "preset": preset, "outliers": RECIPE.outlier_text(),
        "pretrain_steps": steps, "finetune_steps": finetune_steps, "ema_decay": EMA_DECAY,
        "target_racks": list(target_racks), "per_rack": per_rack,
        "median_finetuned_score": median_score, "median_finetuned_f1": median_f1,
        "median_validation_cut_f1": median_validation_cut_f1,
        "racks_meeting_f1": [r for r, f in zip(target_racks, f1s) if f >= TARGET_F1],
        "racks_meeting_score": [r for r, v in zip(target_racks, scores) if v >= TARGET_SCORE],
        "test_labels_used_for_any_choice": False, "pre_registered": True, "added_after_split_5_results": True,
        "total_s": total_s, "quick": quick,
    }
    summary = markdown_table(
        ["target", "training blocks", "range coverage", "step (val.)", "smoothing (val.)", "validation AUC-PR",
         "test (P+R)/2", "P", "R", "F1", "best possible (P+R)/2 at the cut",
         "F1 at the validation cut (reporting only)", "no update (P+R)/2",
         "scratch reference", "fine-tune reaches scratch", "main comparison s"], summary_rows)
    racks_text = _racks_text(target_racks)
    markdown = f"""Split 6: split 5's chosen recipe, unchanged, on the three racks never used as targets (1, 4, 5),
each with the other four racks as source. Pre-registered in the docstring of `tinyad.bench.bert_transfer_replicate`,
in a commit before its first run; stopping rule: no other split or recipe on these racks. Training blocks by split
5's label-free rule (the alternating assignment that holds the deepest discharge). Recipe: preset `{preset}`,
outliers {RECIPE.outlier_text()}, EMA {EMA_DECAY}, {len(FINETUNE_SEEDS)} seeds x {finetune_steps} fine-tune steps
checkpointed every {every}, fine-tune step and smoothing chosen on validation AUC-PR, scratch {steps} steps,
quantile cut at the nominal {ANOMALY_RATE:.0%} rate; no choice saw a test label.

{summary}

- Median over {racks_text}: (P+R)/2 {median_score:.3f}, F1 {median_f1:.3f}. At a cut fixed on each rack's validation
  set (best validation F1) instead of the injection rate: median F1 {median_validation_cut_f1:.3f} (reporting only).
  F1 >= {TARGET_F1:.2f} on {_racks_text(figures['racks_meeting_f1'])}; (P+R)/2 >= {TARGET_SCORE:.2f} on
  {_racks_text(figures['racks_meeting_score'])}.
- Wall time (2 shared cores): {total_s:.0f} s for the three racks.

""" + "\n".join(sections)
    return BenchResult("AnomalyBERT-style transfer, split 6: split 5's recipe on racks 1, 4, 5", markdown, figures)
