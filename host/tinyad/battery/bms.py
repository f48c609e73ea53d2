"""Battery-management telemetry -> a tidy, fixed-rate table (and Parquet file).

The tidy table has a `time` column (datetime64[ns], naive: UTC when the source's times carried UTC offsets or were
epoch numbers, `Telemetry.time_zone == "UTC"`; else as written in the source), one float32 column per
channel in physical units, and a `segment` column (int32): rows of one segment are contiguous on the fixed grid,
a new segment starts after a gap too long to fill. Windows for a model must never cross segments.

Sources:
- ess_lfp "total state" files (`bms/ess_lfp/{Test_data,explore}/clusterN/stateN_*.csv`, 5-s rate), integer
  scaled: rack voltage and current in 0.1 V / 0.1 A, SOC and temperature in 0.1 % / 0.1 deg C, cell voltage in mV.
  The same hour can appear in both folders (rack 2): identical timestamps are merged and counted.
- the BESS controller log (`bms/bess_bmu/bess_task1.csv`, 10-s rate): current, SOC and max/min cell voltage, no
  rack voltage and no temperature, so it has 3 channels instead of 5.
- any Parquet/CSV file with a time column and numeric columns (`load_table`).

Gap handling (`resample`): rows are averaged into bins of `period_s`; runs of empty or non-numeric bins up to
`max_fill_s` long are linearly interpolated, longer runs are dropped and start a new segment; every gap is
listed in the report. Fewer than 1 % of the timed rows left on the grid is an error, not a near-empty table.
Input files are only read, never modified; output files are written atomically.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tinyad.atomic import atomic_path
from tinyad.csvfile import THOUSANDS_MARK_HINT, first_dotted_group, read_csv
from tinyad.errors import InputError

# The main columns of the issue, in this order, with their units.
TIDY_CHANNELS = ("voltage_v", "current_a", "soc_pct", "temperature_c", "voltage_diff_mv")
UNITS = {"voltage_v": "V", "current_a": "A", "soc_pct": "%", "temperature_c": "degC", "voltage_diff_mv": "mV"}
METADATA_KEY = b"tinyad.telemetry"
TIME_COLUMN = "time"
SEGMENT_COLUMN = "segment"


@dataclass
class Gap:
    """A run of missing grid steps: where it starts and ends (ISO time), how many steps, what was done."""

    start: str
    end: str
    missing_steps: int
    action: str  # "interpolated" | "split" | "trimmed" (at the start or end of the data)


@dataclass
class GapReport:
    """What the loader did to reach a fixed rate without losing track of anything."""

    raw_rows: int = 0
    duplicate_rows: int = 0  # identical timestamps merged (first kept)
    conflicting_duplicates: int = 0  # identical timestamps with different values (first kept)
    first_conflict: str = ""  # the earliest of those timestamps (ISO), for the notes
    unparseable_rows: int = 0  # rows whose time could not be parsed (a truncated line, ...)
    non_numeric_cells: int = 0  # cells that were not numbers (treated as missing)
    grid_rows: int = 0
    interpolated_steps: int = 0
    dropped_steps: int = 0
    segments: int = 0
    gaps: list[Gap] = field(default_factory=list)
    # What the loader assumed or left out (the unit of numeric times, dropped columns, ambiguous dates).
    notes: list[str] = field(default_factory=list)
    # What makes the table doubtful (a file still being written, a grid far finer than the data): printed as
    # warnings and kept in `bert score`'s summary.json, where a nightly job looks.
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.raw_rows} raw rows -> {self.grid_rows} rows on the grid in {self.segments} segment(s); "
            f"{len(self.gaps)} gap(s): {self.interpolated_steps} step(s) interpolated, {self.dropped_steps} "
            f"dropped; {self.duplicate_rows} duplicate(s) merged ({self.conflicting_duplicates} conflicting), "
            f"{self.unparseable_rows} unparseable row(s), {self.non_numeric_cells} non-numeric cell(s)"
        )


@dataclass
class Telemetry:
    """A tidy fixed-rate table plus what it is: channel names, units, the grid period and the gap report."""

    frame: pd.DataFrame
    channels: list[str]
    period_s: float
    source: str
    units: dict[str, str] = field(default_factory=dict)
    gaps: GapReport = field(default_factory=GapReport)
    # "UTC" when the times were converted to UTC (the source had offsets, a time zone or epoch numbers); "" = the
    # times are as written in the source, zone unknown. Shown wherever times are printed or written.
    time_zone: str = ""

    def values(self) -> np.ndarray:
        """All rows as a float32 array (n, channels)."""
        return self.frame[self.channels].to_numpy(np.float32)

    def segments(self) -> list[np.ndarray]:
        """The contiguous runs as float32 arrays (n_i, channels), in time order."""
        values = self.values()
        seg = self.frame[SEGMENT_COLUMN].to_numpy()
        cuts = np.flatnonzero(np.diff(seg)) + 1
        return [part for part in np.split(values, cuts) if len(part)]

    def interpolated_rows(self) -> np.ndarray:
        """A bool per row: True where the loader filled the value in (a short gap interpolated, or a row that
        only had non-numeric cells), so an alarm there can be told apart from one on measured data."""
        times = self.frame[TIME_COLUMN]
        rows = np.zeros(len(times), bool)
        for gap in self.gaps.gaps:
            if gap.action == "interpolated":
                rows |= ((times >= pd.Timestamp(gap.start)) & (times <= pd.Timestamp(gap.end))).to_numpy()
        return rows

    def time_slice_rows(self, start_fraction: float, end_fraction: float) -> np.ndarray:
        """A bool per row: True for the rows `time_slice` keeps."""
        t = self.frame[TIME_COLUMN]
        t0, t1 = t.iloc[0], t.iloc[-1]
        lo = t0 + (t1 - t0) * start_fraction
        hi = t0 + (t1 - t0) * end_fraction
        return ((t >= lo) & ((t < hi) if end_fraction < 1.0 else (t <= hi))).to_numpy()

    def time_slice(self, start_fraction: float, end_fraction: float) -> "Telemetry":
        """The rows between two fractions of the time span (e.g. 0.75-1.0 = the last quarter), for time splits."""
        keep = self.time_slice_rows(start_fraction, end_fraction)
        return Telemetry(self.frame.loc[keep].reset_index(drop=True), list(self.channels), self.period_s,
                         f"{self.source}[{start_fraction:g}:{end_fraction:g}]", dict(self.units), self.gaps,
                         self.time_zone)

    def in_order_of(self, channels: list[str]) -> "Telemetry":
        """The same table with its channels in the order of `channels` when it has exactly those names (e.g. a
        checkpoint's: a model's input weights belong to channel positions); otherwise itself, unchanged."""
        if sorted(channels) != sorted(self.channels) or list(channels) == self.channels:
            return self
        return Telemetry(self.frame, list(channels), self.period_s, self.source, dict(self.units), self.gaps,
                         self.time_zone)

    def only(self, channels: list[str]) -> "Telemetry":
        """The same table with just `channels`, in that order (all of them among its own): e.g. a checkpoint's,
        from an export that also carries other columns."""
        missing = [c for c in channels if c not in self.channels]
        if missing:
            raise InputError(f"{self.source}: no channels {missing}; it has {self.channels}")
        return Telemetry(self.frame, list(channels), self.period_s, self.source, dict(self.units), self.gaps,
                         self.time_zone)

    def time_at(self, fraction: float) -> pd.Timestamp:
        """The time at a fraction of the time span (0 = first row, 1 = last row)."""
        t = self.frame[TIME_COLUMN]
        return t.iloc[0] + (t.iloc[-1] - t.iloc[0]) * fraction

    def between(self, start=None, end=None) -> "Telemetry":
        """Rows with start <= time < end (either bound may be None), e.g. the same cut time for every rack."""
        t = self.frame[TIME_COLUMN]
        keep = pd.Series(True, index=t.index)
        if start is not None:
            keep &= t >= pd.Timestamp(start)
        if end is not None:
            keep &= t < pd.Timestamp(end)
        if not keep.any():
            raise InputError(f"{self.source}: no rows between {start} and {end}")
        return Telemetry(self.frame.loc[keep].reset_index(drop=True), list(self.channels), self.period_s,
                         f"{self.source}[{start or ''}..{end or ''})", dict(self.units), self.gaps, self.time_zone)


def cut_to(telemetry: Telemetry, start=None, end=None) -> Telemetry:
    """The rows with start <= time < end (either bound may be None; times as the table holds them), with the gap
    report narrowed to them: grid rows, segments, the gaps that overlap the kept span and their interpolated and
    dropped steps are recounted; the raw-row, duplicate, unparseable and non-numeric counts stay those of the
    whole source, and a note says so. InputError (with the table's span) when no row is left."""
    times = telemetry.frame[TIME_COLUMN]
    first, last = times.iloc[0], times.iloc[-1]
    lo = pd.Timestamp(start) if start is not None else None
    hi = pd.Timestamp(end) if end is not None else None
    if lo is not None and hi is not None and hi <= lo:
        raise InputError(f"the end ({hi}) is not after the start ({lo})", hint="give --end later than --start")
    try:
        cut = telemetry.between(lo, hi)
    except InputError:  # said with the bounds as given and the table's span
        raise InputError(f"{telemetry.source}: no rows from {lo if lo is not None else 'the start'} to before "
                         f"{hi if hi is not None else 'the end'}",
                         hint=f"its rows run from {first} to {last}" + (" (UTC)" if telemetry.time_zone else "")
                         ) from None
    kept_first, kept_last = cut.frame[TIME_COLUMN].iloc[0], cut.frame[TIME_COLUMN].iloc[-1]
    gaps = [g for g in telemetry.gaps.gaps if pd.Timestamp(g.start) <= kept_last and pd.Timestamp(g.end) >= kept_first]
    whole = telemetry.gaps
    cut.gaps = replace(
        whole, grid_rows=len(cut.frame), segments=int(cut.frame[SEGMENT_COLUMN].nunique()), gaps=gaps,
        interpolated_steps=sum(g.missing_steps for g in gaps if g.action == "interpolated"),
        dropped_steps=sum(g.missing_steps for g in gaps if g.action != "interpolated"),
        notes=[*whole.notes, f"kept the rows from {kept_first} to {kept_last} ({len(cut.frame)} of {len(times)} grid "
               "rows); the counts of raw rows, duplicates, unparseable rows and non-numeric cells are the whole "
               "source's"])
    return cut


# A --period below the data's median interval by more than this factor builds most of the grid by interpolation.
FINER_GRID_FACTOR = 1.5


def gap_lines(telemetry: Telemetry, max_gaps: int = 20) -> list[str]:
    """The gap report for people: the summary line, then up to `max_gaps` gaps (the rest counted)."""
    report = telemetry.gaps
    lines = [f"{telemetry.source}: {report.summary()}"]
    lines += [f"gap {gap.start} .. {gap.end}: {gap.missing_steps} step(s) {gap.action}"
              for gap in report.gaps[:max_gaps]]
    if len(report.gaps) > max_gaps:
        lines.append(f"... {len(report.gaps) - max_gaps} more gap(s)")
    return lines


def report_lines(telemetry: Telemetry, max_gaps: int = 20) -> list[str]:
    """gap_lines and the loader's notes (time unit, left-out columns, ambiguous dates): what loading did."""
    return gap_lines(telemetry, max_gaps) + list(telemetry.gaps.notes)


def loading_messages(telemetry: Telemetry, tidy: bool) -> list[tuple[str, str]]:
    """(level, text) for the commands reading a data set: the report (`report_lines`, level "note") unless `tidy`
    (a tidy file's report was shown by load-bms), and the warnings ("warning") either way, as they still hold for
    its rows (a tidy file's marked as recorded when the table was made)."""
    notes = [] if tidy else [("note", line) for line in report_lines(telemetry)]
    suffix = " (recorded when the table was made)" if tidy else ""
    return notes + [("warning", warning + suffix) for warning in telemetry.gaps.warnings]


# --------------------------------------------------------------------------------------------- reading


def _require(frame: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{where}: missing column(s) {', '.join(missing)}",
            hint=f"columns found: {', '.join(map(str, frame.columns[:40]))}",
        )


def _numeric(frame: pd.DataFrame, columns: Iterable[str]) -> tuple[pd.DataFrame, int]:
    """Columns coerced to float64; returns the frame and how many cells were not numbers (now NaN)."""
    out = pd.DataFrame(index=frame.index)
    bad = 0
    for name in columns:
        raw = frame[name]
        values = pd.to_numeric(raw, errors="coerce")
        bad += int((values.isna() & raw.notna()).sum())
        out[name] = values.astype("float64")
    return out, bad


def ess_lfp_files(root: Path, rack: int) -> list[Path]:
    """The "total state" CSV files of one rack, from both Test_data and explore, sorted by name (= hour)."""
    root = Path(root)
    files = sorted(root.glob(f"*/cluster{rack}/state{rack}_*.csv"), key=lambda p: (p.name, str(p)))
    if not files:
        racks = ess_lfp_racks(root)
        hint = (f"racks under {root}: {', '.join(map(str, racks))}" if racks else
                "the ess_lfp layout is <root>/{Test_data,explore}/clusterN/stateN_YYYYMMDD_HH.csv")
        raise InputError(f"no state{rack}_*.csv files under {root}/*/cluster{rack}", hint=hint)
    return files


def ess_lfp_racks(root: Path) -> list[int]:
    """Rack numbers present under an ess_lfp root."""
    racks = {int(m.group(1)) for p in Path(root).glob("*/cluster*") if (m := re.fullmatch(r"cluster(\d+)", p.name))}
    return sorted(racks)


def read_ess_lfp(files: Iterable[Path], rack: int) -> tuple[pd.DataFrame, GapReport]:
    """Raw (not yet resampled) rows of one rack: `time` + the tidy channels in physical units, sorted by time,
    duplicates merged. The report counts raw rows, duplicates, unparseable rows and non-numeric cells."""
    prefix = f"Cluster{rack}"
    scaled = {  # tidy name: (source column, scale)
        "voltage_v": (f"{prefix}_Voltage", 0.1),
        "current_a": (f"{prefix}_Current", 0.1),
        "soc_pct": (f"{prefix}_SOC", 0.1),
        "temperature_c": (f"{prefix}AveTemp", 0.1),
    }
    cell_max, cell_min = f"{prefix}_Max_Cell_Vol", f"{prefix}_Min_Cell_Vol"
    needed = ["MCGS_TIME"] + [src for src, _ in scaled.values()] + [cell_max, cell_min]
    report = GapReport()
    parts = []
    for path in files:
        raw = read_csv(Path(path), dtype=str)
        _require(raw, needed, str(path))
        numbers, bad = _numeric(raw, needed[1:] + (["MCGS_TIMEMS"] if "MCGS_TIMEMS" in raw else []))
        report.non_numeric_cells += bad
        time = pd.to_datetime(raw["MCGS_TIME"], format="%Y/%m/%d %H:%M:%S", errors="coerce")
        if "MCGS_TIMEMS" in numbers:
            time = time + pd.to_timedelta(numbers["MCGS_TIMEMS"].fillna(0), unit="ms")
        part = pd.DataFrame({TIME_COLUMN: time})
        for name, (src, scale) in scaled.items():
            part[name] = numbers[src] * scale
        part["voltage_diff_mv"] = numbers[cell_max] - numbers[cell_min]
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    return _tidy_rows(frame, list(TIDY_CHANNELS), report)


def _tidy_rows(frame: pd.DataFrame, channels: list[str], report: GapReport) -> tuple[pd.DataFrame, GapReport]:
    """Drop rows without a time (counted), sort, merge duplicate timestamps (counted)."""
    report.raw_rows += len(frame)
    no_time = frame[TIME_COLUMN].isna()
    report.unparseable_rows += int(no_time.sum())
    frame = frame.loc[~no_time].sort_values(TIME_COLUMN, kind="stable")
    dup = frame[TIME_COLUMN].duplicated(keep="first")
    if dup.any():
        firsts = frame.drop_duplicates(TIME_COLUMN, keep="first").set_index(TIME_COLUMN)[channels]
        dups = frame.loc[dup].set_index(TIME_COLUMN)[channels]
        differs = ~np.isclose(dups.to_numpy(), firsts.loc[dups.index].to_numpy(), equal_nan=True).all(axis=1)
        report.duplicate_rows += int(dup.sum())
        report.conflicting_duplicates += int(differs.sum())
        if differs.any() and not report.first_conflict:
            report.first_conflict = dups.index[differs].min().isoformat()
        frame = frame.loc[~dup]
    return frame.reset_index(drop=True), report


# ------------------------------------------------------------------------------------------- resampling


def resample(frame: pd.DataFrame, channels: list[str], period_s: float, max_fill_s: float,
             report: GapReport | None = None) -> tuple[pd.DataFrame, GapReport]:
    """Put raw rows (`time` + channels) on a fixed grid of `period_s`.

    Rows falling in one bin are averaged. Runs of bins where any channel is missing, up to `max_fill_s` long,
    are linearly interpolated; longer runs are dropped and the next rows start a new `segment`; runs at the
    very start or end are trimmed. Every run is recorded in the report's `gaps`. Fewer than MIN_KEPT_SHARE of
    the rows in kept bins (none complete, or a channel with a handful of values) is an InputError saying why.
    """
    report = report or GapReport()
    if period_s <= 0:
        raise InputError(f"period must be > 0 s, got {period_s}", hint="e.g. --period 5")
    if frame.empty:
        raise InputError("no rows with a valid time", hint="check the time column and its format")
    period = pd.Timedelta(seconds=period_s)
    binned = frame.set_index(TIME_COLUMN)[channels].resample(period).mean()
    missing = binned.isna().any(axis=1).to_numpy()
    max_fill_steps = int(np.floor(max_fill_s / period_s + 1e-9))
    filled = binned.interpolate(method="linear", limit_area="inside")
    drop = np.zeros(len(binned), bool)
    times = binned.index
    # Runs of missing bins: [start, stop)
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for start, stop in zip(starts, stops):
        steps = int(stop - start)
        if start == 0 or stop == len(binned):
            action = "trimmed"
        elif steps <= max_fill_steps:
            action = "interpolated"
        else:
            action = "split"
        if action == "interpolated":
            report.interpolated_steps += steps
        else:
            drop[start:stop] = True
            report.dropped_steps += steps
        report.gaps.append(Gap(times[start].isoformat(), times[stop - 1].isoformat(), steps, action))
    # Rows whose bin is kept: a table built from a sliver of the input would look like a result but is data loss.
    row_bins = times.searchsorted(frame[TIME_COLUMN].to_numpy(), side="right") - 1
    kept_rows = int((~drop)[row_bins].sum())
    if kept_rows == 0 or kept_rows < MIN_KEPT_SHARE * len(frame):
        raise InputError(lost_rows_message(frame, channels, kept_rows, period_s, max_fill_s),
                         hint="leave a channel with few values out (name the others with --column), or check "
                              "--period and --max-fill; nothing was written")
    kept = filled.loc[~drop]
    # A segment id changes after every dropped run.
    new_segment = np.concatenate([[False], np.diff(np.flatnonzero(~drop)) > 1])
    out = kept.reset_index()
    for name in channels:
        out[name] = out[name].astype(np.float32)
    out[SEGMENT_COLUMN] = np.cumsum(new_segment).astype(np.int32)
    report.grid_rows = len(out)
    report.segments = int(out[SEGMENT_COLUMN].iloc[-1]) + 1
    return out, report


MIN_KEPT_SHARE = 0.01  # below this share of timed rows on the grid, loading is refused


def lost_rows_message(frame: pd.DataFrame, channels: list[str], kept_rows: int, period_s: float,
                      max_fill_s: float) -> str:
    """Why (almost) no row reached the grid: the channels with fewest values, or else the spacing of the rows."""
    total = len(frame)
    present = frame[channels].notna().sum()
    complete = int(frame[channels].notna().all(axis=1).sum())
    head = (f"only {kept_rows} of {total} timed row(s) ({kept_rows / max(total, 1):.2%}) are left on the "
            f"{period_s:g}-s grid")
    sparse = [f"{name!r} has a value in {int(present[name])} of {total} rows"
              for name in present.sort_values().index if present[name] < 0.5 * total]
    if sparse:
        why = f"{complete} row(s) have a value in every channel; " + ", ".join(sparse[:5])
    else:
        why = (f"{complete} row(s) have a value in every channel, but they are spaced further apart than --max-fill "
               f"({max_fill_s:g} s) fills, so the stretches between them are dropped")
    return f"{head}: {why}"


# -------------------------------------------------------------------------------------------- loaders


def load_ess_lfp(root: Path, rack: int, period_s: float = 5.0, max_fill_s: float = 30.0) -> Telemetry:
    """One rack of the ess_lfp data set as tidy telemetry: 5 channels (TIDY_CHANNELS) on a `period_s` grid."""
    files = ess_lfp_files(root, rack)
    raw, report = read_ess_lfp(files, rack)
    frame, report = resample(raw, list(TIDY_CHANNELS), period_s, max_fill_s, report)
    return Telemetry(frame, list(TIDY_CHANNELS), period_s, f"ess_lfp rack {rack} ({len(files)} files)",
                     {c: UNITS[c] for c in TIDY_CHANNELS}, report)


BESS_CHANNELS = ("current_a", "soc_pct", "voltage_diff_mv")


def load_bess_log(path: Path, period_s: float = 10.0, max_fill_s: float = 60.0) -> Telemetry:
    """The BESS controller log: current, SOC and cell voltage difference (3 channels; it has no rack voltage
    and no temperature) on a `period_s` grid."""
    path = Path(path)
    needed = ["timestamp", "BMU1_total_current [A]", "BMU1_SOC [%]", "BMU1_max_cell_volt", "BMU1_min_cell_volt"]
    raw = read_csv(path, dtype=str)
    _require(raw, needed, str(path))
    numbers, bad = _numeric(raw, needed[1:])
    report = GapReport(non_numeric_cells=bad)
    time = pd.to_datetime(raw["timestamp"], errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
    frame = pd.DataFrame({
        TIME_COLUMN: time,
        "current_a": numbers["BMU1_total_current [A]"],
        "soc_pct": numbers["BMU1_SOC [%]"],
        "voltage_diff_mv": (numbers["BMU1_max_cell_volt"] - numbers["BMU1_min_cell_volt"]) * 1000.0,
    })
    frame, report = _tidy_rows(frame, list(BESS_CHANNELS), report)
    frame, report = resample(frame, list(BESS_CHANNELS), period_s, max_fill_s, report)
    return Telemetry(frame, list(BESS_CHANNELS), period_s, f"bess log {path.name}",
                     {c: UNITS[c] for c in BESS_CHANNELS}, report, time_zone="UTC")


_AMBIGUOUS_DATE = re.compile(r"^\s*\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")


def describe_duration(delta: pd.Timedelta) -> str:
    """A time span for people: '5 s', '25 min', '3.5 h', '1 day', '30 days'."""
    seconds = delta.total_seconds()
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = f"{seconds / size:.3g}"
            return f"{amount} {'day' if unit == 'days' and amount == '1' else unit}"
    return f"{seconds:.3g} s"


def _largest_over_median_step(times: pd.Series) -> tuple[pd.Timedelta, pd.Timedelta]:
    """(largest, median) interval between the sorted valid times."""
    steps = times.dropna().sort_values().diff().dropna()
    if steps.empty:
        return pd.Timedelta(0), pd.Timedelta(0)
    return steps.max(), steps.median()


# Day-first reading is chosen on its own when it shrinks the largest step at least this many times.
DAYFIRST_GAIN = 10


def ambiguous_dates(text: pd.Series, month_first: pd.Series,
                    load_bms: str | None = None) -> tuple[pd.Series | None, str | None]:
    """(times to use instead, note) for dates written with '/' or '.' (10/06/2021) that were read month-first.

    When month-first leaves irregular steps (a 4-month "gap" from 10 June read as 6 October) and day-first
    shrinks the largest step at least DAYFIRST_GAIN times, the day-first times and a note saying so; when
    day-first is only somewhat better, (None, a note suggesting --dayfirst, with `load_bms`, the start of a
    load-bms command from `load_bms_command`); else (None, None)."""
    sample = text.dropna().astype(str)
    if sample.empty or not sample.str.match(_AMBIGUOUS_DATE).any():
        return None, None
    day_first = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=True, utc=True).dt.tz_localize(None)
    if day_first.isna().sum() > month_first.isna().sum() or day_first.equals(month_first):
        return None, None
    largest_mf, median_mf = _largest_over_median_step(month_first)
    largest_df, _ = _largest_over_median_step(day_first)
    if largest_mf <= 2 * median_mf or largest_df >= largest_mf:
        return None, None
    example = sample[sample.str.match(_AMBIGUOUS_DATE)].iloc[0]
    steps = (f"read month-first they leave irregular steps (largest {describe_duration(largest_mf)}, median "
             f"{describe_duration(median_mf)}), read day-first the largest step is {describe_duration(largest_df)}")
    if largest_df * DAYFIRST_GAIN <= largest_mf:
        read_as = day_first[text.astype(str) == example].iloc[0]
        return day_first, (f"dates like {example!r} read day-first ({read_as:%d %B %Y}): {steps}; pass "
                           f"--monthfirst to read them month-first")
    return None, (f"dates like {example!r} are ambiguous: {steps}; if the file writes the day first, pass "
                  f"--dayfirst ({load_bms or load_bms_command('FILE')} --dayfirst)")


def has_utc_offset(values: pd.Series) -> str | None:
    """The first value of a time column that carries a UTC offset or 'Z' (its first and last values are looked at;
    a time zone dtype counts too), else None: such times are converted to UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return f"time zone {values.dtype.tz}"
    sample = values.dropna().astype(str)
    for value in sample.iloc[:1].tolist() + sample.iloc[-1:].tolist():
        try:
            if pd.Timestamp(value).tzinfo is not None:
                return repr(value)
        except (ValueError, TypeError, OverflowError):
            continue
    return None


def parse_time(values: pd.Series, column: str, dayfirst: bool | None = None,
               load_bms: str | None = None) -> tuple[pd.Series, list[str], bool]:
    """A time column as naive datetime64, notes on what was assumed, and whether the times are UTC.

    Numbers are epoch times (UTC) in the unit their magnitude suggests (`epoch_unit`); text is parsed per value,
    converted to UTC where it has an offset. `dayfirst`: True reads 10/06/2021 as 10 June, False as 6 October,
    None decides by the steps (`ambiguous_dates`, whose hint starts with `load_bms`). Values that do not parse
    become NaT (counted by the caller); a column where nothing parses is an InputError naming the column and a
    value; so is a `dayfirst` choice for a column of typed date-times or numbers, which it cannot change (refused,
    not ignored)."""
    notes: list[str] = []
    in_utc = False
    if dayfirst is not None:
        kind = pd.api.types.infer_dtype(values, skipna=True)
        typed = ("typed date-times" if kind in ("datetime64", "datetime", "date") else
                 "epoch numbers" if pd.api.types.is_numeric_dtype(values) else None)
        if typed:
            raise InputError(f"{'--dayfirst' if dayfirst else '--monthfirst'} applies to dates written as text; "
                             f"column {column!r} holds {typed}", hint="leave it out")
    if pd.api.types.is_numeric_dtype(values):
        from tinyad.timestamps import epoch_unit

        numbers = pd.to_numeric(values, errors="coerce")
        unit, name = epoch_unit(numbers)
        if unit != "s" or numbers.abs().median() >= 1e8:  # 1973 onwards in seconds: an epoch time, worth saying
            notes.append(f"time column {column!r} holds numbers: read as {name} since 1970-01-01 UTC (by "
                         f"magnitude)")
            in_utc = True
        try:
            time = pd.Timestamp(0) + pd.to_timedelta(numbers, unit=unit)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsTimedelta) as err:
            raise InputError(f"time column {column!r}: numbers out of range for {name} since 1970 ({err})",
                             hint="epoch times in s, ms, us or ns are recognized by their size; or give "
                                  "datetime text (2021-06-10 20:00:00)") from None
    else:
        from tinyad.timestamps import is_dotted_date

        present = values.dropna()
        if dayfirst is None and len(present) and is_dotted_date(present.iloc[0]):
            dayfirst = True  # 01.03.2024 is 1 March wherever dates are written with dots (as `tinyad detect` reads)
        if dayfirst is False:  # pandas would read 13.03.2024 day first anyway: two readings in one column
            month = present.astype(str).str.extract(r"^\s*(\d{1,2})[/.]\d{1,2}[/.]\d{2,4}")[0].astype(float)
            if (month > 12).any():
                example = present[month > 12].iloc[0]
                raise InputError(f"time column {column!r}: --monthfirst, but {example!r} has no month "
                                 f"{int(month[month > 12].iloc[0])}: the dates are written day first",
                                 hint="leave --monthfirst out (or give --dayfirst)")
        try:
            time = pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=bool(dayfirst), utc=True)
        except (ValueError, TypeError, OverflowError) as err:
            raise InputError(f"time column {column!r} does not parse as times ({err})",
                             hint="give datetime text (2021-06-10 20:00:00) or epoch numbers") from None
        time = time.dt.tz_localize(None)
        if dayfirst is None:  # no choice given: the steps decide, and a note says how
            day_first, note = ambiguous_dates(values, time, load_bms)
            time = time if day_first is None else day_first
            notes += [note] if note else []
        if offset := has_utc_offset(values):
            notes.append(f"time column {column!r} has UTC offsets ({offset}): times are converted to UTC, also "
                         f"where they are printed and written (scores.csv)")
            in_utc = True
    if time.notna().sum() == 0:
        first = values.dropna().iloc[0] if values.notna().any() else None
        raise InputError(f"time column {column!r}: no value parses as a time (first: {first!r})",
                         hint="name the column holding the times with --time-column NAME; datetime text "
                              "(2021-06-10 20:00:00) and epoch numbers (s, ms, us, ns) are understood")
    return time, notes, in_utc


def repeated_time_note(report: GapReport) -> str | None:
    """A note for conflicting duplicate times in naive local time: the hour repeated when clocks go back at the
    end of daylight saving time looks like this (the first of each time is kept); None without conflicts."""
    conflicting = report.conflicting_duplicates
    if not conflicting:
        return None
    first = f" (first at {report.first_conflict.replace('T', ' ')})" if report.first_conflict else ""
    return (f"{conflicting} duplicate time(s) with other values{first}: repeated local times, e.g. the hour "
            f"repeated when clocks go back at a daylight-saving change, look like this and the first of each was "
            f"kept; timestamps with a UTC offset (2024-10-27T02:30:00+01:00) or in UTC keep them apart")


DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")


def decimal_comma_example(column: pd.Series) -> str | None:
    """A cell like '6,27' when at least half of a column's non-empty cells are numbers with a decimal comma (a
    European spreadsheet export), else None."""
    if pd.api.types.is_numeric_dtype(column):
        return None
    present = column.dropna().astype(str)
    if present.empty:
        return None
    looks = present.str.match(DECIMAL_COMMA)
    return present[looks].iloc[0] if looks.sum() >= 0.5 * len(present) else None


def refuse_dotted_groups(path: Path, text: pd.DataFrame, time_column: str) -> None:
    """Refuse a CSV read with decimal commas (`text`: its cells as text) with a column other than the time column
    holding cells like "100.000" (`csvfile.first_dotted_group`): a thousands mark or a decimal point?"""
    for name in text.columns:
        if name != time_column and (cell := first_dotted_group(text[name])) is not None:
            raise InputError(f"{path}: column {name!r} holds {cell!r}, read with --decimal , : "
                             "is '.' a thousands mark there or a decimal point?",
                             hint=f"for a thousands mark, {THOUSANDS_MARK_HINT}; for a decimal point, leave out "
                                  "--decimal ,")


def mostly_numeric_columns(raw: pd.DataFrame, exclude: Iterable[str], min_share: float = 0.5):
    """(channel columns, non-numeric columns, empty columns): numeric columns, and text columns where at least
    `min_share` of the non-empty cells are numbers (a logger's 'ERR' in one cell must not drop the channel); a
    column without any value (a spare sensor) is left out, as it would leave no complete row."""
    exclude = set(exclude)
    kept, dropped, empty = [], [], []
    for name in raw.columns:
        if name in exclude:
            continue
        column = raw[name]
        if column.isna().all():
            empty.append(name)
            continue
        if pd.api.types.is_numeric_dtype(column):
            kept.append(name)
            continue
        present = column.notna()
        parsed = pd.to_numeric(column.where(present), errors="coerce").notna()
        is_text = column.dtype == object or pd.api.types.is_string_dtype(column)
        share = parsed.sum() / present.sum() if present.any() else 0.0
        (kept if is_text and share >= min_share else dropped).append(name)
    return kept, dropped, empty


# Fewer values than this never make a column a counter: a short file's few rising readings (a charging SOC in
# whole percent) can be a signal; a real counter rises over thousands of rows.
MIN_COUNTER_VALUES = 20


def is_flag_column(column: pd.Series) -> bool:
    """True for true/false values (a bool dtype, or True/False objects with gaps, as pyarrow gives for nullable
    bools): a status such as balancing_active, not a signal."""
    return pd.api.types.infer_dtype(column, skipna=True) == "boolean"


def is_counter_column(column: pd.Series) -> bool:
    """True for a numeric column whose values are whole numbers increasing on every row, blanks aside (a sample
    counter or record id; a CSV reads a counter with one blank cell as floats): its later values all lie beyond
    the training range, so every later window would look anomalous. Flags and fractional values never are."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    values = column.dropna().to_numpy(np.float64)
    if len(values) < MIN_COUNTER_VALUES or not np.isfinite(values).all() or (values != np.round(values)).any():
        return False
    return bool((np.diff(values) > 0).all())


def not_signal_columns(raw: pd.DataFrame, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(flag columns, counter columns) among `names`: numeric to pandas, but not telemetry signals."""
    names = list(names)
    return ([n for n in names if is_flag_column(raw[n])],
            [n for n in names if not is_flag_column(raw[n]) and is_counter_column(raw[n])])


def load_bms_command(path: Path, time_column: str = TIME_COLUMN, decimal: str = ".",
                     dayfirst: bool | None = None) -> str:
    """The start of a `tinyad bert load-bms --input PATH` command for a hint, repeating the reading options the
    caller gave (--time-column when not the default, --decimal, --dayfirst/--monthfirst), so that it runs as shown
    and reads the file the same way."""
    words = ["tinyad bert load-bms --input", shlex.quote(str(path))]
    if time_column != TIME_COLUMN:
        words += ["--time-column", shlex.quote(str(time_column))]
    if decimal != ".":
        words += ["--decimal", decimal]
    if dayfirst is not None:
        words.append("--dayfirst" if dayfirst else "--monthfirst")
    return " ".join(words)


def keep_column_hint(load_bms: str, left_out: list) -> str:
    """How to keep a column the default choice left out: --column replaces that choice, so name every channel.
    `load_bms`: the start of the command (`load_bms_command`)."""
    return (f"to keep {'it' if len(left_out) == 1 else 'one'}, name every channel with --column ({load_bms} "
            f"--column NAME --column ... -o tidy.parquet)")


def load_table(path: Path, time_column: str = "time", columns: Mapping[str, str] | Iterable[str] | None = None,
               period_s: float | None = None, max_fill_s: float | None = None, dayfirst: bool | None = None,
               decimal: str = ".") -> Telemetry:
    """Any Parquet or CSV telemetry: `time_column` (datetime text, or epoch numbers in s/ms/us/ns by magnitude)
    plus numeric columns.

    `columns` selects channels: a list of names, or a mapping {source name: tidy name}; default = every other
    column that is mostly numeric (its stray text cells become gaps), except true/false flags and integer
    counters (`not_signal_columns`), which are kept only when named. `period_s` default = the median interval.
    `dayfirst` reads 10/06/2021 as 10 June (False: 6 October; None: whichever leaves regular steps). `decimal`
    "," reads a CSV's '6,27' as 6.27. Also reads a tidy file written by write_tidy. What was assumed (the time
    unit, UTC conversion, left-out columns, ambiguous dates, repeated times) is in the report's notes; a channel
    without any number is an error, as is a table where almost no row reaches the grid.
    """
    path = Path(path)
    sep = None  # a CSV's field separator
    if path.suffix.lower() == ".parquet":
        if decimal != ".":
            raise InputError(f"{path}: --decimal applies to CSV files", hint="leave --decimal out for Parquet")
        try:
            raw = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowInvalid) as err:
            raise InputError(f"{path}: cannot be read as Parquet ({err})",
                             hint="is the file truncated or still being written?") from None
    else:
        try:
            with path.open(errors="replace") as handle:
                header = handle.readline()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file", hint="check the path (ls it)") from None
        sep = ";" if ";" in header else ","  # SKAB-style and European files use ";"
        if decimal == sep:
            raise InputError(f"{path}: --decimal {decimal} but the fields are separated by {sep!r} too",
                             hint="decimal commas need ';' between fields (a European spreadsheet export)")
        raw = read_csv(path, sep=sep, decimal=decimal)
        if decimal == ",":
            refuse_dotted_groups(path, read_csv(path, sep=sep, dtype=str), time_column)
    load_bms = load_bms_command(path, time_column, decimal, dayfirst)  # for hints: the options given, repeated
    if time_column not in raw.columns:
        same = [str(c) for c in raw.columns if str(c).strip().lower() == str(time_column).strip().lower()]
        if same:  # names are exact: say which one was meant
            raise InputError(f"{path}: no time column {time_column!r}; the file has {same[0]!r}",
                             hint=f"names are case-sensitive: --time-column {shlex.quote(same[0])}")
        raise InputError(f"{path}: no time column {time_column!r}",
                         hint=f"columns found: {', '.join(map(str, raw.columns[:40]))}; name the time column: add "
                              f"--time-column NAME (this command takes it; or "
                              f"{load_bms_command(path, decimal=decimal, dayfirst=dayfirst)} --time-column NAME "
                              f"-o tidy.parquet)")
    notes: list[str] = []
    warnings: list[str] = []
    if Path(path).suffix.lower() != ".parquet" and len(raw):
        from tinyad.csvfile import unfinished_last_line_note

        if unfinished := unfinished_last_line_note(path, "may be cut off (a row missing cells is dropped; a number "
                                                         "cut short reads as another value)"):
            warnings.append(unfinished)
    dropped: list[str] = []
    flags, counters = [], []
    if columns is None:
        names, dropped, empty = mostly_numeric_columns(raw, (time_column, SEGMENT_COLUMN))
        if dropped:
            notes.append(f"column(s) {', '.join(map(str, dropped))} left out: not numeric (name channels with "
                         f"--column)")
        if empty:
            notes.append(f"column(s) {', '.join(map(str, empty))} left out: no values (every cell empty)")
        flags, counters = not_signal_columns(raw, names)
        if flags:
            notes.append(f"column(s) {', '.join(map(str, flags))} left out: true/false status flags, not signals; "
                         f"{keep_column_hint(load_bms, flags)}")
        if counters:
            notes.append(f"column(s) {', '.join(map(str, counters))} left out: integers that increase on every "
                         f"row, a counter or record id, not a signal (every later window would lie outside the "
                         f"training range); {keep_column_hint(load_bms, counters)}")
        mapping = {c: c for c in names if c not in flags and c not in counters}
    elif isinstance(columns, Mapping):
        mapping = dict(columns)
    else:
        mapping = {c: c for c in columns}
    _require(raw, mapping, str(path))
    # Before "no numeric columns": a decimal-comma export has none, and naming its columns cannot help. Only where
    # --decimal can help: a CSV with ';' between fields (with ',' a "1,2" cell is quoted text or a thousands mark).
    # The left-out text columns only when no channel is numeric: a "1,2" version string beside numbers is text.
    for name in [*mapping, *([] if mapping else dropped)] if sep == ";" and decimal == "." else []:
        if (example := decimal_comma_example(raw[name])) is not None:
            raise InputError(f"{path}: cells look like decimal commas ({example!r} in column {name!r}), read as "
                             f"text, not numbers",
                             hint=f"add --decimal , (this command takes it; or "
                                  f"{load_bms_command(path, time_column, ',', dayfirst)} -o tidy.parquet)")
    if not mapping:
        left_out = f" (left out as status flags or counters: {', '.join(map(str, flags + counters))})"
        raise InputError(f"{path}: no numeric channel columns" + (left_out if flags or counters else ""),
                         hint=f"name the channels: {load_bms} --column NAME --column ... -o tidy.parquet "
                              "(load-bms takes --column), then use the tidy file")
    numbers, bad = _numeric(raw, list(mapping))
    for src in mapping:
        if numbers[src].isna().all():  # a channel without numbers leaves no complete row: refuse, do not guess
            first = raw[src].dropna()
            what = f"holds no number (e.g. {first.iloc[0]!r})" if len(first) else "has no values (every cell empty)"
            usable = [str(c) for c in numbers.columns if numbers[c].notna().any()]
            raise InputError(f"{path}: column {src!r} {what}",
                             hint="leave it out of --column" + (f"; columns with numbers: {', '.join(usable)}"
                                                                if usable else ""))
    for src in mapping:
        stray = raw[src].notna() & numbers[src].isna()
        if stray.any():
            notes.append(f"column {src!r}: {int(stray.sum())} cell(s) not a number (e.g. "
                         f"{raw[src][stray].iloc[0]!r}), treated as missing")
        if (empty := int(raw[src].isna().sum())) and empty < len(raw):
            notes.append(f"column {src!r}: {empty} empty cell(s), treated as missing (the gaps below count their "
                         "steps)")
    time, time_notes, in_utc = parse_time(raw[time_column], time_column, dayfirst, load_bms)
    notes += time_notes
    frame = pd.DataFrame({TIME_COLUMN: time})
    for src, name in mapping.items():
        frame[name] = numbers[src].to_numpy()
    channels = list(mapping.values())
    frame, report = _tidy_rows(frame, channels, GapReport(non_numeric_cells=bad, notes=notes, warnings=warnings))
    if not in_utc and (note := repeated_time_note(report)):
        report.notes.append(note)
    intervals = frame[TIME_COLUMN].diff().dt.total_seconds().dropna()
    sampled = float(intervals.median()) if len(intervals) else None
    finer = period_s is not None and sampled is not None and sampled > FINER_GRID_FACTOR * period_s
    if period_s is None:
        if sampled is None:
            raise InputError(f"{path}: fewer than two timed rows", hint="cannot infer a sample period")
        period_s = sampled
    max_fill_s = 6 * period_s if max_fill_s is None else max_fill_s
    frame, report = resample(frame, channels, period_s, max_fill_s, report)
    if finer:
        report.warnings.append(
            f"--period {period_s:g} s is finer than the data (a row every {sampled:g} s, the median): most of the "
            f"grid holds no measurement ({report.interpolated_steps} step(s) interpolated, {report.dropped_steps} "
            f"dropped as gaps, {report.segments} segment(s)); give --period {sampled:g} or leave it out")
    if not in_utc and (note := skipped_hour_note(report, period_s)):
        report.notes.append(note)
    return Telemetry(frame, channels, period_s, str(path), {c: UNITS.get(c, "") for c in channels}, report,
                     "UTC" if in_utc else "")


def skipped_hour_note(report: GapReport, period_s: float) -> str | None:
    """A note when a gap in local clock time is exactly the hour from a whole hour on (02:00 .. 02:59): the hour
    skipped when clocks go forward at a daylight-saving switch, where no data need be missing; else None. The
    autumn counterpart is `repeated_time_note`."""
    for gap in report.gaps:
        start = pd.Timestamp(gap.start)
        if start.minute == start.second == 0 and abs(gap.missing_steps * period_s - 3600) < period_s:
            return (f"the gap {gap.start.replace('T', ' ')} .. {gap.end.replace('T', ' ')} is one hour of local clock "
                    "time: the hour skipped when clocks go forward at a daylight-saving switch, where no data are "
                    "missing; timestamps with a UTC offset (or in UTC) have no such gap")
    return None


# ------------------------------------------------------------------------------------------- Parquet io


def write_tidy(telemetry: Telemetry, path: Path) -> Path:
    """Write the tidy table as Parquet with its metadata (channels, units, period, gap report), atomically."""
    path = Path(path)
    meta = {"source": telemetry.source, "period_s": telemetry.period_s, "channels": telemetry.channels,
            "units": telemetry.units, "gaps": asdict(telemetry.gaps)}
    if telemetry.time_zone:  # only when known, so files of naive sources stay as they were
        meta["time_zone"] = telemetry.time_zone
    table = pa.Table.from_pandas(telemetry.frame[[TIME_COLUMN, *telemetry.channels, SEGMENT_COLUMN]],
                                 preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_tidy(path: Path) -> Telemetry:
    """Read a file written by write_tidy (a Parquet file without our metadata goes through load_table)."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise InputError(f"{path}: cannot be read as Parquet ({err})",
                         hint="is the file truncated or still being written?") from None
    raw_meta = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw_meta is None:
        return load_table(path)
    meta = json.loads(raw_meta)
    gaps = meta.get("gaps", {})
    report = GapReport(**{k: v for k, v in gaps.items() if k != "gaps"},
                       gaps=[Gap(**g) for g in gaps.get("gaps", [])])
    frame = table.to_pandas()
    _require(frame, [TIME_COLUMN, SEGMENT_COLUMN, *meta["channels"]], str(path))
    # named by the path given, which is what the user typed and sees on screen; the recorded source says where from
    source = str(path) if meta["source"] == str(path) else f"{path} (from {meta['source']})"
    return Telemetry(frame, list(meta["channels"]), float(meta["period_s"]), source,
                     dict(meta.get("units", {})), report, meta.get("time_zone", ""))


def is_tidy_file(spec: str | Path) -> bool:
    """True for a Parquet file written by write_tidy (already on its grid: its gap report was shown when it was
    written); False for anything loaded and resampled on the fly (ess_lfp:N, bess, a raw CSV/Parquet)."""
    path = Path(spec)
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    try:
        return METADATA_KEY in (pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowInvalid):
        return False


def load_any(spec: str, period_s: float | None = None, dayfirst: bool | None = None,
             decimal: str = ".", time_column: str = TIME_COLUMN) -> Telemetry:
    """Resolve a data set name used on the command line:
    `ess_lfp:N` (rack N of ../shared/data/bms/ess_lfp), `bess` (the BESS log), or a path to Parquet/CSV.
    `dayfirst`, `decimal` and `time_column` apply as in load_table to a file read now (`reads_as_table`);
    `decimal` only to a CSV.
    The other forms are read in their known format (a tidy file was read with its options by load-bms)."""
    from tinyad.paths import shared_data_dir

    if spec.startswith("ess_lfp:"):
        try:
            rack = int(spec.split(":", 1)[1])
        except ValueError:
            raise InputError(f"bad data set {spec!r}", hint="use ess_lfp:1 ... ess_lfp:5") from None
        return load_ess_lfp(shared_data_dir() / "bms" / "ess_lfp", rack, period_s or 5.0)
    if spec == "bess":
        return load_bess_log(shared_data_dir() / "bms" / "bess_bmu" / "bess_task1.csv", period_s or 10.0)
    path = Path(spec)
    if not path.exists():
        raise InputError(f"data set {spec!r} not found",
                         hint="give ess_lfp:N, bess, or the path of a Parquet/CSV file")
    if is_tidy_file(path):
        return read_tidy(path)
    is_csv = path.suffix.lower() != ".parquet"
    return load_table(path, time_column, period_s=period_s, dayfirst=dayfirst, decimal=decimal if is_csv else ".")


def reads_as_table(spec: str) -> bool:
    """True for a data set load_any reads with load_table (a CSV, or a Parquet file not written by write_tidy),
    so the reading options (dayfirst, decimal, time_column) apply; also for a missing path, which load_any reports."""
    return not (spec.startswith("ess_lfp:") or spec == "bess" or is_tidy_file(spec))
