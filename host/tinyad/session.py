"""The session format: one Parquet file per recorded session (see docs/session-format.md).

A session is a time column `t` (float64 seconds since the session start) plus up to six float32 channel
columns in physical units (`ax ay az` in g, `gx gy gz` in deg/s), and JSON metadata stored in the Parquet
schema under the key `tinyad.session`. Files are written atomically (temporary file + rename), so a reader
never sees a half-written session.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinyad.atomic import atomic_path
from tinyad.errors import InputError

FORMAT_VERSION = 2  # 2: dlpf_hz (older files read as 0, unknown)
METADATA_KEY = b"tinyad.session"
KNOWN_CHANNELS = ("ax", "ay", "az", "gx", "gy", "gz")
CANONICAL_UNITS = {"ax": "g", "ay": "g", "az": "g", "gx": "dps", "gy": "dps", "gz": "dps"}
STANDARD_GRAVITY = 9.80665  # m/s^2 per g
# Sensor ranges assumed when a session records none: the MPU6050 ranges the firmware configures by default.
DEFAULT_FULL_SCALE = {"accel_g": 4.0, "gyro_dps": 500.0}
# Relative tolerance for "sampled at this rate": a session's declared rate against its median interval (`validate`),
# and a recording's rate against a model's (`rate_matches`). A session stores a nominal rate - `tinyad record` the
# board's configured rate from INFO, an import the --rate given - or, for an import without --rate, 1 / its median
# interval, which carries the logger's clock error (and a SIL replaying it reports that rate). The board samples on
# the MPU6050's clock, a gyro MEMS oscillator that varies by +-1 % over temperature (MPU-6000/6050 product
# specification, 7.15), so a recording within 2 % is at the model's rate; the board's own rates (divisors of
# 1000 Hz: 100, 125, ...) stay apart.
RATE_TOLERANCE = 0.02
# Two rates that label the same stream must be the same number: the sessions of one training set (the model keeps
# one rate) and `sim --rate` against a session's own rate. 1e-6 absorbs only float rounding (an importer's 6
# significant digits, the board's float32); anything more would relabel every frequency.
SAME_RATE_TOLERANCE = 1e-6
# An interval longer than this many nominal intervals is a gap (lost samples).
GAP_FACTOR = 1.5
# Mixed rates: this many consecutive gaps are a stretch at a slower rate, not lost samples (those are isolated:
# a lost SAMPLES frame leaves 8 samples between two gaps).
MIXED_RATE_RUN = 5


@dataclass
class SessionMeta:
    """Metadata of one session. `full_scale` holds the sensor ranges, e.g. {"accel_g": 2, "gyro_dps": 250}."""

    sample_rate_hz: float
    label: str
    channels: list[str]
    units: dict[str, str] = field(default_factory=dict)
    full_scale: dict[str, float] = field(default_factory=dict)
    # The sensor's low-pass bandwidth (MPU6050 DLPF, accelerometer) in Hz; 0 when unknown. It shapes the spectrum
    # a model learns, so a model records it and the board must be configured with the same one.
    dlpf_hz: float = 0.0
    device_id: str = "unknown"
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    source: str = ""
    created_utc: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    # Free-form extras: the recorder's sequence gaps, the importer's original file and row range, ...
    extra: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self):
        if "dlpf_hz" in self.extra:  # format 1: the synthesizer kept it among the extras (the caller's dict stays)
            self.dlpf_hz = self.dlpf_hz or float(self.extra["dlpf_hz"])
            self.extra = {key: value for key, value in self.extra.items() if key != "dlpf_hz"}
        if not self.units:
            self.units = {c: CANONICAL_UNITS.get(c, "") for c in self.channels}


@dataclass
class Session:
    """Timestamps `t` (n,), float64 seconds; `data` (n, channels), float32 physical units; `meta`."""

    t: np.ndarray
    data: np.ndarray
    meta: SessionMeta
    path: Path | None = field(default=None, compare=False, repr=False)  # the file `read_session` read it from

    @property
    def where(self) -> str:
        """How messages name the session: its file when it was read from one (the user knows files, not the
        random session ids), else `session <id>`."""
        return str(self.path) if self.path is not None else f"session {self.meta.session_id}"

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self.t) else 0.0


def validate(session: Session, where: str = "<session>", line_numbers=None) -> None:
    """Raise InputError naming `where` and the first bad row for: shape mismatch, unknown or repeated
    channels, NaN/inf values, non-monotonic time, or a median interval that contradicts the sample rate
    (mixed rates).

    Rows are named "row i" (0-based sample index). Importers pass `line_numbers` (the 1-based line of the
    source file each sample came from) so that errors name "line N" of the original file instead.
    """
    meta = session.meta
    t = np.asarray(session.t)
    data = np.asarray(session.data)

    def row_ref(row: int) -> str:
        if line_numbers is not None and 0 <= row < len(line_numbers):
            return f"line {int(line_numbers[row])}"
        return f"row {row}"
    if data.ndim != 2:
        raise InputError(f"{where}: data must be 2-D (samples, channels), got shape {data.shape}")
    if len(meta.channels) != data.shape[1]:
        raise InputError(
            f"{where}: {data.shape[1]} data columns but {len(meta.channels)} channel names {meta.channels}",
            hint="the channel list in the metadata must match the columns",
        )
    unknown = [c for c in meta.channels if c not in KNOWN_CHANNELS]
    if unknown:
        raise InputError(f"{where}: unknown channel names {unknown}", hint=f"channels are {' '.join(KNOWN_CHANNELS)}")
    if len(set(meta.channels)) != len(meta.channels):
        raise InputError(f"{where}: repeated channel names {meta.channels}")
    if not 1 <= len(meta.channels) <= 6:
        raise InputError(f"{where}: sessions hold 1 to 6 channels, got {len(meta.channels)}")
    if t.shape != (data.shape[0],):
        raise InputError(f"{where}: {t.shape[0]} timestamps for {data.shape[0]} samples")
    if data.shape[0] < 2:
        raise InputError(f"{where}: a session needs at least 2 samples, got {data.shape[0]}")
    if not np.isfinite(t).all():
        row = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InputError(f"{where}: {row_ref(row)}: timestamp is NaN or infinite")
    bad = ~np.isfinite(data)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(
            f"{where}: {row_ref(row)}, channel {meta.channels[col]!r}: value is NaN or infinite",
            hint="drop or interpolate the bad rows before importing",
        )
    dt = np.diff(t)
    if (dt <= 0).any():
        row = int(np.flatnonzero(dt <= 0)[0]) + 1
        raise InputError(
            f"{where}: {row_ref(row)}: time does not increase ({float(t[row - 1]):.6g} s -> {float(t[row]):.6g} s)",
            hint="timestamps must be strictly increasing; sort or split the recording",
        )
    if not (meta.sample_rate_hz and meta.sample_rate_hz > 0):  # NaN too
        raise InputError(f"{where}: sample rate must be positive, got {meta.sample_rate_hz}")
    expected = 1.0 / meta.sample_rate_hz
    median = float(np.median(dt))
    if abs(median - expected) > RATE_TOLERANCE * expected:
        raise InputError(
            f"{where}: median sample interval {median * 1e3:.3f} ms contradicts the declared rate "
            f"{meta.sample_rate_hz:g} Hz ({expected * 1e3:.3f} ms)",
            hint="declare the real rate, or split a file that mixes rates",
        )
    # Mixed rates inside one file: a long stretch sampled at another interval.
    short = dt < 0.75 * expected
    if short.sum() > max(10, 0.01 * len(dt)):
        row = int(np.flatnonzero(short)[0]) + 1
        raise InputError(
            f"{where}: {row_ref(row)}: {int(short.sum())} intervals are shorter than 0.75/rate; "
            "the file seems to mix sample rates",
            hint="split the file at the rate change",
        )
    # The slower part of a file whose faster rate is the majority (100 Hz inside 200 Hz): the median fits and no
    # interval is short, but its intervals are gaps one after another. Lost samples and reboots are isolated
    # gaps (motor_mpu6050: ~0.01 % of the intervals), however many there are.
    in_runs = _in_runs(dt > GAP_FACTOR * expected, MIXED_RATE_RUN)
    if in_runs.sum() > max(10, 0.01 * len(dt)):
        row = int(np.flatnonzero(in_runs)[0]) + 1
        typical = float(np.median(dt[in_runs]))
        raise InputError(
            f"{where}: {row_ref(row)}: {int(in_runs.sum())} intervals in runs of {MIXED_RATE_RUN} or more are longer "
            f"than {GAP_FACTOR:g}/rate (typically {typical * 1e3:.4g} ms, {typical / expected:.3g} periods); the "
            "file seems to mix sample rates",
            hint="split the file at the rate change",
        )


def _in_runs(mask: np.ndarray, min_run: int) -> np.ndarray:
    """True where `mask` is True within a run of at least `min_run` consecutive True values."""
    if not mask.any():
        return np.zeros_like(mask)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = np.zeros_like(mask)
    for start, stop in zip(starts, stops):
        if stop - start >= min_run:
            out[start:stop] = True
    return out


def low_pass_differs(recorded_hz: float, trained_hz: float) -> bool:
    """Whether two sensor low-pass (DLPF) bandwidths are known and differ; 0 means not recorded, never judged.
    E.g. (44, 94) -> True, (0, 94) -> False, (44, 44) -> False."""
    return bool(recorded_hz) and bool(trained_hz) and float(recorded_hz) != float(trained_hz)


def rate_matches(rate_hz: float, expected_hz: float, tolerance: float = RATE_TOLERANCE) -> bool:
    """Whether `rate_hz` is `expected_hz` (a model's or a board's rate) within `tolerance` of `expected_hz`.
    The one test for "recorded at the model's rate?"; False for NaN, infinite or non-positive rates."""
    if not (math.isfinite(rate_hz) and math.isfinite(expected_hz) and expected_hz > 0):
        return False
    return abs(rate_hz - expected_hz) <= tolerance * expected_hz


def model_channels(session: Session, channels: list[str], where: str) -> np.ndarray:
    """The session's samples (n, len(channels)) in a model's channel order; InputError naming the channels the
    session lacks."""
    missing = [c for c in channels if c not in session.meta.channels]
    if missing:
        raise InputError(f"{where}: lacks the model's channels {missing}: the model needs channels {list(channels)}, "
                         f"the session has {session.meta.channels}", hint=f"record or import sessions with {missing}")
    return session.data[:, [session.meta.channels.index(c) for c in channels]]


def full_scale_key(channel: str) -> str:
    """"accel_g" for ax/ay/az, "gyro_dps" for gx/gy/gz: the `full_scale` entry that bounds the channel."""
    return "accel_g" if channel.startswith("a") else "gyro_dps"


def range_warnings(data: np.ndarray, channels: list[str], full_scale: dict | None, where: str = "") -> list[str]:
    """Warnings (text) for values the sensor could not have delivered at `full_scale` (default ranges when empty)
    and for an accelerometer that looks like m/s^2 rather than g: a median magnitude near 9.8 where a sensor
    at rest reads 1 g. The board clips such values at its full scale (and training clips its windows the
    same way, see `clip_to_full_scale`); they usually mean a missing unit conversion."""
    data = np.asarray(data, np.float64).reshape(-1, len(channels))
    scale = {**DEFAULT_FULL_SCALE, **(full_scale or {})}
    out = gravity_units_warnings(data, channels, where)
    limits = [float(scale[full_scale_key(c)]) for c in channels]
    return out + full_scale_warnings(
        data, channels, limits, where, limit_note="" if full_scale else " (assumed: the session records no full scale)",
        consequence="they are clipped to the full scale for training, as on the board",
        hint="check --units and --scale: a sensor at that range cannot deliver them" if full_scale else
        "check --units and --scale; if the sensor was set to a wider range, import with --full-scale, "
        "e.g. accel_g=8,gyro_dps=1000")


def gravity_units_warnings(data: np.ndarray, channels: list[str], where: str = "") -> list[str]:
    """A line (in a list) when the accelerometer channels look like m/s^2 rather than g: a median magnitude
    near 9.8 where a sensor at rest reads 1 g; else an empty list."""
    data = np.asarray(data, np.float64).reshape(-1, len(channels))
    accel = [i for i, c in enumerate(channels) if c.startswith("a")]
    if not accel or not len(data):
        return []
    magnitude = float(np.median(np.linalg.norm(data[:, accel], axis=1)))
    if not 0.8 * STANDARD_GRAVITY <= magnitude <= 1.2 * STANDARD_GRAVITY:
        return []
    prefix = f"{where}: " if where else ""
    return [f"{prefix}the median accelerometer magnitude is {magnitude:.3g} \"g\", close to 9.81: the data look "
            "like m/s^2 (hint: import with --units " + ",".join(f"{channels[i]}=m/s^2" for i in accel) + ")"]


def full_scale_warnings(data: np.ndarray, channels: list[str], limits: list[float], where: str = "",
                        scale_name: str = "the full scale", limit_note: str = "", consequence: str = "",
                        hint: str = "") -> list[str]:
    """One line per channel with values beyond +-its limit (`limits`, in the channel's unit): the share of its
    values beyond it and the largest magnitude, named `scale_name` (e.g. "the model's full scale") with
    `limit_note` after the limit, then what happens to them (`consequence`) and a `hint`. The one wording of
    "values beyond the full scale", for import and training (`range_warnings`) and for a replay (tinyad.sil)."""
    data = np.asarray(data, np.float64).reshape(-1, len(channels))
    prefix = f"{where}: " if where else ""
    out = []
    for i, (channel, limit) in enumerate(zip(channels, limits)):
        magnitude = np.abs(data[:, i])
        beyond = magnitude > limit  # +limit itself is 32768 counts, saturated by one count: not counted
        if not beyond.any():
            continue
        unit = CANONICAL_UNITS.get(channel, "")
        line = (f"{prefix}channel {channel}: {100 * beyond.mean():.3g} % of the values exceed {scale_name} "
                f"+-{limit:g} {unit}{limit_note} (max |{channel}| {magnitude.max():.4g} {unit})")
        out.append(line + (f"; {consequence}" if consequence else "") + (f" (hint: {hint})" if hint else ""))
    return out


def clip_to_full_scale(data: np.ndarray, channels: list[str], full_scale: dict | None) -> np.ndarray:
    """`data` (..., channels) with each channel clipped to +-its recorded full scale: what the board can deliver.
    Channels whose range is not recorded are left as they are. Returns `data` itself when nothing is beyond the
    range, so data within the full scale stay bit-identical."""
    limits = np.array([float((full_scale or {}).get(full_scale_key(c), np.inf)) for c in channels])
    if np.isinf(limits).all() or not (np.abs(data) > limits).any():
        return data
    return np.clip(data, -limits, limits).astype(np.asarray(data).dtype, copy=False)


def gap_count(session: Session, factor: float = 1.5) -> int:
    """Number of sample intervals longer than `factor` nominal intervals (lost samples)."""
    dt = np.diff(session.t)
    return int((dt > factor / session.meta.sample_rate_hz).sum())


def write_session(path: str | os.PathLike, session: Session, exclusive: bool = False) -> Path:
    """Validate and write `session` to `path` (Parquet) atomically; `exclusive`: FileExistsError rather than replace
    a file there (`atomic_path`). Returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    validate(session, str(path))
    columns = {"t": pa.array(np.asarray(session.t, dtype=np.float64))}
    data = np.asarray(session.data, dtype=np.float32)
    for i, name in enumerate(session.meta.channels):
        columns[name] = pa.array(data[:, i])
    table = pa.table(columns)
    meta_json = json.dumps(asdict(session.meta), sort_keys=True, default=_json_default).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: meta_json})
    with atomic_path(path, exclusive) as tmp:
        pq.write_table(table, tmp)
    return path


def read_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file. Raises InputError naming the file on any problem."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such session file")
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for truncated/corrupt files
        raise InputError(f"{path}: not a readable Parquet session ({err})", hint=_unreadable_hint(path)) from err
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise InputError(f"{path}: Parquet file has no '{METADATA_KEY.decode()}' metadata",
                         hint="import foreign data with `tinyad import`")
    try:
        fields = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: session metadata is not valid JSON ({err})") from err
    if not isinstance(fields, dict):
        raise InputError(f"{path}: session metadata must be a JSON object")
    version = fields.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{path}: session format {version!r} is newer than this tinyad ({FORMAT_VERSION})",
                         hint="upgrade tinyad")
    try:
        meta = SessionMeta(**fields)
    except TypeError as err:
        raise InputError(f"{path}: session metadata has missing or unknown fields ({err})") from err
    missing = [c for c in ["t", *meta.channels] if c not in table.column_names]
    if missing:
        raise InputError(f"{path}: missing columns {missing}")
    t = table.column("t").to_numpy().astype(np.float64)
    data = np.stack([table.column(c).to_numpy().astype(np.float32) for c in meta.channels], axis=1)
    session = Session(t=t, data=data, meta=meta, path=path)
    validate(session, str(path))
    return session


_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def _unreadable_hint(path: Path) -> str:
    """The hint for a file Parquet cannot read: a CSV (or any text) file is data to import, anything else is
    probably a damaged session."""
    if path.suffix.lower() in _TEXT_SUFFIXES or _looks_like_text(path):
        return (f"it looks like a CSV (text) file: convert it to a session with `tinyad import csv "
                f"{path} --out DIR --label LABEL --map ax=COLUMN,...` (see `tinyad import --help`)")
    return "the file may be truncated or not a tinyad session"


def _looks_like_text(path: Path, size: int = 4096) -> bool:
    """Whether the file starts with printable UTF-8 text (a Parquet file starts with the bytes PAR1 and holds
    binary data right after them)."""
    try:
        with open(path, "rb") as file:
            head = file.read(size)
    except OSError:
        return False
    if head.startswith(b"PAR1"):  # a damaged session, however it goes on
        return False
    # a character cut at `size` is not binary; a byte-order mark may start a CSV written on Windows
    text = head.decode("utf-8", errors="replace").rstrip("\ufffd").lstrip("\ufeff")
    return bool(text) and all(c.isprintable() or c in "\t\r\n" for c in text)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value)}")
