"""Reading multivariate telemetry for the label-free detectors (CSV, Parquet, tinyad IMU sessions) and
plotting scored series (signal, smoothed error, threshold, flagged regions) as PNG."""

from __future__ import annotations

import codecs
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.csvfile import THOUSANDS_MARK_HINT, first_dotted_group, sniff_separator
from tinyad.errors import InputError
from tinyad.timestamps import (JOINED_TIME, date_and_clock_columns, epoch_stamps, is_date_or_time_text,
                               is_dotted_date, joined_time_column, names_an_instant, reads_as_time,
                               reads_as_time_column, time_like_column, time_stamps, time_unit_from_name)


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


def _with_decimal_commas(frame, sep: str) -> list[str]:
    """Read as numbers, in place, the text columns of `frame` whose every cell is a number written with a decimal
    comma ("6,27", as spreadsheets in many locales export with ';' separators); return their names. Not for ','
    separated files, where a comma inside a (quoted) number is a thousands separator."""
    import pandas as pd

    read = []
    if sep == ",":
        return read
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or column.isna().all():
            continue
        text = column.dropna().astype(str).str.strip()
        if text.str.fullmatch(_DECIMAL_COMMA).all() and text.str.contains(",", regex=False).any():
            frame[name] = pd.to_numeric(column.astype(str).str.strip().str.replace(",", ".", regex=False),
                                        errors="coerce").where(column.notna())
            read.append(name)
    return read


# Bad cells in no more than this many top rows, all of them text, are lines of a header, not gaps in the data.
HEADER_LINES_AT_MOST = 5


def _refuse_dotted_groups(path: Path, frame, chosen: list, decimal_commas: list, read_text) -> None:
    """Refuse signal columns holding digits grouped by points ("1.100,5", or "1.100" in a file with
    `decimal_commas`): a thousands mark or a decimal point? (`csvfile.first_dotted_group`). Text columns are
    checked as read; numeric ones, only beside decimal commas, from their cells as text (`read_text(names)`)."""
    import pandas as pd

    numbers = [name for name in chosen if pd.api.types.is_numeric_dtype(frame[name])]
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


def file_fingerprint(path: str | os.PathLike) -> dict:
    """{"bytes": size, "sha256": hex digest} of a file's content: the same data under another name or path
    matches, a file changed since matches no more."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def ends_without_line_end(path: str | os.PathLike) -> bool:
    """Whether a non-empty text file's last byte is not a line end: a CSV export still being written (or cut off),
    whose last row may be incomplete."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) not in (b"\n", b"\r")


def unfinished_last_line_note(path: str | os.PathLike, what_follows: str) -> str | None:
    """The note for a text file whose last line has no line end (`ends_without_line_end`), else None; both loaders
    use it, each saying after "its last row" what a cut-off row does to its reading (`what_follows`)."""
    if not ends_without_line_end(path):
        return None
    return f"the file does not end with a line end: still being written? its last row {what_follows}"


def values_fingerprint(values) -> str:
    """The SHA-256 hex digest of rows of signal values as float64: the same numbers read from a copy with other
    line endings, or from a longer file that starts with them, give the same digest."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def rows_trained_on(path: str | os.PathLike, trained_on: list[dict], values=None) -> int:
    """How many leading rows of the file at `path` a detector was fitted on: the "rows" of the entry of
    `trained_on` (as `detect fit` saves it: {"file", "bytes", "sha256", "rows", "values_sha256"}) with the same
    content, else (given the file's `values` in the detector's column order) one whose rows fitted on are the
    file's first rows, value for value (`values_fingerprint`: a CRLF copy, a log file that grew since, the file a
    training file was cut from); 0 for a file it was not fitted on. Only a file of a fitted size is hashed."""
    size = os.path.getsize(path)
    candidates = [entry for entry in trained_on if entry.get("bytes") == size]
    digest = file_fingerprint(path)["sha256"] if candidates else None
    same_file = max((int(entry["rows"]) for entry in candidates if entry.get("sha256") == digest), default=0)
    if same_file or values is None:
        return same_file
    return max((int(entry["rows"]) for entry in trained_on
                if entry.get("values_sha256") and 0 < int(entry["rows"]) <= len(values)
                and values_fingerprint(values[:int(entry["rows"])]) == entry["values_sha256"]), default=0)


def fitted_path_changed(path: str | os.PathLike, trained_on: list[dict]) -> int:
    """The rows fitted on when `path` is a file the detector was fitted on (the same path) whose content has
    changed since (`rows_trained_on` then finds no match); 0 otherwise."""
    here = Path(path).resolve()
    return max((int(entry["rows"]) for entry in trained_on if Path(entry.get("file", "")).resolve() == here),
               default=0)


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
    not asked for. `guess_time`: with no `time_column` (or an optional one the file lacks), a column named like
    one (`time_like_column`, not among `columns`, `drop` or the label column) that reads as time
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
            if not isinstance(frame.index, pd.RangeIndex):  # more fields below the first line than in it
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
            if candidate is not None and len(present) and reads_as_time_column(present):
                time_column, guessed = candidate, True
            else:
                time_like_signal = candidate
    if absent_time is not None:
        notes.append(f"no column {absent_time!r} (the time column at fit): " + (
            f"took column {time_column!r}, named like time, as the time column; name another with --time-column"
            if guessed else "rows are listed without times and the sampling is not checked; give the file's time "
                            "column with --time-column"))
    if "label" in optional and label_column not in frame.columns:
        if label_column is not None:
            notes.append(f"no label column {label_column!r} (saved at fit): no evaluation")
        label_column = None
    for name, column in (("time", time_column), ("label", label_column)):
        if column and column not in frame.columns:
            raise InputError(f"{path}: no {name} column {column!r}; columns are {list(frame.columns)}",
                             hint=f"name one of those with --{name}-column")
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
                channel_order=None, order_note: str = "") -> Path:
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
    usable one (`plot_axis`, labelled with its unit and column: `time_axis_label`), else the data row number."""
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


def median_step(values) -> float:
    """The median of the steps forward between consecutive times (0.0 when none goes forward). E.g. [0, 60, 120,
    60, 120] -> 60.0: steps back and repeats are left out."""
    steps = np.diff(np.asarray(values, float))
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
    steps = np.diff(values)
    median = median_step(values)
    if not median:
        return []
    shown = np.asarray(time)
    notes = []

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
                  "rows are scored in file order, which is right here (sorting would interleave the two hours); "
                  "time stamps with a UTC offset keep them apart" if len(back) == 1 and clock_change(steps[first])
                  else "the rows are scored in file order; sort the file by time")
        notes.append(f"time goes back at {len(back)} row(s), first at {at(first)}: {advice}")
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
