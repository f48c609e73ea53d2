"""Evaluation metrics on tiny hand-worked arrays."""

import math

import numpy as np
import pytest

from tinyad.errors import InputError
from tinyad.evaluation import (
    auc_pr, event_prf, events, join_events, part_starts_of, point_adjust, point_adjusted_f1, pointwise, report,
    report_table, roc_auc, vus, vus_pr,
)

#            0  1  2  3  4  5  6  7  8  9
Y_TRUE = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0]
Y_PRED = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]


def test_events_are_half_open_runs():
    assert events(Y_TRUE) == [(1, 4), (6, 8)]
    assert events([1, 1, 0, 1]) == [(0, 2), (3, 4)]
    assert events([0, 0]) == []


def test_join_events_joins_runs_closer_than_the_gap():
    runs = [(1, 3), (4, 5), (9, 10)]
    assert join_events(runs, 2) == [(1, 5), (9, 10)]  # 1 step apart < 2; 4 steps apart stays
    assert join_events(runs, 5) == [(1, 10)]
    assert join_events(runs, 0) == runs and join_events([], 3) == []
    with pytest.raises(InputError, match="max_gap"):
        join_events(runs, -1)


def test_pointwise_counts_and_rates():
    m = pointwise(Y_TRUE, Y_PRED)
    # TP = {2}; FP = {0, 9}; FN = {1, 3, 6, 7}; TN = {4, 5, 8}
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (1, 2, 4, 3)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 5)
    assert m["f1"] == pytest.approx(2 * (1 / 3) * (1 / 5) / (1 / 3 + 1 / 5))
    assert m["far"] == pytest.approx(2 / 5)
    assert m["mar"] == pytest.approx(4 / 5)


def test_point_adjust_fills_only_detected_segments():
    adjusted = point_adjust(Y_TRUE, Y_PRED)
    # Segment 1..3 has a hit at 2 -> fully flagged; segment 6..7 has none -> untouched; FPs stay.
    assert adjusted.astype(int).tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    # TP 3, FP 2, FN 2 -> P = 3/5, R = 3/5
    assert point_adjusted_f1(Y_TRUE, Y_PRED) == pytest.approx(0.6)
    assert point_adjusted_f1(Y_TRUE, Y_PRED) > pointwise(Y_TRUE, Y_PRED)["f1"]


def test_event_prf_overlap():
    m = event_prf(Y_TRUE, Y_PRED)
    # true events: (1,4) detected, (6,8) missed; predicted events: {0}, {2}, {9}; only {2} overlaps.
    assert (m["true_events"], m["pred_events"], m["detected_events"], m["correct_pred_events"]) == (2, 3, 1, 1)
    assert m["recall"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(0.4)


# Two series concatenated: the first (rows 0-4) ends in an anomaly, the second (rows 5-9) starts in one.
#               0  1  2  3  4 | 5  6  7  8  9
TWO_FILES_TRUE = [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
TWO_FILES_PRED = [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_part_starts_of_concatenated_series():
    assert part_starts_of([[0] * 5, [1] * 5]) == [5]
    assert part_starts_of([[0] * 3, [], [0] * 2, [0] * 4]) == [3, 5]  # an empty part adds no boundary
    assert part_starts_of([[0] * 4]) == [] and part_starts_of([]) == []


def test_events_are_cut_where_a_series_begins():
    assert events(TWO_FILES_TRUE) == [(3, 7)]
    assert events(TWO_FILES_TRUE, part_starts=[5]) == [(3, 5), (5, 7)]
    assert events([1, 1, 1, 1], part_starts=[1, 3]) == [(0, 1), (1, 3), (3, 4)]
    assert events(TWO_FILES_TRUE, part_starts=[2]) == [(3, 7)]  # a boundary outside every run cuts nothing
    for bad in ([0], [10], [5, 5], [6, 4]):
        with pytest.raises(InputError, match="part_starts"):
            events(TWO_FILES_TRUE, part_starts=bad)


def test_a_flag_in_one_file_does_not_detect_or_adjust_the_next_files_event():
    # The flag at 4 hits the first file's event (3-4), the flag at 5 the second's (5-6): both detected.
    assert event_prf(TWO_FILES_TRUE, TWO_FILES_PRED, part_starts=[5])["recall"] == 1.0
    # A flag only at row 3: over the concatenation it detects the one event 3-6 (recall 1, PA fills 3-6);
    # file by file it detects 3-4 only (recall 1/2, PA fills 3-4: TP 2, FN 2 -> F1 2/3).
    only_first = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert event_prf(TWO_FILES_TRUE, only_first)["recall"] == 1.0
    per_file = event_prf(TWO_FILES_TRUE, only_first, part_starts=[5])
    assert (per_file["true_events"], per_file["detected_events"], per_file["recall"]) == (2, 1, 0.5)
    assert point_adjust(TWO_FILES_TRUE, only_first, part_starts=[5]).astype(int).tolist() == [
        0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert point_adjusted_f1(TWO_FILES_TRUE, only_first) == 1.0
    assert point_adjusted_f1(TWO_FILES_TRUE, only_first, part_starts=[5]) == pytest.approx(2 / 3)
    # The flagged run 4-5 crosses the boundary: two predicted events, both correct.
    assert event_prf(TWO_FILES_TRUE, TWO_FILES_PRED, part_starts=[5])["pred_events"] == 2
    shown = report(TWO_FILES_TRUE, only_first, name="x", threshold_saw_test_labels=False, part_starts=[5])
    assert (shown.event_recall, shown.pa_f1, shown.f1) == (0.5, pytest.approx(2 / 3), pytest.approx(0.4))


def test_empty_denominators_are_zero_not_nan():
    m = pointwise([0, 0, 0], [0, 0, 0])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0 and m["far"] == 0.0


def test_auc_pr_and_roc_on_hand_ranking():
    y = [0, 1, 0, 1]
    s = [0.1, 0.9, 0.8, 0.3]
    # ranking 1(+), 2(-), 3(+), 0(-): AP = 1/2 * 1 + 1/2 * 2/3
    assert auc_pr(y, s) == pytest.approx(0.5 + 1 / 3)
    # positive-negative pairs ranked right: (1>2), (1>0), (3>0), not (3>2) -> 3/4
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert math.isnan(auc_pr([0, 0], [0.1, 0.2]))


def test_vus_pr_window_zero_is_range_ap():
    y = [0, 1, 1, 0]
    # perfect ranking
    assert vus_pr(y, [0.1, 0.9, 0.8, 0.2], sliding_window=0, n_thresholds=4) == pytest.approx(1.0)
    # thresholds .9 .8 .2 .1 -> (TPR, precision) = (0, 0), (.5, .5), (.5, 1/3), (1, .5): AP = .5*.5 + .5*.5
    assert vus_pr(y, [0.9, 0.8, 0.1, 0.2], sliding_window=0, n_thresholds=4) == pytest.approx(0.5)


def test_vus_pr_with_buffer_hand_worked():
    y = [0, 1, 1, 0]
    s = [0.9, 0.8, 0.1, 0.2]
    r = math.sqrt(0.5)  # ramp value one step from the segment for window 2
    # window 2: soft labels [r, 1, 1, r], one range [0, 3]
    tp = [r, 1 + r, 1 + 2 * r, 2 + 2 * r]
    n_labels = [2 + r, 2 + r, 2 + 2 * r, 2 + 2 * r]
    n_pred = [1, 2, 3, 4]
    tpr = [min(t / ((2 + n) / 2), 1) for t, n in zip(tp, n_labels)]
    precision = [t / k for t, k in zip(tp, n_pred)]
    ap2 = sum((b - a) * p for a, b, p in zip([0] + tpr[:-1], tpr, precision))
    # windows 0 and 1 both have no buffer (1 // 2 == 0) and give 0.5 (see the test above)
    assert vus_pr(y, s, sliding_window=2, n_thresholds=4) == pytest.approx((0.5 + 0.5 + ap2) / 3)


def test_vus_takes_the_buffer_widths_a_few_at_a_time_on_a_long_series_with_the_same_result(monkeypatch):
    from tinyad.evaluation import metrics

    rng = np.random.default_rng(3)
    y = np.zeros(400, int)
    y[[30, 31, 32, 200, 205, 206, 390]] = 1
    s = rng.random(400) + 0.5 * y
    whole = vus(y, s, sliding_window=24)
    monkeypatch.setattr(metrics, "SOFT_LABEL_VALUES", 400 * 4)  # 4 widths at a time: 7 parts of 0..24
    parts = vus(y, s, sliding_window=24)
    assert parts["vus_pr"] == pytest.approx(whole["vus_pr"], rel=1e-12)
    assert parts["vus_roc"] == pytest.approx(whole["vus_roc"], rel=1e-12)


@pytest.mark.parametrize("events, decimals", [
    ([(40, 70), (200, 203), (380, 400)], None),  # the last event runs to the end of the series
    ([(0, 5), (100, 101), (103, 104), (250, 300)], None),  # from the first step; two events a buffer apart
    ([(40, 70), (380, 400)], 1),  # scores rounded: many ties at every threshold
])
def test_vus_matches_tsb_ad_reference(events, decimals):
    basic = pytest.importorskip("TSB_AD.evaluation.basic_metrics",
                                reason="tsb-ad not installed (pip install --no-deps tsb-ad)")
    rng = np.random.default_rng(3)
    y = np.zeros(400, int)
    for start, stop in events:
        y[start:stop] = 1
    s = rng.random(400) + 0.6 * y
    s = s if decimals is None else np.round(s, decimals)
    ref_roc, ref_pr = basic.generate_curve(y, s, 24)[-2:]
    mine = vus(y, s, sliding_window=24)
    assert mine["vus_pr"] == pytest.approx(ref_pr, rel=1e-9)
    assert mine["vus_roc"] == pytest.approx(ref_roc, rel=1e-9)


@pytest.mark.parametrize("bad, message", [([0, 2, 1], r"only 0 and 1, found \[0, 1, 2\]"),
                                          ([0, float("nan"), 1], "contains NaN or infinite"),
                                          ([[0, 1], [1, 0]], r"must be 1-D .* got shape \(2, 2\)")])
def test_bad_labels_raise_input_error(bad, message):
    with pytest.raises(InputError, match=message):
        pointwise(bad, [0, 0, 0])


def test_bad_scores_and_lengths_raise():
    with pytest.raises(InputError, match="NaN"):
        auc_pr([0, 1], [0.1, float("nan")])
    with pytest.raises(InputError, match="length"):
        pointwise([0, 1, 0], [0, 1])


def test_report_prints_f1_beside_pa_f1_and_label_use():
    r = report(Y_TRUE, Y_PRED, score=np.asarray(Y_PRED, float), name="toy", threshold_saw_test_labels=False)
    assert r.f1 == pytest.approx(pointwise(Y_TRUE, Y_PRED)["f1"])
    assert r.pa_f1 == pytest.approx(0.6)
    text = str(r)
    assert text.index("F1 0.250") < text.index("point-adjusted 0.600")
    assert "threshold saw test labels: no" in text
    table = report_table([r])
    header = table.splitlines()[0]
    assert header.index("| F1 |") < header.index("PA-F1") < header.index("threshold saw test labels")
    oracle = report(Y_TRUE, Y_PRED, name="oracle", threshold_saw_test_labels=True)
    assert "YES" in str(oracle) and "| YES |" in report_table([oracle])
    with pytest.raises(TypeError):
        report(Y_TRUE, Y_PRED)  # the label-use flag is mandatory
    for not_a_bool in (None, "no", 0):
        with pytest.raises(InputError, match="threshold_saw_test_labels must be True or False"):
            report(Y_TRUE, Y_PRED, name="toy", threshold_saw_test_labels=not_a_bool)


def test_report_counts_rare_false_alarms_and_prints_event_precision_and_recall():
    truth = np.zeros(100_000, int)
    truth[500:600] = 1
    flags = truth.copy()
    flags[[10, 2_000, 30_000, 70_000]] = 1  # four one-row false alarms beside the found anomaly
    text = str(report(truth, flags, name="toy", threshold_saw_test_labels=False))
    # 4 / 99,900 = 0.004 %: not rounded away to 0.0 %
    assert "FAR 0.004% (4 of 99,900 normal rows), MAR 0.0% (0 of 100 anomalous rows)" in text
    # 1 of 5 flagged runs overlaps the event, which is found: P 0.2, R 1, F1 1/3
    assert "event (overlap) P 0.200, R 1.000, F1 0.333" in text and "VUS-PR n/a (window 100)" in text


def test_report_table_shows_what_the_text_shows():
    found = report(Y_TRUE, Y_PRED, name="toy", threshold_saw_test_labels=False)
    silent = report(Y_TRUE, [0] * 10, name="silent", threshold_saw_test_labels=False)
    header, _, toy, quiet = report_table([found, silent]).splitlines()
    assert "| FAR % | MAR % | event P | event R | event F1 |" in header
    # toy: FP 2 of 5 normal rows = 40.0 %, FN 4 of 5 = 80.0 %; event P 1/3, R 1/2, F1 0.4
    assert "| 40.0 | 80.0 | 0.333 | 0.500 | 0.400 |" in toy
    # nothing flagged: precision and event precision have no denominator (n/a in the text, as here)
    assert "| silent | 0.000 | 0.000 | n/a | 0.000 | 0.0 | 100.0 | n/a | 0.000 | 0.000 |" in quiet
    assert "precision n/a" in str(silent) and "event (overlap) P n/a, R 0.000, F1 0.000" in str(silent)


def test_event_precision_counts_a_run_once_however_long():
    assert event_prf(Y_TRUE, [1] * 10)["precision"] == 1.0  # one run over everything overlaps an event


def test_pandas_series_with_different_indexes_are_refused():
    import pandas as pd

    truth = pd.Series(Y_TRUE, index=range(10))
    assert pointwise(truth, pd.Series(Y_PRED, index=range(10)))["tp"] == 1  # equal indexes: by position
    shuffled = pd.Series(Y_PRED, index=range(10)).sort_index(ascending=False)
    with pytest.raises(InputError, match="y_true and y_pred are pandas objects with different indexes") as err:
        pointwise(truth, shuffled)
    assert "y_pred.reindex(y_true.index)" in err.value.hint
    with pytest.raises(InputError, match="y_true and score are pandas objects"):
        auc_pr(truth, pd.Series(np.arange(10.0), index=range(1, 11)))
    with pytest.raises(InputError, match="different indexes"):
        report(truth, shuffled, name="toy", threshold_saw_test_labels=False)
    assert pointwise(truth, np.asarray(Y_PRED))["tp"] == 1  # an array beside a Series: by position


def test_every_step_anomalous_leaves_the_ranking_metrics_undefined(recwarn):
    # one class: AUC-PR and VUS-PR would be 1.0 whatever the scores, as ROC-AUC is undefined
    result = vus([1, 1, 1, 1], [0.4, 0.3, 0.2, 0.1], sliding_window=2)
    assert math.isnan(result["vus_pr"]) and math.isnan(result["vus_roc"])
    assert math.isnan(auc_pr([1, 1, 1, 1], [0.4, 0.3, 0.2, 0.1])) and math.isnan(roc_auc([1, 1], [0.2, 0.1]))
    assert not [w for w in recwarn if w.category is RuntimeWarning]


def test_percentages_keep_a_handful_of_rows_visible_at_both_ends():
    from tinyad.evaluation.report import _percent

    assert [_percent(v) for v in (0.0, 4.004e-05, 0.00123, 0.076, 0.9995, 99_899 / 99_900, 1.0)] == [
        "0.0%", "0.004%", "0.12%", "7.6%", "99.95%", "99.999%", "100.0%"]


def test_vus_with_part_starts_scores_each_series_alone_and_averages():
    # two series of 4; each alone is the hand-worked window-0 case: perfect ranking 1.0, the other 0.5
    y = [0, 1, 1, 0, 0, 1, 1, 0]
    s = [0.1, 0.9, 0.8, 0.2, 0.9, 0.8, 0.1, 0.2]
    per_series = vus(y, s, sliding_window=0, n_thresholds=4, part_starts=[4])
    assert per_series["vus_pr"] == pytest.approx((1.0 + 0.5) / 2) and per_series["series"] == 2
    # over the concatenation the thresholds are shared: a different figure
    assert vus(y, s, sliding_window=0, n_thresholds=4)["vus_pr"] != pytest.approx(0.75)
    # with buffers: each series' ramp stays inside it (the mean of the two series alone)
    alone = [vus(y[a:b], s[a:b], sliding_window=2, n_thresholds=4) for a, b in ((0, 4), (4, 8))]
    both = vus(y, s, sliding_window=2, n_thresholds=4, part_starts=[4])
    assert both["vus_pr"] == pytest.approx(np.mean([a["vus_pr"] for a in alone]))
    assert both["vus_roc"] == pytest.approx(np.mean([a["vus_roc"] for a in alone]))
    # a series with one class only is left out of the mean (undefined there), and counted out
    one_class = vus([0, 1, 1, 0, 0, 0, 0, 0], s, sliding_window=0, n_thresholds=4, part_starts=[4])
    assert one_class["vus_pr"] == pytest.approx(1.0) and one_class["series"] == 1
    assert math.isnan(vus_pr([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], sliding_window=0, part_starts=[2]))
    with pytest.raises(InputError, match="part_starts"):
        vus(y, s, part_starts=[8])


def test_report_takes_vus_pr_per_series_with_part_starts():
    y = np.array([0, 1, 1, 0, 0, 1, 1, 0])
    s = np.array([0.1, 0.9, 0.8, 0.2, 0.9, 0.8, 0.1, 0.2])
    rep = report(y, (s > 0.5).astype(int), s, threshold_saw_test_labels=False, sliding_window=0,
                 n_thresholds=4, part_starts=[4])
    assert rep.vus_pr == pytest.approx(0.75)
