"""Split 4 of the battery transfer benchmark, another site: the ess_lfp racks -> the BESS controller log.

Why (pre-registered in this docstring, in a commit before its only run). Splits 1-3 on rack 2 missed the
targets, and each diagnosis pointed at one cause: rack 2's 9 h hold a single cycle, so however its time axis
is cut, a regime (the end of a charge, the discharge to SOC 0) sits in the test range and never in rack 2's own
training rows. The BESS log (13.6 h at 10 s) is the only telemetry here with several cycles in one record (SOC
86 -> 42 -> 66 -> 53 -> 85 -> 6 -> 74 -> 40 %). This split tests that explanation: the same recipe on a target
whose training blocks contain the test blocks' regimes. No model score on this log was recorded before this run;
the only scores seen before it are those of the quick mode (preset tiny, 200 steps: a wiring check).

The design, fixed before the run (nothing in it is tuned on its test numbers):
- Recipe: `bert_transfer.run_recipe`, unchanged: preset small, 3000 pretraining steps, EMA 0.98, 3 seeds x 300
  fine-tuning steps, the fine-tune step and the smoothing chosen on validation AUC-PR, a quantile cut at the
  nominal 8 % rate, 4 injected test copies per test block (the 4 training types plus drift, stuck and noise;
  seeds 0-3 + 1000 i for the i-th test block).
- Source: ess_lfp racks 1-5 over their whole span (another plant: no row of the target), resampled to the
  target's 10-s grid, on the three channels both sites have (current, SOC, cell voltage difference; the BESS
  log has no rack voltage and no temperature), so the pretrained input embedding carries over.
- Target: the log's span in N_BLOCKS = 6 equal time blocks; training blocks B1, B3, B5, test blocks B0, B2,
  B4; one model window of guard rows dropped at every boundary between a training and a test block; validation:
  the last VALIDATION_ROWS = 240 rows (40 min) of each training block (split 3's row count), with injected
  anomalies of other seeds; fine-tuning: the rest of each training block; scratch: all training-block rows.
- Why B1, B3, B5 train (chosen on the unlabeled log, disclosed): of the two alternating assignments it is the
  one that puts the log's deepest discharge (B3: SOC down to 5 %, cell voltage difference up to 375 mV) in a
  training block, so no test block holds a larger cell-voltage excursion than training (test blocks: at most
  238 mV). The price: SOC above 74 % (the top of two charges, in B0 and B2) is only in test blocks. Range
  coverage of the raw test rows (every channel inside the training rows' range, `range_coverage`): 69 % for
  this assignment, 73 % for B0, B2, B4 training; the model centers every window per channel, so a level alone
  does not reach it, an excursion within a window does.
- Reporting only: the 5-channel ess_lfp model (rack voltage and temperature included) fine-tuned on the log's
  3 channels with its input embedding re-initialized (the issue's channel-count path), one seed, 300 steps.
- Stopping rule: one run, reported whatever it gives; no other split or recipe on this log follows. Rack 2's
  splits stay the issue's headline; this split tests the reason given for their miss.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tinyad.bench import BenchResult, markdown_table
from tinyad.bench.bert_transfer import (ANOMALY_RATE, EMA_DECAY, FINETUNE_SEEDS, RESULT_HEADERS, Split, _detail_tables,
                                        _met, _result_row, block_bounds, block_rows, cadence,
                                        false_alarm_share_by_block, prepare_interleaved, rack_segments, run_recipe,
                                        summarize)
from tinyad.paths import REPO_ROOT, shared_data_dir

SOURCE_RACKS = (1, 2, 3, 4, 5)
N_BLOCKS = 6
TRAIN_BLOCKS = (1, 3, 5)
OTHER_ASSIGNMENT = (0, 2, 4)
VALIDATION_ROWS = 240
SOURCE_LABEL = "ess_lfp racks 1-5"
TARGET_LABEL = "the BESS log"


def bess_log_path() -> Path:
    return shared_data_dir() / "bms" / "bess_bmu" / "bess_task1.csv"


def range_coverage(train: np.ndarray, test: np.ndarray) -> tuple[float, np.ndarray]:
    """(the fraction of `test` rows whose every channel lies inside the `train` rows' per-channel [min, max],
    that fraction per channel). Label-free: it describes where a split's test rows sit."""
    low, high = train.min(axis=0), train.max(axis=0)
    inside = (test >= low) & (test <= high)
    return float(inside.all(axis=1).mean()), inside.mean(axis=0)


def assignment_coverage(target, train_blocks, n_blocks: int = N_BLOCKS) -> tuple[float, np.ndarray]:
    """`range_coverage` of the test blocks' rows by the training blocks' rows (whole blocks, before guards)."""
    parts = [target.between(start, end).values() for start, end in block_bounds(target, n_blocks)]
    train = np.concatenate([p for k, p in enumerate(parts) if k in train_blocks])
    test = np.concatenate([p for k, p in enumerate(parts) if k not in train_blocks])
    return range_coverage(train, test)


def source_segments(channels, period_s: float, racks=SOURCE_RACKS) -> tuple[list[np.ndarray], dict[int, int]]:
    """The contiguous runs of every ess_lfp rack in `racks` over its whole span, on a `period_s` grid, with
    only `channels` (in that order); and the row count per rack."""
    return rack_segments([(None, None)], racks, channels=channels, period_s=period_s)


def bess_split(out_dir: Path, window: int) -> tuple[Split, dict]:
    """Split 4 (see the module docstring): the source site's segments, the log's blocks and their roles."""
    from tinyad.battery.bms import load_bess_log

    target = load_bess_log(bess_log_path())
    validation_minutes = VALIDATION_ROWS * target.period_s / 60
    blocks = prepare_interleaved(target, window, N_BLOCKS, TRAIN_BLOCKS, validation_minutes)
    train, test = [b for b in blocks if b.role == "train"], [b for b in blocks if b.role == "test"]
    pretrain_segments, pretrain_rows = source_segments(target.channels, target.period_s)
    split = Split("bess", out_dir / "bess", target.channels, pretrain_segments,
                  [s for b in train for s in b.finetune.segments()], [b.validation.values() for b in train],
                  [s for b in train for s in b.used.segments()], [b.used.values() for b in test],
                  f"{SOURCE_LABEL}, whole span, {', '.join(target.channels)}, {target.period_s:g}-s grid",
                  "BESS training blocks without their validation tails", "BESS training blocks",
                  target_tag="bess")
    return split, dict(target=target, blocks=blocks, train=train, test=test, pretrain_rows=pretrain_rows)


def block_regimes_table(blocks) -> str:
    """Markdown: per block (label-free) its role, rows used, SOC range, cell voltage difference max and current
    range."""
    rows = []
    for b in blocks:
        frame = b.used.frame
        rows.append([f"B{b.index}", b.role, len(frame), f"{frame['soc_pct'].min():.0f}-{frame['soc_pct'].max():.0f}",
                     f"{frame['voltage_diff_mv'].max():.0f}",
                     f"{frame['current_a'].min():.0f} to {frame['current_a'].max():.0f}"])
    return markdown_table(["block", "role", "rows used", "SOC %", "max cell V diff (mV)", "current (A)"], rows)


def coverage_comparison(target, used_blocks, other_blocks) -> tuple[float, float, str]:
    """`assignment_coverage` of the used training blocks and of the other assignment, and a Markdown table of
    both (jointly and per channel)."""
    coverage, by_channel = assignment_coverage(target, used_blocks)
    other_coverage, other_by_channel = assignment_coverage(target, other_blocks)
    table = markdown_table(
        ["training blocks", "test rows with every channel in the training range",
         *[f"{c} in range" for c in target.channels]],
        [[", ".join(f"B{k}" for k in used_blocks) + " (used)", coverage, *by_channel],
         [", ".join(f"B{k}" for k in other_blocks), other_coverage, *other_by_channel]])
    return coverage, other_coverage, table


def run(quick: bool = False, out_dir: Path | None = None) -> BenchResult:
    """Pretrain on the ess_lfp racks, fine-tune on the BESS log's training blocks (the transfer recipe of
    `bert_transfer`), compare with the log from scratch, score on its test blocks with injected anomalies."""
    from tinyad.battery.bms import TIDY_CHANNELS
    from tinyad.bert.evaluate import plot_history
    from tinyad.bert.model import PRESETS
    from tinyad.bert.train import TrainOptions, train

    steps = 200 if quick else 3000
    preset = "tiny" if quick else "small"
    window = PRESETS[preset]["window"]
    finetune_steps, every = cadence(steps, quick)[1:3]
    out_dir = Path(out_dir or REPO_ROOT / "build" / "bench" / ("bert_transfer_bess_quick" if quick
                                                                 else "bert_transfer_bess"))
    started = time.perf_counter()
    split, info = bess_split(out_dir, window)
    target, blocks, test_blocks = info["target"], info["blocks"], info["test"]
    recipe = run_recipe(split, steps, preset, quick, started)
    s = summarize(recipe, steps, preset, source_label=SOURCE_LABEL, target_label=TARGET_LABEL,
                  source_racks=SOURCE_RACKS)
    final_ft = recipe.final_ft
    false_by_block = false_alarm_share_by_block(final_ft, recipe.evaluator.copy_lengths(), test_blocks,
                                                len(recipe.evaluator.seeds))

    # Reporting only: the 5-channel source model, input embedding re-initialized for the log's 3 channels.
    common = dict(preset=preset, lr=1e-3, batch_size=32)
    five_segments, _ = source_segments(list(TIDY_CHANNELS), target.period_s)
    pre5 = train(five_segments, list(TIDY_CHANNELS),
                 TrainOptions(max_steps=steps, checkpoint_every=max(1, steps // 10), seed=0, ema_decay=EMA_DECAY,
                              **common),
                 split.run_dir / "ess_lfp_5ch_pretrain", evaluator=None, progress=not quick,
                 source=f"{SOURCE_LABEL}, 5 channels", overwrite=True)
    fine5 = train(split.finetune_segments, split.channels,
                  TrainOptions(max_steps=finetune_steps, checkpoint_every=every, seed=FINETUNE_SEEDS[0],
                               ema_decay=EMA_DECAY, checkpoint=str(pre5.final_checkpoint), **common),
                  split.run_dir / "bess_finetune_from_5ch", evaluator=recipe.evaluator, progress=not quick,
                  source=split.finetune_source, overwrite=True)
    reinit_notes = [n for n in fine5.notes if "re-initialized" in n]
    five_last, five_zero = fine5.history[-1], fine5.history[0]
    total_s = time.perf_counter() - started

    plot = plot_history({f"fine-tune seed 0 ({SOURCE_LABEL} -> BESS)": recipe.fines[0].history,
                         "BESS from scratch": recipe.scratch.history,
                         "fine-tune from the 5-channel model (embedding re-initialized)": fine5.history},
                        split.run_dir / "score_vs_steps_bess.png", title="BESS test blocks, injected anomalies")
    coverage, other_coverage, coverage_table = coverage_comparison(target, TRAIN_BLOCKS, OTHER_ASSIGNMENT)
    rows = s["rows"] + [
        _result_row("reporting only: 5-channel ess_lfp model, input embedding re-initialized, no update (step 0)",
                    0, five_zero),
        _result_row(f"reporting only: 5-channel ess_lfp model, input embedding re-initialized, seed 0, "
                    f"{finetune_steps} steps", finetune_steps, five_last),
    ]
    met = s["figures"]["targets_met"]
    core_s = recipe.core_s
    guard_min = window * target.period_s / 60
    counts = block_rows(blocks)
    finetune_rows, validation_rows, scratch_rows, test_rows = counts
    pretrain_text = ", ".join(f"rack {k} {v}" for k, v in info["pretrain_rows"].items())
    channels = ", ".join(target.channels)
    figures = {
        **s["figures"],
        "target": "bess_bmu/bess_task1.csv", "source": SOURCE_LABEL, "channels": list(target.channels),
        "period_s": target.period_s, "n_blocks": N_BLOCKS, "train_blocks": list(TRAIN_BLOCKS),
        "test_blocks": [b.index for b in test_blocks], "guard_rows": window, **counts._asdict(),
        "pretrain_rows": {str(k): v for k, v in info["pretrain_rows"].items()},
        "range_coverage": coverage, "range_coverage_other_assignment": other_coverage,
        "false_alarm_share_by_test_block": false_by_block,
        "five_channel_reinit_zero_shot_score": five_zero["score"], "five_channel_reinit_score": five_last["score"],
        "five_channel_reinit_f1": five_last["f1"], "five_channel_reinit_notes": reinit_notes,
        "pre_registered": True, "added_after_rack_2_results": True, "total_s": total_s, "quick": quick,
    }
    block_table = block_regimes_table(blocks)
    n_seeds = len(FINETUNE_SEEDS)
    markdown = f"""Split 4: another site. Splits 1-3 (rack 2, `tinyad bench bert_transfer`) missed the targets, and
their diagnoses named one cause: rack 2's 9 h hold a single cycle, so some regime is always in test and never in
rack 2's training rows. The BESS controller log ({len(target.frame)} rows, {target.period_s:g}-s grid,
{target.frame['time'].iloc[0]} - {target.frame['time'].iloc[-1]}) holds several partial cycles. This split runs
the same recipe on it, with training blocks that contain the test blocks' regimes. Pre-registered in the
docstring of `tinyad.bench.bert_transfer_bess`, in a commit before its only run; stopping rule: no other split or
recipe on this log.

**Split.** Source: {SOURCE_LABEL} over their whole span ({pretrain_text} rows), resampled to
{target.period_s:g} s, channels {channels} (the ones both sites have). Target: the log in {N_BLOCKS} equal time
blocks; training {', '.join(f'B{k}' for k in TRAIN_BLOCKS)}, test {', '.join(f'B{b.index}' for b in test_blocks)};
guard: the {window} rows ({guard_min:.1f} min, one model window) of a test block next to a training block are
dropped. Validation: the last {VALIDATION_ROWS} rows of each training block ({validation_rows} rows, injected
anomalies of other seeds). Fine-tuning: the rest ({finetune_rows} rows). Scratch: all {scratch_rows}
training-block rows. Test: {test_rows} rows, 4 injected copies per test block ({figures['test_anomaly_rate']:.1%}
of the steps labeled; the best possible (P+R)/2 at the {ANOMALY_RATE:.0%} cut is
{figures['best_possible_score_at_cut']:.3f}).

The assignment was chosen on the unlabeled log (disclosed): the one that puts the deepest discharge (B3) in
training, so no test block holds a larger cell-voltage excursion than training does; SOC above 74 % is then only
in test blocks. Regimes per block (rows used) and the range coverage of the test rows:

{block_table}

{coverage_table}

Recipe, choices and thresholds as for rack 2 (preset `{preset}`, EMA {EMA_DECAY}, {n_seeds} seeds x
{finetune_steps} fine-tune steps checkpointed every {every}; fine-tune step and smoothing chosen on validation
AUC-PR; quantile cut at the nominal {ANOMALY_RATE:.0%} rate; no choice saw a test label).

**Choices, on validation only.** Fine-tune step -> **{recipe.chosen_step}**, smoothing ->
**{recipe.chosen_smoothing}**.

{markdown_table(RESULT_HEADERS, rows)}

- Fine-tuned (ensemble, choices on validation): F1 {final_ft['f1']:.3f} (target >= 0.80: {_met(s['met_f1'])}),
  (P+R)/2 {final_ft['score']:.3f} = (P {final_ft['precision']:.3f} + R {final_ft['recall']:.3f}) / 2
  (target >= 0.90: {_met(s['met_score'])}). Validation (P+R)/2 of the chosen ensemble:
  {s['chosen_validation']['score']:.3f}.
- Scratch reference = median (P+R)/2 of its last 5 checkpoints: {s['scratch_reference']:.3f}. Fine-tuning (seed 0)
  reaches it: {s['reach_text']} (target <= 25 %: {_met(s['met_fraction'])}).{s['zero_shot_note']}
- {s['validation_cut_note']}
- False alarms of the fine-tuned ensemble by test block (reporting only):
  {', '.join(f'{k} {v:.0%}' for k, v in false_by_block.items())}.
- The 5-channel source model on the log's 3 channels: {'; '.join(reinit_notes) or 'no re-initialization note'}.
  (P+R)/2 {five_zero['score']:.3f} before fine-tuning, {five_last['score']:.3f} after {finetune_steps} steps
  (reporting only).
- Wall time (2 shared cores): main comparison {core_s:.0f} s (target <= 15 min: {_met(met['preset<=15min'])});
  with the 5-channel variant {total_s:.0f} s.

{_detail_tables(s, plot, f"last {VALIDATION_ROWS} rows of each training block", TARGET_LABEL)}"""
    return BenchResult("AnomalyBERT-style transfer to another site: ess_lfp racks -> BESS log (split 4)", markdown,
                       figures)
