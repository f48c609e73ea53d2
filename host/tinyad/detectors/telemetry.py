"""Reading multivariate telemetry for the label-free detectors (CSV, Parquet, tinyad IMU sessions): the columns,
the time column, the numbers however a logger or spreadsheet wrote them, and a note for everything assumed."""

from __future__ import annotations

import codecs
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.csvfile import (THOUSANDS_MARK_HINT, ends_without_line_end, first_dotted_group, sniff_separator,
                            unfinished_last_line_note)
from tinyad.errors import InputError
from tinyad.timestamps import (JOINED_TIME, date_and_clock_columns, epoch_stamps, is_date_or_time_text,
                               joined_time_column, names_an_instant, reads_as_time_column, time_like_column,
                               time_unit_from_name)


@dataclass
class Telemetry:
    """`values` (time, channels) float64, `columns` their names, `time` (time,) or None, `labels` 0/1 or
    None (only for evaluation; never used by fit or thresholds)."""

    source: str
    columns: list[str]
    values: np.ndarray
    time: np.ndarray | None = None
    labels: np.ndarray | None = None
    time_name: str | None = None  # the time column's name (a session's "t"), for output files and axes
    label_like_left_out: list[str] = field(default_factory=list)  # see `load_telemetry(drop_label_like=True)`
    time_unit: str | None = None  # "s" for a session's t, or what the time column's name says ("time_ms": "ms")
    time_guessed: bool = False  # the time column was taken by its name (`load_telemetry(guess_time=True)`)
    time_like_signal: str | None = None  # a column named like time that does not read as time stamps: a signal
    session_label: str | None = None  # a tinyad session's metadata label ("normal", "bearing_fault", ...)
    # what reading did or assumed that the user should be told (an encoding, a remembered column the file lacks,
    # columns the detector does not use); `detect fit` and `detect score` print them as notes
    notes: list[str] = field(default_factory=list)
    # (time, channels) True where a cell held an over- or under-range mark ("OVF"), read as the column's extreme
    range_marked: np.ndarray | None = None
    # well-known label columns that are not inputs, each as True where it marks a row anomalous (1): fit warns
    # when its training rows hold such rows (`load_telemetry(drop_label_like=True)` fills it)
    label_like_marks: dict[str, np.ndarray] = field(default_factory=dict)


# Column names that hold ground truth in public anomaly data sets (SKAB: anomaly, changepoint; NAB, SWaT...).
# Fed to a detector as signals they leak the answer into the model, so `detect fit` leaves them out unless the
# user names them with --columns.
LABEL_LIKE_NAMES = ("anomaly", "changepoint", "label", "labels", "is_anomaly", "attack")


def label_like_columns(names) -> list[str]:
    """The names among `names` that are well-known label columns (LABEL_LIKE_NAMES, any case), in order.
    E.g. label_like_columns(["Current", "Anomaly", "changepoint"]) -> ["Anomaly", "changepoint"]."""
    return [name for name in names if str(name).strip().lower() in LABEL_LIKE_NAMES]


def _likely_separator(frame) -> str | None:
    """The separator a CSV probably uses when it was read as one column whose name still holds one
    (a wrong --sep): ';', tab or ',', whichever the header holds most of; else None."""
    if len(frame.columns) != 1:
        return None
    header = str(frame.columns[0])
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


_DECIMAL_COMMA = r"[+-]?\d+(?:,\d+)?(?:[eE][+-]?\d+)?"  # 6,25 -1,5e2 and whole numbers (7)


# A text column is read with decimal commas when at least this share of its cells are such numbers: a logger's
# few text cells (ERR, ---, OVF) are then handled as in a file with decimal points (missing, or over range).
DECIMAL_COMMA_SHARE = 0.9


def _with_decimal_commas(frame, sep: str) -> list[str]:
    """Read as numbers, in place, the text columns of `frame` whose cells are numbers written with a decimal
    comma ("6,27", as spreadsheets in many locales export with ';' separators), at least DECIMAL_COMMA_SHARE of
    them; the other cells stay text, as they would beside decimal points. Returns their names. Not for ','
    separated files, where a comma inside a (quoted) number is a thousands separator."""
    import pandas as pd

    read = []
    if sep == ",":
        return read
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or column.isna().all():
            continue
        text = column.astype(str).str.strip()
        numbers = text.str.fullmatch(_DECIMAL_COMMA) & column.notna()
        present = int(column.notna().sum())
        if numbers.sum() >= DECIMAL_COMMA_SHARE * present and text[numbers].str.contains(",", regex=False).any():
            converted = pd.to_numeric(text.where(numbers).str.replace(",", ".", regex=False), errors="coerce")
            frame[name] = converted if numbers.sum() == present else column.where(~numbers, converted)
            read.append(name)
    return read


# Bad cells in no more than this many top rows, all of them text, are lines of a header, not gaps in the data.
HEADER_LINES_AT_MOST = 5


def _refuse_dotted_groups(path: Path, frame, chosen: list, decimal_commas: list, read_text) -> None:
    """Refuse signal columns holding digits grouped by points ("1.100,5", or "1.100" in a file with
    `decimal_commas`): a thousands mark or a decimal point? (`csvfile.first_dotted_group`). Text columns are
    checked as read; numeric ones, only beside decimal commas, from their cells as text (`read_text(names)`)."""
    import pandas as pd

    # a decimal-comma column with a few text cells holds floats among them: checked from the file's text as well
    numbers = [name for name in chosen if pd.api.types.is_numeric_dtype(frame[name]) or name in decimal_commas]
    text = read_text(numbers) if decimal_commas and numbers else None
    for name in chosen:
        cells = frame[name] if name not in numbers else text[name] if text is not None else None
        if cells is not None and not decimal_commas:  # "1.100" beside points only: a decimal point
            cells = cells[cells.astype(str).str.contains(",", regex=False)]
        if cells is not None and (cell := first_dotted_group(cells)) is not None:
            if "," in cell:  # 1.100,5: the point can only group thousands
                raise InputError(f"{path}: column {name!r} holds {cell!r}, a number with a thousands mark, which "
                                 "is not read", hint=THOUSANDS_MARK_HINT)
            raise InputError(f"{path}: column {name!r} holds {cell!r} in a file with decimal commas (column "
                             f"{decimal_commas[0]!r}): is '.' a thousands mark there or a decimal point?",
                             hint=f"for a thousands mark, {THOUSANDS_MARK_HINT}; for decimal points, export every "
                                  "column with points")


# What loggers and meters write when a reading is beyond the sensor's range: the fault's worst moments, which
# interpolating between the readings around them would turn into ordinary values.
_OVER_RANGE = re.compile(r"\s*(?:\+?(?:OVF|OVL|OL|OVER|OVERRANGE|OVER[ _-]RANGE|OVERFLOW)|>\s*RANGE)\s*", re.I)
_UNDER_RANGE = re.compile(r"\s*(?:-(?:OVF|OVL|OL|OVER)|UNF|UFL|UNDER|UNDERRANGE|UNDER[ _-]RANGE|UNDERFLOW|"
                          r"<\s*RANGE)\s*", re.I)


def _read_range_marks(frame, chosen: list, numeric: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Read over-range marks ("OVF", "OL", "+OVER") in the text cells of the signal columns as the column's largest
    reading in the file, and under-range marks ("UNF", "-OL") as its smallest, in `numeric` (in place); return a note
    per column and the cells so read (rows, columns). The true value lay beyond, so an alarm there stays an alarm;
    a column with no reading is left alone (the bad-cell error names it)."""
    import pandas as pd

    notes, marked = [], np.zeros(numeric.shape, bool)
    for j, name in enumerate(chosen):
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        readings = numeric[:, j][np.isfinite(numeric[:, j])]
        if time_like_column([name]) is not None and (np.diff(readings) >= 0).all():  # a time column's stamps
            continue
        text = column.astype(str)
        over = text.str.fullmatch(_OVER_RANGE).to_numpy(bool) & column.notna().to_numpy()
        under = text.str.fullmatch(_UNDER_RANGE).to_numpy(bool) & column.notna().to_numpy()
        if not (over.any() or under.any()) or not len(readings):
            continue
        numeric[over, j], numeric[under, j] = readings.max(), readings.min()
        marked[:, j] = over | under
        parts = ([f"{int(over.sum())} over-range cell(s) (e.g. {text[over].iloc[0].strip()!r}) as its largest "
                  f"reading, {readings.max():g}"] if over.any() else []) + (
                 [f"{int(under.sum())} under-range cell(s) (e.g. {text[under].iloc[0].strip()!r}) as its smallest, "
                  f"{readings.min():g}"] if under.any() else [])
        notes.append(f"column {name!r}: read {' and '.join(parts)} (the true values lay beyond: the error there is "
                     "a lower bound)")
    return notes, marked


def missing_runs(column: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) rows of each run of non-finite cells in one column, e.g. [1, nan, nan, 4, nan] ->
    [(1, 2), (4, 4)]."""
    from tinyad.evaluation import events  # the project's runs of 1s, half-open

    return [(start, stop - 1) for start, stop in events(~np.isfinite(np.asarray(column, float)))]


def fill_short_gaps(values: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(a copy of (time, channels) `values` with each run of at most `limit` non-finite cells in a channel filled
    by linear interpolation between its neighbours, or with the nearest value at the start or end; cells filled
    per channel). Longer runs, and channels without a single number, stay as they are. E.g. the column
    [1, nan, 3, nan, nan, nan, 7] with limit 2 -> [1, 2, 3, nan, nan, nan, 7], one cell filled."""
    filled_values = np.array(values, float)
    filled = np.zeros(filled_values.shape[1], int)
    n = len(filled_values)
    for j, column in enumerate(filled_values.T):  # views: writing to `column` writes to `filled_values`
        runs = missing_runs(column)
        if limit <= 0 or not runs or runs[0] == (0, n - 1):
            continue
        for first, last in runs:
            if last - first + 1 > limit:
                continue
            before, after = first - 1, last + 1
            if before < 0 or after >= n:  # at the start or end: the nearest value, nothing to interpolate to
                column[first:last + 1] = column[after if before < 0 else before]
            else:
                column[first:last + 1] = np.interp(np.arange(first, last + 1), [before, after],
                                                   [column[before], column[after]])
            filled[j] += last - first + 1
    return filled_values, filled


def _bad_cell_hint(frame, column: str, row: int, needed_by_model: bool = False, others=()) -> str:
    """What to do about the first bad cell: an empty/NaN cell in a numeric column wants filling or --drop;
    text wants --time-column, --drop or --label-column. When `needed_by_model` (scoring: a fitted detector
    takes the column as an input) --drop cannot help, so the hint is to clean the file or refit without it.
    `others`: further columns with bad cells, named in the --drop offered."""
    import pandas as pd

    column_list = ",".join([column, *others])
    empty = pd.isna(frame[column].iloc[row])
    if needed_by_model:
        what = "fill or interpolate the missing values" if empty else "replace the text by numbers"
        what += f" of {column!r}"
        return (f"the detector was fitted on {column!r} and needs it in every row: {what} (or remove those rows), "
                f"or refit without the column{'s' if others else ''} (`tinyad detect fit ... --drop "
                f"{column_list!r}`)")
    if empty:
        return (f"the cell is empty or NaN: fill or interpolate the missing values of {column!r}, or leave the "
                f"column{'s' if others else ''} out with --drop {column_list!r}")
    return ("a time or date column: name it with --time-column; a label or other text: leave it out with --drop "
            f"{column_list!r} (or --label-column); else clean the file")


# What Excel's "CSV" writes in Western Europe (and what Windows editors call ANSI there): "°C" is the byte 0xb0.
FALLBACK_ENCODING = "cp1252"
_AS_FALLBACK = "tinyad-cp1252"  # a codec error handler: the bytes that are not UTF-8, decoded as Windows-1252


def _decode_as_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 could not as Windows-1252 (raising UnicodeDecodeError for 0x81, 0x8d, 0x8f, 0x90
    and 0x9d, which it leaves undefined)."""
    return error.object[error.start:error.end].decode(FALLBACK_ENCODING), error.end


codecs.register_error(_AS_FALLBACK, _decode_as_fallback)


def decode_utf8_or_cp1252(data: bytes) -> tuple[str, str | None]:
    """(text, note): `data` as UTF-8 (a byte-order mark dropped), with each byte that is not UTF-8 read as
    Windows-1252, and a note counting those (None when there are none). A file saved by Excel as CSV in Western
    Europe is wholly Windows-1252; a UTF-8 file one edit made in another editor keeps its UTF-8 characters
    (b"\xc2\xb0C \xb0C" -> "°C °C"). Raises UnicodeDecodeError for a byte neither encoding has."""
    text = data.decode("utf-8-sig", errors=_AS_FALLBACK)
    utf8_only = data.decode("utf-8-sig", errors="ignore")
    foreign = len(data.removeprefix(b"\xef\xbb\xbf")) - len(utf8_only.encode("utf-8"))
    if not foreign:
        return text, None
    rest = "; the rest is UTF-8" if any(ord(char) > 127 for char in utf8_only) else ""
    return text, (f"not UTF-8 text: {foreign} byte(s) read as Windows-1252 (cp1252), as Excel writes in Western "
                  f"Europe{rest}")


def _read_csv_any_encoding(path: Path, sep: str, **read_csv_kwargs):
    """(frame, notes): the CSV read as UTF-8 (with or without a byte-order mark), else with its bytes that are not
    UTF-8 read as Windows-1252 (`decode_utf8_or_cp1252`) and a note saying so; InputError when neither will do."""
    import io

    import pandas as pd

    try:
        return pd.read_csv(path, sep=sep, **read_csv_kwargs), []
    except UnicodeDecodeError as utf8_error:
        try:
            text, note = decode_utf8_or_cp1252(path.read_bytes())
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 or Windows-1252 text ({utf8_error})",
                             hint="save the file as UTF-8 text (in Excel: Save As, \"CSV UTF-8\")") from utf8_error
        return pd.read_csv(io.StringIO(text), sep=sep, **read_csv_kwargs), [note] if note else []


def close_column_matches(missing, available, cutoff: float = 0.8) -> dict[str, str]:
    """For each name in `missing`, the most similar name in `available` (difflib ratio >= `cutoff`, any case)
    where there is one. E.g. close_column_matches(["suction_pressure_bar"], ["suction_pressure_mbar", "flow"])
    -> {"suction_pressure_bar": "suction_pressure_mbar"}."""
    by_lower = {str(name).lower(): name for name in available}
    matches = {}
    for name in missing:
        best = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=cutoff)
        if best:
            matches[name] = by_lower[best[0]]
    return matches


def _missing_columns_error(path: Path, missing: list, file_columns: list, used: list,
                           needed_by_model: bool) -> InputError:
    """The error for `columns` the file lacks, with the file's columns that look like them (a renamed or
    re-unit column: "suction_pressure_mbar" for "suction_pressure_bar") and what to do."""
    matches = close_column_matches(missing, [c for c in file_columns if c not in used])
    guesses = ", ".join(f"{found!r} for {name!r}" for name, found in matches.items())
    did_you_mean = f" (did you mean {guesses}?)" if guesses else ""
    names = ",".join(map(str, missing))
    if needed_by_model:
        hint = ("the detector needs every column it was fitted on: add the column(s) to the file or rename the "
                "file's column(s) to those names (a renamed column must hold the same signal in the same unit), or "
                f"refit without them (`tinyad detect fit ... --drop {names!r}`)")
    else:
        hint = "name columns the file has (every file fitted on needs all the --columns)"
    return InputError(f"{path}: missing columns {missing}{did_you_mean}; the file has {file_columns}", hint=hint)


# At most this many unused columns are named in the note; a 200-tag historian export would fill the screen.
UNUSED_COLUMNS_SHOWN = 8


def unused_columns_note(names, shown: int = UNUSED_COLUMNS_SHOWN) -> str | None:
    """The note for the file's columns the detector does not take (`names`), the first `shown` named; None when
    there are none. E.g. ["oil_pressure_bar", "operator_note"] -> "columns not used by the detector:
    oil_pressure_bar, operator_note"; 10 names -> the first 8, then "and 2 more"."""
    names = [str(name) for name in names]
    if not names:
        return None
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"columns not used by the detector: {', '.join(names[:shown])}{more}"


def leading_comment_lines(path: Path, most: int = 1000) -> tuple[list[str], int, str | None]:
    """(the lines at the top of a text file that start with "#", stripped: a logger's export notes above the
    header; how many lines to skip to the header, blank ones among them included; the first line after them, or
    None). At most `most` lines are read."""
    comments, skipped = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.lstrip("\ufeff").strip()
            if skipped >= most or (text and not text.startswith("#")):
                return comments, skipped, text
            skipped += 1
            if text:
                comments.append(text)
    return comments, skipped, None


def _next_text_line(path: Path, after: int) -> int:
    """The index of the first line after line `after` (counted from 0) that is not blank: the row under a header,
    blank lines aside (pandas skips those)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for index, line in enumerate(handle):
            if index > after and line.lstrip("\ufeff").strip():
                return index
    return after + 1


def _data_lines_end_with(path: Path, sep: str, skipped: int, most: int = 20) -> bool:
    """Whether the first `most` data lines (after `skipped` comment lines and the header) all end with `sep`:
    an export that closes every data row with a separator, which pandas would read as one field more."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        lines = [line.rstrip("\r\n") for _, line in zip(range(skipped + 1 + most), handle)][skipped + 1:]
    lines = [line for line in lines if line.strip()]
    return bool(lines) and all(line.endswith(sep) for line in lines)


def _all_numbers(line: str, sep: str) -> bool:
    """Whether every field of a text line is a number (a data row, not a header)."""
    fields = [field.strip().strip('"') for field in line.split(sep)]
    return len(fields) > 1 and all(_NUMBER_TEXT.fullmatch(field) for field in fields)


_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?\s*")


def unit_row(frame) -> list[str] | None:
    """The first data row's cells when it is a row of units under the header (`s;A;°C`): text in every cell
    (blanks aside) that is neither a number nor a date, above a column holding nothing but numbers after it
    (with decimal points or commas); else None."""
    import pandas as pd

    if len(frame) < 2:
        return None
    first = [cell for cell in frame.iloc[0] if not pd.isna(cell)]
    if not first or not all(isinstance(cell, str) and not _NUMBER_TEXT.fullmatch(cell)
                            and not is_date_or_time_text(cell) for cell in first):
        return None
    rest = frame.iloc[1:]
    for name in frame.columns:
        cells = rest[name].dropna()
        if len(cells) and cells.astype(str).str.fullmatch(_NUMBER_TEXT).all():
            return [str(cell).strip() for cell in first]
    return None


def _is_blank(path: Path) -> bool:
    """True for a text file with nothing but whitespace in its first 4 KiB (read only that much)."""
    try:
        with open(path, "rb") as handle:
            return not handle.read(4096).strip()
    except OSError:
        return False  # the reader below names the problem


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
                   drop: list[str] | None = None, *, drop_label_like: bool = False,
                   optional: tuple[str, ...] = (), guess_time: bool = False,
                   needed_by_model: bool = False, fill_missing: int = 0) -> Telemetry:
    """Load one file. A tinyad session (.parquet with session metadata) gives its channels and `t`;
    any other CSV/Parquet gives the `columns` (default: every column except the time and label columns and
    those in `drop`; all must be numeric). CSV separators are sniffed unless `sep` is given (SKAB uses ';');
    a CSV that is not UTF-8 has those bytes read as Windows-1252 (Excel's CSV in Western Europe).
    `drop_label_like` also leaves out well-known label columns (`label_like_columns`) when `columns` is not
    given; those left out are listed in `Telemetry.label_like_left_out`, and every label-like column that is
    not an input gives `Telemetry.label_like_marks`. `optional` names the options
    ("time", "label") whose column may be absent (then ignored, with a note): defaults remembered from a fit,
    not asked for; "label-given" likewise for a label column asked for at scoring (it only evaluates).
    `guess_time`: with no `time_column` (or an optional one the file lacks), a column named like one
    (`time_like_column`, not among `columns`, `drop` or the label column) that reads as time
    (`reads_as_time_column`: never-decreasing numbers, or dates in any order) is the time column
    (`Telemetry.time_guessed`). `needed_by_model`: the `columns` are a fitted detector's inputs, so the hint for
    a missing column or a bad cell is to fix the file or refit, as --drop cannot leave an input out.
    `fill_missing`: runs of at most that many missing or non-numeric cells in a signal column are interpolated
    (`fill_short_gaps`; a note counts them per column); longer runs stay an error.

    `Telemetry.notes` tells what reading did or assumed: the encoding when not UTF-8, a remembered time or
    label column the file lacks, and, when `columns` are given, the file's other columns (not the time, label
    or `drop` columns), which the detector does not use.

    Raises InputError for a missing, empty or truncated file, a wrong separator, text neither UTF-8 nor
    Windows-1252, unknown columns (naming the file's columns that look like them), non-numeric values or NaN
    (naming the first bad data row, counted from 1 after the header, and a date found there); nothing is
    dropped silently.
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
        unused = unused_columns_note(c for c in session.meta.channels if c not in chosen) if columns else None
        notes, labels = [unused] if unused else [], None
        if label_column is not None and session.meta.label:  # a session has one label, in its metadata
            labels = np.full(len(session.t), 0 if session.meta.label == "normal" else 1, np.int8)
            notes.append(f"labels from the session's own label {session.meta.label!r} ({labels[0]} for every row; a "
                         "session has no label column)")
        return Telemetry(str(path), chosen, session.data[:, idx].astype(float), session.t.copy(), labels,
                         time_name="t", time_unit="s", session_label=session.meta.label, notes=notes)
    if suffix in (".csv", ".txt", ".tsv") and _is_blank(path):
        raise InputError(f"{path}: the file is empty", hint="score or fit a file with a header and data rows")
    notes, decimal_commas = [], []
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            if isinstance(frame.index, pd.DatetimeIndex) and frame.index.name is None:
                frame.index.name = "time"  # an unnamed time index: found as the time column by this name
            if not isinstance(frame.index, pd.RangeIndex) and frame.index.name is not None:
                # pandas keeps a named index (df.set_index("time").to_parquet): it is a column of the file
                notes.append(f"read the Parquet index {frame.index.name!r} as a column")
                frame = frame.reset_index()
        elif suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if sep == "\\t" else sep  # --sep '\t' from a shell arrives as backslash and t
            comments, skipped, first_line = leading_comment_lines(path)  # a logger's notes above the header
            given_sep, sep = sep, sep or sniff_separator(path, skip_lines=skipped)
            read_kwargs = {"skiprows": skipped} if skipped else {}
            header_comment = bool(comments) and first_line is not None and _all_numbers(first_line, sep)
            if header_comment:  # "# time,current,temp" (numpy.savetxt's header) above rows of numbers
                read_kwargs.update(header=None, names=[name.strip() for name in
                                                       comments[-1].lstrip("#").split(sep)])
            frame, notes = _read_csv_any_encoding(path, sep, **read_kwargs)
            if header_comment:
                notes.append(f"took the last comment line {comments[-1][:60]!r} as the header (the lines below "
                             "it are numbers)" + (f", skipped {len(comments) - 1} comment line(s) above it"
                                                  if len(comments) > 1 else ""))
            elif comments:
                notes.append(f"skipped {len(comments)} comment line(s) above the header (the first: "
                             f"{comments[0][:60]!r})")
            if not isinstance(frame.index, pd.RangeIndex) and _data_lines_end_with(path, sep, skipped):
                read_kwargs["index_col"] = False  # pandas' reading of a separator closing every data line
                frame = _read_csv_any_encoding(path, sep, **read_kwargs)[0]
                notes.append(f"every data line ends with a separator ({sep!r}) the header lacks: the empty field "
                             "after it is ignored")
            if not isinstance(frame.index, pd.RangeIndex):  # more fields below the first line than in it
                header = str(frame.columns[0])
                other = max((";", "\t", ","), key=header.count)
                if given_sep is not None and len(frame.columns) == 1 and other != sep and header.count(other):
                    option = "--sep $'\\t'" if other == "\t" else f"--sep '{other}'"
                    raise InputError(f"{path}: with --sep {sep!r} the header is one field ({header[:60]!r}), which "
                                     f"holds {option.split()[1]} separators",
                                     hint=f"give the file's separator: {option} (or leave --sep out: it is sniffed)")
                raise InputError(f"{path}: the first line{' after the comments' if skipped else ''} has fewer "
                                 f"fields than the lines below it ({str(frame.columns[0])[:60]!r}): a line above "
                                 "the header?", hint="lines above the header (a logger's export notes) must go: "
                                                     "delete them, or start each with #, which is skipped")
            units = unit_row(frame) if not header_comment else None
            if units is not None:  # read again without it, so that the columns under it read as numbers
                read_kwargs["skiprows"] = [*range(skipped), _next_text_line(path, skipped)]
                frame = _read_csv_any_encoding(path, sep, **read_kwargs)[0]
                notes.append(f"skipped data row 1 ({', '.join(units)}), text in every column, as a row of units "
                             "is; data rows are counted from the row after it")
            trailing = [name for name in frame.columns
                        if str(name).startswith("Unnamed: ") and frame[name].isna().all()]
            if trailing and trailing == list(frame.columns[-len(trailing):]):
                frame = frame.drop(columns=trailing)
                notes.append(f"every line ends with a separator ({sep!r}): the empty column after the last is left out")
            decimal_commas = _with_decimal_commas(frame, sep)
        else:
            spreadsheet = suffix in (".xlsx", ".xls", ".xlsm", ".ods")
            raise InputError(f"{path}: unsupported file type {suffix!r}",
                             hint="save it as CSV (in Excel: Save As, \"CSV UTF-8\") and give that file"
                                  if spreadsheet else "use .csv or .parquet")
    except InputError:
        raise
    except Exception as err:
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if fields:  # a preamble above the header: pandas took its first line for the header
            raise InputError(f"{path}: line {fields.group(2)} has {fields.group(3)} fields where the first line has "
                             f"{fields.group(1)}", hint="lines above the header (a logger's export notes) must "
                             "go: delete them, or start each with #, which is skipped") from err
        raise InputError(f"{path}: cannot read ({err})", hint="the file may be truncated or corrupt") from err
    likely_sep = _likely_separator(frame) if suffix != ".parquet" else None
    if likely_sep:
        option = "--sep $'\\t'" if likely_sep == "\t" else f"--sep '{likely_sep}'"
        used = f"the sniffed separator {sep!r}" if given_sep is None else f"--sep {sep!r}"
        raise InputError(f"{path}: read as a single column {str(frame.columns[0])[:60]!r} with {used}: the "
                         f"header holds {option.split()[1]} separators",
                         hint=f"give the file's separator: {option}")
    if frame.empty:
        raise InputError(f"{path}: no data rows", hint="the file has at most a header; score a file with data")
    time_parts = []  # a date column and a time-of-day column read as one time column ("Datum+Uhrzeit")
    if time_column is not None and time_column not in frame.columns and JOINED_TIME in time_column:
        date, _, clock = time_column.partition(JOINED_TIME)  # given so, or saved so at fit
        if date in frame.columns and clock in frame.columns:
            time_parts = [date, clock]
            joined_time_column(frame, date, clock)
    absent_time = None  # the remembered time column, when this file lacks it
    if "time" in optional and time_column not in frame.columns:
        absent_time, time_column = time_column, None
    guessed, time_like_signal = False, None
    if guess_time and time_column is None:
        taken = {label_column, *(columns or []), *(drop or [])}
        halves = date_and_clock_columns(frame, [c for c in frame.columns
                                                if c not in taken and time_like_column([c]) is not None])
        if halves is not None:  # Datum;Uhrzeit: one stamp in two columns
            time_parts = list(halves)
            time_column, guessed = joined_time_column(frame, *halves), True
            notes.append(f"read the date column {halves[0]!r} and the time-of-day column {halves[1]!r} as one time "
                         f"column {time_column!r}")
        else:
            candidate = time_like_column(c for c in frame.columns if c not in taken)
            # a name alone is not enough ("T" may be a temperature): it must also read as time stamps, or be dates
            # in any order (an unsorted export; as a signal it would only fail as "non-numeric")
            # (its empty cells aside: one blank stamp should not turn the time column into a "non-numeric" signal)
            present = frame[candidate].dropna() if candidate is not None else None
            # a last line cut off mid-stamp ("2026-03-02 "): still the time column, and the cut line is named below
            cut_last = suffix != ".parquet" and present is not None and len(present) > 1 and ends_without_line_end(path)
            if candidate is not None and len(present) and (
                    reads_as_time_column(present) or (cut_last and reads_as_time_column(present.iloc[:-1]))):
                time_column, guessed = candidate, True
            else:
                time_like_signal = candidate
    if absent_time is not None:
        notes.append(f"no column {absent_time!r} (the time column at fit): " + (
            f"took column {time_column!r}, named like time, as the time column; name another with --time-column"
            if guessed else "rows are listed without times and the sampling is not checked; give the file's time "
                            "column with --time-column"))
    if ("label" in optional or "label-given" in optional) and label_column not in frame.columns:
        if label_column is not None:
            how = "given with --label-column" if "label-given" in optional else "saved at fit"
            notes.append(f"no label column {label_column!r} ({how}): no evaluation")
        label_column = None
    for name, column in (("time", time_column), ("label", label_column)):
        if column and column not in frame.columns:
            raise InputError(f"{path}: no {name} column {column!r}; columns are {list(frame.columns)}",
                             hint=f"name one of those with --{name}-column" + (
                                 "; a file without labels is read when --label-column is left out (a label column "
                                 "remembered from the fit is used where a file has it)" if name == "label" else ""))
    if columns:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise _missing_columns_error(path, unknown, list(frame.columns), list(columns), needed_by_model)
        chosen = list(columns)
        skip = {time_column, label_column, *time_parts, *(drop or [])}
        unused = [c for c in frame.columns if c not in chosen and c not in skip]
        if unused:
            notes.append(unused_columns_note(unused))
        labels_unused = label_like_columns(unused) if label_column is None and needed_by_model else []
        if labels_unused:  # scoring: SKAB's "anomaly" is left unused unless named
            notes.append(f"column {labels_unused[0]!r} looks like labels: --label-column {labels_unused[0]} "
                         "evaluates the alarms against it (it never sets the threshold)")
    else:
        skip = {time_column, label_column, *time_parts, *(drop or [])}
        label_like = label_like_columns(c for c in frame.columns if c not in skip) if drop_label_like else []
        # Every other column is a signal: a text column is an error below, never silently skipped.
        chosen = [c for c in frame.columns if c not in skip and c not in label_like]
        if not chosen:
            raise InputError(f"{path}: no signal columns", hint="name them with --columns")
    if suffix != ".parquet" and sep != ",":  # "1.100,5" as text, or "1.100" beside "6,5" read as 1.1 by pandas
        _refuse_dotted_groups(path, frame, chosen, decimal_commas,
                              lambda numbers: _read_csv_any_encoding(path, sep, dtype=str, usecols=numbers,
                                                                     **read_kwargs)[0])
    numeric = frame[chosen].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, copy=True)
    range_notes, range_marked = _read_range_marks(frame, chosen, numeric)
    notes += range_notes
    if fill_missing:
        numeric, filled = fill_short_gaps(numeric, fill_missing)
        if filled.any():
            counts = ", ".join(f"{name} {count}" for name, count in zip(chosen, filled) if count)
            notes.append(f"{int(filled.sum())} missing or non-numeric cell(s) interpolated (runs of at most "
                         f"{fill_missing} rows, --fill-missing): {counts}")
    bad = ~np.isfinite(numeric)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        # all of them at once: a file with three such columns should not take three runs to find out
        others = [chosen[c] for c in np.flatnonzero(bad.any(axis=0)) if c != col]
        also = f" (also in column(s) {', '.join(map(repr, others))})" if others else ""
        cell = frame[chosen[col]].iloc[row]
        hint = _bad_cell_hint(frame, chosen[col], row, needed_by_model and bool(columns), others)
        if is_date_or_time_text(cell):  # a time column the reader did not recognise, not a broken number
            halves = (date_and_clock_columns(frame, [time_column, chosen[col]])
                      if time_column in frame.columns and time_column not in time_parts else None)
            if halves is not None:  # --time-column Datum, and Uhrzeit holds its time of day
                hint = (f"{halves[0]!r} holds dates and {halves[1]!r} times of day: read them as one time column, "
                        f"--time-column '{halves[0]}{JOINED_TIME}{halves[1]}'")
            raise InputError(f"{path}: data row {row + 1}, column {chosen[col]!r}: a date/time ({cell!r}), not a "
                             f"number{also}", hint=hint)
        bad_columns = np.flatnonzero(bad.any(axis=0))
        runs = [missing_runs(numeric[:, j]) for j in bad_columns]
        longest = max(last - first + 1 for column_runs in runs for first, last in column_runs)
        top = int(np.flatnonzero(bad.any(axis=1))[-1]) + 1  # the last row with a bad cell, counted from 1
        cells = [frame[chosen[j]].iloc[i] for i, j in np.argwhere(bad)]
        comment_rows = sorted({int(i) + 1 for (i, _), cell in zip(np.argwhere(bad), cells)
                               if isinstance(cell, str) and cell.lstrip().startswith("#")})
        if top == len(numeric) and bad[:-1].sum() == 0 and ends_without_line_end(path):
            hint = ("the last line has no line end: the file is probably still being written (an export in "
                    "progress); score it once it is complete, or delete its unfinished last line")
        elif comment_rows:  # pandas reads a "# power failure" line inside the data as a row
            hint = (f"data row(s) {', '.join(map(str, comment_rows[:5]))}{' ...' if len(comment_rows) > 5 else ''} "
                    "are comment lines (#): delete them from the file (only those above the header are skipped)")
        elif top <= HEADER_LINES_AT_MOST and top < len(numeric) and all(isinstance(cell, str) for cell in cells):
            # text in the top rows only, numbers below: more header lines, which interpolating would turn into data
            hint = (f"data row(s) 1..{top} hold text above columns of numbers: more header lines? delete them from "
                    "the file (lines starting with # above the header are skipped)")
        elif longest < len(numeric):  # gaps in a column of numbers, which interpolation can close
            hint += f"; or interpolate runs of up to {longest} row(s) with --fill-missing {longest}"
        text = f" ({cell!r})" if isinstance(cell, str) and cell.strip() else ""  # what stands there: #N/A, ERR
        raise InputError(f"{path}: data row {row + 1}, column {chosen[col]!r}: missing, non-numeric or NaN{text}"
                         f"{also}; {int(bad.sum())} such cell(s) in all, the longest run {longest} row(s)"
                         + (f", longer than --fill-missing {fill_missing}" if fill_missing else ""), hint=hint)
    if suffix != ".parquet" and len(numeric) and (unfinished := unfinished_last_line_note(
            path, f"(data row {len(numeric)}) may be cut off, and a number cut short reads as another value")):
        notes.append(unfinished)
    time, time_unit = None, time_unit_from_name(time_column)
    if time_column:
        time = frame[time_column].to_numpy()
        epoch = epoch_stamps(frame[time_column], time_unit) if names_an_instant(time_column) else None
        if epoch is not None:  # dates to read, cut at (--train-until 2026-11-09) and plot
            time, unit_name = epoch
            time_unit = None
            notes.append(f"time column {time_column!r} holds numbers of the size of {unit_name} since 1970-01-01: "
                         "read as such, in UTC (the scores CSV and the PNG show them as dates)")
        blank = np.flatnonzero(frame[time_column].isna().to_numpy())
        if len(blank):  # the rows stay (their signals are good); the stamps cannot place them
            notes.append(f"time column {time_column!r} has {len(blank)} empty cell(s), first at data row "
                         f"{blank[0] + 1}: the time notes (gaps, sampling) and the PNG's time axis are left out; fill "
                         "the cells to have them")
    labels = None
    if label_column:
        raw = pd.to_numeric(frame[label_column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isin(raw, (0, 1)))
        if len(bad):
            cell = frame[label_column].iloc[bad[0]]
            shown = "an empty cell" if pd.isna(cell) or not str(cell).strip() else repr(cell)
            raise InputError(f"{path}: label column {label_column!r} must hold only 0 and 1: data row {bad[0] + 1} "
                             f"holds {shown} ({len(bad)} such row(s))",
                             hint="give every row a label, 0 (normal) or 1 (anomaly), or score without "
                                  "--label-column")
        labels = raw.astype(np.int8)
    left_out = label_like if not columns else []
    marks = {}
    for name in (label_like_columns(c for c in frame.columns if c not in chosen and c != label_column)
                 if drop_label_like else []):
        marked = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        if np.isin(marked[~np.isnan(marked)], (0, 1)).all() and not np.isnan(marked).all():
            marks[name] = marked == 1  # 0/1 labels only: -1/+1 or "fault" text mean something else here

    return Telemetry(str(path), chosen, numeric, time, labels, time_name=time_column,
                     label_like_left_out=left_out, time_unit=time_unit, time_guessed=guessed,
                     time_like_signal=time_like_signal, notes=notes,
                     range_marked=range_marked if range_marked.any() else None, label_like_marks=marks)
