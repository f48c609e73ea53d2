"""`Report`: every metric of one detector on one test set, printed so that point-adjusted F1 never stands
alone and the reader always sees whether a threshold saw test labels."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from tinyad.errors import InputError
from tinyad.evaluation import metrics

# Column order of `Report.row()` / `report_table()`: unadjusted F1 first, PA-F1 right beside it. FAR and MAR are
# percentages, as in the printed report; event P/R/F1 count runs that overlap (`event_prf`).
COLUMNS = ["detector", "F1", "PA-F1", "precision", "recall", "FAR %", "MAR %", "event P", "event R", "event F1",
           "AUC-PR", "VUS-PR", "ROC-AUC", "threshold saw test labels"]
# Report fields in the order of COLUMNS[1:-1]
_ROW_FIELDS = ("f1", "pa_f1", "precision", "recall", "far", "mar", "event_precision", "event_recall", "event_f1",
               "auc_pr", "vus_pr", "roc_auc")
_PERCENT_FIELDS = ("far", "mar")


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
    sliding_window: int = 100  # VUS-PR's largest buffer width, in time steps

    def row(self) -> list:
        """One table row in the order of COLUMNS (FAR and MAR as fractions, as the fields hold them)."""
        return [self.name, *(getattr(self, name) for name in _ROW_FIELDS),
                "YES" if self.threshold_saw_test_labels else "no"]

    def shown(self, name: str) -> str:
        """A field as printed: n/a when `undefined` or NaN, FAR and MAR in percent (`_percent`: 4 false alarms in
        100,000 normal rows do not print as 0.0 %), others to 3 decimals."""
        value = getattr(self, name)
        if name in self.undefined():
            return "n/a"
        return _percent(value) if name in _PERCENT_FIELDS else _fmt(value)

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
        show = self.shown
        tp, fp, fn, tn = (self.counts.get(k) for k in ("tp", "fp", "fn", "tn"))
        far_count = f" ({fp:,} of {fp + tn:,} normal rows)" if self.counts and "far" not in self.undefined() else ""
        mar_count = f" ({fn:,} of {fn + tp:,} anomalous rows)" if self.counts and "mar" not in self.undefined() else ""
        return (
            f"{self.name}: F1 {show('f1')} (point-adjusted {show('pa_f1')}), precision {show('precision')}, "
            f"recall {show('recall')}, FAR {show('far')}{far_count}, MAR {show('mar')}{mar_count}, "
            f"event (overlap) P {show('event_precision')}, R {show('event_recall')}, F1 {show('event_f1')}, "
            f"AUC-PR {show('auc_pr')}, VUS-PR {show('vus_pr')} (window {self.sliding_window}), "
            f"ROC-AUC {show('roc_auc')}; threshold saw test labels: {saw}"
        )


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _percent(value: float) -> str:
    """A fraction in percent: one decimal from 1 % to 99.9 %, two significant digits below 1 % and as many
    decimals as keep it below 100 % above 99.9 %, so a handful of rows never rounds away: 0.076 -> "7.6%",
    0.00123 -> "0.12%", 4.0e-05 -> "0.004%", 0.99999 -> "99.999%", 0 -> "0.0%"."""
    if value is None or math.isnan(value):
        return "n/a"
    if 0 < value < 0.01:
        return np.format_float_positional(100 * value, precision=2, fractional=False, trim="-") + "%"
    if 0.999 < value < 1:
        rest = np.format_float_positional(100 * (1 - value), precision=2, fractional=False, trim="-")
        return f"{100 * value:.{max(1, len(rest.partition('.')[2]))}f}%"
    return f"{value:.1%}"


def report(y_true, y_pred, score=None, *, name: str = "detector", threshold_saw_test_labels: bool,
           sliding_window: int = 100, n_thresholds: int = 250, part_starts=()) -> Report:
    """All metrics of one detector: point-wise, point-adjusted F1, event-wise, and (given `score`) AUC-PR,
    VUS-PR and ROC-AUC.

    `threshold_saw_test_labels` is required (keyword-only) so that no caller can forget to state it:
    True when the threshold producing `y_pred` was chosen with the test labels (an oracle number that
    must not be a headline); it must be a bool (not None or "no"). `sliding_window`: VUS-PR's largest buffer
    width (TSB-AD's get_metrics default, 100 steps), printed beside it. `part_starts`: where the arrays
    concatenate several series, the index each later series begins at (`metrics.part_starts_of`); the
    point-adjusted and event-wise figures cut events there, and VUS-PR is the mean over the series holding both
    classes, each scored alone (TSB-AD's per-series definition); AUC-PR and ROC-AUC rank the pooled points.
    Pandas Series are paired by position, so their indexes must be equal (`metrics.same_index`).
    """
    if not isinstance(threshold_saw_test_labels, (bool, np.bool_)):
        raise InputError(f"threshold_saw_test_labels must be True or False, got {threshold_saw_test_labels!r}",
                         hint="True when the threshold that produced y_pred was chosen with the test labels")
    metrics.same_index(y_true=y_true, y_pred=y_pred, score=score)
    point = metrics.pointwise(y_true, y_pred)
    event = metrics.event_prf(y_true, y_pred, part_starts)
    ranking = {"auc_pr": float("nan"), "vus_pr": float("nan"), "roc_auc": float("nan")}
    if score is not None:
        ranking["auc_pr"] = metrics.auc_pr(y_true, score)
        ranking["roc_auc"] = metrics.roc_auc(y_true, score)
        ranking["vus_pr"] = metrics.vus_pr(y_true, score, sliding_window, n_thresholds, part_starts)
    return Report(
        name=name,
        threshold_saw_test_labels=bool(threshold_saw_test_labels),
        precision=point["precision"], recall=point["recall"], f1=point["f1"],
        far=point["far"], mar=point["mar"],
        pa_f1=metrics.point_adjusted_f1(y_true, y_pred, part_starts),
        event_precision=event["precision"], event_recall=event["recall"], event_f1=event["f1"],
        n_points=int(len(np.asarray(y_true))), n_anomalous_points=int(np.sum(np.asarray(y_true) == 1)),
        counts={**{k: point[k] for k in ("tp", "fp", "fn", "tn")}, "pred_events": event["pred_events"]},
        sliding_window=int(sliding_window), **ranking,
    )


def report_table(reports: list[Report]) -> str:
    """A Markdown table of reports (F1 and PA-F1 side by side, the label-use column last), each value as the
    printed report shows it (`Report.shown`: n/a where undefined, FAR and MAR in percent without the sign)."""
    from tinyad.bench import markdown_table

    rows = [[r.name, *(r.shown(name).rstrip("%") for name in _ROW_FIELDS),
             "YES" if r.threshold_saw_test_labels else "no"] for r in reports]
    return markdown_table(COLUMNS, rows)
