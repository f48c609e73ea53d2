"""One CSV reader for every importer: the same error for the same fault, whichever data set is read."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tinyad.errors import InputError


def read_csv(path: Path, missing_hint: str = "check the path (ls it)", **read_csv_kwargs):
    """`pandas.read_csv(path, **read_csv_kwargs)` with column names stripped of surrounding blanks.

    Raises InputError naming the file (and the line, when pandas gives one) for a folder, a missing file, an empty file,
    a file pandas cannot parse (truncated row, wrong separator, not text), text that is not UTF-8 (with a hint to
    save it so) and a header without data rows.
    `missing_hint` tells the user where such a file should come from.
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a CSV file", hint="give the path of one CSV file in it")
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint=missing_hint)
    try:
        frame = pd.read_csv(path, **read_csv_kwargs)
    except pd.errors.EmptyDataError as err:
        raise InputError(f"{path}: the file is empty") from err
    except UnicodeDecodeError as err:  # before ValueError, its base: not a separator problem
        raise InputError(f"{path}: not UTF-8 text (a byte {err.object[err.start:err.start + 1].hex()}, as in a "
                         "Windows-1252 export)",
                         hint="save the file as UTF-8 text (in Excel: Save As, \"CSV UTF-8\")") from err
    except (pd.errors.ParserError, ValueError) as err:
        line = re.search(r"line (\d+)", str(err))
        where = f"line {line.group(1)}: " if line else ""
        raise InputError(f"{path}: {where}cannot parse CSV ({err})",
                         hint="check the separator and that every row has the header's number of fields; "
                              "a truncated file ends in a short row") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise InputError(f"{path}: header but no data rows", hint="the file holds only its header line")
    return frame


# "100.000" or "1.250,5": digits in groups of three after a point, in a file with decimal commas. A German export's
# thousands mark (100000) or a decimal point (100.0)? pandas takes the latter, so a counter 100.000, 100.001
# silently becomes 100.0, 100.001, and a pressure crossing 1.000 drops a thousandfold.
DOTTED_GROUPS = re.compile(r"^\s*[-+]?\d{1,3}(?:\.\d{3})+(?:,\d*)?\s*$")
THOUSANDS_MARK_HINT = "export the numbers without a thousands mark (in Excel: no 1000 separator in the number format)"


def first_dotted_group(cells) -> str | None:
    """The first cell among `cells` (text, blanks aside) written with points between groups of three digits
    (DOTTED_GROUPS), stripped; else None. E.g. ["6,5", "1.100,5"] -> "1.100,5"; ["6,5", "1.5"] -> None."""
    import pandas as pd

    text = pd.Series(cells).dropna().astype(str)
    grouped = text[text.str.match(DOTTED_GROUPS)]
    return grouped.iloc[0].strip() if len(grouped) else None


# The separators a telemetry CSV uses. pandas' own sniffing considers any character, and takes the "v" of a
# one-column file headed "value" for one.
CSV_SEPARATORS = ",;\t|"


def sniff_separator(path: Path, sample_bytes: int = 65536, skip_lines: int = 0) -> str:
    """The separator of a CSV file among CSV_SEPARATORS, sniffed from its start (after `skip_lines` lines, e.g.
    comments above the header); when the lines disagree, the separator the header holds most of; "," when nothing
    decides (a one-column file). E.g. SKAB's files give ";". Any
    encoding that writes the separators as ASCII will do (UTF-8, Windows-1252): bytes that are not UTF-8 (a
    cp1252 "°") read as U+FFFD, which is no separator."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        for _ in range(skip_lines):
            handle.readline()
        sample = handle.read(sample_bytes)
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_SEPARATORS).delimiter
    except csv.Error:  # e.g. a short file whose data lines hold one separator more than the header (closing ';')
        header = sample.splitlines()[0] if sample else ""
        counts = {separator: header.count(separator) for separator in CSV_SEPARATORS}
        most = max(counts, key=counts.get)
        return most if counts[most] else ","


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
