"""Pieces of the issue-5 benchmarks (skab, nab, imu_labelfree) on tiny hand-made arrays."""

import numpy as np
import pytest

from tinyad.bench.imu_labelfree import FRAME, HOP, frame_features
from tinyad.bench.nab import _category_rows
from tinyad.bench.skab import (ROUND_2_MARK, ROUND_3_MARK, ROUND_4_MARK, FileScores, _all_ones_f1, _oracle_threshold,
                              ensemble_scores, file_starts_in_test_rows, target_line, threshold_reports)
from tinyad.detectors.datasets import SKAB_TRAIN_ROWS


def test_frame_features_mean_and_std_per_channel():
    data = np.zeros((FRAME + HOP, 6))
    data[:, 0] = np.arange(FRAME + HOP)
    data[::2, 3] = 1.0  # alternating 1, 0: mean 0.5, std 0.5
    features = frame_features(data)
    assert features.shape == (2, 12)
    assert features[0, 0] == pytest.approx((FRAME - 1) / 2) and features[1, 0] == pytest.approx(HOP + (FRAME - 1) / 2)
    assert features[0, 3] == pytest.approx(0.5) and features[0, 6 + 3] == pytest.approx(0.5)


def test_oracle_threshold_includes_its_cut_point():
    y = np.array([0, 0, 1, 1])
    score = np.array([0.1, 0.2, 0.3, 0.4])
    cut = _oracle_threshold(y, score)
    assert ((score > cut) == y.astype(bool)).all()


def test_all_ones_f1_matches_the_base_rate():
    class F:
        test_labels = np.array([1, 0, 0, 0])

    assert _all_ones_f1([F()]) == pytest.approx(2 * 0.25 / 1.25)


def test_nab_category_rows_sum_counts_over_series():
    labels = np.array([0, 1, 1, 0, 0, 0])
    a = {"category": "c", "score": np.array([0, 5, 4, 0, 0, 1.0]), "labels": labels,
         "flags": {"telemanom": np.array([0, 1, 0, 0, 0, 0], bool), "3 sigma": np.array([0, 1, 1, 0, 0, 1], bool)}}
    b = {"category": "c", "score": np.zeros(6) + np.arange(6), "labels": np.zeros(6, int),
         "flags": {"telemanom": np.zeros(6, bool), "3 sigma": np.array([0, 0, 0, 0, 1, 0], bool)}}
    rows = {r["threshold"]: r for r in _category_rows("X", [a, b])}
    sigma = rows["3 sigma"]
    # series a: TP 2, FP 1 (index 5); series b: FP 1 -> F1 = 4 / (4 + 2)
    assert sigma["f1"] == pytest.approx(4 / 6)
    # events: 1 true (detected); predicted events {1,2} (correct), {5}, {4 in b} -> precision 1/3
    assert (sigma["true_events"], sigma["pred_events"]) == (1, 3)
    assert sigma["event_precision"] == pytest.approx(1 / 3) and sigma["event_recall"] == 1.0
    telemanom = rows["telemanom"]
    assert telemanom["f1"] == pytest.approx(2 / 3) and telemanom["pa_f1"] == pytest.approx(1.0)


def test_skab_reports_count_events_file_by_file():
    # File a's 4 test rows end in an anomaly, file b's start in one: one run over the concatenation, two events.
    class File:
        def __init__(self, test_labels):
            self.test_labels = np.array(test_labels)

    files = [File([0, 0, 1, 1]), File([1, 1, 0, 0])]
    assert file_starts_in_test_rows(files) == [4]
    training = np.ones(SKAB_TRAIN_ROWS)  # training p99 1: the ratio is the score itself
    # file a flags its anomaly (ratio 9 > the per-file UCL 1.5), file b flags nothing
    scores = FileScores([np.r_[training, 1, 1, 9, 9], np.r_[training, 1, 1, 1, 1]], [np.r_[training, 1, 1]])
    reports, _ = threshold_reports("x", scores, files)
    ucl = next(r for r in reports if "per-file UCL" in r.name)
    assert (ucl.counts["tp"], ucl.counts["fn"], ucl.counts["fp"]) == (2, 2, 0)
    # file by file: b's event is missed (event recall 1/2, PA fills a's rows only: TP 2, FN 2, F1 2/3);
    # over the bare concatenation the flags at rows 2-3 would detect one event and adjust all four rows
    assert ucl.event_recall == 0.5 and ucl.pa_f1 == pytest.approx(2 / 3)


def test_ensemble_is_the_mean_of_the_members_per_file_ratios():
    # Member a: training p99 2 (constant 2 over the training rows), then 6 -> ratio 1 then 3.
    # Member b: training p99 1, then 1 -> ratio 1 then 1. Mean: 1 then 2.
    rows = SKAB_TRAIN_ROWS + 3
    a = np.r_[np.full(SKAB_TRAIN_ROWS, 2.0), np.full(3, 6.0)]
    b = np.ones(rows)
    merged = ensemble_scores([FileScores([a], [a]), FileScores([b], [b])])
    assert merged.files[0][:SKAB_TRAIN_ROWS] == pytest.approx(np.ones(SKAB_TRAIN_ROWS))
    assert merged.files[0][SKAB_TRAIN_ROWS:] == pytest.approx([2.0, 2.0, 2.0])
    assert merged.pieces[0][-1] == pytest.approx(2.0)


def test_target_line_never_claims_round_2_or_dagger_rows_as_round_1():
    class R:
        def __init__(self, name, f1, far, mar=0.2):
            self.name, self.f1, self.far, self.mar = name, f1, far, mar

    round_1, round_2 = R("PCA", 0.77, 0.06), R(f"Ensemble {ROUND_2_MARK}", 0.81, 0.12)
    assert "NOT met" in target_line([], [], round_1, round_1)
    line = target_line([], [], round_2, round_2, {2: [round_2]})
    assert "met only by rows of later rounds" in line and "round 2" in line and "F1 0.810" in line
    assert "NOT met" not in line and "diagnosis" not in line
    assert target_line([R("X", 0.85, 0.1)], [], round_2, round_2, {2: [round_2]}).startswith(
        "Target F1 >= 0.80 with FAR <= 15 % without test labels: met by round-1 rows X")


def test_target_line_names_round_3_rows_with_their_round():
    class R:
        def __init__(self, name, f1, far, mar=0.2):
            self.name, self.f1, self.far, self.mar = name, f1, far, mar

    round_1, round_3 = R("PCA", 0.77, 0.06), R(f"Conv-AE per file {ROUND_3_MARK}", 0.80, 0.14)
    line = target_line([], [], round_3, round_3, {2: [], 3: [round_3], 4: []})
    assert "round 3" in line and "round 2" not in line and "F1 0.800, FAR 14.0%" in line
    assert "NOT met" in target_line([], [], round_1, round_1, {3: []})


def test_target_line_says_round_4_was_chosen_after_a_diagnosis_with_test_labels():
    class R:
        def __init__(self, name, f1, far, mar=0.2):
            self.name, self.f1, self.far, self.mar = name, f1, far, mar

    round_4 = R(f"Conv-AE per file, drift-robust {ROUND_4_MARK}", 0.82, 0.149)
    line = target_line([], [], round_4, round_4, {3: [], 4: [round_4]})
    assert f"round 4 ({ROUND_4_MARK})" in line and "F1 0.820, FAR 14.9%" in line
    assert "not a clean held-out one" in line and "round 3" not in line
