"""Rounds 3 and 4 of the SKAB benchmark: per-series Conv-AE fits (in-process and in spawned workers) and SKAB's rule."""

import numpy as np
import pytest

from tinyad.bench.skab_conv_ae import SeriesFit, fit_all, skab_rule_rows
from tinyad.detectors.datasets import SKAB_TRAIN_ROWS

TINY = {"window": 8, "filters": [4, 2], "kernel_size": 3, "dropout": 0.0, "epochs": 2, "batch_size": 32,
        "learning_rate": 1e-3, "validation_fraction": 0.1, "patience": 5, "train_stride": 1, "seed": 0}


def _series(seed: int, rows: int = SKAB_TRAIN_ROWS + 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    return np.c_[np.sin(t / 7.0), np.cos(t / 5.0)] + 0.05 * rng.standard_normal((rows, 2))


def test_spawned_workers_give_the_same_fits_as_one_process():
    series = [_series(0), _series(1)]
    here = fit_all(series, TINY, workers=1)
    spawned = fit_all(series, TINY, workers=2)
    for a, b in zip(here, spawned):
        assert a.step_errors.shape == (len(series[0]),) and a.residuals.shape == (len(series[0]) - 8 + 1,)
        assert a.epochs == 2
        np.testing.assert_allclose(a.step_errors, b.step_errors, rtol=1e-5)
        np.testing.assert_allclose(a.residuals, b.residuals, rtol=1e-5)


def test_skab_rule_calibrates_on_the_windows_inside_the_training_rows():
    window = 4
    n_windows = SKAB_TRAIN_ROWS + 20
    residuals = np.ones(n_windows)
    residuals[SKAB_TRAIN_ROWS - window] = 3.0  # the last window inside the training rows: limit 4/3 x q0.999
    residuals[SKAB_TRAIN_ROWS + 5:] = 10.0  # above any limit from the training windows
    fit = SeriesFit(np.zeros(n_windows + window - 1), residuals, epochs=1)
    rows = skab_rule_rows(fit, window)
    limit = np.quantile(residuals[:SKAB_TRAIN_ROWS - window + 1], 0.999) * 4 / 3
    assert 1.0 < limit < 3.0 * 4 / 3  # the training windows set it; the later residuals do not
    # windows from SKAB_TRAIN_ROWS + 5 on are flagged: rows whose 3 earlier covering windows all are flagged
    first = SKAB_TRAIN_ROWS + 5 + window - 1
    assert rows[first] and not rows[first - 1]
    assert rows[:SKAB_TRAIN_ROWS + 5].sum() == 0


def test_skab_rule_reports_score_the_test_rows_and_give_the_all_rows_figures_apart():
    from tinyad.bench.skab import skab_rule_reports
    from tinyad.detectors.datasets import SkabFile

    window, rows = 4, SKAB_TRAIN_ROWS + 40
    residuals = np.ones(rows - window + 1)
    residuals[SKAB_TRAIN_ROWS + 10:] = 10.0
    # SKAB's bounds: rows SKAB_TRAIN_ROWS + 13 .. n_windows - window (= rows - 7) are flagged: 21 rows.
    labels = np.zeros(rows, np.int8)
    labels[SKAB_TRAIN_ROWS + 20:] = 1  # 20 anomalous rows at the end
    file = SkabFile("valve1/0", np.zeros((rows, 8)), labels)
    fit = SeriesFit(np.r_[np.ones(SKAB_TRAIN_ROWS), np.full(40, 5.0)], residuals, epochs=7)
    test_rows, figures = skab_rule_reports("X", [fit], [file], window)
    # TP rows +20..+33 (14), FP +13..+19 (7), FN +34..+39 (6); 20 normal test rows, 420 normal rows in all.
    assert test_rows.f1 == pytest.approx(28 / 41) and test_rows.far == pytest.approx(7 / 20)
    assert test_rows.mar == pytest.approx(6 / 20) and not test_rows.threshold_saw_test_labels
    assert figures["skab_rule_all_rows"]["far"] == pytest.approx(7 / 420)
    assert figures["skab_rule_all_rows"]["f1"] == pytest.approx(28 / 41)
    assert figures["epochs_median"] == 7 and figures["epochs_max"] == 7


def test_round_4_quick_run_reports_one_label_free_row_and_its_target_verdict(shared_data):
    # Quick mode: a sixth of the files, 3 epochs - checks the wiring, not the figures.
    from tinyad.bench import skab_round_4

    result = skab_round_4.run(quick=True)
    figures = result.figures
    assert figures["quick"] and figures["drift_differenced_channels"] == ["Temperature", "Thermocouple"]
    assert figures["threshold_saw_test_labels"] is False
    assert 0.0 <= figures["far"] <= 1.0 and 0.0 <= figures["f1"] <= 1.0
    assert figures["target_met_by_round_4"] == (figures["f1"] >= 0.80 and figures["far"] <= 0.15)
    assert figures["mar"] == pytest.approx(1 - figures["recall"])
    assert ("NOT met" in result.markdown) != figures["target_met_by_round_4"]
    assert "not a clean held-out number" in result.markdown and skab_round_4.ROUND_4_MARK in result.markdown
