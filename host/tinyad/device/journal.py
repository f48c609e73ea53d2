"""The recorder's journal: the samples `tinyad record` has received, appended as they arrive.

A session file is written once, at the end (Parquet cannot be appended to). Ctrl-C, SIGTERM and a vanished port
reach that end; `kill -9`, a crashed laptop or a power cut do not. So the recorder also appends every SAMPLES
frame to `<session>.parquet.partial` and removes it once the session is written: a recorder that died leaves the
journal, and `tinyad recover` makes a session of it.

Layout: the line `TINYAD-RECORDING-JOURNAL 1`, one line of JSON (the header: what the session's metadata needs,
from the device's INFO), then fixed-size little-endian records (int64 device sample number, int16 raw count per
channel). A record cut short by the crash is dropped and counted.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinyad.errors import InputError

MAGIC = b"TINYAD-RECORDING-JOURNAL 1\n"
SUFFIX = ".partial"
# Each frame is handed to the system as it arrives (survives kill -9); fsync at most this often (power cuts).
SYNC_INTERVAL_S = 1.0
# Longest header line accepted when reading (a damaged file is not read whole in search of a newline).
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class JournalHeader:
    """What a session of the journal's samples needs besides them: the device's INFO as `record` read it."""

    label: str
    sample_rate_hz: float  # the device's rate; the session's is this / decimation
    decimation: int
    channels: list[str]
    units_per_count: list[float]
    full_scale: dict[str, float]
    dlpf_hz: float
    device_id: str
    source: str
    extra: dict = field(default_factory=dict)  # firmware, sensor, sil, model_sha256
    target: str = ""  # the session file the recorder meant to write
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    started_utc: str = ""
    # The recorder process's start (clock ticks after boot, /proc/<pid>/stat; None where there is no /proc): a
    # later process given the same number is not the recorder.
    pid_start: int | None = field(default_factory=lambda: process_start(os.getpid()))


def journal_path(session_path: str | os.PathLike) -> Path:
    """normal-20261207T203230Z.parquet -> normal-20261207T203230Z.parquet.partial"""
    path = Path(session_path)
    return path.with_name(path.name + SUFFIX)


def record_dtype(n_channels: int) -> np.dtype:
    """One journal record: the device sample number and the raw counts."""
    return np.dtype([("sample", "<i8"), ("raw", "<i2", (n_channels,))])


class RecordingJournal:
    """An open journal; `append` each SAMPLES frame, `remove` once the session is safely written."""

    def __init__(self, path: Path, header: JournalHeader):
        self.path = path
        self.dtype = record_dtype(len(header.channels))
        # Unbuffered: every write reaches the system at once, so a killed process loses nothing it had received.
        self._file = open(path, "xb", buffering=0)
        self._file.write(MAGIC + json.dumps(asdict(header)).encode() + b"\n")
        self._last_sync = time.monotonic()

    @classmethod
    def create(cls, session_path: str | os.PathLike, header: JournalHeader) -> "RecordingJournal":
        """Open a new journal beside `session_path` (its folder created), or beside its first free -2, -3, ...
        name when another recorder's journal has that name; never over an existing file."""
        path = journal_path(session_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for number in range(1, 10_000):
            candidate = path if number == 1 else path.with_name(
                f"{Path(session_path).stem}-{number}{Path(session_path).suffix}{SUFFIX}")
            try:
                return cls(candidate, header)
            except FileExistsError:
                continue
        raise OSError(f"no free journal name beside {path}")

    def append(self, sample_numbers: np.ndarray, raw: np.ndarray) -> None:
        """Append one frame's samples: device sample numbers (n,) and raw counts (n, channels)."""
        rows = np.empty(len(sample_numbers), dtype=self.dtype)
        rows["sample"] = sample_numbers
        rows["raw"] = raw
        self._file.write(rows.tobytes())
        if time.monotonic() - self._last_sync >= SYNC_INTERVAL_S:
            os.fsync(self._file.fileno())
            self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def remove(self) -> None:
        """The session is written: the journal is no longer needed."""
        self.close()
        self.path.unlink(missing_ok=True)


@dataclass
class JournalContents:
    """What a journal holds: its header, the device sample numbers (n,) int64 and raw counts (n, channels) int16,
    and how many bytes at its end formed no whole record (the write the crash cut)."""

    header: JournalHeader
    sample_numbers: np.ndarray
    raw: np.ndarray
    cut_bytes: int


HINT = "a journal is the <session>.parquet.partial a `tinyad record` leaves while it records"


def _read_header(f, path: Path) -> JournalHeader:
    """The header of the journal open as `f` (positioned at its start); leaves `f` at the first record."""
    if f.read(len(MAGIC)) != MAGIC:
        raise InputError(f"{path} is not a tinyad recording journal (it does not start with {MAGIC.strip()!r})",
                         hint=HINT)
    header_line = f.readline(MAX_HEADER_BYTES)
    try:
        if not header_line.endswith(b"\n"):
            raise ValueError("the header line is unfinished")
        header = JournalHeader(**json.loads(header_line))
        record_dtype(len(header.channels))
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: the journal's header is damaged ({err}); its samples cannot be interpreted",
                         hint="keep the file; its records are int64 sample number + int16 per channel") from err
    return header


def _open(path: Path):
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a recording journal", hint=HINT) from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from err


def read_header(path: str | os.PathLike) -> JournalHeader:
    """Only the header of a journal (InputError as `read_journal`)."""
    path = Path(path)
    with _open(path) as f:
        return _read_header(f, path)


def read_journal(path: str | os.PathLike) -> JournalContents:
    """Read a journal; InputError naming the file when it is not one or its header is damaged."""
    path = Path(path)
    with _open(path) as f:
        header = _read_header(f, path)
        body = f.read()
    dtype = record_dtype(len(header.channels))
    whole = len(body) // dtype.itemsize * dtype.itemsize
    rows = np.frombuffer(body[:whole], dtype=dtype)
    raw = rows["raw"].astype(np.int16).reshape(len(rows), len(header.channels))
    return JournalContents(header, rows["sample"].astype(np.int64), raw, len(body) - whole)


def sequence_gaps(sample_numbers: np.ndarray, decimation: int) -> list[dict]:
    """The gaps in a journal's sample numbers, in the recorder's meta.extra.sequence_gaps form (the frames missed
    with them are not known afterwards: None)."""
    numbers = np.asarray(sample_numbers, dtype=np.int64)
    step = max(1, decimation)
    at = np.flatnonzero(np.diff(numbers) != step) + 1
    return [{
        "at_sample": int(i),
        "expected_sample_seq": int(numbers[i - 1] + step),
        "got_sample_seq": int(numbers[i]),
        "missing_samples": int((numbers[i] - numbers[i - 1] - step) // step),
        "frames_missed": None,
    } for i in at]


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None (no such process, no /proc)."""
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()  # the name may hold spaces and parentheses


def process_start(pid: int) -> int | None:
    """When the process started, in clock ticks after boot (/proc/<pid>/stat field 22); None without /proc."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def recorder_alive(header: JournalHeader) -> bool | None:
    """Whether the process that writes this journal still runs; None when the journal was written on another
    machine (its process cannot be checked from here). A killed recorder its parent has not reaped yet (a zombie)
    is not running, nor is a later process that was given the same number."""
    if header.host != socket.gethostname():
        return None
    fields = _proc_stat(header.pid)
    if fields is not None:
        if fields[0] in ("Z", "X"):  # zombie or dead: killed, waiting for its parent
            return False
        if header.pid_start is not None and len(fields) > 19 and int(fields[19]) != header.pid_start:
            return False
        return True
    try:
        os.kill(header.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process with that number
        return True
    return True


def unfinished_journals(folder: str | os.PathLike) -> list[Path]:
    """Journals in `folder` whose recorder on this machine no longer runs (or that are damaged): recordings that
    were never made sessions."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*.parquet{SUFFIX}")):
        try:
            header = read_header(path)
        except InputError:
            found.append(path)  # damaged: `tinyad recover` says what is wrong with it
            continue
        if recorder_alive(header) is False:
            found.append(path)
    return found
