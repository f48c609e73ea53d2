"""Reading time: which column of a table is its time column, and its cells as date-times, epoch numbers or
elapsed time. One reader for `tinyad detect`, `tinyad import csv` and the battery loader's epoch and day-first
guesses, so a file's stamps mean the same to each of them."""

from __future__ import annotations

import re
import warnings

import numpy as np


# Column names that hold time stamps: `detect fit` / `score` take such a column as the time column when no
# --time-column is given (a session exported to CSV keeps its "t"; SKAB has "datetime", NAB "timestamp").
# Then the names historians and spreadsheets write in German, French, Spanish, Italian, Dutch and Danish or
# Norwegian: whole names only, none of them a word for a measured quantity (the column must also read as time).
TIME_LIKE_NAMES = ("t", "time", "timestamp", "time_stamp", "datetime", "date_time", "date", "seconds",
                   "epoch", "epoch_time", "unix_time", "unixtime",
                   "zeit", "zeitstempel", "zeitpunkt", "datum", "uhrzeit", "horodatage", "fecha", "tiempo",
                   "data_ora", "tijd", "tijdstempel", "tidspunkt", "tidsstempel")
# A time column named with its unit: "time_s", "t_ms", "timestamp (us)", "time[s]", "Zeit [s]", "epoch_ms".
_TIME_WITH_UNIT = re.compile(r"(?:t|time|timestamp|elapsed|zeit|epoch|unix)\s*[_\s\[(]\s*(s|ms|us|ns|min|h)\s*[\])]?")
_UNIT_SUFFIX = re.compile(r".*[_\s\[(](s|ms|us|ns|min|h)\s*[\])]?")
# How loggers dress a time column's name: "Date Time", "Date/Time", "Time-Stamp", "Timestamp (UTC)", "Zeit [UTC]".
_NAME_SEPARATORS = re.compile(r"[\s/\-]+")
_ZONE_SUFFIX = re.compile(r"_?[(\[]?(?:utc|gmt|local|lt|mez|cet)[)\]]?$")


def _plain_time_name(name) -> str:
    """A column name as the time names are listed: lower case, spaces, "/" and "-" as "_", a zone after it left
    aside. E.g. "Timestamp (UTC)" -> "timestamp", "Date/Time" -> "date_time"."""
    return _ZONE_SUFFIX.sub("", _NAME_SEPARATORS.sub("_", str(name).strip().lower())).strip("_")


# Names of time columns that hold instants, not elapsed time: only these are read as epoch numbers. A "t" or a
# "time" of 1.04e9 may as well be an Arduino's millis() after 12 days, or a counter.
ABSOLUTE_TIME_NAMES = ("timestamp", "time_stamp", "datetime", "date_time", "date", "epoch", "epoch_time",
                       "unix_time", "unixtime", "unix", "zeitstempel", "tijdstempel", "tidsstempel", "horodatage")


def names_an_instant(name) -> bool:
    """Whether a time column's name says it holds instants (ABSOLUTE_TIME_NAMES, with or without a unit:
    "Timestamp (UTC)", "epoch_ms", "unix_s"), so that epoch numbers in it are dates."""
    plain = _plain_time_name(name)
    base = re.sub(r"_?[\[(]?(?:s|ms|us|ns)[\])]?$", "", plain).strip("_")
    return plain in ABSOLUTE_TIME_NAMES or base in ABSOLUTE_TIME_NAMES


def time_like_column(names) -> str | None:
    """The first of `names` that is named like a time column (TIME_LIKE_NAMES, or a time name with a unit
    such as "time_ms"; any case; spaces, "/" and "-" as "_", a zone after it left aside), else None. E.g.
    time_like_column(["t", "ax"]) -> "t"; time_like_column(["ax", "Time_s"]) -> "Time_s";
    time_like_column(["Date/Time", "ax"]) -> "Date/Time"; time_like_column(["tilt", "ax"]) -> None."""
    for name in names:
        text = str(name).strip().lower()
        if text in TIME_LIKE_NAMES or _plain_time_name(name) in TIME_LIKE_NAMES or _TIME_WITH_UNIT.fullmatch(text):
            return name
    return None


def reads_as_time(values) -> bool:
    """Whether a column can be time stamps: finite numbers that never decrease, or text that parses as
    dates that never decrease. E.g. [0.0, 0.01, 0.02] -> True; [21.5, 21.4] (a temperature) -> False."""
    import pandas as pd

    series = pd.Series(values)
    if len(series) == 0:
        return False
    if pd.api.types.is_numeric_dtype(series):
        numbers = series.to_numpy(dtype=float)
    else:
        parsed = time_stamps(series)
        if parsed is None:
            return False
        numbers = parsed[0].astype(np.int64).astype(float)
    return bool(np.isfinite(numbers).all() and (np.diff(numbers) >= 0).all())


# A date (2024-03-11, 11.03.2024, 03/11/2024) or a clock time (00:00) somewhere in a text: pandas alone also
# parses "1,5" (a quoted decimal comma) and "now" as dates.
_DATE_OR_CLOCK = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}|\d{1,2}:\d{2}")


def is_date_or_time_text(value) -> bool:
    """Whether a cell is text that reads as a date or a time of day: a date or clock pattern that
    `time_stamps` parses. E.g. "11.03.2024 00:00", "2024-03-11", "12:30" -> True; "1,5", "now", "off" -> False."""
    return (isinstance(value, str) and _DATE_OR_CLOCK.search(value) is not None
            and time_stamps([value]) is not None)


def reads_as_time_column(values) -> bool:
    """Whether a column named like time is the time column: it reads as time stamps (`reads_as_time`), or it
    holds dates and times, every one of them, in any order (an unsorted export, which the sampling notes of
    `detect` name). Numbers must still never decrease: a temperature "T" stays a signal.
    E.g. ["2024-03-11 00:10", "2024-03-11 00:00"] -> True; [21.5, 21.4] -> False."""
    import pandas as pd

    series = pd.Series(values)
    if reads_as_time(series):
        return True
    if not len(series) or pd.api.types.is_numeric_dtype(series):
        return False
    if not pd.api.types.is_datetime64_any_dtype(series) and not series.astype(str).str.contains(_DATE_OR_CLOCK).all():
        return False
    return time_stamps(series) is not None


def is_dotted_date(value) -> bool:
    """Whether a time stamp is written with dots (18.03.2024 ...): day first in every locale that writes dates
    so, unlike slashes (10/06/2021: 10 June or 6 October)."""
    return re.match(r"\s*\d{1,2}\.\d{1,2}\.\d{2,4}\b", str(value)) is not None


def time_stamps(values) -> tuple[np.ndarray, bool] | None:
    """Date-time text or datetimes as datetime64[ns] (NaT-free), or None when not all of them parse. Stamps
    with a UTC offset or a time zone come back as UTC, with True: they are instants, and a file whose offset
    changes at a daylight-saving switch (+01:00, then +02:00) only reads in order that way. Stamps without
    one come back as written, with False. E.g. ["2024-03-31T01:59+01:00", "2024-03-31T03:00+02:00"] ->
    (['2024-03-31T00:59', '2024-03-31T01:00'], True). Dates with dots (18.03.2024) are day first, as every
    locale writing them has it; with slashes month first unless only day first parses (13/03/2024) or reads as the
    more regular series (`_more_regular`: hourly rows over 01/03 .. 12/03 are twelve days, not a year of jumps)."""
    import pandas as pd

    series = pd.Series(values)
    if not len(series):
        return None
    dotted = is_dotted_date(series.iloc[0])
    with warnings.catch_warnings():  # pandas warns when it guesses a date format
        warnings.simplefilter("ignore")
        readings = {}
        for dayfirst in ([True] if dotted else [False, True]):
            try:
                readings[dayfirst] = pd.to_datetime(series, errors="raise", utc=True, dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError):
                continue
        if not readings:
            return None
        dayfirst = next(iter(readings))
        if len(readings) == 2 and not readings[False].equals(readings[True]):
            dayfirst = _more_regular(readings[False], readings[True])
        stamps = readings[dayfirst]
        if stamps.isna().any():
            return None
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            zoned = True
        else:
            try:  # without utc=True, stamps with offsets stay zoned, and mixed offsets do not parse at all
                zoned = isinstance(pd.to_datetime(series, errors="raise", dayfirst=dayfirst).dtype,
                                   pd.DatetimeTZDtype)
            except (ValueError, TypeError, OverflowError):
                zoned = True
    return stamps.dt.tz_localize(None).to_numpy("datetime64[ns]"), zoned


def _more_regular(month_first, day_first) -> bool:
    """Which of two readings of ambiguous slash dates to keep (True: day first): the one whose time goes back less
    often, then the one whose largest step is the smaller multiple of its median step, then the one whose steps
    vary less (daily rows 01/03 .. 12/03: a day each, against months of 29 to 31 days); month first on a tie (the
    form's usual reading)."""
    def irregularity(stamps):
        steps = np.diff(stamps.to_numpy("datetime64[ns]").astype("int64")).astype(float)
        forward = steps[steps > 0]
        if not len(forward):
            return int((steps < 0).sum()), 0.0, 0.0
        return (int((steps < 0).sum()), float(forward.max() / np.median(forward)),
                float(forward.std() / forward.mean()))

    return irregularity(day_first) < irregularity(month_first)


# A date without a time of day (11.03.2024, 2024-03-11, 3/11/2024) and a time of day without a date (00:00,
# 14:05:30.250, 3:04:05 PM): the two halves of one stamp that some exports write in two columns (Datum;Uhrzeit).
_DATE_ONLY = re.compile(r"\s*\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\s*")
_CLOCK_ONLY = re.compile(r"\s*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?\s*")
# How a date column and a clock column are named as one time column: "Datum+Uhrzeit" (--time-column, saved at fit).
JOINED_TIME = "+"


def date_and_clock_columns(frame, names) -> tuple[str, str] | None:
    """(date column, clock column) when two of `names`, in the order given, are a column of dates without a
    time of day and a column of times of day without a date (blank cells aside); else None. E.g. a frame with
    Datum ["11.03.2024", ...] and Uhrzeit ["00:00:00", ...] -> ("Datum", "Uhrzeit")."""
    def every(name, pattern) -> bool:
        column = frame[name].dropna()
        return (len(column) > 0 and column.map(lambda cell: isinstance(cell, str)).all()
                and column.str.fullmatch(pattern).all())

    names = list(names)
    date = next((name for name in names if every(name, _DATE_ONLY)), None)
    clock = next((name for name in names if every(name, _CLOCK_ONLY)), None)
    return (date, clock) if date is not None and clock is not None else None


def joined_time_column(frame, date: str, clock: str) -> str:
    """Add to `frame` the column "date+clock" holding each row's date and time of day as one stamp
    ("11.03.2024 00:00:00"; empty where either half is), and return its name."""
    name = f"{date}{JOINED_TIME}{clock}"
    both = frame[date].notna() & frame[clock].notna()
    frame[name] = (frame[date].astype(str).str.strip() + " " + frame[clock].astype(str).str.strip()).where(both)
    return name


# Epoch numbers from 2000-01-01 (946,684,800 s) to this bound, in the unit their size suggests, are dates; a
# logger's elapsed-time counter this large would have run for 30 years (in s), or 11 days in ms, named so.
EPOCH_FIRST_SECONDS = 946_684_800
EPOCH_UNITS = ((1e11, "s", "seconds"), (1e14, "ms", "milliseconds"), (1e17, "us", "microseconds"),
               (float("inf"), "ns", "nanoseconds"))  # 1e11 s is the year 5138, 1e11 ms 1973: no overlap


def epoch_unit(numbers) -> tuple[str, str]:
    """(pandas unit, name) of numeric times, by the magnitude of their median: seconds up to 1e11 (also
    elapsed seconds from 0), milliseconds up to 1e14, microseconds up to 1e17, nanoseconds above (EPOCH_UNITS:
    any date from 1973 to 5138 is read in the right unit). E.g. [1794182400000] -> ("ms", "milliseconds")."""
    numbers = np.asarray(numbers, float)
    finite = np.abs(numbers[np.isfinite(numbers)])
    magnitude = float(np.median(finite)) if len(finite) else 0.0
    return next((unit, name) for bound, unit, name in EPOCH_UNITS if magnitude < bound)


def epoch_stamps(values, name_unit: str | None = None) -> tuple[np.ndarray, str] | None:
    """(ISO 8601 UTC text, one per cell, None where blank; the unit's name) for numbers that are epoch times:
    seconds, milliseconds, microseconds or nanoseconds since 1970 by their size (EPOCH_UNITS), all from 2000 to
    a year from now, in the unit the column's name states if it states one (`name_unit`: a "time_ms" of 1.7e12 is
    epoch milliseconds, an "elapsed_ms" of 6e8 is no date). Else None. E.g. [1794182400000, 1794182401000] ->
    (["2026-11-09T00:00:00.000Z", "2026-11-09T00:00:01.000Z"], "milliseconds")."""
    import pandas as pd

    series = pd.Series(values)
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    numbers = series.dropna().to_numpy(float)
    if not len(numbers) or not np.isfinite(numbers).all():
        return None
    unit, name = epoch_unit(numbers)
    seconds = numbers / {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    latest = (np.datetime64("now", "s") - np.datetime64(0, "s")).astype(float) + 366 * 86400
    if (name_unit not in (None, unit)) or seconds.min() < EPOCH_FIRST_SECONDS or seconds.max() > latest:
        return None
    # whole ticks of the unit (milliseconds for fractional seconds: exact in float64 up to 2e15), shown to the
    # coarsest unit that keeps every value (whole seconds of milliseconds print without .000)
    tick = "ms" if unit == "s" and not np.all(numbers == np.round(numbers)) else unit
    ticks = np.round(numbers * (1000 if tick != unit else 1)).astype("int64")
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
    coarser = [name for name in per_second if per_second[name] <= per_second[tick]]
    shown = next(name for name in coarser if np.all(ticks % (per_second[tick] // per_second[name]) == 0))
    stamps = np.full(len(series), None, dtype=object)
    stamps[series.notna().to_numpy()] = np.datetime_as_string(ticks.astype(f"datetime64[{tick}]"), unit=shown,
                                                               timezone="UTC")
    return stamps, name


def time_unit_from_name(name: str | None) -> str | None:
    """The unit a time column's name states, else None: "seconds" -> "s", "time_ms" -> "ms",
    "t (s)" -> "s"; "t", "time", "datetime" -> None (a plain "t" may be seconds or milliseconds)."""
    if not name:
        return None
    text = str(name).strip().lower()
    if text in ("seconds", "secs", "sec"):
        return "s"
    match = _UNIT_SUFFIX.fullmatch(text)
    return match.group(1) if match else None
