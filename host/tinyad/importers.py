"""Importers: foreign IMU recordings -> tinyad sessions (see docs/session-format.md).

Every function reads everything into memory and validates it before returning; `write_sessions` writes a batch
through a staging directory, so an error anywhere leaves the output directory as it was. Errors are
tinyad.errors.InputError naming the file and its 1-based line number (line 1 is the CSV header, if any).

Data-set policies (documented, never silent):
* motor_mpu6050: all rows are kept, so the row counts match the data set README. Time is `Time` (ms since
  boot) relative to the first row. Every file starts with a boot glitch (a 6 ms step, then a 950 ms gap at
  line 10); those and the rare lost samples (20 ms intervals) stay in the time column and are listed in
  meta.extra["gaps"] as [line, interval_s] so windowing code can skip them. Rows that repeat the previous
  timestamp are dropped and counted in meta.extra["duplicate_timestamps_dropped"] (with their lines);
  time going backwards is an error.
* ceiling_fan: one session per 1-s file (each file is a separate capture; concatenating them would invent
  continuity at the seams).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from tinyad.csvfile import read_csv, sniff_separator
from tinyad.errors import InputError
from tinyad.session import (
    CANONICAL_UNITS,
    GAP_FACTOR,
    KNOWN_CHANNELS,
    STANDARD_GRAVITY,
    Session,
    SessionMeta,
    validate,
    write_session,
)
from tinyad.timestamps import time_stamps

MOTOR_RATE_HZ = 100.0
MOTOR_COLUMNS = {"ax": "Ax_Raw", "ay": "Ay_Raw", "az": "Az_Raw", "gx": "Gx_Raw", "gy": "Gy_Raw", "gz": "Gz_Raw"}
MOTOR_LABELS = {"healthy": "normal", "imbalance": "imbalance", "misalignment": "misalignment",
                "bearing_fault": "bearing_fault"}
MOTOR_FILE_PATTERN = re.compile(r"motor_(healthy|imbalance|misalignment|bearing_fault)_trial(\d+)$")
FAN_RATE_HZ = 200.0
FAN_ROWS = 200
FAN_FOLDER_PATTERN = re.compile(r"fan_(\d+)_(off|low|med|high)(?:_(\d)_weight)?(-moving|-deploy)?$")
MAX_LISTED = 50  # gaps / dropped lines listed in meta.extra (the counts are always complete)

ACCEL_UNIT_FACTORS = {"g": 1.0, "mg": 1e-3, "m/s^2": 1.0 / STANDARD_GRAVITY, "m/s2": 1.0 / STANDARD_GRAVITY,
                      "mps2": 1.0 / STANDARD_GRAVITY}
GYRO_UNIT_FACTORS = {"dps": 1.0, "deg/s": 1.0, "mdps": 1e-3, "rad/s": float(np.degrees(1.0))}
TIME_UNIT_FACTORS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
# Sample rates an IMU stream can have; outside them the time unit or --rate is wrong (ms read as s: 0.1 Hz).
MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 10_000.0
FLOAT32_MAX = float(np.finfo(np.float32).max)


# ----------------------------------------------------------------------------------------------- motor


def import_motor_mpu6050(csv_path: str | os.PathLike) -> Session:
    """Import one file of imu/motor_mpu6050 (`motor_<condition>_trial<N>.csv`).

    Uses Time (ms) and the six *_Raw columns (m/s^2 -> g, rad/s -> dps); *_Smooth and Temp are ignored.
    Label from the file name (healthy -> "normal"); session_id = file stem; device_id "motor_mpu6050"; 100 Hz.
    """
    path = Path(csv_path)
    match = MOTOR_FILE_PATTERN.match(path.stem)
    if not match:
        raise InputError(f"{path}: not a motor_mpu6050 file name",
                         hint="expected motor_{healthy,imbalance,misalignment,bearing_fault}_trialN.csv")
    frame = read_csv(path, skipinitialspace=True)
    columns = {"t": "Time", **MOTOR_COLUMNS}
    values = _numeric_columns(path, frame, columns)
    lines = np.arange(len(frame)) + 2  # line 1 is the header
    t_ms = values["t"]
    _check_finite(path, t_ms, lines, "Time")
    step = np.diff(t_ms)
    backwards = np.flatnonzero(step < 0)
    if backwards.size:
        row = int(backwards[0]) + 1
        raise InputError(f"{path}: line {lines[row]}: Time goes backwards ({t_ms[row - 1]:g} -> {t_ms[row]:g} ms)",
                         hint="the file mixes recordings; split it")
    duplicate = np.r_[False, step == 0]
    keep = ~duplicate
    data = np.stack([values[c] for c in KNOWN_CHANNELS], axis=1)
    data[:, :3] /= STANDARD_GRAVITY
    data[:, 3:] = np.degrees(data[:, 3:])
    _check_float32(path, data, lines, [MOTOR_COLUMNS[c] for c in KNOWN_CHANNELS])
    t = (t_ms[keep] - t_ms[0]) * 1e-3
    kept_lines = lines[keep]
    dt = np.diff(t)
    gap_rows = np.flatnonzero(dt > 1.5 / MOTOR_RATE_HZ) + 1
    condition, trial = match.group(1), int(match.group(2))
    meta = SessionMeta(
        sample_rate_hz=MOTOR_RATE_HZ,
        label=MOTOR_LABELS[condition],
        channels=list(KNOWN_CHANNELS),
        units=dict(CANONICAL_UNITS),
        # Not recorded by the data set; the observed maxima (<1.9 g, <130 dps) fit the MPU6050 power-on default.
        full_scale={"accel_g": 2.0, "gyro_dps": 250.0},
        device_id="motor_mpu6050",
        session_id=path.stem,
        source=f"imu/motor_mpu6050/{path.name}",
        extra={
            "importer": "motor_mpu6050",
            "file": str(path),
            "trial": trial,
            "condition": condition,
            "full_scale_assumed": True,
            "rows_in_file": int(len(frame)),
            "duplicate_timestamps_dropped": int(duplicate.sum()),
            "duplicate_lines": [int(v) for v in lines[duplicate][:MAX_LISTED]],
            "gap_count": int(gap_rows.size),
            "gaps": [[int(kept_lines[r]), round(float(dt[r - 1]), 6)] for r in gap_rows[:MAX_LISTED]],
            "missing_samples_estimate": int(np.round(dt[gap_rows - 1] * MOTOR_RATE_HZ - 1).sum()),
            "time_origin_ms": float(t_ms[0]),
        },
    )
    session = Session(t=t, data=data[keep].astype(np.float32), meta=meta)
    validate(session, str(path), line_numbers=kept_lines)
    return session


def motor_mpu6050_sessions(root: str | os.PathLike) -> list[Session]:
    """All sessions of imu/motor_mpu6050 (the folder with motor_*_trialN.csv), sorted by file name."""
    root = Path(root)
    files = sorted(p for p in root.glob("motor_*.csv") if MOTOR_FILE_PATTERN.match(p.stem))
    if not files:
        raise InputError(f"{root}: no motor_<condition>_trial<N>.csv files", hint="point at imu/motor_mpu6050")
    return [import_motor_mpu6050(p) for p in files]


# ----------------------------------------------------------------------------------------- ceiling fan


def import_ceiling_fan_file(csv_path: str | os.PathLike, root: str | os.PathLike | None = None) -> Session:
    """Import one 1-s window of imu/ceiling_fan: 200 rows of `x, y, z` in g, no header, 200 Hz.

    The folder name gives the condition: fan_0_<speed>_<weights>_weight[-moving] or fan_0_low-deploy;
    1 weight -> "imbalance", otherwise "normal". Speed, weights and folder are kept in meta.extra.
    """
    path = Path(csv_path)
    folder = path.parent.name
    match = FAN_FOLDER_PATTERN.match(folder)
    if not match:
        raise InputError(f"{path}: folder {folder!r} is not a ceiling_fan condition",
                         hint="expected fan_0_<off|low|med|high>_<0|1>_weight[-moving] or fan_0_low-deploy")
    _, speed, weights, suffix = match.groups()
    weights = int(weights or 0)
    data = _read_headerless_floats(path, n_columns=3)
    if data.shape[0] != FAN_ROWS:
        raise InputError(f"{path}: {data.shape[0]} rows, expected {FAN_ROWS} (one 1-s window at 200 Hz)",
                         hint="the file is truncated or not a ceiling_fan window")
    relative = path.relative_to(root).parent.as_posix() if root is not None else folder
    meta = SessionMeta(
        sample_rate_hz=FAN_RATE_HZ,
        label="imbalance" if weights else "normal",
        channels=["ax", "ay", "az"],
        units={"ax": "g", "ay": "g", "az": "g"},
        # MSA301 range not recorded; observed |a| <= 1.09 g fits its +-2 g default.
        full_scale={"accel_g": 2.0},
        device_id="ceiling_fan_msa301",
        session_id=f"{folder}_{path.stem}",
        source=f"imu/ceiling_fan/{relative}/{path.name}",
        extra={
            "importer": "ceiling_fan",
            "file": str(path),
            "folder": relative,
            "speed": speed,
            "weights": weights,
            "moving": suffix == "-moving",
            "deploy": suffix == "-deploy",
            "full_scale_assumed": True,
        },
    )
    session = Session(t=np.arange(FAN_ROWS, dtype=np.float64) / FAN_RATE_HZ, data=data.astype(np.float32), meta=meta)
    validate(session, str(path), line_numbers=np.arange(FAN_ROWS) + 1)
    return session


def import_ceiling_fan(root: str | os.PathLike, progress: bool = False) -> list[Session]:
    """All windows of imu/ceiling_fan below `root`, one Session per file, sorted by path."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*.csv") if FAN_FOLDER_PATTERN.match(p.parent.name))
    if not files:
        raise InputError(f"{root}: no ceiling_fan windows (fan_*/NNNN.csv)", hint="point at imu/ceiling_fan")
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="ceiling_fan", unit="file")
    return [import_ceiling_fan_file(p, root) for p in files]


def ceiling_fan_sessions(root: str | os.PathLike, progress: bool = False) -> list[Session]:
    """Alias of `import_ceiling_fan`: every window of the data set as its own session."""
    return import_ceiling_fan(root, progress=progress)


# ----------------------------------------------------------------------------------------- generic CSV


def time_column_by_name(path: str | os.PathLike, sep: str | None = None) -> str | None:
    """The header column named like a time column (t, time, timestamp, time_ms, ...: `time_like_column`), else
    None; as `tinyad detect` finds one. The header is read as `channels_by_name` reads it (a bad file is named
    by `read_csv`)."""
    from tinyad.timestamps import time_like_column

    path = Path(path)
    return time_like_column(read_csv(path, sep=sep or sniff_separator(path), nrows=1).columns)


def channels_by_name(path: str | os.PathLike, sep: str | None = None) -> dict[str, str]:
    """{channel: column} for the header columns already named like tinyad channels (ax .. gz, any case), so a
    file whose header says ax,ay,az needs no --map; {} when none is."""
    path = Path(path)
    header = read_csv(path, sep=sep or sniff_separator(path), nrows=1).columns
    by_lower = {str(name).strip().lower(): str(name) for name in header}
    return {c: by_lower[c] for c in KNOWN_CHANNELS if c in by_lower}


def import_csv(
    path: str | os.PathLike,
    mapping: dict[str, str],
    sample_rate_hz: float | None = None,
    time_column: str | None = None,
    time_unit: str = "s",
    units: dict[str, str] | None = None,
    label: str = "unknown",
    scale: dict[str, float] | None = None,
    device_id: str = "csv",
    session_id: str | None = None,
    full_scale: dict[str, float] | None = None,
    sep: str | None = None,
    dlpf_hz: float = 0.0,
) -> Session:
    """Import a CSV with a header using a column mapping such as {"ax": "AccX", "gz": "GyroZ"}.

    units: source unit per channel (accel: g, mg, m/s^2; gyro: dps, deg/s, mdps, rad/s; or "counts", which
    needs a `scale`); channels not listed are taken as canonical (g, dps). scale: multiplies the column before
    the unit conversion (e.g. counts -> g with 4/32768). Time: `time_column` in `time_unit` (s/ms/us/ns, or
    date-time strings), made relative to the first row; without it `sample_rate_hz` is required and
    t = i / rate. The rate is inferred as 1 / median interval (6 significant digits) when not given; rates outside
    1 Hz .. 10 kHz are refused (a wrong time unit). sep: the field separator, sniffed among , ; tab | when None.
    Intervals longer than 1.5 nominal intervals (lost samples) are kept and listed in meta.extra["gaps"].
    dlpf_hz: the sensor low-pass bandwidth the recording was made with (0: unknown), recorded in the session.
    """
    path = Path(path)
    if not 0 <= dlpf_hz < float("inf"):  # NaN too
        raise InputError(f"sensor low-pass {dlpf_hz:g} Hz is no bandwidth",
                         hint="give the DLPF bandwidth in Hz, e.g. 44 for the MPU6050's DLPF_CFG 3, or leave it out")
    if not mapping:
        raise InputError(f"{path}: empty column mapping", hint='map channels to columns, e.g. {"ax": "AccX"}')
    unknown = [c for c in mapping if c not in KNOWN_CHANNELS]
    if unknown:
        raise InputError(f"{path}: unknown channels {unknown} in the mapping",
                         hint=f"channels are {' '.join(KNOWN_CHANNELS)}")
    if time_unit not in TIME_UNIT_FACTORS:
        raise InputError(f"unknown time unit {time_unit!r}", hint=f"use one of {', '.join(TIME_UNIT_FACTORS)}")
    if time_column is None and not sample_rate_hz:
        raise InputError(f"{path}: no time column and no sample rate",
                         hint="give the time column (--time-column) or the sample rate (--rate)")
    if sample_rate_hz is not None and not MIN_RATE_HZ <= sample_rate_hz <= MAX_RATE_HZ:  # also NaN
        raise InputError(f"{path}: sample rate {sample_rate_hz:g} Hz is outside what an IMU streams "
                         f"({MIN_RATE_HZ:g} Hz .. {MAX_RATE_HZ:g} Hz)",
                         hint="give the rate in Hz with --rate (e.g. --rate 100), or leave it out to infer it from "
                              "the time column (--time-column, in the unit --time-unit gives)")
    channels = [c for c in KNOWN_CHANNELS if c in mapping]  # canonical order
    factors = _unit_factors(path, channels, units or {}, scale or {})

    if sep is None and path.is_file():
        sep = sniff_separator(path)
    frame = read_csv(path, sep=sep or ",", skipinitialspace=True)
    lines = np.arange(len(frame)) + 2
    _check_separator(path, frame, [mapping[c] for c in channels] + ([time_column] if time_column else []))
    values = _numeric_columns(path, frame, {c: mapping[c] for c in channels})
    data = np.stack([values[c] * factors[c] for c in channels], axis=1)
    _check_float32(path, data, lines, [mapping[c] for c in channels])
    if time_column is not None:
        t_raw = _time_column(path, frame, time_column, time_unit)
        _check_finite(path, t_raw, lines, time_column)
        t = t_raw - t_raw[0]
    else:
        t = np.arange(len(frame), dtype=np.float64) / sample_rate_hz
    if len(t) < 2:
        raise InputError(f"{path}: a session needs at least 2 rows, got {len(t)}")
    dt = np.diff(t)
    if (dt <= 0).any():
        row = int(np.flatnonzero(dt <= 0)[0]) + 1
        # As the file has them (not relative to the first row), with the unit unless they are date-times.
        before, after = (_cell_text(frame[time_column].iloc[r]) for r in (row - 1, row))
        unit = f" {time_unit}" if _is_number(after) else ""
        raise InputError(f"{path}: line {lines[row]}: time does not increase ({before} -> {after}{unit})",
                         hint="timestamps must be strictly increasing; sort, de-duplicate or split the file")
    # 1 / median interval carries float noise (100.00000000000213): 6 significant digits are what the data tell.
    inferred = float(f"{1.0 / float(np.median(dt)):.6g}")
    if sample_rate_hz is None and not MIN_RATE_HZ <= inferred <= MAX_RATE_HZ:
        read_as = f"read in {time_unit}" if _is_number(_cell_text(frame[time_column].iloc[0])) else "(date-times)"
        raise InputError(f"{path}: the time column {time_column!r} {read_as} gives {inferred:.6g} Hz, "
                         f"outside what an IMU streams ({MIN_RATE_HZ:g} Hz .. {MAX_RATE_HZ:g} Hz)",
                         hint="give the column's unit with --time-unit (s, ms, us, ns), or the rate with --rate")
    rate = float(sample_rate_hz or inferred)
    gap_rows = np.flatnonzero(dt > GAP_FACTOR / rate) + 1
    meta = SessionMeta(
        sample_rate_hz=rate,
        label=label,
        channels=channels,
        units={c: CANONICAL_UNITS[c] for c in channels},
        full_scale=dict(full_scale or {}),
        dlpf_hz=float(dlpf_hz),
        device_id=device_id,
        session_id=session_id or path.stem,
        source=str(path),
        extra={
            "importer": "csv",
            "file": str(path),
            "mapping": {c: mapping[c] for c in channels},
            "source_units": {c: (units or {}).get(c, CANONICAL_UNITS[c]) for c in channels},
            "scale": {c: float(v) for c, v in (scale or {}).items()},
            "time_column": time_column,
            "time_unit": time_unit,
            "rate_inferred": sample_rate_hz is None,
            "gap_count": int(gap_rows.size),
            "gaps": [[int(lines[r]), round(float(dt[r - 1]), 6)] for r in gap_rows[:MAX_LISTED]],
            "missing_samples_estimate": int(np.round(dt[gap_rows - 1] * rate - 1).sum()),
        },
    )
    session = Session(t=t, data=data.astype(np.float32), meta=meta)
    validate(session, str(path), line_numbers=lines)
    return session


# ------------------------------------------------------------------------------------------- writing


def write_sessions(sessions: list[Session], out_dir: str | os.PathLike, progress: bool = False,
                   overwrite: bool = False) -> list[Path]:
    """Write sessions to `out_dir/<session_id>.parquet`, all or nothing.

    All sessions are validated first; files are written into a staging directory inside `out_dir` and moved
    into place only when every one was written. Refuses duplicate session ids within the batch, and (unless
    `overwrite`) a session file that already exists in `out_dir`: the same id would silently replace another
    recording, possibly of another label.
    """
    out_dir = Path(out_dir)
    ids = [s.meta.session_id for s in sessions]
    repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if repeated:
        raise InputError(f"repeated session ids {repeated[:5]}", hint="session ids name the output files")
    existing = [out_dir / f"{i}.parquet" for i in ids if (out_dir / f"{i}.parquet").exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        listed = ", ".join(str(p) for p in existing[:3]) + more
        exist = "session file already exists" if len(existing) == 1 else "session files already exist"
        raise InputError(f"{listed}: {exist} (session ids name the files)",
                         hint="give another --session-id (csv), another --out, or --overwrite to replace it")
    for session in sessions:
        validate(session, session.meta.extra.get("file", session.meta.session_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=out_dir))
    try:
        items = sessions
        if progress:
            from tqdm import tqdm

            items = tqdm(sessions, desc="write", unit="session")
        staged = [write_session(staging / f"{s.meta.session_id}.parquet", s) for s in items]
        final = []
        for file in staged:
            target = out_dir / file.name
            os.replace(file, target)
            final.append(target)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------------------------------- helpers


def _numeric_columns(path: Path, frame, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """Columns as float64; names the first missing column or the line of the first non-numeric/NaN value."""
    import pandas as pd

    missing = [col for col in columns.values() if col not in frame.columns]
    if missing:
        raise InputError(f"{path}: line 1: missing columns {missing}; the header has {list(frame.columns)}",
                         hint="check the column mapping")
    out = {}
    for key, col in columns.items():
        converted = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(converted)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            cell = frame[col].iloc[row]
            what = ("is empty or NaN (a line cut short?)" if pd.isna(cell)
                    else f"value {str(cell)!r} is not a finite number")
            raise InputError(f"{path}: line {row + 2}, column {col!r}: {what}",
                             hint="fix or remove the row (NaN, empty and text values are not imported)")
        out[key] = converted
    return out


def _check_float32(path: Path, data: np.ndarray, lines: np.ndarray, columns: list[str]) -> None:
    """Sessions store float32: a value beyond its range (1e40) would become inf; name its line and column."""
    beyond = np.abs(data) > FLOAT32_MAX
    if beyond.any():
        row, col = (int(v) for v in np.argwhere(beyond)[0])
        raise InputError(f"{path}: line {lines[row]}, column {columns[col]!r}: value {data[row, col]:g} is too large "
                         f"for float32 (at most {FLOAT32_MAX:.4g} in the session's units)",
                         hint="fix or remove the row (a corrupt cell, or a wrong --scale / --units)")


def _check_separator(path: Path, frame, wanted: list[str]) -> None:
    """A file read with the wrong separator has one column whose name holds the real one: say so."""
    if len(frame.columns) != 1 or all(name in frame.columns for name in wanted):
        return
    header = str(frame.columns[0])
    for candidate in ";\t|,":
        if candidate in header:
            shown = "$'\\t'" if candidate == "\t" else f"'{candidate}'"
            raise InputError(f"{path}: line 1: one column {header!r}: the fields seem to be separated by "
                             f"{candidate!r}", hint=f"give the separator: --sep {shown}")


def _cell_text(cell) -> str:
    """A time cell as the file has it: 4.99, 1000, or the date-time text (not np.float64(4.99))."""
    if isinstance(cell, (bool, np.bool_)):
        return str(cell)
    if isinstance(cell, (int, np.integer)):
        return str(int(cell))
    if isinstance(cell, (float, np.floating)):
        return repr(float(cell))
    return str(cell)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_finite(path: Path, values: np.ndarray, lines: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"{path}: line {lines[np.flatnonzero(bad)[0]]}, column {name!r}: not a finite number")


def _time_column(path: Path, frame, column: str, unit: str) -> np.ndarray:
    """Seconds (float64) from a numeric column in `unit`, or from date-time strings, read as `detect` reads
    them (`time_stamps`: dotted dates day first, stamps with UTC offsets as instants across a daylight-saving
    switch)."""
    import pandas as pd

    if column not in frame.columns:
        raise InputError(f"{path}: line 1: missing time column {column!r}; the header has {list(frame.columns)}")
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series):
        return _numeric_columns(path, frame, {"t": column})["t"] * TIME_UNIT_FACTORS[unit]
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().mean() > 0.5:  # numbers with a few bad cells: name the bad line
        return _numeric_columns(path, frame, {"t": column})["t"] * TIME_UNIT_FACTORS[unit]
    parsed = time_stamps(series)
    if parsed is None:
        # Name the first cell that is no time on its own (read cell by cell), else the file mixes formats.
        unread = pd.to_datetime(series, errors="coerce", utc=True, format="mixed").isna().to_numpy()
        rows = np.flatnonzero(unread)
        if len(rows):
            raise InputError(f"{path}: line {rows[0] + 2}, column {column!r}: {series.iloc[rows[0]]!r} is not a time")
        raise InputError(f"{path}: column {column!r}: the time stamps are not all in one format (e.g. "
                         f"{series.iloc[0]!r})", hint="export the times in one format, or give --rate instead")
    stamps = parsed[0]
    return (stamps - stamps[0]).astype(np.int64) / 1e9


def _unit_factors(path: Path, channels: list[str], units: dict[str, str], scale: dict[str, float]) -> dict:
    """Per channel: multiply the source column by this to get canonical units (g or dps)."""
    extra = [c for c in list(units) + list(scale) if c not in channels]
    if extra:
        raise InputError(f"{path}: units/scale given for unmapped channels {sorted(set(extra))}")
    factors = {}
    for c in channels:
        unit = units.get(c, CANONICAL_UNITS[c])
        table = ACCEL_UNIT_FACTORS if c.startswith("a") else GYRO_UNIT_FACTORS
        if unit == "counts":
            if c not in scale:
                raise InputError(f"{path}: channel {c!r} is in counts but has no scale",
                                 hint="give scale, e.g. full scale / 32768 per count")
            factor = 1.0  # the scale converts counts to canonical units
        elif unit in table:
            factor = table[unit]
        else:
            raise InputError(f"{path}: unknown unit {unit!r} for channel {c!r}",
                             hint=f"use one of {', '.join(table)} or counts")
        factors[c] = factor * float(scale.get(c, 1.0))
    return factors


def _read_headerless_floats(path: Path, n_columns: int) -> np.ndarray:
    """Parse a header-less numeric CSV; names the first bad line (wrong field count, text, NaN)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        text = path.read_text()
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not a text CSV ({err})") from err
    # Fast path for well-formed files; the line-by-line loop below only runs to name the first bad line.
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(line.count(",") == n_columns - 1 for line in lines):
        try:
            values = np.array(",".join(lines).split(","), dtype=np.float64).reshape(len(lines), n_columns)
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            return values
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != n_columns:
            raise InputError(f"{path}: line {number}: {len(fields)} fields, expected {n_columns}",
                             hint="the file is truncated or has the wrong channel count")
        try:
            values = [float(f) for f in fields]
        except ValueError as err:
            raise InputError(f"{path}: line {number}: not a number ({line.strip()!r})") from err
        if not all(np.isfinite(values)):
            raise InputError(f"{path}: line {number}: NaN or infinite value ({line.strip()!r})")
        rows.append(values)
    if not rows:
        raise InputError(f"{path}: the file is empty")
    return np.asarray(rows, dtype=np.float64)
