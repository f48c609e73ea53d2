"""`tinyad record`: capture a labeled session from the device's sample stream into the pipeline's format.

Raw counts become physical units with the full scale the device reports in INFO. Lost frames are found from
the sequence numbers (the frame counter and each frame's first sample number), recorded in meta.extra and
reported. Whatever was received is written - atomically - even when the recording is interrupted by Ctrl-C or
the port vanishes; the error is raised afterwards, naming the partial file.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.atomic import check_writable
from tinyad.device.client import DeviceClient
from tinyad.device.messages import DeviceInfo, SamplesFrame
from tinyad.errors import DeviceError, InputError
from tinyad.session import KNOWN_CHANNELS, Session, SessionMeta, write_session

FULL_SCALE_COUNTS = 32768.0


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


def default_session_path(out_dir: str | Path, label: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(out_dir) / f"{label}-{stamp}.parquet"


def _write_or_rescue(out_path: str | Path, label: str, session: Session) -> tuple[Path, str | None]:
    """Write the recording to `out_path`; if the system refuses (the folder vanished, the disk filled up),
    write it to the temporary folder instead so no sample is lost. Returns the path and the refusal, if any."""
    try:
        return write_session(out_path, session), None
    except OSError as err:
        rescue = default_session_path(tempfile.gettempdir(), label)
        return write_session(rescue, session), str(err)


def record(port: str, label: str, duration_s: float, out_path: str | Path, decimation: int = 1,
           client: DeviceClient | None = None, progress: bool = False, idle_timeout_s: float = 2.0,
           max_samples: int | None = None) -> Recording:
    """Stream from the device for `duration_s` seconds (or until `max_samples` samples) and write a session file
    at `out_path`.

    Ctrl-C (KeyboardInterrupt) or a vanished port end the recording early: the samples received so far are
    written (atomically) and then the DeviceError is raised (Ctrl-C returns normally, `interrupted` set)."""
    if not label or not label.strip():
        raise InputError("a recording needs a label (e.g. --label normal)")
    if not duration_s or duration_s <= 0:
        raise InputError(f"duration must be positive, got {duration_s}")
    if decimation < 1:
        raise InputError(f"decimation must be >= 1, got {decimation}")
    if any(c in label for c in "/\\") or label.startswith("."):
        raise InputError(f"label {label!r} must not contain path separators or start with a dot")
    if Path(out_path).exists():
        raise InputError(f"{out_path} already exists; a recording never overwrites a session",
                         hint="choose another --out, or move the old file away")
    check_writable(out_path)  # now, not after minutes of streaming
    own_client = client is None
    client = client or DeviceClient(port)
    chunks: list[np.ndarray] = []
    tracker = SequenceTracker(decimation=decimation)
    received = 0
    frames = 0
    interrupted: str | None = None
    pending_error: DeviceError | None = None
    try:
        info = client.info()
        channels = channel_names(info.channels)
        scale = units_per_count(info, channels)
    except BaseException:
        if own_client:
            client.close()
        raise
    first_sample_seq = None
    bar = None
    if progress:
        from tqdm import tqdm

        if max_samples is not None:  # the sample count ends the recording: show progress in samples
            bar = tqdm(total=max_samples, unit="samples", desc=f"recording {label}", unit_scale=True)
        else:
            bar = tqdm(total=round(duration_s, 1), unit="s", desc=f"recording {label}",
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s{postfix}")
    t_start = time.monotonic()
    stream = client.stream(seconds=duration_s, decimation=decimation, idle_timeout_s=idle_timeout_s)
    try:
        for frame in stream:
            if not isinstance(frame, SamplesFrame):
                tracker.note_frame(frame.seq)
                continue
            if frame.raw.shape[1] != len(channels):
                raise DeviceError(f"SAMPLES frame with {frame.raw.shape[1]} channels, INFO said {len(channels)}")
            if first_sample_seq is None:
                first_sample_seq = frame.first_sample_seq
            tracker.check(frame, received)
            # Time from the device's sample numbers: exact, and lost samples leave a visible gap in `t`.
            chunks.append(np.column_stack([
                frame.first_sample_seq - first_sample_seq + np.arange(frame.raw.shape[0]) * frame.decimation,
                frame.raw.astype(np.int64)]))
            received += frame.raw.shape[0]
            frames += 1
            if max_samples is not None and received >= max_samples:
                break
            if bar is not None and frames % 16 == 0:  # redrawing per frame would cost more than decoding
                bar.n = min(received, max_samples) if max_samples is not None else min(
                    duration_s, time.monotonic() - t_start)
                bar.set_postfix_str(f"{received} samples, {len(tracker.gaps)} gaps")
    except KeyboardInterrupt:
        interrupted = "interrupted (Ctrl-C)"
    except DeviceError as err:
        interrupted = f"device error: {err}"
        pending_error = err
    finally:
        try:
            stream.close()  # sends STREAM_STOP when the loop was left early
        except (DeviceError, KeyboardInterrupt):
            pass
        if bar is not None:
            bar.close()
        if own_client:
            client.close()
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
        rate = info.sample_rate_hz
        t = sample_numbers / rate
        duration = float(t[-1] - t[0]) if n else 0.0
        if n >= 2:
            meta = SessionMeta(
                sample_rate_hz=rate / decimation, label=label, channels=channels,
                full_scale={"accel_g": info.accel_full_scale_g, "gyro_dps": info.gyro_full_scale_dps},
                device_id=f"{info.board}:{info.model_sha256[:12]}", source=f"tinyad record {port}",
                extra={
                    "sequence_gaps": tracker.gaps,
                    "lost_samples": tracker.lost_samples,
                    "lost_frames": tracker.lost_frames,
                    "frames": frames,
                    "bad_frames": client.transport.decoder.bad_frames,
                    "interrupted": interrupted,
                    "firmware": info.firmware_version,
                    "sensor": info.sensor,
                    "sil": info.is_sil,
                    "model_sha256": info.model_sha256,
                    "first_sample_seq": int(first_sample_seq),
                },
            )
            data = (table[:, 1:].astype(np.float64) * scale).astype(np.float32)
            path, write_error = _write_or_rescue(out_path, label, Session(t=t.astype(np.float64), data=data, meta=meta))
    result = Recording(path, n, duration, wall_s, frames, tracker.gaps, tracker.lost_samples,
                       client.transport.decoder.bad_frames, interrupted, tracker.lost_frames)
    if pending_error is not None:
        where = f"{n} samples received before it were written to {path}" if path else "no samples were written"
        raise DeviceError(f"recording stopped: {pending_error}; {where}", hint=pending_error.hint)
    if write_error is not None:
        raise InputError(f"could not write {out_path} ({write_error}); the {n} samples were saved to {path}",
                         hint="move that file where you want it")
    if path is None:
        raise DeviceError(f"{port}: received {n} samples, too few for a session", hint="record for longer")
    return result
