"""`tinyad record`: capture a labeled session from the device's sample stream into the pipeline's format.

Raw counts become physical units with the full scale the device reports in INFO. Lost frames are found from
the sequence numbers (the frame counter and each frame's first sample number), recorded in meta.extra and
reported. Whatever was received is written - atomically - even when the recording is interrupted by Ctrl-C or
the port vanishes; the error is raised afterwards, naming the partial file. A recorder killed outright (kill -9, a
crash, a power cut) cannot write it: every frame also goes to a journal beside the session (`journal.py`), from
which `recover` makes the session.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.atomic import check_writable
from tinyad.device.client import DeviceClient
from tinyad.device.journal import SUFFIX as JOURNAL_SUFFIX
from tinyad.device.journal import JournalHeader, RecordingJournal, read_journal, recorder_alive, sequence_gaps
from tinyad.device.messages import DeviceInfo, SamplesFrame
from tinyad.errors import DeviceError, InputError
from tinyad.session import KNOWN_CHANNELS, Session, SessionMeta, write_session

FULL_SCALE_COUNTS = 32768.0
# The device's STREAM_START limit (docs/protocol.md, STREAM_DECIMATION range).
MAX_DECIMATION = 1000
# Samples per SAMPLES frame while streaming (firmware/core/include/tinyad/device.h, kSamplesPerFrame).
SAMPLES_PER_FRAME = 8
# -d is device time; a device that streams slower than this against the wall clock is stopped with an error.
WALL_FACTOR = 2.0
WALL_GRACE_S = 5.0


@dataclass
class SequenceTracker:
    """Follows the unsolicited frames: the frame counter (u16, shared by SAMPLES and SCORE, wraps) counts lost
    frames of either kind; the sample numbers of SAMPLES frames locate the samples lost with them."""

    decimation: int = 1
    next_sample_seq: int | None = None
    last_frame_seq: int | None = None
    gaps: list[dict] = field(default_factory=list)
    lost_samples: int = 0
    lost_frames: int = 0
    _frames_missed_since_samples: int = 0

    def note_frame(self, seq: int) -> None:
        """Every SAMPLES or SCORE frame, in arrival order."""
        if self.last_frame_seq is not None:
            missed = (seq - self.last_frame_seq - 1) & 0xFFFF
            self.lost_frames += missed
            self._frames_missed_since_samples += missed
        self.last_frame_seq = seq

    def check(self, frame: SamplesFrame, received_samples: int) -> None:
        """Record a gap if this SAMPLES frame does not continue where the previous one ended."""
        self.note_frame(frame.seq)
        if self.next_sample_seq is not None and frame.first_sample_seq != self.next_sample_seq:
            missing = (frame.first_sample_seq - self.next_sample_seq) // max(1, self.decimation)
            self.gaps.append({
                "at_sample": int(received_samples),
                "expected_sample_seq": int(self.next_sample_seq),
                "got_sample_seq": int(frame.first_sample_seq),
                "missing_samples": int(missing),
                "frames_missed": int(self._frames_missed_since_samples),
            })
            self.lost_samples += max(0, int(missing))
        self._frames_missed_since_samples = 0
        self.next_sample_seq = frame.first_sample_seq + frame.raw.shape[0] * frame.decimation


@dataclass
class Recording:
    """What `record()` produced."""

    path: Path | None
    n_samples: int
    duration_s: float
    wall_s: float
    frames: int
    gaps: list[dict]
    lost_samples: int
    bad_frames: int
    interrupted: str | None
    lost_frames: int = 0
    requested_path: Path | None = None  # differs from `path` when another recording took that name meanwhile
    journal_note: str | None = None  # the journal could not be kept beside the session (see journal.py)

    @property
    def samples_per_s(self) -> float:
        return self.n_samples / self.wall_s if self.wall_s > 0 else 0.0


def channel_names(n_channels: int) -> list[str]:
    """The device streams accelerometer then gyroscope axes: 3 -> ax ay az, 6 -> ax .. gz."""
    if n_channels not in (3, 6):
        raise DeviceError(f"the device streams {n_channels} channels; tinyad knows 3 (accel) or 6 (accel+gyro)")
    return list(KNOWN_CHANNELS[:n_channels])


def units_per_count(info: DeviceInfo, channels: list[str]) -> np.ndarray:
    """Physical units per raw count for each channel from the full scale in INFO (g or deg/s)."""
    if not (info.accel_full_scale_g > 0 and (info.gyro_full_scale_dps > 0 or len(channels) == 3)):
        raise DeviceError(f"the device reports no usable full scale (accel {info.accel_full_scale_g} g, "
                          f"gyro {info.gyro_full_scale_dps} dps)", hint="the firmware must fill INFO's full scale")
    return np.array([(info.accel_full_scale_g if c.startswith("a") else info.gyro_full_scale_dps)
                     / FULL_SCALE_COUNTS for c in channels], dtype=np.float64)


def aliasing_warning(rate_hz: float, decimation: int, dlpf_hz: float) -> str | None:
    """The warning for a --decimation whose rate cannot hold what the sensor's low-pass lets through: the device
    keeps every n-th sample without filtering, so vibration between the new Nyquist frequency and the low-pass
    bandwidth folds into lower frequencies. None when it fits (or the low-pass is unknown, 0)."""
    if decimation <= 1 or not dlpf_hz > 0:
        return None
    kept = rate_hz / decimation
    nyquist = kept / 2
    if dlpf_hz <= nyquist:
        return None
    return (f"--decimation {decimation} records {kept:g} Hz, which holds frequencies up to {nyquist:g} Hz, but the "
            f"sensor's low-pass passes up to {dlpf_hz:g} Hz: vibration between {nyquist:g} and {dlpf_hz:g} Hz folds "
            "into lower frequencies (aliasing; the device keeps every n-th sample without filtering). Record with "
            "--decimation 1, or build the board with a lower low-pass (CONFIG_TINYAD_DLPF_CFG)")


def journal_header(info: DeviceInfo, port: str, label: str, decimation: int, out_path: str | Path) -> JournalHeader:
    """What the session's metadata takes from the device's INFO, as the journal keeps it."""
    channels = channel_names(info.channels)
    return JournalHeader(
        label=label, sample_rate_hz=float(info.sample_rate_hz), decimation=decimation, channels=channels,
        units_per_count=units_per_count(info, channels).tolist(),
        full_scale={"accel_g": info.accel_full_scale_g, "gyro_dps": info.gyro_full_scale_dps},
        dlpf_hz=float(info.dlpf_bandwidth_hz), device_id=f"{info.board}:{info.model_sha256[:12]}",
        source=f"tinyad record {port}",
        extra={"firmware": info.firmware_version, "sensor": info.sensor, "sil": info.is_sil,
               "model_sha256": info.model_sha256},
        target=str(out_path), started_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


def build_session(header: JournalHeader, sample_numbers: np.ndarray, raw: np.ndarray, run: dict) -> Session:
    """A session of `raw` counts (n, channels) at device `sample_numbers` (n,), counted from the first one
    received: time from the sample numbers (exact; lost samples leave a visible gap in `t`), counts to physical
    units with the INFO's full scale. `run`: what the recording saw (gaps, frames, interruption) for meta.extra."""
    meta = SessionMeta(
        sample_rate_hz=header.sample_rate_hz / header.decimation, label=header.label,
        channels=list(header.channels), full_scale=dict(header.full_scale), dlpf_hz=header.dlpf_hz,
        device_id=header.device_id, source=header.source, extra={**run, **header.extra})
    scale = np.asarray(header.units_per_count, dtype=np.float64)
    data = (np.asarray(raw).astype(np.float64) * scale).astype(np.float32)
    t = np.asarray(sample_numbers, dtype=np.int64) / header.sample_rate_hz
    return Session(t=t.astype(np.float64), data=data, meta=meta)


def default_session_path(out_dir: str | Path, label: str) -> Path:
    """<label>-<UTC time>.parquet in out_dir; recordings started within the same second (a short recording in a
    shell loop) get -2, -3, ... rather than a refusal."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(out_dir) / f"{label}-{stamp}.parquet"
    number = 2
    while path.exists():
        path = Path(out_dir) / f"{label}-{stamp}-{number}.parquet"
        number += 1
    return path


def session_path_for(out: str | Path, label: str) -> Path:
    """`record --out`: a .parquet name is the file; an existing folder or a name without a suffix is the folder
    for <label>-<UTC time>.parquet; any other suffix (x.csv) is refused rather than made a folder."""
    out = Path(out)
    if out.suffix == ".parquet" or out.is_dir():
        return out if out.suffix == ".parquet" else default_session_path(out, label)
    if out.suffix:
        raise InputError(f"--out {out}: a session is written as Parquet; the name must end in .parquet",
                         hint=f"use --out {out.with_suffix('.parquet')}, or a folder name without a suffix; "
                              f"convert to CSV afterwards if needed")
    return default_session_path(out, label)


def check_output(out_path: str | Path) -> None:
    """Refuse an output that cannot be written - before streaming, and without creating any folder (they are
    made when the file is written, so a failed command leaves none behind)."""
    path = Path(out_path)
    hint = "choose an output in a folder that exists (or can be created) and is writable"
    if path.exists():
        raise InputError(f"{out_path} already exists; a recording never overwrites a session",
                         hint="choose another --out, or move the old file away")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"cannot write {path}: {ancestor} is a file, not a folder", hint=hint)
    if ancestor == path.parent:
        check_writable(path)  # probes with a temporary file in the existing folder
    elif not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {path}: {ancestor} is not writable", hint=hint)


def free_variant(path: Path, number: int) -> Path:
    """`path` with -<number> before its suffix: normal-20261207T203230Z.parquet, 2 -> ...Z-2.parquet."""
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


def write_new_session(out_path: str | Path, session: Session) -> Path:
    """Write `session` to `out_path`, or to its first free -2, -3, ... variant when a file appeared there since the
    name was chosen (another recording into the same folder): `write_session(exclusive=True)` never replaces a
    file, so no session ever replaces another. Returns the path written."""
    path = Path(out_path)
    for number in range(1, 10_000):
        candidate = path if number == 1 else free_variant(path, number)
        try:
            return write_session(candidate, session, exclusive=True)
        except FileExistsError:
            continue
    raise OSError(f"no free name beside {path}")


def _write_or_rescue(out_path: str | Path, label: str, session: Session) -> tuple[Path, str | None]:
    """Write the recording to `out_path` (`write_new_session`: never over another session); if the system refuses
    (the folder vanished, the disk filled up, no hard links there), write it to the temporary folder instead so no
    sample is lost. Returns the path and the refusal, if any."""
    try:
        return write_new_session(out_path, session), None
    except OSError as err:
        rescue = default_session_path(tempfile.gettempdir(), label)
        return write_new_session(rescue, session), str(err)


def _open_journal(out_path: str | Path, header: JournalHeader) -> tuple[RecordingJournal | None, str | None]:
    """The journal beside the session, else in the temporary folder; a note when it is not beside it."""
    try:
        return RecordingJournal.create(out_path, header), None
    except OSError as err:
        try:
            journal = RecordingJournal.create(Path(tempfile.gettempdir()) / Path(out_path).name, header)
        except OSError as err2:
            return None, f"no journal could be written ({err2}): a recorder killed with -9 would lose the samples"
        return journal, f"the journal could not be written beside {out_path} ({err}); it is {journal.path}"


@dataclass
class Recovered:
    """What `recover()` made of a journal."""

    path: Path
    journal: Path
    n_samples: int
    duration_s: float
    gaps: list[dict]
    lost_samples: int
    cut_bytes: int
    requested_path: Path
    other_host: str | None = None  # the machine that recorded it, when not this one
    dropped_records: int = 0  # records after the sample numbers stopped increasing (a power cut's zeros)


def session_name_for(journal: Path) -> Path:
    """x.parquet.partial -> x.parquet, in the journal's folder (where it was found, moved or not)."""
    return journal.with_name(journal.name[:-len(JOURNAL_SUFFIX)]) if journal.name.endswith(JOURNAL_SUFFIX) \
        else journal.with_name(journal.name + ".parquet")


def recover(journal: str | Path, out: str | Path | None = None, force: bool = False) -> Recovered:
    """Make a session of the journal a recorder left when it was killed (`kill -9`, a crash, a power cut) and
    remove the journal once the session is written. The session is written beside the journal under the name the
    recorder meant (or `out`), never over another file; the recording counts as interrupted, its sequence gaps
    are found again from the sample numbers (the frames lost with them are not known). A journal whose recorder
    still runs on this machine is refused unless `force`."""
    journal = Path(journal)
    contents = read_journal(journal)
    header = contents.header
    alive = recorder_alive(header)
    if alive and not force:
        raise InputError(f"{journal} is still being written: its recorder (process {header.pid}) runs",
                         hint="let the recording finish, or stop it (Ctrl-C): it writes its session itself; "
                              "--force if that process is not a recorder")
    n = len(contents.sample_numbers)
    if n < 2:
        raise InputError(f"{journal} holds {n} sample(s), too few for a session",
                         hint="nothing to recover; the file can be deleted")
    requested = Path(out) if out is not None else session_name_for(journal)
    if out is not None and requested.exists():  # a name given is meant as it is: never a -2 beside it
        raise InputError(f"--out {requested} already exists; a recovered session never replaces a file",
                         hint="give another --out, or leave it out for the name the recorder meant")
    if requested.suffix != ".parquet":
        raise InputError(f"--out {requested}: a session is written as Parquet; the name must end in .parquet",
                         hint=f"use --out {requested.with_suffix('.parquet')}")
    # The records after the sample numbers stop increasing are no samples of this recording: what a power cut
    # leaves at the end of a file (zeros), or a device restarted mid-recording. Kept: the part before them.
    numbers = contents.sample_numbers
    stop = np.flatnonzero(np.diff(numbers) <= 0)
    kept = int(stop[0]) + 1 if len(stop) else len(numbers)
    dropped, numbers, raw = len(numbers) - kept, numbers[:kept], contents.raw[:kept]
    n = kept
    if n < 2:
        raise InputError(f"{journal} holds {n} sample(s) before its sample numbers stop increasing, too few for a "
                         "session", hint="nothing to recover; the file can be deleted")
    first = int(numbers[0])
    gaps = sequence_gaps(numbers, header.decimation)
    run = {
        "sequence_gaps": gaps,
        "lost_samples": sum(max(0, g["missing_samples"]) for g in gaps),
        "lost_frames": None,
        "frames": None,
        "bad_frames": None,
        "interrupted": "the recorder stopped without finishing; recovered from its journal by `tinyad recover`",
        "first_sample_seq": first,
        "recovered_from": journal.name,
        "journal_cut_bytes": contents.cut_bytes,
        "journal_records_dropped": dropped,
        "recording_started_utc": header.started_utc,
    }
    session = build_session(header, numbers - first, raw, run)
    path = write_new_session(requested, session)
    journal.unlink()
    return Recovered(path, journal, n, session.duration_s, gaps, run["lost_samples"], contents.cut_bytes,
                     requested, other_host=header.host if alive is None else None, dropped_records=dropped)


def record(port: str, label: str, duration_s: float, out_path: str | Path, decimation: int = 1,
           client: DeviceClient | None = None, progress: bool = False, idle_timeout_s: float = 2.0,
           max_samples: int | None = None, on_warning=None) -> Recording:
    """Stream from the device for `duration_s` seconds of device time (or until `max_samples` samples) and write
    a session file at `out_path`.

    The duration is counted in the device's sample numbers - the session's own time axis - so a SIL replaying
    faster than real time records `duration_s` of session, not of wall clock; a device streaming slower than
    half real time is stopped after duration x 2 + 5 s of wall clock with a DeviceError (what arrived is written).
    Ctrl-C (KeyboardInterrupt) or a vanished port end the recording early: the samples received so far are
    written (atomically) and then the DeviceError is raised (Ctrl-C returns normally, `interrupted` set).
    `on_warning(text)` is called before streaming for what the recording will suffer (aliasing)."""
    if not label or not label.strip():
        raise InputError("a recording needs a label (e.g. --label normal)")
    if not (duration_s is not None and math.isfinite(duration_s) and duration_s > 0):  # NaN fails every comparison
        raise InputError(f"duration must be a positive number of seconds, got {duration_s}",
                         hint="give the seconds to record, e.g. -d 60 (Ctrl-C stops early)")
    if not 1 <= decimation <= MAX_DECIMATION:
        raise InputError(f"decimation must be in 1..{MAX_DECIMATION}, got {decimation}")
    if any(c in label for c in "/\\") or label.startswith("."):
        raise InputError(f"label {label!r} must not contain path separators or start with a dot")
    check_output(out_path)  # now, not after minutes of streaming
    own_client = client is None
    client = client or DeviceClient(port)
    chunks: list[np.ndarray] = []
    journal: RecordingJournal | None = None
    journal_note = None
    tracker = SequenceTracker(decimation=decimation)
    received = 0
    frames = 0
    interrupted: str | None = None
    pending_error: DeviceError | None = None
    try:
        info = client.info()
        header = journal_header(info, port, label, decimation, out_path)
        channels = header.channels
    except BaseException:
        if own_client:
            client.close()
        raise
    rate = info.sample_rate_hz
    if on_warning is not None and (warning := aliasing_warning(rate, decimation, float(info.dlpf_bandwidth_hz))):
        on_warning(warning)
    # Where the recording ends, in device sample numbers after the first one received (None: max_samples ends it).
    end_sample = None if max_samples is not None else max(1, math.ceil(duration_s * rate - 1e-9))
    # The device sends a SAMPLES frame once it holds SAMPLES_PER_FRAME kept samples: at --decimation 1000 and
    # 100 Hz one every 80 s. Deadlines allow two frames' time, or a slow stream would be taken for a silent one.
    frame_s = SAMPLES_PER_FRAME * decimation / rate
    idle_timeout_s = max(idle_timeout_s, 2 * frame_s + 1.0)
    wall_limit_s = duration_s * WALL_FACTOR + WALL_GRACE_S + 2 * frame_s
    first_sample_seq = None
    span = 0  # device samples covered so far (from the first one received)
    bar = None
    if progress:
        from tqdm import tqdm

        if max_samples is not None:  # the sample count ends the recording: show progress in samples
            bar = tqdm(total=max_samples, unit="samples", desc=f"recording {label}", unit_scale=True)
        else:
            bar = tqdm(total=round(duration_s, 1), unit="s", desc=f"recording {label}",
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s{postfix}")
    t_start = time.monotonic()
    completed = False
    stream = client.stream(seconds=None, decimation=decimation, idle_timeout_s=idle_timeout_s)
    try:
        for frame in stream:
            if isinstance(frame, SamplesFrame):
                if frame.decimation != decimation:  # another stream's (one a killed client left running)
                    tracker.note_frame(frame.seq)
                    continue
                if frame.raw.shape[1] != len(channels):
                    raise DeviceError(f"SAMPLES frame with {frame.raw.shape[1]} channels, INFO said {len(channels)}")
                if first_sample_seq is None:
                    first_sample_seq = frame.first_sample_seq
                tracker.check(frame, received)
                # Time from the device's sample numbers: exact, and lost samples leave a visible gap in `t`.
                numbers = frame.first_sample_seq - first_sample_seq + np.arange(frame.raw.shape[0]) * frame.decimation
                chunks.append(np.column_stack([numbers, frame.raw.astype(np.int64)]))
                if journal is None and journal_note is None:
                    journal, journal_note = _open_journal(out_path, header)
                if journal is not None:
                    journal.append(numbers + first_sample_seq, frame.raw)
                received += frame.raw.shape[0]
                frames += 1
                span = frame.first_sample_seq - first_sample_seq + frame.raw.shape[0] * frame.decimation
                if max_samples is not None and received >= max_samples:
                    completed = True
                    break
                if end_sample is not None and span >= end_sample:
                    completed = True
                    break
                if bar is not None and frames % 16 == 0:  # redrawing per frame would cost more than decoding
                    bar.n = min(received, max_samples) if max_samples is not None else min(duration_s, span / rate)
                    bar.set_postfix_str(f"{received} samples, {len(tracker.gaps)} gaps")
            else:
                tracker.note_frame(frame.seq)
            if max_samples is None and time.monotonic() - t_start > wall_limit_s:
                raise DeviceError(
                    f"{port}: the device streamed {span / rate:.1f} s of samples in {wall_limit_s:.0f} s; "
                    f"--duration counts device time, and this device is slower than half real time",
                    hint="check the device's sample rate (`tinyad info`) and the link; a `tinyad sim` needs "
                         "--speed >= 1 (or 0)")
    except KeyboardInterrupt as err:
        from tinyad.device.signals import interrupt_reason

        interrupted = interrupt_reason(err)
    except DeviceError as err:
        interrupted = f"device error: {err}"
        pending_error = err
    finally:
        try:
            stream.close()  # sends STREAM_STOP when the loop was left early
        except (DeviceError, KeyboardInterrupt):
            pass
        if bar is not None:
            if completed:  # the bar ends at 100 %, not at the last redraw
                bar.n = bar.total
                bar.set_postfix_str(f"{received} samples, {len(tracker.gaps)} gaps")
                bar.refresh()
            bar.close()
        if own_client:
            client.close()
        if journal is not None:
            journal.close()
    if completed and end_sample is not None and chunks:
        # The last frame ends past the duration: keep exactly the samples before it - unless a gap jumped
        # past the end, whose frame stays whole so the gap remains visible and accounted for.
        last = chunks[-1]
        if last[0, 0] < end_sample:
            chunks[-1] = last[last[:, 0] < end_sample]
    wall_s = time.monotonic() - t_start

    path = None
    write_error = None
    n = 0
    duration = 0.0
    if chunks:
        table = np.concatenate(chunks)
        if max_samples is not None:
            table = table[:max_samples]
        sample_numbers = table[:, 0]
        n = len(table)
        t = sample_numbers / rate
        duration = float(t[-1] - t[0]) if n else 0.0
        if n >= 2:
            run = {
                "sequence_gaps": tracker.gaps,
                "lost_samples": tracker.lost_samples,
                "lost_frames": tracker.lost_frames,
                "frames": frames,
                "bad_frames": client.transport.decoder.bad_frames,
                "interrupted": interrupted,
                "first_sample_seq": int(first_sample_seq),
            }
            session = build_session(header, sample_numbers, table[:, 1:], run)
            try:
                path, write_error = _write_or_rescue(out_path, label, session)
            except OSError as err:  # neither beside the output nor in the temporary folder: the journal keeps them
                where = f"they are in {journal.path}: `tinyad recover {journal.path}` makes the session" \
                    if journal is not None else "they are lost"
                raise InputError(f"could not write the {n} samples received ({err}); {where}",
                                 hint="free some space or choose another --out") from err
    if journal is not None:
        journal.remove()  # the session holds every sample now (or there were too few for one)
    result = Recording(path, n, duration, wall_s, frames, tracker.gaps, tracker.lost_samples,
                       client.transport.decoder.bad_frames, interrupted, tracker.lost_frames,
                       requested_path=Path(out_path), journal_note=journal_note)
    if pending_error is not None:
        where = f"{n} samples received before it were written to {path}" if path else "no samples were written"
        raise DeviceError(f"recording stopped: {pending_error}; {where}", hint=pending_error.hint)
    if write_error is not None:
        raise InputError(f"could not write {out_path} ({write_error}); the {n} samples were saved to {path}",
                         hint="move that file where you want it")
    if path is None:
        raise DeviceError(f"{port}: received {n} samples, too few for a session", hint="record for longer")
    return result
