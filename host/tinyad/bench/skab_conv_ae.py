"""Rounds 3 and 4 of the SKAB benchmark. Round 3 (rows marked with a section sign): SKAB's own Conv-AE recipe,
the best row of the published leaderboard, reproduced in the same script and on the same split as every other
row. Round 4 (rows marked with a pilcrow): the same recipe on the drift-robust channels of rounds 1 and 2. This
module fits and scores the per-file models; `tinyad.bench.skab.round_3_reports` and
`tinyad.bench.skab_round_4.round_4_reports` turn them into rows.

Pre-registration. Written in a later session, after every round-1 and round-2 number of `tinyad bench skab`
was known, and committed before its first run; run once, reported whatever it gives. Nothing in it was
chosen by this project: it copies SKAB's notebook (waico/SKAB `notebooks/Conv_AE.ipynb` and
`core/Conv_AE.py`) -
  * one model per file, fitted on that file's first 400 rows, raw channels standardised with the statistics
    of those rows (no drift handling: SKAB's recipe has none);
  * SKAB's architecture (tinyad.detectors.conv_ae defaults: window 60, filters 32/16, kernel 7, dropout 0.2)
    and training (Adam 1e-3, MSE, batch 32, up to 100 epochs, early stopping with patience 5 on the last 10 %
    of the training windows, seed 0). Two differences: Keras here restores the best epoch's weights, SKAB's
    notebook keeps the last epoch's; and the last layer here reconstructs every channel (Conv1DTranspose with
    one filter per channel), where SKAB's `core/Conv_AE.py` ends with `filters=1`, one output that the MSE
    loss broadcasts against all 8 inputs (found by a later audit, disclosed, not rerun: round 3 ran once);
  * SKAB's decision rule (tinyad.detectors.skab_rule): a residual per window (absolute error averaged over
    time, summed over channels), a control limit of 4/3 x the 99.9th percentile of the training windows'
    residuals, and a row flagged when every earlier window covering it is above the limit.
Beside SKAB's rule, the same models' per-row squared errors go through the round-1 threshold rules unchanged
(EWMA span 10; normal-calibrated 10 %, which needs one model per anomaly-free piece too; per-file UCL 1.5 x
training p99; Telemanom), so the model and the rule can be told apart.
SKAB's current notebook predicts every row of a file, the 400 training rows included, and scores those
predictions; the rows here score the test rows only (the protocol of every other row). The all-rows figure is
printed below the leaderboard for comparison only: whether the published leaderboard figures count the
training rows is not verified (a third-party recount of SKAB's stored Conv-AE results finds 23,801 rows, the
test-row count here), so the like-for-like comparison may be the test-row figures.

Round 4: pre-registration. Written in session 4, after round 3's single run (SKAB's rule: F1 0.844, FAR 17.9 %
on the test rows) and after a diagnosis of its false alarms that used the test labels (normal test rows after
each file's anomaly alarmed 22.5 % of the time, those before it 13.7 %; docs/label-free-detection.md). So
round 4 is chosen knowing three rounds of test results and its number is not a clean held-out one; it says so
beside its row. It adds nothing new: it joins two parts already in the table, each fixed before this round -
  * round 3's recipe exactly as above (SKAB_CONV_AE, one model per file on its first 400 rows, seed 0,
    SKAB's rule with 4/3 x q0.999 and SKAB's loop bounds);
  * fed round 1's drift-robust channels (`tinyad.bench.skab.prepare(drift_robust=True)`): the channels whose
    level moves between the two halves of the training rows (cut 0.5, no label; on SKAB the two
    temperatures) replaced by their first differences before each file is standardised by its first 400 rows.
Only SKAB's rule is scored (test rows: the result; all rows: for the leaderboard comparison only). The round-1
rules are left out because their normal-calibrated threshold needs nine more fits on the anomaly-free pieces
and the whole benchmark has a 10-minute budget; this was decided before the run, not after it.
Committed before its first run; run once; reported whatever it gives. Stopping rule fixed now: if the row
reaches F1 >= 0.80 with FAR <= 15 %, the SKAB target is called met *with this disclosure*; if it does not,
the target stays missed and no round 5 follows on these test rows.
After its run (added later): F1 0.751 at FAR 2.4 %, so the target stays missed; the row pushed
`tinyad bench skab` to 655 s, so it now runs on its own as `tinyad bench skab_round_4` with the same code.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from tinyad.detectors.datasets import SKAB_TRAIN_ROWS
from tinyad.detectors.skab_rule import UCL_FACTOR, UCL_QUANTILE, control_limit, covering_window_flags, window_residuals

ROUND_3_MARK = "\u00a7"
ROUND_4_MARK = "\u00b6"
# SKAB's Conv_AE: build and fit exactly as core/Conv_AE.py (see the module docstring for the one difference).
SKAB_CONV_AE = {"window": 60, "filters": [32, 16], "kernel_size": 7, "dropout": 0.2, "epochs": 100,
                "batch_size": 32, "learning_rate": 1e-3, "validation_fraction": 0.1, "patience": 5,
                "train_stride": 1, "seed": 0}


def skab_conv_ae_config(quick: bool) -> dict:
    """SKAB's Conv-AE settings (rounds 3 and 4); `quick` trains 3 epochs, for smoke runs only."""
    return dict(SKAB_CONV_AE, epochs=3) if quick else SKAB_CONV_AE


@dataclass
class SeriesFit:
    """One series' own Conv-AE, scored over the whole series (its training rows included)."""

    step_errors: np.ndarray  # per row: squared error, mean over channels, averaged over the covering windows
    residuals: np.ndarray  # per window: SKAB's residual (window_residuals)
    epochs: int  # epochs trained before early stopping


def fit_and_score(series: np.ndarray, config: dict) -> SeriesFit:
    """Fit a Conv-AE on the series' first 400 rows and score every window of the series."""
    from tinyad.detectors.conv_ae import ConvAEConfig, ConvAutoencoder

    detector = ConvAutoencoder(ConvAEConfig(**config)).fit([series[:SKAB_TRAIN_ROWS]])
    windows, reconstructed = detector.reconstruct(series)
    return SeriesFit(detector.step_errors(windows, reconstructed), window_residuals(windows, reconstructed),
                     len(detector.history["loss"]))


def _one_tensorflow_thread() -> None:
    """A fit worker's initializer: TensorFlow on one thread (read when it starts in the worker). Two workers with
    TensorFlow's default of a thread per core oversubscribe 2 cores: on one thread each, four SKAB fits took 40
    s instead of 52, and a fit gave the same errors on every run (with two threads, one file's fit stopped after
    64 epochs in one run and 41 in another)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def fit_pool(workers: int = 2) -> ProcessPoolExecutor:
    """Spawned processes for `submit_fits`, each running TensorFlow on one thread (`_one_tensorflow_thread`). As
    always with spawned processes, a script using it needs the `if __name__ == "__main__":` guard."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_one_tensorflow_thread)


def submit_fits(pool: ProcessPoolExecutor, series: list[np.ndarray], config: dict) -> list[Future]:
    """Start `fit_and_score` for every series in `pool`; the caller may do other work before `collect_fits`."""
    return [pool.submit(fit_and_score, s, config) for s in series]


def collect_fits(pending: list[Future], mark: str = ROUND_3_MARK) -> list[SeriesFit]:
    """The results of `submit_fits`, in the order submitted, with a progress bar."""
    return [future.result() for future in tqdm(pending, desc=f"SKAB Conv-AE per file {mark}", unit="series")]


def fit_all(series: list[np.ndarray], config: dict, workers: int = 2, mark: str = ROUND_3_MARK) -> list[SeriesFit]:
    """`fit_and_score` for every series, in order. A small Conv-AE keeps one core busy, so `workers` > 1 fits
    that many series at once in a `fit_pool` (each fit seeds itself: the same result either way)."""
    if workers <= 1:
        return [fit_and_score(s, config)
                for s in tqdm(series, desc=f"SKAB Conv-AE per file {mark}", unit="series")]
    with fit_pool(workers) as pool:
        return collect_fits(submit_fits(pool, series, config), mark)


def skab_rule_rows(fit: SeriesFit, window: int) -> np.ndarray:
    """Row flags of one file by SKAB's rule; the control limit comes from the windows inside the first 400
    rows (the windows SKAB's notebook trains and calibrates on)."""
    limit = control_limit(fit.residuals[:SKAB_TRAIN_ROWS - window + 1], UCL_QUANTILE, UCL_FACTOR)
    return covering_window_flags(fit.residuals > limit, window)
