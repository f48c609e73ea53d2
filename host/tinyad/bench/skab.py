"""SKAB with the benchmark's own protocol: label-free detectors vs the published leaderboard.

Split (SKAB's protocol): the first 400 rows of each of the 34 files with anomalies train, the rest is test;
the test predictions of all files are concatenated and scored as binary classification.

What each detector sees
- Training: the first 400 rows of every file, each file standardised with the statistics of its own first
  400 rows (the operating point differs from file to file), plus the first 400 rows of 1000-row pieces of
  the anomaly-free run. One model per detector for all files (windows never straddle two files).
- Per-file error scale: the smoothed error is divided by the 99th percentile of that file's training part.
- Thresholds, none of which sees a label:
  * `normal-calibrated`: the ratio above which 10 % of the held-out normal rows (rows 400-999 of each
    anomaly-free piece, never trained on) would alarm - a Neyman-Pearson rule fixed before the run;
  * `per-file UCL`: a control limit of 1.5 x the 99th percentile of the file's own (in-sample) smoothed
    training errors, i.e. ratio > 1.5;
  * `telemanom`: Hundman et al.'s dynamic threshold with pruning (p 0.13, buffer 5) over each file's smoothed
    error, once with the whole file as one error window and once with 400-row windows every 50 rows;
  * `oracle`: the best-F1 threshold on the test labels, for reference only (flagged as such).
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from tinyad.bench import BenchResult, markdown_table
from tinyad.detectors import thresholds as th
from tinyad.detectors.common import Standardizer
from tinyad.detectors.datasets import SKAB_TRAIN_ROWS, skab_anomaly_free, skab_files
from tinyad.detectors.pipeline import make_detector
from tinyad.evaluation import report, report_table

PIECE_ROWS = 1000  # anomaly-free run cut into pieces the size of a benchmark file
SMOOTHING_SPAN = 10.0
TARGET_NORMAL_FAR = 0.10
PER_FILE_UCL_FACTOR = 1.5  # control limit: 3/2 of the 99th percentile of the file's own training errors
DYNAMIC_STEP = 50  # windowed Telemanom: error windows as long as the normal training part, every 50 rows
# Published outlier-detection leaderboard of the waico/SKAB README (F1, FAR %, MAR %), as quoted verbatim by
# two independent public repositories; data/README.md gives the same F1s and Conv-AE's FAR/MAR.
LEADERBOARD = [("Conv-AE", 0.78, 13.55, 28.02), ("MSET", 0.78, 39.73, 14.13),
               ("T-squared+Q (PCA)", 0.76, 26.62, 24.92), ("LSTM-AE", 0.74, 29.96, 25.92),
               ("T-squared", 0.66, 19.21, 42.60), ("Isolation forest", 0.29, 2.56, 82.89)]


def detectors(quick: bool) -> list[tuple[str, str, dict]]:
    """(label, kind, config) of every detector in the table."""
    epochs = 3 if quick else 30
    return [
        ("LSTM-AE", "lstm-ae", {"window": 30, "dense_units": [16], "lstm_units": [32, 8], "epochs": epochs,
                                "train_stride": 2}),
        ("LSTM forecaster", "forecaster", {"history": 30, "horizon": 5, "lstm_units": [32, 32], "epochs": epochs,
                                           "train_stride": 2}),
        ("Isolation Forest", "isolation-forest", {"n_estimators": 50 if quick else 200}),
        ("PCA T2+Q", "pca-t2q", {}),
    ]


def _smooth(errors: np.ndarray) -> np.ndarray:
    return th.ewma(errors, SMOOTHING_SPAN)


def prepare(quick: bool = False):
    """Standardised files, training segments and normal calibration pieces."""
    files = skab_files()
    if quick:
        files = files[::6]
    free = skab_anomaly_free()
    scaled = {f.name: Standardizer.fit(f.train)(f.values) for f in files}
    pieces = []
    for start in range(0, len(free) - PIECE_ROWS + 1, PIECE_ROWS):
        piece = free[start:start + PIECE_ROWS]
        pieces.append(Standardizer.fit(piece[:SKAB_TRAIN_ROWS])(piece))
    if quick:
        pieces = pieces[:3]
    train = [v[:SKAB_TRAIN_ROWS] for v in scaled.values()] + [p[:SKAB_TRAIN_ROWS] for p in pieces]
    return files, scaled, pieces, train


def _ratio(smoothed: np.ndarray) -> np.ndarray:
    """Smoothed error over the 99th percentile of the file's own training part."""
    scale = np.quantile(smoothed[:SKAB_TRAIN_ROWS], 0.99)
    return smoothed / (scale if scale > 0 else 1.0)


def evaluate_detector(label, kind, config, files, scaled, pieces, train):
    """Fit once, score every file; returns (reports, figures)."""
    t0 = time.perf_counter()
    detector = make_detector(kind, **config)
    detector.fit(train)
    fit_s = time.perf_counter() - t0
    ratios, whole_file_flags, windowed_flags = [], [], []
    for f in files:
        smoothed = _smooth(detector.errors(scaled[f.name]))
        ratios.append(_ratio(smoothed)[SKAB_TRAIN_ROWS:])
        whole_file_flags.append(th.dynamic_threshold(smoothed, buffer=5).flags[SKAB_TRAIN_ROWS:])
        windowed_flags.append(th.dynamic_threshold(smoothed, window=SKAB_TRAIN_ROWS, step=DYNAMIC_STEP,
                                                   buffer=5).flags[SKAB_TRAIN_ROWS:])
    calibration = np.concatenate([_ratio(_smooth(detector.errors(p)))[SKAB_TRAIN_ROWS:] for p in pieces])
    level = float(np.quantile(calibration, 1 - TARGET_NORMAL_FAR))
    y = np.concatenate([f.test_labels for f in files])
    score = np.concatenate(ratios)
    reports = [
        report(y, score > level, score, name=f"{label} + EWMA + normal-calibrated threshold",
               threshold_saw_test_labels=False),
        report(y, score > PER_FILE_UCL_FACTOR, score,
               name=f"{label} + EWMA + per-file UCL ({PER_FILE_UCL_FACTOR:g} x training p99)",
               threshold_saw_test_labels=False),
        report(y, np.concatenate(whole_file_flags), score,
               name=f"{label} + EWMA + Telemanom dynamic threshold (whole file)", threshold_saw_test_labels=False),
        report(y, np.concatenate(windowed_flags), score,
               name=f"{label} + EWMA + Telemanom dynamic threshold ({SKAB_TRAIN_ROWS}-row windows)",
               threshold_saw_test_labels=False),
    ]
    oracle = _oracle_threshold(y, score)
    reports.append(report(y, score > oracle, score, name=f"{label} + EWMA, oracle threshold (reference)",
                          threshold_saw_test_labels=True))
    seconds = time.perf_counter() - t0
    return reports, {"fit_s": fit_s, "total_s": seconds, "calibrated_level": level}


def _oracle_threshold(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import precision_recall_curve

    precision, recall, cut = precision_recall_curve(y, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))
    return float(np.nextafter(cut[best], -np.inf))  # `score > t` must include the cut point


def run(quick: bool = False) -> BenchResult:
    """Every detector on SKAB; the table, the leaderboard, and the target check."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    files, scaled, pieces, train = prepare(quick)
    all_reports, timings = [], {}
    for label, kind, config in tqdm(detectors(quick), desc="SKAB detectors", unit="detector"):
        reports, figures = evaluate_detector(label, kind, config, files, scaled, pieces, train)
        all_reports += reports
        timings[label] = figures
    total_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0  # all threads; wall time depends on what else shares the 2 cores
    label_free = [r for r in all_reports if not r.threshold_saw_test_labels]
    meeting = [r for r in label_free if r.f1 >= 0.80 and r.far <= 0.15]
    best_f1 = max(label_free, key=lambda r: r.f1)
    within_far = [r for r in label_free if r.far <= 0.15]
    best_within = max(within_far, key=lambda r: r.f1) if within_far else None
    lines = [
        f"Split: SKAB protocol, {len(files)} files, first {SKAB_TRAIN_ROWS} rows train, "
        f"{len(np.concatenate([f.test_labels for f in files]))} test rows concatenated "
        f"({np.mean(np.concatenate([f.test_labels for f in files])):.1%} anomalous: flagging everything gives "
        f"F1 {_all_ones_f1(files):.3f} at FAR 100 %). Training also uses the first {SKAB_TRAIN_ROWS} rows of "
        f"{len(pieces)} pieces of the anomaly-free run; rows {SKAB_TRAIN_ROWS}-{PIECE_ROWS - 1} of those pieces "
        f"calibrate the `normal-calibrated` threshold (target FAR {TARGET_NORMAL_FAR:.0%} on normal data). "
        f"EWMA span {SMOOTHING_SPAN:g}. Scores for AUC-PR/VUS-PR: smoothed error / file's training p99.",
        "",
        "Point-adjusted F1 is printed only beside the unadjusted F1. Rows marked YES chose their threshold "
        "with the test labels and are not results.",
        "",
        report_table(all_reports),
        "",
        "Published SKAB outlier-detection leaderboard (same protocol, from the SKAB README):",
        "",
        markdown_table(["detector", "F1", "FAR %", "MAR %"], [list(r) for r in LEADERBOARD]),
        "",
        f"Target F1 >= 0.80 with FAR <= 15 % without test labels: "
        + ("met by " + ", ".join(r.name for r in meeting) if meeting else
           f"NOT met. Best label-free F1: {best_f1.name}: F1 {best_f1.f1:.3f} at FAR {best_f1.far:.1%} "
           f"(MAR {best_f1.mar:.1%}); best with FAR <= 15 %: "
           + (f"{best_within.name}: F1 {best_within.f1:.3f}, FAR {best_within.far:.1%}" if best_within else "none")),
        "",
        "Time (s): " + ", ".join(f"{k} fit {v['fit_s']:.0f} / total {v['total_s']:.0f}" for k, v in timings.items())
        + f"; whole benchmark {total_s:.0f} s wall, {cpu_s:.0f} s CPU (target <= 600 s on 2 cores).",
    ]
    figures = {"total_s": total_s, "cpu_s": cpu_s, "target_met": bool(meeting), "quick": quick,
               "rows": {r.name: {"f1": r.f1, "pa_f1": r.pa_f1, "far": r.far, "mar": r.mar, "event_f1": r.event_f1,
                                 "auc_pr": r.auc_pr, "vus_pr": r.vus_pr,
                                 "threshold_saw_test_labels": r.threshold_saw_test_labels}
                        for r in all_reports}}
    return BenchResult("SKAB: label-free detectors (issue 5)", "\n".join(lines), figures)


def _all_ones_f1(files) -> float:
    y = np.concatenate([f.test_labels for f in files])
    p = float(np.mean(y))
    return 2 * p / (1 + p)
