"""Split 5 of the battery transfer benchmark (racks 1, 2, 4, 5 -> rack 3): its choice rule on hand-made numbers,
its split on the real racks, and a quick run of the whole benchmark."""

import pandas as pd
import pytest

from tinyad.bench.bert_transfer import block_rows
from tinyad.bench.bert_transfer_bess import assignment_coverage
from tinyad.bench.bert_transfer_rack3 import (CANDIDATES, OTHER_ASSIGNMENT, TRAIN_BLOCKS, choose_candidate, run,
                                              target_rack_split)


def test_choose_candidate_takes_the_best_validation_auc_pr_and_the_first_on_a_tie():
    assert choose_candidate({"A": 0.60, "B": 0.71, "C": 0.70}) == "B"
    assert choose_candidate({"A": 0.70, "B": 0.70, "C": 0.65}) == "A"


def test_candidates_differ_in_one_lever_each_and_keep_valid_outlier_probabilities():
    from dataclasses import replace

    from tinyad.bert.train import TrainOptions

    a, b, c = CANDIDATES
    assert (a.preset, a.outliers) == ("small", {})
    assert b.preset == "small" and b.outliers["length_adjusting"] > 0
    assert c.preset == "medium" and c.outliers == b.outliers
    assert b.outlier_text() == "soft 0.35 / uniform 0.15 / peak 0.15 / length 0.15"
    for candidate in CANDIDATES:
        probabilities = replace(TrainOptions(), **candidate.outliers).probabilities().as_array()
        assert probabilities.sum() == pytest.approx(0.8)  # 20 % of the windows stay clean, as in AnomalyBERT


def test_rack3_split_keeps_rack3_out_of_pretraining_and_test_windows_off_training_rows(shared_data, tmp_path):
    window = 32
    split, info = target_rack_split(tmp_path, window)
    target, train, test = info["target"], info["train"], info["test"]
    assert [b.index for b in train] == list(TRAIN_BLOCKS) and [b.index for b in test] == [0, 2, 4]
    assert sorted(info["pretrain_rows"]) == [1, 2, 4, 5]  # never rack 3
    assert sum(len(s) for s in split.pretrain_segments) == sum(info["pretrain_rows"].values())
    assert all(s.shape[1] == 5 for s in split.pretrain_segments)
    period = pd.Timedelta(seconds=target.period_s)
    train_times = pd.concat([b.used.frame["time"] for b in train])
    for b in test:
        times = b.used.frame["time"]
        gap = min((train_times - t).abs().min() for t in (times.iloc[0], times.iloc[-1]))
        assert gap > window * period
    # The disclosed, label-free reason for the assignment: training holds the deepest discharge and covers
    # the test rows' range better than the other alternating assignment.
    assert max(b.used.frame["voltage_diff_mv"].max() for b in train) > max(
        b.used.frame["voltage_diff_mv"].max() for b in test)
    assert min(b.used.frame["soc_pct"].min() for b in train) == 0.0
    assert assignment_coverage(target, TRAIN_BLOCKS)[0] > assignment_coverage(target, OTHER_ASSIGNMENT)[0]
    # The reported row counts: each training block is its fine-tuning rows plus its validation tail.
    counts = block_rows(info["blocks"])
    assert counts.finetune_rows + counts.validation_rows == counts.scratch_rows == 3 * 1080
    assert counts.validation_rows == 3 * 240  # 20 min at 5 s per training block
    # Guard rows: B0 loses a window at its end, B2 and B4 at both ends.
    assert counts.test_rows == sum(len(b.used.frame) for b in test) == 3 * 1080 - 5 * window


def test_quick_run_scores_every_candidate_and_headlines_the_one_validation_chose(shared_data, tmp_path):
    result = run(quick=True, out_dir=tmp_path)
    figures = result.figures
    assert figures["quick"] and figures["test_labels_used_for_any_choice"] is False
    assert figures["pretrain_racks"] == [1, 2, 4, 5] and figures["train_blocks"] == [1, 3, 5]
    validation = figures["validation_auc_pr_by_candidate"]
    assert sorted(validation) == ["A", "B", "C"]
    assert figures["chosen_candidate"] == max(validation, key=lambda k: (validation[k], -"ABC".index(k)))
    chosen = figures["candidates"][figures["chosen_candidate"]]
    assert figures["finetuned_score"] == chosen["test_score"] and figures["finetuned_f1"] == chosen["test_f1"]
    assert sum(figures["false_alarm_share_by_test_block"].values()) == pytest.approx(1.0)
    for key in "ABC":
        assert (tmp_path / "rack3" / key / "racks_pretrain").is_dir()
    assert (tmp_path / "rack3" / "score_vs_steps_rack3.png").stat().st_size > 0
    assert "Split 5: a fresh target rack" in result.markdown and "B1 | train" in result.markdown
