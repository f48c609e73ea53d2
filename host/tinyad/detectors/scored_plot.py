"""The PNG of a scored file: its signals on top, the smoothed error and its threshold below, flagged and labelled
regions shaded, against the file's time where it has a usable one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyad.detectors.sampling import time_in_seconds
from tinyad.detectors.telemetry import Telemetry
from tinyad.timestamps import reads_as_time, time_stamps, time_unit_from_name


def plot_axis(time, n: int) -> tuple[np.ndarray, str]:
    """(x values, axis label) for plotting `n` rows: the rows' times where they are usable (numbers or
    datetimes, or text that parses as datetimes, one per row, never decreasing), else the data row number
    counted from 1 (as `tinyad detect score` prints rows and writes the scores CSV's `row` column), the label then
    naming the first row where the time goes back, if that is why. Stamps with offsets or a time zone are drawn
    in UTC (`time_stamps`), the axis then "time (UTC)".
    E.g. plot_axis(None, 3) -> ([1, 2, 3], "data row");
    plot_axis([0.0, 0.5, 1.0], 3) -> ([0.0, 0.5, 1.0], "time")."""
    index = (np.arange(1, n + 1), "data row")
    if time is None or len(time) != n or n == 0:
        return index
    if not reads_as_time(time):
        seconds = time_in_seconds(time)
        back = np.flatnonzero(np.diff(seconds[0]) < 0) if seconds is not None else []
        # times that go back (an hour repeated) cannot be an axis: say why the plot counts rows
        return (index[0], f"data row (the time column goes back at data row {back[0] + 2})") if len(back) else index
    if np.issubdtype(np.asarray(time).dtype, np.number):
        return np.asarray(time).astype(float), "time"
    # datetime64 (not datetime objects): matplotlib converts a million of those in a blink, not in a minute
    stamps, zoned = time_stamps(time)
    return stamps, "time (UTC)" if zoned else "time"


def time_axis_label(x, axis: str, time_name: str | None, time_unit: str | None) -> str:
    """The x-axis label for `plot_axis`'s (x, axis): "data row" when plotting rows; for a time axis its unit
    and column: "time (s, column t)" for a session or a column that states its unit, "time (column stamp)"
    for dates (the tick labels carry the unit), "time (column t; unit as in the file)" for plain numbers."""
    if axis not in ("time", "time (UTC)"):
        return axis
    column = f"column {time_name}" if time_name else ""
    if np.issubdtype(np.asarray(x).dtype, np.datetime64):
        zone = "UTC" if axis == "time (UTC)" else ""
        return f"time ({', '.join(filter(None, (zone, column)))})" if zone or column else "time"
    if time_unit:
        return f"time ({time_unit}, {column})" if column else f"time ({time_unit})"
    return f"time ({column}; unit as in the file)" if column else "time (unit as in the file)"


def threshold_is_training_p99(threshold, training_p99: float | None, rtol: float = 1e-6) -> bool:
    """True when the threshold is one constant equal to the training p99 (`--threshold quantile` at its default
    0.99): the two lines of the error panel lie on each other. E.g. ([2.0, 2.0], 2.0) -> True."""
    threshold = np.asarray(threshold, float)
    if training_p99 is None or len(threshold) == 0 or not np.isfinite(threshold).all():
        return False
    return bool(np.allclose(threshold, training_p99, rtol=rtol, atol=0.0))


# A flagged or labelled region is drawn at least this share of the rows wide: on a 100,000-row file a 5-row
# alarm would otherwise be thinner than a pixel.
MIN_REGION_SHARE = 0.002

# The error panel goes logarithmic when the largest error is this many times the training p99: on a linear
# axis the threshold and training lines would sit flat on zero.
LOG_AXIS_RATIO = 50.0


def visible_region(first: int, stop: int, n: int, min_share: float = MIN_REGION_SHARE) -> tuple[int, int]:
    """Half-open rows [first, stop) widened about their centre to at least `min_share` of `n` rows (and at
    least one row), clipped to [0, n): what a plot draws so that short regions stay visible.
    E.g. visible_region(500, 501, 10_000) -> (490, 510)."""
    width = max(int(np.ceil(min_share * n)), 1)
    if stop - first >= width:
        return first, stop
    centre = (first + stop) / 2
    start = int(max(0, min(np.floor(centre - width / 2), n - width)))
    return start, min(start + width, n)


def error_axis_scale(smoothed: np.ndarray, training_p99: float | None, ratio: float = LOG_AXIS_RATIO) -> str:
    """"log" when the errors span orders of magnitude (max / training p99 above `ratio`) and are all positive,
    "symlog" when they span them but touch zero, else "linear"."""
    if training_p99 is None or not training_p99 > 0 or len(smoothed) == 0:
        return "linear"
    if not float(np.max(smoothed)) / training_p99 > ratio:
        return "linear"
    return "log" if float(np.min(smoothed)) > 0 else "symlog"


def plot_scored(telemetry: Telemetry, smoothed: np.ndarray, threshold: np.ndarray, flags: np.ndarray,
                path: str | os.PathLike, title: str = "", max_channels: int = 8,
                training_p99: float | None = None, pruned: list | tuple = (),
                score_name: str = "smoothed error", signal_mean=None, signal_std=None,
                channel_order=None, order_note: str = "", fitted_rows: int = 0, no_threshold: bool = False) -> Path:
    """PNG: the standardised signals on top, the smoothed error with its threshold below; flagged regions shaded
    red in both, true anomalies (if labelled) shaded grey in the top panel, each at least MIN_REGION_SHARE of
    the rows wide. The signals are z-scored with `signal_mean` / `signal_std` (the training data's, so that a
    level shift against training shows) when given, else with the file's own; the axis label says which. Only
    `max_channels` channels are drawn, the first ones or the first of `channel_order` (channel indices, e.g. by
    their share of the error, which `order_note` then names in the title); the title says so when there are
    more. `training_p99` draws the training errors' 99th percentile as a dotted line: the dynamic threshold is
    relative to the file, so only that line shows a file that departs from the training data as a whole; when
    the errors reach more than LOG_AXIS_RATIO x it the error axis is logarithmic. `pruned`, the dynamic
    threshold's (first, last) runs removed by pruning, get a cross at their peak in the error panel: they cross
    the threshold line but raise no alarm; the threshold is drawn on top of the training p99 (when both are one
    level, as with `--threshold quantile` at 0.99, the legend says so and the p99 shows as a wide band under the
    dashes). `score_name` labels the lower panel's curve. The x axis is the telemetry's time where it has a
    usable one (`plot_axis`, labelled with its unit and column: `time_axis_label`), else the data row number.
    `fitted_rows`: the first rows trained the detector, hatched in both panels (alarms there are not evaluated);
    `no_threshold`: a dynamic threshold could not be set on this file, which the error panel then says."""
    from matplotlib.patches import Patch

    from tinyad.evaluation import events
    from tinyad.plots import new_figure

    path = Path(path)
    n = len(smoothed)
    x, axis = plot_axis(telemetry.time, n)
    x_label = time_axis_label(x, axis, telemetry.time_name,
                              telemetry.time_unit or time_unit_from_name(telemetry.time_name))

    def span(first: int, stop: int) -> tuple:
        """x extent of the rows first .. stop - 1, widened to stay visible (`visible_region`); it reaches the
        next row so a single row has a width."""
        first, stop = visible_region(first, stop, n)
        return x[first], x[min(stop, n - 1)]
    drawn = list(range(telemetry.values.shape[1]) if channel_order is None else channel_order)[:max_channels]
    values = telemetry.values[:, drawn]
    if signal_mean is not None and signal_std is not None:
        mean, std = (np.asarray(v, float)[drawn] for v in (signal_mean, signal_std))
        scale_note = "training mean/std"
    else:
        mean, std = values.mean(0), values.std(0)
        scale_note = "this file's mean/std"
    scaled = (values - mean) / np.where(std > 0, std, 1)
    fig, (top, bottom) = new_figure(2, 1, figsize=(12, 6), sharex=True)
    for i in range(scaled.shape[1]):
        top.plot(x, scaled[:, i], lw=0.6, label=telemetry.columns[drawn[i]])
    top.set_ylabel(f"signal (z-score,\n{scale_note})")
    bottom.plot(x, smoothed, lw=0.8, color="k", label=score_name)
    coincide = threshold_is_training_p99(threshold, training_p99)
    if training_p99 is not None:  # wide and faint when the threshold lies on it, so both stay visible
        bottom.axhline(training_p99, lw=4.0 if coincide else 1.0, alpha=0.35 if coincide else 1.0,
                       color="tab:blue", ls="-" if coincide else ":", zorder=2, label="training p99")
    if not np.isnan(threshold).all():  # the covering rule thresholds window residuals: no line to draw
        bottom.plot(x, threshold, lw=1.2, color="tab:orange", ls="--", zorder=3,
                    label="threshold (= training p99)" if coincide else "threshold")
    scale = error_axis_scale(np.asarray(smoothed, float), training_p99)
    if scale == "symlog":
        bottom.set_yscale("symlog", linthresh=training_p99)
    elif scale == "log":
        bottom.set_yscale("log")
    bottom.set_ylabel(score_name.split()[-1] + ("" if scale == "linear" else f" ({scale} scale)"))
    bottom.set_xlabel(x_label)
    if np.issubdtype(np.asarray(x).dtype, np.datetime64):  # dates that do not run into each other at any span
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator()
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    shading = []  # legend entries for the spans, which carry no label themselves
    if telemetry.labels is not None:
        labelled = events(telemetry.labels)
        for a, b in labelled:
            top.axvspan(*span(a, b), color="0.7", alpha=0.4, lw=0)
        if labelled:
            shading.append(Patch(color="0.7", alpha=0.4, label="labelled anomaly"))
    if fitted_rows:
        for axis in (top, bottom):
            axis.axvspan(x[0], x[min(fitted_rows, n - 1)], facecolor="none", edgecolor="0.55", hatch="///", lw=0,
                         alpha=0.5)
        shading.append(Patch(facecolor="none", edgecolor="0.55", hatch="///", label="fitted on (not evaluated)"))
    if no_threshold:
        bottom.text(0.5, 0.9, "no dynamic threshold could be set on this file: nothing flagged",
                    transform=bottom.transAxes, ha="center", va="top", fontsize=8, color="tab:orange")
    flagged = events(flags)
    for a, b in flagged:
        for axis in (top, bottom):
            axis.axvspan(*span(a, b), color="tab:red", alpha=0.2, lw=0)
    if flagged:
        shading.append(Patch(color="tab:red", alpha=0.2, label="flagged"))
    handles, _ = top.get_legend_handles_labels()
    top.legend(handles=handles + shading, loc="upper right", fontsize=7, ncol=4)
    if len(pruned):  # a marker at each peak: a run of a few steps is invisible as a span on a long file
        peaks = [first + int(np.argmax(smoothed[first:last + 1])) for first, last in pruned]
        bottom.plot(x[peaks], smoothed[peaks], ls="none", marker="x", color="0.35", label="pruned (no alarm)")
    # above the panel, not inside it: on a long file any corner of the panel can hide a peak
    bottom.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=4, frameon=False)
    heading = title or Path(telemetry.source).name
    n_channels = telemetry.values.shape[1]
    if n_channels > max_channels:
        which = f": {order_note}" if channel_order is not None and order_note else ""
        heading += (f" ({max_channels} of {n_channels} channels plotted{which})" if which else
                    f" (first {max_channels} of {n_channels} channels plotted)")
    fig.suptitle(heading)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
