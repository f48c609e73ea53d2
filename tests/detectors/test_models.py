"""Scoring models: windowing helpers, PCA T^2/Q by hand, Isolation Forest, tiny LSTM-AE and forecaster."""

import numpy as np
import pytest

from tinyad.detectors.baselines import IsolationForestDetector, PCADetector
from tinyad.detectors.common import (add_window_errors, as_segments, check_series, sliding_windows,
                                     window_errors_to_steps)
from tinyad.errors import InputError


def test_sliding_windows_and_step_average():
    data = np.arange(10.0).reshape(5, 2)
    windows = sliding_windows(data, 3, stride=2)
    assert windows.shape == (2, 3, 2)
    assert windows[1, :, 0].tolist() == [4.0, 6.0, 8.0]
    # windows [0..2] and [1..3]: step 1 averages 2 and 4, step 2 averages 3 and 5
    steps = window_errors_to_steps(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), 4)
    assert steps.tolist() == [1.0, 3.0, 4.0, 6.0]


def test_window_errors_added_in_chunks_average_like_the_whole():
    # windows [0..2], [1..3], [2..4] of 5 steps; the second and third added as a later chunk
    per_window = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    total, count = np.zeros(5), np.zeros(5)
    add_window_errors(total, count, per_window[:1], 0)
    add_window_errors(total, count, per_window[1:], 1)
    assert count.tolist() == [1, 2, 3, 2, 1]
    # step 2 is covered by position 2 of window 0, 1 of window 1, 0 of window 2: (3 + 5 + 7) / 3
    assert (total / count).tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert (total / count).tolist() == window_errors_to_steps(per_window, 5).tolist()
    # per channel: the same sums, one column each
    total2, count2 = np.zeros((5, 2)), np.zeros(5)
    add_window_errors(total2, count2, np.stack([per_window, 10 * per_window], axis=2), 0)
    assert (total2[:, 1] / count2).tolist() == [10.0, 30.0, 50.0, 70.0, 90.0]


def test_check_series_names_the_bad_row():
    with pytest.raises(InputError, match=r"row 2, column 1 \(array indices, from 0\)"):
        check_series([[0.0, 1.0], [1.0, 2.0], [2.0, np.nan]])
    with pytest.raises(InputError, match="3 channels, but the model was fitted on 2"):
        check_series(np.zeros((5, 3)), n_features=2)


def test_rows_given_as_a_list_of_arrays_are_refused_not_read_as_segments():
    rows = list(np.arange(12.0).reshape(4, 3))  # list(array): four 1-D rows of 3 channels
    with pytest.raises(InputError, match="4 one-dimensional arrays of 3 values each") as err:
        as_segments(rows)
    assert "numpy.asarray(rows)" in err.value.hint
    with pytest.raises(InputError, match="one-dimensional arrays"):
        PCADetector().fit(rows)
    # one-channel segments of different lengths cannot be rows; a 2-D array alone is one segment
    assert [len(part) for part in as_segments([np.zeros(5), np.zeros(7)])] == [5, 7]
    assert len(as_segments(np.zeros((4, 3)))) == 1


def test_pca_t2_and_q_by_hand():
    t = np.arange(-2.0, 3.0)
    detector = PCADetector().fit(np.stack([t, t], axis=1))  # a perfect line: one component
    assert detector.fitted["components"].shape == (1, 2)
    # std of t is sqrt(2): raw (a, -a) -> z = (a, -a)/sqrt(2), off the line by |z|^2 = a^2
    t2, q = detector._statistics(detector.fitted["scaler"](np.array([[1.5, -1.5]])))
    assert t2[0] == pytest.approx(0.0, abs=1e-12) and q[0] == pytest.approx(1.5 ** 2)
    # raw (b, b) lies on the line with score b; the score variance of t (ddof 1) is 2.5
    t2, q = detector._statistics(detector.fitted["scaler"](np.array([[2.0, 2.0]])))
    assert t2[0] == pytest.approx(2.0 ** 2 / 2.5) and q[0] == pytest.approx(0.0, abs=1e-12)


def test_pca_channel_contributions_by_hand():
    t = np.arange(-2.0, 3.0)
    detector = PCADetector().fit(np.stack([t, t], axis=1))
    ucl_t2, ucl_q = detector.fitted["ucl_t2"], detector.fitted["ucl_q"]
    errors, channels = detector.errors_and_channels(np.array([[1.5, -1.5], [2.0, 2.0]]))
    # (1.5, -1.5) is off the line: z = (1.5, -1.5)/sqrt(2), Q = 1.5^2 shared equally, T^2 = 0
    np.testing.assert_allclose(channels[0], [1.5 ** 2 / 2 / ucl_q] * 2, rtol=1e-12, atol=1e-12)
    # (2, 2) is on the line: T^2 = 4 / 2.5, split equally; Q = 0
    np.testing.assert_allclose(channels[1], [2.0 ** 2 / 2.5 / 2 / ucl_t2] * 2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(channels.sum(axis=1), errors, rtol=1e-12)


def test_pca_channel_contributions_sum_to_the_error_and_name_the_broken_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=400)
    detector = PCADetector().fit(x[:300])
    x[350:, 2] += 6.0  # channel 2 alone moves
    errors, channels = detector.errors_and_channels(x)
    assert channels.shape == (400, 4)
    np.testing.assert_allclose(channels.sum(axis=1), errors, rtol=1e-10)
    shares = channels[350:].sum(axis=0) / channels[350:].sum()
    assert shares.argmax() == 2 and shares[2] > 0.9


def test_isolation_forest_ranks_outliers_higher():
    rng = np.random.default_rng(0)
    detector = IsolationForestDetector().fit(rng.normal(size=(300, 3)))
    errors = detector.errors(np.array([[0.0, 0.0, 0.0], [6.0, -6.0, 6.0]]))
    assert errors[1] > errors[0]
    with pytest.raises(InputError, match="2 channels, but the model was fitted on 3"):
        detector.errors(np.zeros((4, 2)))


def _sine(n=240, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / 20 + k) for k in range(channels)], axis=1) + 0.05 * rng.normal(
        size=(n, channels))


def _scores_a_spike_and_round_trips(detector_class, config, tmp_path):
    """Fit on a clean sine, score one with a 4-step spike (it must stand out 5x over the median error), then
    save, load and score again (same errors). Returns (detector, loaded)."""
    import json

    detector = detector_class(config).fit(_sine())
    test = _sine(seed=1)
    test[100:104] += 8.0
    errors = detector.errors(test)
    assert errors.shape == (240,) and np.isfinite(errors).all()
    assert errors[100:104].mean() > 5 * np.median(errors)
    detector.save(tmp_path)
    loaded = detector_class.load(tmp_path, json.loads((tmp_path / "detector.json").read_text()))
    np.testing.assert_allclose(loaded.errors(test), errors, rtol=1e-5)
    return detector, loaded


@pytest.mark.slow
def test_lstm_autoencoder_scores_a_spike_and_round_trips(tmp_path):
    from tinyad.detectors.lstm_ae import LSTMAEConfig, LSTMAutoencoder

    config = LSTMAEConfig(window=8, dense_units=[], lstm_units=[6], epochs=4, batch_size=32)
    detector, _ = _scores_a_spike_and_round_trips(LSTMAutoencoder, config, tmp_path)
    # each channel's part of the error, from the same windows: they sum to the step error
    test = _sine(seed=1)
    test[100:104, 1] += 8.0  # the spike in channel 1 only
    windows, reconstructed = detector.reconstruct(test)
    total, count = np.zeros(test.shape), np.zeros(len(test))
    add_window_errors(total, count, detector.window_channel_errors(windows, reconstructed), 0)
    channels = total / count[:, None]
    np.testing.assert_allclose(channels.sum(axis=1), detector.errors(test), rtol=1e-5)
    assert channels[100:104, 1].sum() > 5 * channels[100:104, 0].sum()
    with pytest.raises(InputError, match="channels"):
        detector.errors(np.zeros((50, 3)))
    with pytest.raises(InputError, match="at least 8"):
        detector.errors(np.zeros((5, 2)))


@pytest.mark.slow
def test_forecaster_scores_a_spike():
    from tinyad.detectors.forecaster import ForecasterConfig, LSTMForecaster

    config = ForecasterConfig(history=10, horizon=2, lstm_units=[8], epochs=4)
    detector = LSTMForecaster(config).fit(_sine())
    test = _sine(seed=2)
    test[150] += 8.0
    errors = detector.errors(test)
    assert errors.shape == (240,)
    assert (errors[:10] == errors[10]).all()  # no prediction for the first `history` steps
    assert errors[150] > 5 * np.median(errors)
    test[60, 0] += 8.0  # a spike in channel 0; the one at 150 is in both
    errors, channels = detector.errors_and_channels(test)
    np.testing.assert_allclose(channels.sum(axis=1), errors, rtol=1e-5)
    assert (channels[:10] == channels[10]).all()
    assert channels[60, 0] > 5 * channels[60, 1]


@pytest.mark.slow
def test_forecaster_round_trips_through_save_and_load(tmp_path):
    import json

    from tinyad.detectors.forecaster import ForecasterConfig, LSTMForecaster

    config = ForecasterConfig(history=10, horizon=2, lstm_units=[8], epochs=2)
    detector = LSTMForecaster(config).fit(_sine())
    test = _sine(seed=3)
    detector.save(tmp_path)
    meta = json.loads((tmp_path / "detector.json").read_text())
    assert meta["kind"] == "forecaster" and meta["n_features"] == test.shape[1]
    loaded = LSTMForecaster.load(tmp_path, meta)
    assert loaded.config == config
    np.testing.assert_allclose(loaded.errors(test), detector.errors(test), rtol=1e-5)


def test_lstm_config_rejects_bad_shapes():
    from tinyad.detectors.lstm_ae import LSTMAEConfig

    with pytest.raises(InputError, match="window must be >= 2, got 1"):
        LSTMAEConfig(window=1)
    with pytest.raises(InputError, match="need at least one LSTM layer"):
        LSTMAEConfig(lstm_units=[])


@pytest.mark.slow
def test_conv_autoencoder_scores_a_spike_and_round_trips(tmp_path):
    from tinyad.detectors.conv_ae import ConvAEConfig, ConvAutoencoder

    config = ConvAEConfig(window=8, filters=[8, 4], kernel_size=3, dropout=0.0, epochs=6)
    _, loaded = _scores_a_spike_and_round_trips(ConvAutoencoder, config, tmp_path)
    assert loaded.config == config


def test_conv_config_rejects_windows_the_strides_cannot_rebuild():
    from tinyad.detectors.conv_ae import ConvAEConfig

    ConvAEConfig(window=60, filters=[32, 16])  # 60 = 15 * 2^2
    with pytest.raises(InputError, match="multiple of 4"):
        ConvAEConfig(window=30, filters=[32, 16])
    with pytest.raises(InputError, match="multiple of 8"):
        ConvAEConfig(window=60, filters=[8, 8, 8])
    with pytest.raises(InputError, match="positive filters"):
        ConvAEConfig(filters=[])


def test_a_long_file_is_scored_in_chunks_to_the_same_bits(monkeypatch):
    # Chunks of whole predict batches give every window the reconstruction an unchunked pass gives it.
    import tinyad.detectors.pipeline as pipeline
    from tinyad.detectors.skab_rule import window_residuals

    detector = pipeline.LabelFreeDetector("conv-ae", model_config={"window": 8, "filters": [4, 2], "epochs": 1})
    detector.fit(_sine(n=200))
    values = _sine(n=1300, seed=1)  # 1293 windows: chunks of 512, 512 and 269
    monkeypatch.setattr(pipeline, "CHUNK_WINDOWS", 512)
    errors, residuals, channels = detector._errors_and_residuals(values, channels=True)
    windows, reconstructed = detector.detector.reconstruct(values)
    np.testing.assert_array_equal(errors, detector.detector.step_errors(windows, reconstructed))
    np.testing.assert_array_equal(residuals, window_residuals(windows, reconstructed))
    assert errors.shape == (1300,) and residuals.shape == (1293,)
    # channel errors in chunks: the same sums (added in another order) and a split of each step's error
    whole = np.zeros(values.shape), np.zeros(len(values))
    add_window_errors(*whole, detector.detector.window_channel_errors(windows, reconstructed), 0)
    np.testing.assert_allclose(channels, whole[0] / whole[1][:, None], rtol=1e-6)
    np.testing.assert_allclose(channels.sum(axis=1), errors, rtol=1e-5)
    assert detector._errors_and_residuals(values)[2] is None  # not asked for: not computed
