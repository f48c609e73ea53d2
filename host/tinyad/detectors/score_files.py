"""Scoring files with a fitted label-free detector, as `tinyad detect score` does: the alarms of each file (its
flagged regions, joined and pruned as asked), the notes that qualify them, the rows the detector was fitted on
(left out of a labelled file's evaluation), the evaluation, and the scores CSV and PNG."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from tinyad.atomic import atomic_path
from tinyad.detectors.fit_files import ReadOptions
from tinyad.detectors.pipeline import ScoreResult, check_method
from tinyad.detectors.sampling import median_step
from tinyad.detectors.telemetry import Telemetry
from tinyad.errors import InputError

# `detect score --out`: every file's alarms, regions and warning marks, and the files that failed, for scripts
SUMMARY_FILE = "summary.json"
# A file's flagged regions listed on screen at most: a quantile threshold can flag hundreds of blips.
REGIONS_LISTED = 20
# Channels drawn in a PNG (`plot_scored`'s max_channels): more lines than this are not told apart.
PLOTTED_CHANNELS = 8
# A channel under this share of a region's error is not named beside a larger one (noise, not a cause); leading
# channels that together carry less than SPREAD_SHARE are named as the largest parts of a spread-out error.
MIN_NAMED_SHARE = 0.05
SPREAD_SHARE = 0.5


@dataclass
class FitRecord:
    """What `detect fit` saved beside the detector (read_options.json) that scoring compares a file with: the
    training signals' mean and std, the training interval (`median_interval`), each channel's longest constant
    run, and the files and rows fitted on (`save_fit` writes it too). Empty for a detector saved with
    `LabelFreeDetector.save`: it knows no rows it was fitted on, so a labelled file is evaluated whole."""

    signal_mean: list | None = None
    signal_std: list | None = None
    sampling: dict | None = None
    longest_constant_run: list | None = None
    trained_on: list = field(default_factory=list)

    @classmethod
    def from_saved(cls, saved: dict) -> "FitRecord":
        """From read_options.json's dict (`fit_files.load_read_options`)."""
        return cls(saved.get("signal_mean"), saved.get("signal_std"), saved.get("sampling"),
                   saved.get("longest_constant_run"), saved.get("trained_on", []))


@dataclass
class ScoredFile:
    """One file scored by `score_file`. `data` as read; `result` the detector's scores, its flags after
    --merge-gap and --min-rows (`changes` says how many regions those joined or dropped); `regions` the flagged
    row ranges (half-open); `warnings` (summary mark, note or None) for the notes worth repeating in a summary;
    `notes` every other note, in the order to print; `first_test_row` the rows the detector was fitted on (left
    out of the evaluation); `fitted_file_changed` the rows fitted on when this is the fitted file changed since;
    `evaluation` the report on the labelled rows not fitted on (None without labels or such rows)."""

    path: Path
    data: Telemetry
    result: ScoreResult
    regions: list
    changes: list[str]
    warnings: list[tuple[str, str | None]]
    notes: list[str]
    stuck: list[str]
    other_interval: str | None
    first_test_row: int = 0
    fitted_file_changed: int = 0
    evaluation: object = None
    csv_path: str | None = None  # its scores CSV, when written

    @property
    def flags(self) -> np.ndarray:
        return self.result.flags

    @property
    def smoothed(self) -> np.ndarray:
        return self.result.smoothed

    @property
    def labels(self) -> np.ndarray | None:
        return self.data.labels

    @property
    def marks(self) -> tuple:
        """The summary's marks of this file: its warnings that fired, a stuck channel, another interval."""
        return tuple([mark for mark, note in self.warnings if note] + (["stuck channel"] if self.stuck else [])
                     + (["sampled at another interval"] if self.other_interval else []))


def rows_or_duration(value, least: int, option: str):
    """--merge-gap / --min-rows as `score_file` takes them: a number of rows (an int >= `least`, or its digits as
    text) or a duration (a timedelta, or text pandas reads as one: "30min", "1h", "2 days"; longer than 0, or 0
    where `least` is 0). E.g. "12" -> 12, "1h" -> Timedelta("1h"). InputError naming `option` otherwise."""
    import pandas as pd

    if isinstance(value, timedelta):
        duration = pd.Timedelta(value)
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        duration = None
    elif isinstance(value, str) and value.strip().isdigit():
        value, duration = int(value.strip()), None
    elif isinstance(value, str):
        try:
            duration = pd.Timedelta(value.strip())
        except ValueError:
            raise InputError(f"{option} {value!r} is neither a number of rows nor a duration",
                             hint="e.g. 12, 30min, 1h, 2d") from None
    else:
        raise InputError(f"{option} {value!r} is neither a number of rows nor a duration",
                         hint="a whole number of rows (e.g. 12) or a duration (e.g. \"30min\", timedelta(hours=1))")
    if duration is None:
        if value < least:
            raise InputError(f"{option} {value} rows is below the least, {least}")
        return int(value)
    if duration == pd.Timedelta(0) and least == 0:
        return 0
    if duration <= pd.Timedelta(0):
        raise InputError(f"{option} {value!r}: a duration must be longer than 0")
    return duration


def region_option_text(value) -> str:
    """How --merge-gap / --min-rows read in the output: "12 rows", "1 h", "50 ms"."""
    if isinstance(value, int):
        return f"{value} rows"
    from tinyad.battery.bms import describe_duration

    return describe_duration(value) if value.total_seconds() >= 1 else f"{value.total_seconds() * 1000:.3g} ms"


def regions_to_list(regions: list, smoothed, most: int = REGIONS_LISTED) -> list:
    """The flagged `regions` (half-open row ranges) to print: all of them when at most `most`, else the `most`
    with the highest peak of the `smoothed` error, in file order (the first 20 could all be blips before the
    fault). E.g. regions [(0, 2), (5, 9), (12, 13)], peaks 1, 9, 4, most 2 -> [(5, 9), (12, 13)]."""
    if len(regions) <= most:
        return list(regions)
    peaks = [float(smoothed[a:b].max()) for a, b in regions]
    highest = sorted(range(len(regions)), key=lambda i: -peaks[i])[:most]
    return [regions[i] for i in sorted(highest)]


def merge_close_regions(flags, merge_gap, seconds=None):
    """(flags with the flagged regions fewer than `merge_gap` unflagged rows apart joined, the rows between
    flagged too; how many regions were joined into others). E.g. merge_close_regions([1, 0, 1, 0, 0, 0, 1], 2)
    -> ([1, 1, 1, 0, 0, 0, 1], 1). A `merge_gap` duration (a timedelta) with the rows' times in `seconds`
    joins regions when the unflagged rows between them cover less than that time (the time from the last flagged
    row to the next, less one median interval; a gap in the file counts as the time it is): at 5-minute rows,
    1 h joins as 12 rows do."""
    from tinyad.evaluation import events, join_events

    flags = np.asarray(flags, bool)
    regions = events(flags)
    if len(regions) < 2 or not merge_gap:
        return flags, 0
    if isinstance(merge_gap, timedelta):
        limit, interval, joined = merge_gap.total_seconds(), median_step(seconds), [regions[0]]
        for start, stop in regions[1:]:
            # the time the unflagged rows between cover (one interval each, as a region's rows in drop_short_regions)
            if seconds[start] - seconds[joined[-1][1] - 1] - interval < limit:
                joined[-1] = (joined[-1][0], stop)
            else:
                joined.append((start, stop))
    else:
        joined = join_events(regions, merge_gap)
    merged = np.zeros_like(flags)
    for start, stop in joined:
        merged[start:stop] = True
    return merged, len(regions) - len(joined)


def elapsed_seconds(seconds):
    """The rows' times as time elapsed in file order: a step back or a repeated stamp (an hour repeated at a clock
    change) counts as one median interval, as the detectors count each row as one sample. E.g. [0, 60, 120, 60,
    120] -> [0, 60, 120, 180, 240]."""
    from tinyad.detectors.sampling import in_file_direction

    forward = in_file_direction(seconds)  # a newest-first file: elapsed as it is read
    steps = np.diff(forward)
    return np.concatenate([[0.0], np.cumsum(np.where(steps > 0, steps, median_step(forward)))]) + forward[0]


def drop_short_regions(flags, min_rows, seconds=None):
    """(flags without the flagged regions shorter than `min_rows` rows, how many were dropped). E.g.
    drop_short_regions([1, 0, 1, 1, 0, 1], 2) -> ([0, 0, 1, 1, 0, 0], 2). A `min_rows` duration (a timedelta)
    with the rows' times in `seconds` drops regions lasting less than that: from their first row's time to their
    last row's, plus the median sampling interval (one row lasts one interval)."""
    from tinyad.evaluation import events

    flags = np.array(flags, bool)
    if isinstance(min_rows, timedelta):
        interval = median_step(seconds)
        short = [(start, stop) for start, stop in events(flags)
                 if seconds[stop - 1] - seconds[start] + interval < min_rows.total_seconds()]
    else:
        short = [(start, stop) for start, stop in events(flags) if stop - start < min_rows]
    for start, stop in short:
        flags[start:stop] = False
    return flags, len(short)


def has_channel_errors(result, columns) -> bool:
    """Whether the model split the error by channel and there is more than one channel to tell apart."""
    return result.channel_errors is not None and len(columns) > 1


def region_channels_text(channel_errors, first: int, stop: int, columns: list[str]) -> str:
    """The channels carrying most of the error in rows first .. stop - 1, for a region's line, e.g.
    "  mostly pressure 71%, flow 18%", or "  spread over the channels, largest: valve 14%, leak 9%, volts 8%"
    when no few channels carry half of it; channels under MIN_NAMED_SHARE are named only when first. Empty
    without channel errors or with a single channel."""
    from tinyad.detectors.pipeline import channel_shares, leading_channels

    if channel_errors is None or len(columns) < 2:
        return ""
    leading = leading_channels(channel_shares(channel_errors, first, stop), columns)
    if sum(share for _, share in leading) < SPREAD_SHARE:
        return "  spread over the channels, largest: " + ", ".join(f"{name} {share:.0%}" for name, share in leading)
    named = leading[:1] + [(name, share) for name, share in leading[1:] if share >= MIN_NAMED_SHARE]
    return "  mostly " + ", ".join(f"{name} {share:.0%}" for name, share in named)


def plot_channel_order(result, columns: list[str]) -> tuple[list[int] | None, str]:
    """(channel indices, what orders them) for a PNG of a file with more channels than it draws: the channels by
    their share of the error in the flagged rows (all rows when none is flagged), so that the plot shows the
    channels behind the alarms rather than the first columns. (None, "") when all fit or there are no channel
    errors."""
    from tinyad.detectors.pipeline import channel_shares

    if result.channel_errors is None or len(columns) <= PLOTTED_CHANNELS:
        return None, ""
    flagged = np.asarray(result.flags, bool)
    rows = result.channel_errors[flagged] if flagged.any() else result.channel_errors
    shares = channel_shares(rows)
    order = [int(i) for i in np.argsort(-shares, kind="stable")]
    return order, "the most error in the flagged rows" if flagged.any() else "the most error"


def seconds_for_durations(data: Telemetry, path, merge_gap, min_rows):
    """The rows' times in seconds when --merge-gap or --min-rows is a duration (else None); InputError when the
    file has no time column of date-times or seconds to measure it with."""
    from tinyad.detectors.sampling import time_in_seconds
    from tinyad.timestamps import time_unit_from_name

    given = [(name, value) for name, value in (("--merge-gap", merge_gap), ("--min-rows", min_rows))
             if isinstance(value, timedelta)]
    if not given:
        return None
    found = time_in_seconds(data.time, data.time_unit or time_unit_from_name(data.time_name))
    if found is None or found[1] != "s":
        shown = " and ".join(f"{name} {region_option_text(value)}" for name, value in given)
        rows = "give rows instead, e.g. " + " ".join(f"{name} 12" for name, _ in given)
        if data.time is None:
            raise InputError(f"{path}: {shown}: a duration needs a time column, and the file has none",
                             hint=f"{rows}, or name the time column with --time-column")
        raise InputError(f"{path}: {shown}: the time column {data.time_name!r} holds numbers without a unit, so a "
                         "duration cannot be measured on it",
                         hint=f"{rows}, or name the column with its unit (e.g. {data.time_name}_s or "
                              f"{data.time_name}_ms)")
    return elapsed_seconds(found[0])


def score_file(detector, path: Path, reading: ReadOptions, record: FitRecord, method: str | None = None,
               merge_gap: int | timedelta = 0, min_rows: int | timedelta = 1) -> ScoredFile:
    """Score the file at `path` with the fitted `detector` (`method`: another threshold for this scoring only).

    Flagged regions fewer than `merge_gap` rows (or less than a `merge_gap` duration) apart are joined
    (`merge_close_regions`), then those shorter than `min_rows` rows (or a duration) dropped
    (`drop_short_regions`). The notes weigh the alarms against the fit (`record`): a level far from the training
    data, a file departing from it as a whole, no threshold, unflagged errors far above training, the sampling,
    another interval, stuck channels. A labelled file is evaluated on the rows the detector was not fitted on,
    with thresholds that never saw its labels."""
    from tinyad.detectors.fitted_rows import fitted_path_changed, rows_trained_on
    from tinyad.detectors.pipeline import (level_shift_note, no_threshold_note, pruned_note, stuck_channel_notes,
                                           unflagged_excess_note, whole_file_departure_note, whole_file_window_note)
    from tinyad.detectors.sampling import median_interval, other_interval_note, sampling_notes
    from tinyad.evaluation import events, report
    from tinyad.timestamps import time_unit_from_name

    merge_gap, min_rows = rows_or_duration(merge_gap, 0, "--merge-gap"), rows_or_duration(min_rows, 1, "--min-rows")
    check_method(method)
    training_p99 = detector.training_quantile(0.99)
    if reading.columns is None and detector.columns is not None:  # a detector saved with LabelFreeDetector.save
        reading = dataclasses.replace(reading, columns=list(detector.columns))
    data = reading.load(path, needed_by_model=reading.columns is not None)
    if detector.n_channels is not None and data.values.shape[1] != detector.n_channels:
        raise InputError(f"{path}: {data.values.shape[1]} columns read ({', '.join(map(str, data.columns))}), but "
                         f"the detector was fitted on {detector.n_channels} channels",
                         hint="name the fitted columns with --columns (in the fitted order), leave the others out with "
                              "--drop, and name a label column with --label-column")
    result = detector.score(data.values, method, channels=True)
    seconds = seconds_for_durations(data, path, merge_gap, min_rows)
    result.flags, joined = merge_close_regions(result.flags, merge_gap, seconds)
    flagged_by_threshold = result.flags  # before --min-rows: the notes speak of what the threshold flagged
    result.flags, dropped = drop_short_regions(result.flags, min_rows, seconds)
    fewer = "fewer" if isinstance(merge_gap, int) else "less"
    changes = ([f"{joined} {fewer} than {region_option_text(merge_gap)} apart joined"] if joined else []) + (
        [f"{dropped} shorter than {region_option_text(min_rows)} dropped"] if dropped else [])
    # a run of over-range marks read as the column's largest reading is no frozen sensor: left out of that test
    held = data.values if data.range_marked is None else np.where(data.range_marked, np.nan, data.values)
    stuck = stuck_channel_notes(held, data.columns, record.longest_constant_run, data.time)
    unit = data.time_unit or time_unit_from_name(data.time_name)
    sampled = median_interval(data.time, unit)  # one comparison with the fit: a note, and a mark in the summary
    other_interval = sampled and other_interval_note(sampled["interval"], sampled["unit"], record.sampling)
    warnings = [("level far from the training data",
                 level_shift_note(data.values, data.columns, record.signal_mean, record.signal_std)),
                ("departs from the training data as a whole", whole_file_departure_note(result, training_p99)),
                ("no threshold", no_threshold_note(result, data.time)),
                ("unflagged excess", unflagged_excess_note(dataclasses.replace(result, flags=flagged_by_threshold),
                                                           training_p99, data.time,
                                                           error_window=detector.threshold.window,
                                                           min_rows=None if min_rows == 1 else
                                                           region_option_text(min_rows)))]
    window_note = whole_file_window_note(result.method, detector.threshold.window, len(data.values))
    notes = [note for note in [*data.notes, pruned_note(result, detector.threshold.p), window_note,
                               *(note for _, note in warnings), *sampling_notes(data.time, None, unit),
                               other_interval, *stuck] if note]
    first_test_row = rows_trained_on(path, record.trained_on, data.values)
    changed = (fitted_path_changed(path, record.trained_on)
               if data.labels is not None and not first_test_row else 0)
    if data.labels is not None and not record.trained_on:
        notes.append("the detector records no rows it was fitted on (saved with LabelFreeDetector.save, not "
                     "`detect fit` or save_fit): every row is evaluated, also any it was fitted on")
    evaluation = None
    if data.labels is not None and first_test_row < len(result.flags):
        evaluation = report(data.labels[first_test_row:], result.flags[first_test_row:],
                            result.smoothed[first_test_row:], name=detector.kind, threshold_saw_test_labels=False)
    return ScoredFile(Path(path), data, result, events(result.flags), changes, warnings, notes, stuck,
                      other_interval or None, first_test_row, changed, evaluation)


def write_scores_csv(scored: ScoredFile, csv_path: Path) -> Path:
    """The scores CSV of a scored file, written atomically (a reader never sees half a file): per data row
    (counted from 1) its time under the file's own name, the error, smoothed error, threshold and alarm, the
    label, whether the detector was fitted on it, and each channel's part of the error (they sum to it)."""
    import pandas as pd

    result, data = scored.result, scored.data
    frame = pd.DataFrame({"row": np.arange(1, len(result.flags) + 1), "error": result.errors,
                          "smoothed": result.smoothed, "threshold": result.threshold,
                          "alarm": result.flags.astype(np.int8)})
    if data.time is not None:  # under the file's own name, so the scores join back to the data
        frame.insert(1, data.time_name or "time", data.time)
    if data.labels is not None:  # beside the alarms they are compared with
        frame["label"] = data.labels
    if scored.first_test_row:  # the rows the detector was fitted on: not evaluated
        frame["fitted_on"] = (np.arange(len(frame)) < scored.first_test_row).astype(np.int8)
    if has_channel_errors(result, data.columns):
        for name, column in zip(data.columns, result.channel_errors.T):
            frame[f"error_{name}"] = column
    with atomic_path(csv_path) as partial:
        frame.to_csv(partial, index=False)
    scored.csv_path = str(csv_path)
    return Path(csv_path)


def plot_scored_file(scored: ScoredFile, detector, record: FitRecord, png_path: Path) -> tuple[Path, str | None]:
    """(the PNG of a scored file, a note when it draws only some of the channels: those with the most error). The
    signals are z-scored with the training mean and std when the fit saved them for these columns."""
    from tinyad.detectors.scored_plot import plot_scored

    result, data = scored.result, scored.data
    mean, std = record.signal_mean, record.signal_std
    usable = mean is not None and std is not None and len(mean) == len(data.columns)
    order, order_note = plot_channel_order(result, data.columns)
    png = plot_scored(data, result.smoothed, result.threshold, result.flags, png_path,
                      title=f"{scored.path.name}: {detector.kind}, {result.method} threshold",
                      training_p99=detector.training_quantile(0.99), pruned=result.pruned,
                      signal_mean=mean if usable else None, signal_std=std if usable else None,
                      channel_order=order, order_note=order_note, max_channels=PLOTTED_CHANNELS,
                      fitted_rows=scored.first_test_row,
                      no_threshold=result.method == "dynamic" and not np.isfinite(result.threshold).any())
    note = None
    if data.values.shape[1] > PLOTTED_CHANNELS:
        drawn = ", ".join(data.columns[i] for i in order[:PLOTTED_CHANNELS]) if order is not None else ""
        note = (f"the PNG plots {PLOTTED_CHANNELS} of {data.values.shape[1]} channels, "
                + (f"those with {order_note}: {drawn}" if order is not None else "the first ones"))
    return png, note


def score_summary(model_dir: Path, detector, scored: list[ScoredFile], failures: list, left_out=()) -> dict:
    """What `detect score --out` writes to summary.json: per scored file its rows, alarms, regions, first and
    last alarmed row (counted from 1), the summary's warning marks and its scores CSV; the files that failed
    with their error; whether any file alarmed (null when no file could be scored: nothing was looked at); and
    `left_out`, files of the folders given that were not scored (their CSV files: a folder gives its *.parquet)."""
    files = []
    for f in scored:
        alarmed = f.flags.nonzero()[0]
        files.append({"file": str(f.path), "rows": len(f.flags), "alarm_rows": int(len(alarmed)),
                      "regions": len(f.regions), "first_alarm_row": int(alarmed[0]) + 1 if len(alarmed) else None,
                      "last_alarm_row": int(alarmed[-1]) + 1 if len(alarmed) else None, "warnings": list(f.marks),
                      # beside summary.json: its name, so a job that moved or mounted the folder elsewhere finds it
                      "fitted_on_rows": f.first_test_row, "scores_csv": Path(f.csv_path).name if f.csv_path else None})
    return {"detector": str(model_dir), "kind": detector.kind, "threshold": detector.threshold.method,
            "alarms": any(item["alarm_rows"] for item in files) if files else None, "files": files,
            "failed": [{"file": str(path), "error": str(error), "exit_code": error.exit_code}
                       for path, error in failures], "left_out": [str(path) for path in left_out]}
