"""How a file's rows are spaced in time: its median interval, the gaps, repeats and steps back worth a note, a
file sampled at another interval than the one fitted on, and the rows before a given time (--train-until)."""

from __future__ import annotations

import re

import numpy as np

from tinyad.errors import InputError
from tinyad.timestamps import is_dotted_date, time_stamps


# A step longer than this many median intervals is a gap worth naming (a missed sample or two is not).
GAP_INTERVALS = 5.0
# Files sampled this much faster or slower than the fitted data get a note (a clock's drift stays far below).
INTERVAL_TOLERANCE = 0.1


SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def time_text(value) -> str:
    """A time stamp as people write it: numpy's datetime64 (a Parquet file's times) as "2024-03-12 07:24:00", not
    "2024-03-12T07:24:00.000000"; anything else (a CSV's text as written, seconds) as it is."""
    if isinstance(value, np.datetime64):
        import pandas as pd

        return str(pd.Timestamp(value))
    if isinstance(value, (float, np.floating)):  # a session's t: 15.966, not 15.966000000000001
        return f"{float(value):.10g}"
    return str(value)


def about_an_hour(step_s: float, median_s: float) -> bool:
    """Whether a step between two rows' times (seconds, either way) is the hour a clock change skips or repeats:
    within one sampling interval (`median_s`) below and two above an hour, and only where an hour stands out from
    the sampling (a median of at most 15 min; a shuffled file's median step can be days, which would make any
    step "about an hour"). E.g. 59 min back at 1-min rows -> True; 5 days back at a 4-day median -> False."""
    return median_s <= 900 and 3600 - median_s <= abs(step_s) <= 3600 + 2 * median_s


def rows_before(time, until: str, unit: str | None = None) -> tuple[int, str]:
    """(how many rows come before the first whose time is at or after `until`, all of them when none is; the
    limit as read). `until` is a date-time text for date-time stamps, read as the file's are (dotted dates day
    first: "11.03.2024" is 11 March; an offset for times read in UTC), a number for numeric times. InputError
    when there is no usable time column, the times go back (the rows before a time would not be one stretch), or
    `until` is not of the column's kind."""
    import pandas as pd

    if time is None:
        raise InputError(f"--train-until {until}: the file has no time column",
                         hint="name it with --time-column, or use --train-rows")
    if np.issubdtype(np.asarray(time).dtype, np.number):
        try:
            limit = float(until)
        except ValueError as err:
            raise InputError(f"--train-until {until!r}: the time column holds numbers"
                             + (f" ({unit})" if unit else ""), hint="give a number, e.g. --train-until 3600") from err
        numbers, shown = np.asarray(time, float), f"{limit:g}"
    else:
        stamps = time_stamps(time)
        if stamps is None:
            raise InputError(f"--train-until {until}: the time column does not read as time stamps (an empty or "
                             "unreadable cell)", hint="fill or remove those rows, or use --train-rows")
        if re.fullmatch(r"\s*[+-]?\d+(?:\.\d*)?\s*", until):  # a number against dates: epoch numbers read as dates
            raise InputError(f"--train-until {until}: the time column holds dates (epoch numbers are read as dates in "
                             "UTC)", hint="give a date, e.g. --train-until 2026-11-09 or --train-until "
                                          "'2026-11-09 06:00'")
        try:
            parsed = pd.to_datetime(until, dayfirst=is_dotted_date(until))
        except (ValueError, TypeError) as err:
            raise InputError(f"--train-until {until!r} is not a date or time ({err})",
                             hint="e.g. --train-until 2024-03-11 or --train-until '2024-03-11 06:00'") from err
        if parsed.tzinfo is not None:  # zoned stamps are read as UTC (time_stamps); so is an offset given here
            parsed = parsed.tz_convert("UTC").tz_localize(None)
        numbers = stamps[0].astype("datetime64[ns]").astype(np.int64)
        limit = parsed.to_datetime64().astype("datetime64[ns]").astype(np.int64)
        shown = str(parsed)
    at_or_after = numbers >= limit
    cut = int(np.argmax(at_or_after)) if at_or_after.any() else len(numbers)
    # time going back elsewhere (an hour repeated at a clock change, weeks later) does not matter; a row before
    # the limit after the cut does: the rows before the time would not be one stretch of the file
    later = np.flatnonzero(numbers[cut:] < limit)
    if len(later):
        seconds = numbers / (1.0 if np.issubdtype(np.asarray(time).dtype, np.number) else 1e9)
        back = np.diff(seconds)[np.diff(seconds) < 0]
        # one step back by about an hour: a repeated hour (a clock set back), which sorting would interleave
        repeated_hour = len(back) == 1 and about_an_hour(back[0], median_step(seconds))
        raise InputError(f"--train-until {until}: data row {cut + later[0] + 1} comes before it, but after data row "
                         f"{cut + 1}, which does not: the time goes back, so the rows before a time are not one "
                         "stretch of the file",
                         hint="the file repeats an hour (a clock set back): give a time outside the repeated hour, "
                              "or use --train-rows" if repeated_hour else "sort the file by time, or use --train-rows")
    return cut, shown


def time_in_seconds(time, unit: str | None = None) -> tuple[np.ndarray, str, bool] | None:
    """The time column as float seconds (with "s") for date-times and for numbers in a known `unit` (s, ms,
    us, ns: a session's t, a column named time_ms), else as the file's numbers (with "": unit unknown); None
    when it is neither. The flag says whether the times are local clock time: date-times without an offset."""
    import pandas as pd

    if time is None or len(time) < 2:
        return None
    if pd.api.types.is_numeric_dtype(pd.Series(time)):
        numbers = np.asarray(time, float)
        if not np.isfinite(numbers).all():
            return None
        return (numbers * SECONDS_PER_UNIT[unit], "s", False) if unit in SECONDS_PER_UNIT else (numbers, "", False)
    parsed = time_stamps(time)
    if parsed is None:
        return None
    stamps, zoned = parsed
    return (stamps - stamps[0]).astype("timedelta64[ns]").astype(np.int64) / 1e9, "s", not zoned


def newest_first(values) -> bool:
    """Whether the times run backwards through the file (more steps back than forward): an export newest row
    first. E.g. [240, 180, 120, 60] -> True; [0, 60, 120, 60, 120] -> False (one step back, as at a clock change)."""
    steps = np.diff(np.asarray(values, float))
    return int((steps < 0).sum()) > int((steps > 0).sum())


def in_file_direction(values) -> np.ndarray:
    """The times as float, negated for a newest-first file: steps in the file's own direction come out
    positive, so intervals and durations measure it as it is read."""
    values = np.asarray(values, float)
    return -values if newest_first(values) else values


def median_step(values) -> float:
    """The median of the steps between consecutive times in the file's direction (`in_file_direction`: forward,
    or backward for a newest-first file); 0.0 when none goes that way. E.g. [0, 60, 120, 60, 120] -> 60.0: steps
    back and repeats are left out; [240, 180, 120] -> 60.0."""
    steps = np.diff(in_file_direction(values))
    return float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0


def median_interval(time, unit: str | None = None) -> dict | None:
    """{"interval": median step, "unit": "s" or ""} of a time column (see `time_in_seconds`), saved at fit so
    that scoring can tell a file sampled at another rate; None without usable times."""
    seconds = time_in_seconds(time, unit)
    step = median_step(seconds[0]) if seconds is not None else 0.0
    return {"interval": step, "unit": seconds[1]} if step else None


def rows_as_time(rows: float, sampling: dict | None) -> str:
    """" (2.5 h)" for 30 rows sampled every 5 minutes (`sampling` as `median_interval` gives it); "" when the
    interval is not in seconds (no time column, or numbers in unknown units)."""
    if not sampling or sampling.get("unit") != "s" or not sampling.get("interval"):
        return ""
    return f" ({_span_text(rows * sampling['interval'], 's')})"


def _span_text(value: float, unit: str) -> str:
    """'6 h' for seconds of date-times; the number for a numeric time column (its unit unknown)."""
    if unit != "s":
        return f"{value:.6g} (file units)"
    import pandas as pd

    from tinyad.battery.bms import describe_duration

    return describe_duration(pd.Timedelta(seconds=float(value)))


# When this share of the steps, and at least this many, are gaps (GAP_INTERVALS median intervals or more), the file
# is irregularly sampled, not interrupted now and then.
IRREGULAR_SHARE = 0.05
IRREGULAR_MIN_GAPS = 10


def sampling_notes(time, fitted: dict | None = None, unit: str | None = None, at_fit: bool = False) -> list[str]:
    """What the time column says that the detector cannot see, as notes: it takes the rows back to back, one
    sample per row. Gaps longer than GAP_INTERVALS median intervals (a region flagged there may be the gap),
    steps back in time, repeated stamps, and a median interval other than the fitted data's (`fitted`, from
    `median_interval`) by more than INTERVAL_TOLERANCE. Rows are data rows counted from 1; `unit` as in
    `time_in_seconds`. `at_fit`: for training data, where a gap's jump is learnt as normal rather than flagged."""
    seconds = time_in_seconds(time, unit)
    if seconds is None:
        return []
    values, unit, local_clock = seconds
    reversed_file = newest_first(values)
    values = in_file_direction(values)  # a newest-first file: its gaps and steps measured as it is read
    steps = np.diff(values)
    median = median_step(values)
    if not median:
        return []
    shown = np.asarray(time)
    notes = []
    if reversed_file:
        notes.append(f"the time runs backwards, newest row first ({time_text(shown[0])} .. {time_text(shown[-1])}): "
                     "the detector takes the rows in file order, so its windows and smoothing "
                     + ("learn the signals backwards in time" if at_fit else
                        "run back in time, unlike data recorded oldest first")
                     + "; sort the file oldest first")

    def at(i: int) -> str:  # the step from row i + 1 to row i + 2 (counted from 1), with the file's stamps
        return f"rows {i + 1} -> {i + 2} ({time_text(shown[i])} -> {time_text(shown[i + 1])})"

    # Local clock time without an offset jumps an hour at a daylight-saving switch: forward in spring (an hour
    # that looks missing), back in autumn (an hour that repeats). Sorting would interleave the two hours.
    def clock_change(step: float) -> bool:
        return local_clock and about_an_hour(step, median)

    gaps = np.flatnonzero(steps > GAP_INTERVALS * median)
    if len(gaps):
        largest = int(gaps[np.argmax(steps[gaps])])
        dst = (" (an hour, as when clocks go forward at a daylight-saving switch: time stamps with a UTC offset "
               "show whether data are missing)" if clock_change(steps[largest]) else "")
        notes.append(f"{len(gaps)} gap(s) longer than {GAP_INTERVALS:g} sampling intervals "
                     f"({_span_text(median, unit)}); the largest, {_span_text(steps[largest], unit)}, at "
                     f"{at(largest)}{dst}: the detector takes the rows back to back, so "
                     + ("it learns the jump across a gap as normal" if at_fit else
                        "a region flagged at a gap may be the jump across it"))
        if len(gaps) >= max(IRREGULAR_MIN_GAPS, IRREGULAR_SHARE * len(steps)):  # a logger writing on change
            notes.append(f"{len(gaps) / len(steps):.0%} of the steps are gaps: the rows look irregularly sampled, as "
                         "from a logger that writes only when a value changes; windows and smoothing count rows, "
                         "so 10 rows may be seconds or hours: resample the file to a fixed interval first (pandas: "
                         "frame.set_index(TIME_COLUMN).resample('10s').ffill(), its time column read with "
                         "parse_dates)")
    back = np.flatnonzero(steps < 0)
    if len(back):
        first = int(back[0])
        advice = ("an hour back, as when clocks go back at a daylight-saving switch or a clock is set back: the "
                  "rows are scored in file order, which keeps a repeated hour apart (sorting would interleave it); "
                  "time stamps with a UTC offset keep them apart" if len(back) == 1 and clock_change(steps[first])
                  else "the rows are scored in file order; sort the file by time")
        notes.append(f"time goes {'forward' if reversed_file else 'back'} at {len(back)} row(s), first at "
                     f"{at(first)}: {advice}")
    repeats = np.flatnonzero(steps == 0)
    if len(repeats):
        notes.append(f"{len(repeats)} repeated time stamp(s), first at {at(int(repeats[0]))}: each row counts as "
                     "one sample")
    if other := other_interval_note(median, unit, fitted):
        notes.append(other)
    return notes


def other_interval_note(median: float, unit: str | None, fitted: dict | None) -> str | None:
    """A note when a file's `median` sampling interval (in `unit`) differs from the fitted data's (`fitted`, from
    `median_interval`) by more than INTERVAL_TOLERANCE; None otherwise or when the units differ."""
    if not fitted or fitted.get("unit") != unit or not fitted.get("interval") or not median:
        return None
    if abs(median / float(fitted["interval"]) - 1) <= INTERVAL_TOLERANCE:
        return None
    return (f"rows are {_span_text(median, unit)} apart (median), the detector was fitted on rows "
            f"{_span_text(fitted['interval'], unit)} apart: windows and smoothing count rows, so resample the file to "
            "the fitted interval")
