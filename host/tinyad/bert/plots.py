"""Plots of scored battery telemetry (`tinyad bert score`): each channel in its own panel, in its units."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def segment_bounds(segment_ids: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) row ranges of the contiguous segments (a new id starts a new segment)."""
    segment_ids = np.asarray(segment_ids)
    if not len(segment_ids):
        return []
    cuts = np.flatnonzero(np.diff(segment_ids)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [len(segment_ids)]])
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def plot_scores(telemetry, scores: np.ndarray, threshold: float, flags: np.ndarray, path, title: str = "",
                max_channels: int = 8) -> Path:
    """PNG: one small panel per channel in its physical units (the column names carry them), the anomaly score
    with the cut below. Lines break at gaps (each segment drawn apart, the gap shaded grey and labelled), so a
    hole is never drawn as a straight line; steps the loader interpolated are shaded blue (labelled); alarms
    are shaded red, behind the lines, each at least 0.2 % of the steps wide (`visible_region`)."""
    from tinyad.battery.bms import SEGMENT_COLUMN, TIME_COLUMN
    from tinyad.detectors.scored_plot import visible_region
    from tinyad.evaluation import events
    from tinyad.plots import new_figure

    path = Path(path)
    frame = telemetry.frame
    times = frame[TIME_COLUMN].to_numpy()
    channels = list(telemetry.channels)[:max_channels]
    bounds = segment_bounds(frame[SEGMENT_COLUMN].to_numpy())
    filled = events(telemetry.interpolated_rows())
    fig, axes = new_figure(len(channels) + 1, 1, figsize=(12, 1.4 * len(channels) + 2.4), sharex=True,
                             squeeze=False)
    axes = axes[:, 0]
    series = [frame[name].to_numpy(np.float64) for name in channels] + [np.asarray(scores, np.float64)]
    for index, (axis, values) in enumerate(zip(axes, series)):
        is_score = index == len(channels)
        color = "k" if is_score else f"C{index}"
        for start, stop in bounds:
            axis.plot(times[start:stop], values[start:stop], lw=0.7, color=color, zorder=2)
        for (_, stop), (next_start, _) in zip(bounds, bounds[1:]):
            axis.axvspan(times[stop - 1], times[next_start], color="0.85", hatch="//", lw=0, zorder=0)
        for first, stop in filled:  # from the step before to the step after: where the line is drawn straight
            axis.axvspan(times[max(first - 1, 0)], times[min(stop, len(times) - 1)], color="tab:blue", alpha=0.12,
                         lw=0, zorder=0)
        for first, stop in events(np.asarray(flags, bool)):
            first, stop = visible_region(first, stop, len(times))  # a 1-step alarm on a long file stays visible
            axis.axvspan(times[first], times[min(stop, len(times) - 1)], color="tab:red", alpha=0.25, lw=0,
                         zorder=1)
        if is_score:
            axis.axhline(threshold, color="tab:orange", ls="--", lw=1.0, zorder=3, label=f"cut {threshold:.3f}")
            axis.set_ylabel("anomaly score", fontsize=8)
            axis.legend(loc="upper right", fontsize=7, frameon=False)
        else:
            unit = telemetry.units.get(channels[index], "")
            label = channels[index] + (f" [{unit}]" if unit and unit.lower() not in channels[index].lower() else "")
            axis.set_ylabel(label, fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.25)
    if len(bounds) > 1:  # say once what the grey bands are
        _, stop = bounds[0]
        axes[0].annotate("gap (no data)", (times[stop - 1], 1.0), xycoords=("data", "axes fraction"), fontsize=7,
                         va="bottom", color="0.4")
    if filled:  # and the blue ones
        axes[0].annotate("interpolated", (times[filled[0][0]], 1.0), xycoords=("data", "axes fraction"),
                         fontsize=7, va="bottom", color="tab:blue")
    axes[-1].set_xlabel("time (UTC)" if getattr(telemetry, "time_zone", "") == "UTC" else "time")
    fig.suptitle(title or telemetry.source, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
