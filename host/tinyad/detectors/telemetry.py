"""Reading multivariate telemetry for the label-free detectors (CSV, Parquet, tinyad IMU sessions) and
plotting scored series (signal, smoothed error, threshold, flagged regions) as PNG."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyad.errors import InputError


@dataclass
class Telemetry:
    """`values` (time, channels) float64, `columns` their names, `time` (time,) or None, `labels` 0/1 or
    None (only for evaluation; never used by fit or thresholds)."""

    source: str
    columns: list[str]
    values: np.ndarray
    time: np.ndarray | None = None
    labels: np.ndarray | None = None


def _is_tinyad_session(path: Path) -> bool:
    import pyarrow.parquet as pq

    from tinyad.session import METADATA_KEY

    try:
        return METADATA_KEY in (pq.read_schema(path).metadata or {})
    except Exception as err:
        raise InputError(f"{path}: not a readable Parquet file, truncated or corrupt ({err})",
                         hint="the file may be truncated") from err


def load_telemetry(path: str | os.PathLike, columns: list[str] | None = None, time_column: str | None = None,
                   label_column: str | None = None, sep: str | None = None,
                   drop: list[str] | None = None) -> Telemetry:
    """Load one file. A tinyad session (.parquet with session metadata) gives its channels and `t`;
    any other CSV/Parquet gives the `columns` (default: every column except the time and label columns and
    those in `drop`; all must be numeric). CSV separators are sniffed unless `sep` is given (SKAB uses ';').

    Raises InputError for a missing/truncated file, unknown columns, non-numeric values or NaN (naming the
    first bad row); nothing is dropped silently.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file", hint="check the path; relative paths start in the current folder")
    suffix = path.suffix.lower()
    if suffix == ".parquet" and _is_tinyad_session(path):
        from tinyad.session import read_session

        session = read_session(path)
        chosen = columns or list(session.meta.channels)
        unknown = [c for c in chosen if c not in session.meta.channels]
        if unknown:
            raise InputError(f"{path}: session has no channels {unknown}; it has {session.meta.channels}")
        idx = [session.meta.channels.index(c) for c in chosen]
        return Telemetry(str(path), chosen, session.data[:, idx].astype(float), session.t.copy())
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            frame = pd.read_csv(path, sep=sep, engine="python" if sep is None else "c")
        else:
            raise InputError(f"{path}: unsupported file type {suffix!r}", hint="use .csv or .parquet")
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"{path}: cannot read ({err})", hint="the file may be truncated or corrupt") from err
    if frame.empty:
        raise InputError(f"{path}: no data rows", hint="the file has at most a header; score a file with data")
    for name, column in (("time", time_column), ("label", label_column)):
        if column and column not in frame.columns:
            raise InputError(f"{path}: no {name} column {column!r}; columns are {list(frame.columns)}",
                             hint=f"name one of those with --{name}-column")
    if columns:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise InputError(f"{path}: missing columns {unknown}; the file has {list(frame.columns)}",
                             hint="give columns the file has (a fitted detector needs the columns it was fit on)")
        chosen = list(columns)
    else:
        skip = {time_column, label_column, *(drop or [])}
        # Every other column is a signal: a text column is an error below, never silently skipped.
        chosen = [c for c in frame.columns if c not in skip]
        if not chosen:
            raise InputError(f"{path}: no signal columns", hint="name them with --columns")
    numeric = frame[chosen].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numeric)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(f"{path}: data row {row + 1}, column {chosen[col]!r}: missing, non-numeric or NaN",
                         hint="a time or date column: name it with --time-column; a label or other text: "
                              "leave it out with --drop (or --label-column); else clean or interpolate the file")
    time = None
    if time_column:
        time = frame[time_column].to_numpy()
    labels = None
    if label_column:
        raw = pd.to_numeric(frame[label_column], errors="coerce").to_numpy(dtype=float)
        if not np.isin(raw, (0, 1)).all():
            raise InputError(f"{path}: label column {label_column!r} must hold only 0 and 1")
        labels = raw.astype(np.int8)
    return Telemetry(str(path), chosen, numeric, time, labels)


def plot_axis(time, n: int) -> tuple[np.ndarray, str]:
    """(x values, axis label) for plotting `n` rows: the rows' times where they are usable (numbers or
    datetimes, or text that parses as datetimes, one per row, never decreasing), else the sample index.
    E.g. plot_axis(None, 3) -> ([0, 1, 2], "sample");
    plot_axis([0.0, 0.5, 1.0], 3) -> ([0.0, 0.5, 1.0], "time")."""
    import pandas as pd

    index = (np.arange(n), "sample")
    if time is None or len(time) != n or n == 0:
        return index
    time = np.asarray(time)
    if np.issubdtype(time.dtype, np.number):
        x = time.astype(float)
        if not np.isfinite(x).all():
            return index
    else:
        try:
            with warnings.catch_warnings():  # text in no one format parses row by row: fine, NaT is checked
                warnings.simplefilter("ignore", UserWarning)
                x = pd.to_datetime(time, errors="coerce").to_numpy()
        except (TypeError, ValueError):
            return index
        if np.isnat(x).any():
            return index
    return (x, "time") if (x[1:] >= x[:-1]).all() else index


def plot_scored(telemetry: Telemetry, smoothed: np.ndarray, threshold: np.ndarray, flags: np.ndarray,
                path: str | os.PathLike, title: str = "", max_channels: int = 8,
                training_p99: float | None = None, pruned: list | tuple = (),
                score_name: str = "smoothed error") -> Path:
    """PNG: the (standardised) signals on top, the smoothed error with its threshold below; flagged
    regions shaded red in both, true anomalies (if labelled) shaded grey in the top panel. `training_p99`
    draws the training errors' 99th percentile as a dotted line: the dynamic threshold is relative to the
    file, so only that line shows a file that departs from the training data as a whole. `pruned`, the
    dynamic threshold's (first, last) runs removed by pruning, get a cross at their peak in the error panel:
    they cross the threshold line but raise no alarm. `score_name` labels the lower panel's curve. The x
    axis is the telemetry's time where it has a usable one (`plot_axis`), else the sample index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyad.evaluation import events

    path = Path(path)
    x, x_label = plot_axis(telemetry.time, len(smoothed))

    def span(first: int, stop: int) -> tuple:
        """x extent of the rows first .. stop - 1; it reaches the next row so a single row stays visible."""
        return x[first], x[min(stop, len(x) - 1)]
    values = telemetry.values[:, :max_channels]
    scaled = (values - values.mean(0)) / np.where(values.std(0) > 0, values.std(0), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    for i in range(scaled.shape[1]):
        top.plot(x, scaled[:, i], lw=0.6, label=telemetry.columns[i])
    top.set_ylabel("signal (z-score)")
    top.legend(loc="upper right", fontsize=7, ncol=4)
    bottom.plot(x, smoothed, lw=0.8, color="k", label=score_name)
    if not np.isnan(threshold).all():  # the covering rule thresholds window residuals: no line to draw
        bottom.plot(x, threshold, lw=1.0, color="tab:orange", ls="--", label="threshold")
    if training_p99 is not None:
        bottom.axhline(training_p99, lw=1.0, color="tab:blue", ls=":", label="training p99")
    bottom.set_ylabel(score_name.split()[-1])
    bottom.set_xlabel(x_label)
    if telemetry.labels is not None:
        for a, b in events(telemetry.labels):
            top.axvspan(*span(a, b), color="0.7", alpha=0.4, lw=0)
    for a, b in events(flags):
        for axis in (top, bottom):
            axis.axvspan(*span(a, b), color="tab:red", alpha=0.2, lw=0)
    if len(pruned):  # a marker at each peak: a run of a few steps is invisible as a span on a long file
        peaks = [first + int(np.argmax(smoothed[first:last + 1])) for first, last in pruned]
        bottom.plot(x[peaks], smoothed[peaks], ls="none", marker="x", color="0.35", label="pruned (no alarm)")
    # above the panel, not inside it: on a long file any corner of the panel can hide a peak
    bottom.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=4, frameon=False)
    fig.suptitle(title or Path(telemetry.source).name)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
