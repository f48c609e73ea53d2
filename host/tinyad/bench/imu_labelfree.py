"""motor_mpu6050 without fault labels: fit on healthy data only, score the faulty runs.

Data: the six runs via the project importer (tinyad.importers.motor_mpu6050_sessions; accel in g, gyro in
dps, 100 Hz). Each run becomes a sequence of 0.5-s frames (50 samples, hop 25) described by the mean and
standard deviation of the six channels (12 features) - vibration energy lives in the spread, not in single
100 Hz samples. The detectors model that feature sequence.

Split (by run, never by random window): fit on the first 80 % of healthy_trial1; its last 20 % (after a gap
of one LSTM window) is held-out normal data that calibrates the static threshold. Test: healthy_trial2
(negatives) and every faulty run (imbalance 1+2, misalignment, bearing fault; positives); no faulty sample
is ever seen in fitting, so the faulty runs are used whole.

Metrics: ROC-AUC and AUC-PR of the smoothed per-frame score (threshold-free); F1 / FAR at Telemanom's
dynamic threshold, run over each test stream "healthy_trial2 followed by one faulty run", and at the static
threshold (99th percentile of the held-out healthy scores). No threshold sees a label.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyad.bench import BenchResult, markdown_table
from tinyad.detectors import thresholds as th
from tinyad.detectors.pipeline import make_detector
from tinyad.evaluation import auc_pr, part_starts_of, pointwise, point_adjusted_f1, roc_auc
from tinyad.paths import shared_data_dir

FRAME, HOP = 50, 25
SMOOTHING_SPAN = 5.0
TRAIN_SHARE = 0.8
TARGET_ROC_AUC = 0.95


def frame_features(data: np.ndarray) -> np.ndarray:
    """(samples, 6) -> (frames, 12): per-frame mean and standard deviation of every channel."""
    view = np.lib.stride_tricks.sliding_window_view(data, FRAME, axis=0)[::HOP]  # (frames, ch, FRAME)
    return np.concatenate([view.mean(axis=2), view.std(axis=2)], axis=1)


def detectors(quick: bool) -> list[tuple[str, str, dict]]:
    epochs = 3 if quick else 40
    return [
        ("LSTM-AE", "lstm-ae", {"window": 8, "dense_units": [16], "lstm_units": [16, 4], "epochs": epochs}),
        ("LSTM forecaster", "forecaster", {"history": 8, "horizon": 2, "lstm_units": [16], "epochs": epochs}),
        ("Isolation Forest", "isolation-forest", {}),
        ("PCA T2+Q", "pca-t2q", {}),
    ]


def load_runs() -> dict:
    """run name (e.g. 'healthy_trial2') -> frame features."""
    from tinyad.importers import motor_mpu6050_sessions

    sessions = motor_mpu6050_sessions(shared_data_dir() / "imu" / "motor_mpu6050")
    return {Path(s.meta.source).stem.removeprefix("motor_"): frame_features(s.data.astype(float)) for s in sessions}


def run(quick: bool = False) -> BenchResult:
    t0 = time.perf_counter()
    runs = load_runs()
    healthy = runs["healthy_trial1"]
    n_fit = int(len(healthy) * TRAIN_SHARE)
    fit_part, calibration = healthy[:n_fit], healthy[n_fit + 8:]
    negatives = runs["healthy_trial2"]
    faulty = {k: v for k, v in runs.items() if not k.startswith("healthy")}
    if quick:
        fit_part = fit_part[::2]
    rows, figures = [], {}
    for label, kind, config in tqdm(detectors(quick), desc="IMU detectors", unit="detector"):
        t1 = time.perf_counter()
        detector = make_detector(kind, **config)
        detector.fit(fit_part)

        def smoothed(x):
            return th.ewma(detector.errors(x), SMOOTHING_SPAN)

        neg = smoothed(negatives)
        static = float(np.quantile(smoothed(calibration), 0.99))
        pos = {name: smoothed(x) for name, x in faulty.items()}
        y = np.concatenate([np.zeros(len(neg))] + [np.ones(len(v)) for v in pos.values()]).astype(int)
        score = np.concatenate([neg] + list(pos.values()))
        # Telemanom per stream: healthy_trial2 then one faulty run, as a machine that starts failing.
        stream_true, stream_pred = [], []
        for values in pos.values():
            stream = np.concatenate([neg, values])
            stream_true.append(np.r_[np.zeros(len(neg)), np.ones(len(values))].astype(int))
            stream_pred.append(th.dynamic_threshold(stream, buffer=5).flags)
        dyn = pointwise(np.concatenate(stream_true), np.concatenate(stream_pred))
        dyn_pa = point_adjusted_f1(np.concatenate(stream_true), np.concatenate(stream_pred),
                                   part_starts_of(stream_true))  # an anomaly never spans two streams
        stat = pointwise(y, score > static)
        per_fault = {name: roc_auc(np.r_[np.zeros(len(neg)), np.ones(len(v))].astype(int), np.r_[neg, v])
                     for name, v in pos.items()}
        result = {"roc_auc": roc_auc(y, score), "auc_pr": auc_pr(y, score), "dynamic_f1": dyn["f1"],
                  "dynamic_pa_f1": dyn_pa, "dynamic_far": dyn["far"], "static_f1": stat["f1"],
                  "static_far": stat["far"], "per_fault_roc_auc": per_fault,
                  "seconds": time.perf_counter() - t1}
        figures[label] = result
        rows.append([label, result["roc_auc"], result["auc_pr"], result["dynamic_f1"], result["dynamic_pa_f1"],
                     result["dynamic_far"], result["static_f1"], result["static_far"],
                     ", ".join(f"{k} {v:.3f}" for k, v in per_fault.items()), "no", f"{result['seconds']:.0f}"])
    best = max(figures.items(), key=lambda kv: kv[1]["roc_auc"])
    met = best[1]["roc_auc"] >= TARGET_ROC_AUC
    text = "\n".join([
        f"Fit: first {TRAIN_SHARE:.0%} of healthy_trial1 ({len(fit_part)} frames of {FRAME} samples, hop {HOP}; "
        f"12 features = mean and std of 6 channels). Calibration: its last 20 % (held out). Test: healthy_trial2 "
        f"({len(negatives)} frames, negative) vs {', '.join(f'{k} ({len(v)})' for k, v in faulty.items())} "
        f"(positive). EWMA span {SMOOTHING_SPAN:g} frames. Telemanom F1 is over the streams "
        "`healthy_trial2 + one faulty run`; static = p99 of held-out healthy scores. No threshold saw labels.",
        "",
        markdown_table(["detector", "ROC-AUC", "AUC-PR", "F1 (Telemanom)", "PA-F1 (Telemanom)", "FAR (Telemanom)",
                        "F1 (static p99)", "FAR (static)", "ROC-AUC per fault vs healthy_trial2",
                        "threshold saw test labels", "s"], rows),
        "",
        f"Target ROC-AUC >= {TARGET_ROC_AUC}: {'met' if met else 'NOT met'} (best: {best[0]} "
        f"{best[1]['roc_auc']:.3f}). Total {time.perf_counter() - t0:.0f} s.",
        "",
        "Caveat (data/README.md): one motor, 1-2 runs per class, and the per-frame spread alone separates the "
        "classes, so ROC-AUC 1.0 says more about this data set than about the detectors. Telemanom's dynamic "
        "threshold flags outliers *within* its error window; in a stream whose second half is faulty the fault "
        "is not an outlier, so it flags only around the onset (hence F1 near 0 and a higher PA-F1): use the "
        "static threshold calibrated on held-out healthy data for faults that persist.",
    ])
    return BenchResult("motor_mpu6050 label-free: fit on healthy only (issue 5)", text,
                       {"quick": quick, "target_met": met, "detectors": figures})
