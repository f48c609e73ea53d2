"""`Report`: every metric of one detector on one test set, printed so that point-adjusted F1 never stands
alone and the reader always sees whether a threshold saw test labels."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from tinyad.evaluation import metrics

# Column order of `Report.row()` / `report_table()`: unadjusted F1 first, PA-F1 right beside it.
COLUMNS = ["detector", "F1", "PA-F1", "precision", "recall", "FAR", "MAR", "event F1", "AUC-PR", "VUS-PR",
           "ROC-AUC", "threshold saw test labels"]


@dataclass
class Report:
    """Metrics of one detector on one test set. Build it with `report(...)`."""

    name: str
    threshold_saw_test_labels: bool
    precision: float
    recall: float
    f1: float
    far: float
    mar: float
    pa_f1: float
    event_precision: float
    event_recall: float
    event_f1: float
    auc_pr: float = float("nan")
    vus_pr: float = float("nan")
    roc_auc: float = float("nan")
    n_points: int = 0
    n_anomalous_points: int = 0
    counts: dict = field(default_factory=dict)

    def row(self) -> list:
        """One table row in the order of COLUMNS."""
        return [self.name, self.f1, self.pa_f1, self.precision, self.recall, self.far, self.mar, self.event_f1,
                self.auc_pr, self.vus_pr, self.roc_auc, "YES" if self.threshold_saw_test_labels else "no"]

    def undefined(self) -> set[str]:
        """Names of the rate fields whose denominator is empty, e.g. {"precision", "recall", "f1", ...} when
        nothing is labelled and nothing flagged. Their numeric fields hold 0.0 (so tables and sums keep
        working); `__str__` prints them as n/a and `to_dict` gives None."""
        tp, fp, fn, tn = (self.counts.get(k, 0) for k in ("tp", "fp", "fn", "tn"))
        names = set()
        if tp + fp == 0:  # nothing flagged
            names.add("precision")
        if tp + fn == 0:  # nothing labelled anomalous: recall, missed alarms and F1 have no meaning
            names.update({"recall", "mar", "f1", "pa_f1", "event_recall", "event_f1"})
        if fp + tn == 0:  # every row labelled anomalous
            names.add("far")
        if self.counts.get("pred_events", 1) == 0:
            names.add("event_precision")
        return names if self.counts else set()

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready): rates with an empty denominator (`undefined`) are None; NaN ranking
        metrics (e.g. AUC-PR without labelled anomalies) stay float NaN."""
        values = asdict(self)
        for name in self.undefined():
            values[name] = None
        return values

    def __str__(self) -> str:
        saw = "YES - not a headline number" if self.threshold_saw_test_labels else "no"
        undefined = self.undefined()

        def show(name: str, percent: bool = False) -> str:
            value = getattr(self, name)
            return "n/a" if name in undefined else (f"{value:.1%}" if percent else _fmt(value))

        return (
            f"{self.name}: F1 {show('f1')} (point-adjusted {show('pa_f1')}), precision {show('precision')}, "
            f"recall {show('recall')}, FAR {show('far', True)}, MAR {show('mar', True)}, "
            f"event F1 {show('event_f1')}, AUC-PR {_fmt(self.auc_pr)}, VUS-PR {_fmt(self.vus_pr)}, "
            f"ROC-AUC {_fmt(self.roc_auc)}; threshold saw test labels: {saw}"
        )


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def report(y_true, y_pred, score=None, *, name: str = "detector", threshold_saw_test_labels: bool,
           sliding_window: int = 100, n_thresholds: int = 250) -> Report:
    """All metrics of one detector: point-wise, point-adjusted F1, event-wise, and (given `score`) AUC-PR,
    VUS-PR and ROC-AUC.

    `threshold_saw_test_labels` is required (keyword-only) so that no caller can forget to state it:
    True when the threshold producing `y_pred` was chosen with the test labels (an oracle number that
    must not be a headline).
    """
    point = metrics.pointwise(y_true, y_pred)
    event = metrics.event_prf(y_true, y_pred)
    ranking = {"auc_pr": float("nan"), "vus_pr": float("nan"), "roc_auc": float("nan")}
    if score is not None:
        ranking["auc_pr"] = metrics.auc_pr(y_true, score)
        ranking["roc_auc"] = metrics.roc_auc(y_true, score)
        ranking["vus_pr"] = metrics.vus_pr(y_true, score, sliding_window, n_thresholds)
    return Report(
        name=name,
        threshold_saw_test_labels=bool(threshold_saw_test_labels),
        precision=point["precision"], recall=point["recall"], f1=point["f1"],
        far=point["far"], mar=point["mar"],
        pa_f1=metrics.point_adjusted_f1(y_true, y_pred),
        event_precision=event["precision"], event_recall=event["recall"], event_f1=event["f1"],
        n_points=int(len(np.asarray(y_true))), n_anomalous_points=int(np.sum(np.asarray(y_true) == 1)),
        counts={**{k: point[k] for k in ("tp", "fp", "fn", "tn")}, "pred_events": event["pred_events"]},
        **ranking,
    )


def report_table(reports: list[Report]) -> str:
    """A Markdown table of reports (F1 and PA-F1 side by side, the label-use column last)."""
    from tinyad.bench import markdown_table

    rows = [[_fmt(v) if isinstance(v, float) else v for v in r.row()] for r in reports]
    return markdown_table(COLUMNS, rows)
