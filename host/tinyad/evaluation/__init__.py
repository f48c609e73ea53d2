"""The project's one evaluation module for every detector (stable public API; other modules import this).

    from tinyad.evaluation import pointwise, point_adjust, event_prf, auc_pr, vus_pr, report

- `pointwise(y_true, y_pred) -> dict(precision, recall, f1, far, mar, tp, fp, fn, tn)`
- `point_adjust(y_true, y_pred) -> bool array`; `point_adjusted_f1(y_true, y_pred) -> float`
- `event_prf(y_true, y_pred) -> dict(precision, recall, f1, ...)` (overlap-based, per event)
- `events(labels) -> [(start, stop), ...]` half-open runs of 1s; `join_events(runs, max_gap)` joins
  runs fewer than max_gap steps apart
- `part_starts_of(parts)`: for arrays that concatenate several series, where each later series begins; pass
  it as `part_starts=` to `events`, `point_adjust`, `event_prf`, `vus`, `vus_pr` and `report` so no event
  spans two series (VUS-PR then scores each series alone and averages)
- `auc_pr(y_true, score)`, `roc_auc(y_true, score)`, `vus_pr(y_true, score, sliding_window=100)`,
  `vus(...) -> dict(vus_pr, vus_roc, series)` (TSB-AD's definition, tested against the package when installed)
- `report(y_true, y_pred, score=None, *, name, threshold_saw_test_labels) -> Report`;
  `report_table([Report, ...]) -> Markdown` with the unadjusted F1 always beside the point-adjusted one.
- `same_index(**values)`: pandas Series are paired by position; different indexes raise.

Labels are 0/1 per time step (1 = anomaly); scores are "higher = more anomalous". Bad input (NaN, 2-D
arrays, non-binary labels, length mismatch) raises tinyad.errors.InputError.
"""

from tinyad.evaluation.metrics import (
    auc_pr,
    event_prf,
    events,
    join_events,
    part_starts_of,
    point_adjust,
    point_adjusted_f1,
    pointwise,
    roc_auc,
    same_index,
    vus,
    vus_pr,
)
from tinyad.evaluation.report import COLUMNS, Report, report, report_table

__all__ = [
    "COLUMNS", "Report", "auc_pr", "event_prf", "events", "join_events", "part_starts_of", "point_adjust",
    "point_adjusted_f1", "pointwise", "report", "report_table", "roc_auc", "same_index", "vus", "vus_pr",
]
