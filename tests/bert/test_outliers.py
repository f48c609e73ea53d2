"""Synthetic outlier injectors on tiny hand-computed windows: exact values and exact label masks."""

import numpy as np
import pytest

from tinyad.bert import outliers
from tinyad.errors import InputError


def ramp(steps=6, channels=2):
    # x[t, c] = 10 * c + t
    return (np.arange(steps)[:, None] + 10.0 * np.arange(channels)[None, :]).astype(np.float32)


def test_soft_replace_blends_chosen_channels_only():
    window = ramp()
    source = np.full((2, 2), 100.0, np.float32)
    out, mask = outliers.soft_replace(window, 3, source, [1], 0.25)
    assert mask.tolist() == [False, False, False, True, True, False]
    # channel 1 at t=3: 0.25 * 100 + 0.75 * 13 = 34.75; at t=4: 0.25 * 100 + 0.75 * 14 = 35.5
    assert out[3, 1] == pytest.approx(34.75) and out[4, 1] == pytest.approx(35.5)
    np.testing.assert_array_equal(out[:, 0], window[:, 0])
    np.testing.assert_array_equal(out[[0, 1, 2, 5]], window[[0, 1, 2, 5]])
    assert window[3, 1] == 13.0  # input untouched


def test_uniform_replace_sets_constant():
    out, mask = outliers.uniform_replace(ramp(), 1, 3, [0, 1], -7.0)
    assert mask.tolist() == [False, True, True, True, False, False]
    assert (out[1:4] == -7.0).all() and out[0, 1] == 10.0 and out[4, 0] == 4.0


def test_peak_noise_labels_only_the_spikes():
    out, mask = outliers.peak_noise(ramp(), [0, 4], [1], [5.0, -3.0])
    assert mask.tolist() == [True, False, False, False, True, False]
    assert out[0, 1] == 15.0 and out[4, 1] == 11.0 and out[0, 0] == 0.0


def test_length_adjust_stretch():
    context = np.arange(8, dtype=np.float32)[:, None]
    # segment [2, 4) = [2, 3] stretched to 4 steps: 2, 2.333, 2.667, 3; then the series resumes at 4
    out, mask = outliers.length_adjust(context, 6, 2, 2, 4)
    np.testing.assert_allclose(out[:, 0], [0, 1, 2, 7 / 3, 8 / 3, 3], rtol=1e-6)
    assert mask.tolist() == [False, False, True, True, True, True]


def test_length_adjust_compress_uses_context_after_the_window():
    context = np.arange(10, dtype=np.float32)[:, None]
    # segment [1, 5) = [1, 2, 3, 4] compressed to 2 steps: 1, 4; then 5, 6, 7 shift in
    out, mask = outliers.length_adjust(context, 6, 1, 4, 2)
    np.testing.assert_allclose(out[:, 0], [0, 1, 4, 5, 6, 7])
    assert mask.tolist() == [False, True, True, False, False, False]
    with pytest.raises(InputError, match="context"):
        outliers.length_adjust(context[:6], 6, 1, 4, 2)


def test_unseen_types():
    out, mask = outliers.drift(ramp(), 2, 3, [0], 2.0)
    np.testing.assert_allclose(out[:, 0], [0, 1, 2, 4, 6, 5])
    assert mask.tolist() == [False, False, True, True, True, False]
    out, mask = outliers.stuck(ramp(), 1, 4, [1])
    np.testing.assert_array_equal(out[:, 1], [10, 11, 11, 11, 11, 15])
    out, mask = outliers.noise(ramp(), 0, 2, [0], 1.0, np.random.default_rng(0))
    assert mask.sum() == 2 and (out[2:] == ramp()[2:]).all() and (out[:2, 0] != ramp()[:2, 0]).all()


def test_segment_outside_window_is_an_error():
    with pytest.raises(InputError, match="outside"):
        outliers.uniform_replace(ramp(), 5, 2, [0], 0.0)
    with pytest.raises(InputError, match="outside"):
        outliers.peak_noise(ramp(), [6], [0], [1.0])


def test_probabilities_must_sum_to_at_most_one():
    with pytest.raises(InputError, match="sum"):
        outliers.OutlierProbabilities(0.6, 0.3, 0.2, 0.0).as_array()


def test_synthesize_batch_labels_match_changes():
    rng = np.random.default_rng(3)
    contexts = rng.normal(size=(64, 24, 3)).astype(np.float32)
    probs = outliers.OutlierProbabilities(0.3, 0.2, 0.2, 0.0)
    windows, labels = outliers.synthesize_batch(contexts, 16, probs, rng)
    assert windows.shape == (64, 16, 3) and labels.shape == (64, 16)
    changed = (windows != contexts[:, :16]).any(axis=2)
    # Without length adjusting, exactly the labeled steps change (soft replacing could in theory blend in
    # identical values, which random normals never are).
    np.testing.assert_array_equal(changed, labels.astype(bool))
    clean = labels.sum(axis=1) == 0
    assert 0 < clean.sum() < 64  # about 30 % of the windows stay clean
    no_outliers = outliers.OutlierProbabilities(0.0, 0.0, 0.0, 0.0)
    windows, labels = outliers.synthesize_batch(contexts, 16, no_outliers, rng)
    assert labels.sum() == 0 and np.array_equal(windows, contexts[:, :16])


def test_inject_series_hits_the_rate_without_overlap():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(2000, 2)).astype(np.float32)
    out, labels, events = outliers.inject_series(series, outliers.UNSEEN_TYPES, rng, anomaly_rate=0.05)
    assert 0.05 <= labels.mean() < 0.05 + 48 / 2000 + 1e-9
    assert {kind for kind, _, _ in events} == set(outliers.UNSEEN_TYPES)
    spans = sorted((a, b) for _, a, b in events)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    untouched = labels == 0
    np.testing.assert_array_equal(out[untouched], series[untouched])


def test_inject_series_redraws_invisible_anomalies():
    # A flat series: freezing a channel ("stuck") changes nothing, so no stuck event may be placed, while a
    # drift of 1.5-4 std always shows.
    flat = np.zeros((600, 2), np.float32)
    _, labels, events = outliers.inject_series(flat, ["stuck", "drift"], np.random.default_rng(0), 0.05)
    assert events and {kind for kind, _, _ in events} == {"drift"}
    assert labels.mean() >= 0.05


def test_per_kind_recall_counts_only_labeled_steps():
    from tinyad.bert.evaluate import per_kind_recall

    scores = np.array([0.9, 0.1, 0.9, 0.9, 0.1, 0.1])
    labels = np.array([1, 0, 1, 1, 1, 0])
    events = [("peak_noising", 0, 2), ("drift", 2, 6)]  # the peak event labels only its spike (step 0)
    assert per_kind_recall(scores, labels, events, 0.5) == {"drift": 2 / 3, "peak_noising": 1.0}


def test_inject_series_fits_a_short_series():
    # 240 steps (20 min at 5 s) cannot hold the longest length-adjusting draw (3 x 96 steps + margins): such
    # draws are redrawn shorter instead of failing, and the rate is still reached without overlap.
    rng = np.random.default_rng(3)
    series = np.cumsum(rng.normal(size=(240, 2)), axis=0).astype(np.float32)
    for seed in range(20):
        _, labels, events = outliers.inject_series(series, outliers.TRAIN_TYPES + outliers.UNSEEN_TYPES,
                                                   np.random.default_rng(seed), anomaly_rate=0.08)
        assert labels.sum() >= int(0.08 * 240) and all(16 <= a and b <= 240 - 16 for _, a, b in events)
        spans = sorted((a, b) for _, a, b in events)
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
