"""Round 3 of the SKAB benchmark: per-series Conv-AE fits (in-process and in spawned workers) and SKAB's rule."""

import numpy as np

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
