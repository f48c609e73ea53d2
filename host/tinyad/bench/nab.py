"""NAB (Numenta Anomaly Benchmark): label-free detectors per series, event F1 and VUS-PR per category.

Split: NAB's convention - the first 15 % of each series (the "probationary period") trains the detector
(unsupervised: the labels there are not used, so the few anomaly windows inside it are trained on as if
normal); the remaining 85 % is the test part. Labels are the windows of `labels/combined_windows.json`.
Each series is standardised with its training part. Thresholds never see labels: Telemanom's dynamic
threshold (whole test series, p 0.13, buffer 5) and mean + 3 sigma of the smoothed training errors.

Per category: point F1 (with point-adjusted F1 beside it) and event P/R/F1 from counts summed over the
series; AUC-PR and VUS-PR (TSB-AD definition, sliding window 100) averaged over the series with anomalies.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from tqdm import tqdm

from tinyad.bench import BenchResult, markdown_table
from tinyad.detectors import thresholds as th
from tinyad.detectors.common import Standardizer
from tinyad.detectors.datasets import nab_series
from tinyad.detectors.pipeline import make_detector
from tinyad.evaluation import auc_pr, event_prf, events, point_adjust, pointwise, vus_pr

PROBATION = 0.15
SMOOTHING_SPAN = 10.0


def detectors(quick: bool) -> list[tuple[str, str, dict]]:
    epochs = 3 if quick else 8
    return [
        ("LSTM-AE", "lstm-ae", {"window": 24, "dense_units": [], "lstm_units": [16, 4], "epochs": epochs,
                                "batch_size": 64}),
        ("Isolation Forest", "isolation-forest", {"n_estimators": 100}),
    ]


def _score_series(kind, config, series):
    """Smoothed test errors, training errors, and both label-free alarms for one series."""
    n_train = int(len(series.values) * PROBATION)
    values = series.values[:, None]
    scaled = Standardizer.fit(values[:n_train])(values)
    detector = make_detector(kind, **config)
    detector.fit(scaled[:n_train])
    smoothed = th.ewma(detector.errors(scaled), SMOOTHING_SPAN)
    train, test = smoothed[:n_train], smoothed[n_train:]
    dynamic = th.dynamic_threshold(test, buffer=5).flags
    sigma = test > th.sigma_threshold(train, 3.0)
    return test, {"telemanom": dynamic, "3 sigma": sigma}, series.labels[n_train:]


def _category_rows(label, per_series):
    """Aggregate per-series results into one row per (category, threshold)."""
    rows = []
    grouped = defaultdict(list)
    for item in per_series:
        grouped[item["category"]].append(item)
    for category in sorted(grouped):
        items = grouped[category]
        with_anomalies = [i for i in items if i["labels"].any()]
        ap = float(np.mean([auc_pr(i["labels"], i["score"]) for i in with_anomalies])) if with_anomalies else np.nan
        vus = float(np.mean([vus_pr(i["labels"], i["score"]) for i in with_anomalies])) if with_anomalies else np.nan
        for method in ("telemanom", "3 sigma"):
            counts = defaultdict(int)
            pa_counts = defaultdict(int)
            for i in items:
                point = pointwise(i["labels"], i["flags"][method])
                adjusted = pointwise(i["labels"], point_adjust(i["labels"], i["flags"][method]))
                event = event_prf(i["labels"], i["flags"][method])
                for key in ("tp", "fp", "fn", "tn"):
                    counts[key] += point[key]
                    pa_counts[key] += adjusted[key]
                for key in ("true_events", "pred_events", "detected_events", "correct_pred_events"):
                    counts[key] += event[key]
            f1, far = _f1(counts), counts["fp"] / max(counts["fp"] + counts["tn"], 1)
            e_prec = counts["correct_pred_events"] / counts["pred_events"] if counts["pred_events"] else 0.0
            e_rec = counts["detected_events"] / counts["true_events"] if counts["true_events"] else np.nan
            e_f1 = 2 * e_prec * e_rec / (e_prec + e_rec) if counts["true_events"] and e_prec + e_rec else 0.0
            rows.append({"detector": label, "category": category, "threshold": method, "series": len(items),
                         "f1": f1, "pa_f1": _f1(pa_counts), "far": far, "event_precision": e_prec,
                         "event_recall": e_rec, "event_f1": e_f1 if counts["true_events"] else np.nan,
                         "true_events": counts["true_events"], "pred_events": counts["pred_events"],
                         "auc_pr": ap, "vus_pr": vus})
    return rows


def _f1(counts) -> float:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def run(quick: bool = False) -> BenchResult:
    """Every detector on every NAB series; a table per category."""
    t0 = time.perf_counter()
    series = nab_series()
    if quick:
        series = series[::8]
    rows, timings = [], {}
    for label, kind, config in detectors(quick):
        t1 = time.perf_counter()
        per_series = []
        for s in tqdm(series, desc=f"NAB {label}", unit="series"):
            score, flags, labels = _score_series(kind, config, s)
            per_series.append({"category": s.category, "score": score, "flags": flags, "labels": labels})
        rows += _category_rows(label, per_series)
        timings[label] = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    # Label windows that end inside the probationary part are trained on as normal and never scored.
    windows = [(a, b, int(len(s.values) * PROBATION)) for s in series for a, b in events(s.labels)]
    in_training = sum(1 for a, b, n_train in windows if b <= n_train)

    def fmt(v):
        return "n/a" if isinstance(v, float) and np.isnan(v) else v

    table = markdown_table(
        ["detector", "category", "threshold", "series", "F1", "PA-F1", "FAR", "event P", "event R", "event F1",
         "true / flagged events", "AUC-PR", "VUS-PR"],
        [[r["detector"], r["category"], r["threshold"], r["series"], r["f1"], r["pa_f1"], r["far"],
          "n/a" if not r["pred_events"] else r["event_precision"], fmt(r["event_recall"]), fmt(r["event_f1"]),
          f"{r['true_events']} / {r['pred_events']}",
          fmt(r["auc_pr"]), fmt(r["vus_pr"])] for r in rows])
    text = "\n".join([
        f"Split: first {PROBATION:.0%} of each of {len(series)} series trains (unsupervised), the rest is the test "
        f"part; labels from `labels/combined_windows.json`. EWMA span {SMOOTHING_SPAN:g}. No threshold saw "
        "test labels (Telemanom dynamic threshold on the test errors; 3 sigma of the training errors). "
        "Point-adjusted F1 only beside the unadjusted F1. AUC-PR / VUS-PR are threshold-free, averaged over "
        "the series with anomalies; artificialNoAnomaly has no events (only false alarms count). Event P is "
        "n/a where nothing was flagged (the RESULT figures keep the evaluation module's 0 for 0/0). "
        f"{in_training} of the {len(windows)} label windows lie wholly in the training part: trained on as "
        "normal, never scored. Per category, F1, FAR and the event figures are pooled over the series' counts.",
        "",
        table,
        "",
        "Time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + f"; total {total_s:.0f}.",
    ])
    figures = {"total_s": total_s, "quick": quick,
               "rows": [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                        for r in rows]}
    return BenchResult("NAB: label-free detectors per category (issue 5)", text, figures)
