"""`tinyad record`: sessions in the pipeline's format, sequence gaps, and nothing lost on Ctrl-C or a vanished port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad.device.messages import DeviceInfo, SamplesFrame, ScoreFrame
from tinyad.device.recorder import SequenceTracker, record
from tinyad.errors import DeviceError
from tinyad.session import read_session

UPC = np.array([4.0 / 32768] * 3 + [500.0 / 32768] * 3)


def _info(rate=100.0) -> DeviceInfo:
    return DeviceInfo(2, "0.1.0", "fake", "MPU6050", 4.0, 500.0, rate, "ab" * 32, 32, 16, 6, 2, 0, 0, 0.1, 0.1,
                      0, 1024, 0, 1.0, 0.5, 44.0)


def _samples(seq: int, first: int, n: int = 8) -> SamplesFrame:
    raw = (np.arange(first, first + n)[:, None] * np.array([1, 2, 3, -1, -2, -3])).astype(np.int16)
    return SamplesFrame(seq, first, first * 10_000, 1, raw)


class FakeClient:
    """Yields the given frames, then raises `end` (KeyboardInterrupt, DeviceError) or stops."""

    def __init__(self, frames, end=None):
        self.frames, self.end = frames, end
        self.transport = SimpleNamespace(decoder=SimpleNamespace(bad_frames=2))
        self.closed = False

    def info(self):
        return _info()

    def stream(self, seconds=None, decimation=None, idle_timeout_s=2.0):
        yield from self.frames
        if self.end is not None:
            raise self.end

    def close(self):
        self.closed = True


def test_sequence_tracker_records_a_gap_with_its_size():
    tracker = SequenceTracker()
    tracker.check(_samples(10, 0), 0)
    tracker.note_frame(11)  # a SCORE frame shares the counter: not a loss
    tracker.check(_samples(12, 8), 8)
    tracker.check(_samples(15, 32), 16)  # samples 16..31 lost with frames 13 and 14
    assert tracker.gaps == [{"at_sample": 16, "expected_sample_seq": 16, "got_sample_seq": 32,
                             "missing_samples": 16, "frames_missed": 2}]
    assert (tracker.lost_samples, tracker.lost_frames) == (16, 2)
    tracker.note_frame(17)  # a lost SCORE frame: counted, but no samples are missing
    tracker.check(_samples(18, 40), 24)
    assert (len(tracker.gaps), tracker.lost_frames) == (1, 3)


def test_ctrl_c_keeps_every_sample_received_and_the_gap(tmp_path):
    frames = [_samples(1, 0), ScoreFrame(seq=2, window_index=0, last_sample_seq=7, invoke_us=5, score=0.1,
                                            smoothed=0.1, probability=0.5, alert_state=0,
                                            output=np.zeros(2, np.int8)),
              _samples(3, 8), _samples(5, 24)]
    client = FakeClient(frames, end=KeyboardInterrupt())
    result = record("fake", "imbalance", 60, tmp_path / "s.parquet", client=client)
    assert result.interrupted == "interrupted (Ctrl-C)"
    session = read_session(tmp_path / "s.parquet")
    assert session.n_samples == 24 and session.meta.label == "imbalance"
    # Time comes from the sample numbers: the 8 lost samples leave a gap of 9 periods.
    assert session.t[16] - session.t[15] == pytest.approx(9 / 100.0)
    np.testing.assert_allclose(session.t[:3], [0.0, 0.01, 0.02])
    # Physical units from INFO's full scale: sample 9 of channel ay is 18 counts * 4 g / 32768.
    assert session.data[9, 1] == np.float32(18 * 4.0 / 32768)
    assert session.data[9, 5] == np.float32(-27 * 500.0 / 32768)
    extra = session.meta.extra
    assert extra["sequence_gaps"][0]["missing_samples"] == 8 and extra["lost_samples"] == 8
    assert extra["lost_frames"] == 1  # frame 4 (seq 2 was the SCORE frame)
    assert extra["interrupted"] == "interrupted (Ctrl-C)" and extra["bad_frames"] == 2
    assert session.meta.full_scale == {"accel_g": 4.0, "gyro_dps": 500.0} and session.meta.dlpf_hz == 44.0


def test_a_vanished_port_still_writes_what_arrived_and_then_raises(tmp_path):
    client = FakeClient([_samples(1, 0), _samples(2, 8)], end=DeviceError("/dev/x: the port vanished (EIO)"))
    with pytest.raises(DeviceError, match=r"16 samples received before it were written to .*s\.parquet"):
        record("fake", "normal", 60, tmp_path / "s.parquet", client=client)
    assert read_session(tmp_path / "s.parquet").n_samples == 16
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # atomic: no temporary left behind


def test_recording_nothing_writes_nothing(tmp_path):
    with pytest.raises(DeviceError, match="too few"):
        record("fake", "normal", 1, tmp_path / "s.parquet", client=FakeClient([]))
    assert not (tmp_path / "s.parquet").exists()


def test_record_from_the_sil_reproduces_the_source_in_physical_units(sil, normal_source, tmp_path):
    result = record(sil.port, "normal", 0.5, tmp_path / "s.parquet")
    session = read_session(result.path)
    # The duration is device time: exactly 0.5 s of samples at 100 Hz, however fast the (speed 0) SIL streams.
    assert result.gaps == [] and result.n_samples == session.n_samples == 50
    first = session.meta.extra["first_sample_seq"]
    expected = (normal_source.take(first, session.n_samples).astype(np.float64) * UPC).astype(np.float32)
    np.testing.assert_array_equal(session.data, expected)
    np.testing.assert_allclose(np.diff(session.t), 0.01)
    assert session.meta.extra["sil"] is True and session.meta.sample_rate_hz == 100.0
    assert session.meta.dlpf_hz == normal_source.dlpf_hz == 44.0  # the low-pass INFO reports


def record_for_a_while(sil, out, seconds: float) -> subprocess.Popen:
    """`tinyad record` of 60 s into `out` as its own process, returned once it has streamed about `seconds`."""
    proc = subprocess.Popen([sys.executable, "-m", "tinyad", "record", "--port", sil.port, "--label", "normal",
                             "--duration", "60", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sil.core is not None and not sil.core.streaming:
        time.sleep(0.05)
    time.sleep(seconds)
    return proc


@pytest.mark.parametrize("signum, how", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_on_the_record_command_keeps_the_data(start_sil, tmp_path, signum, how):
    sil = start_sil(speed=1.0)  # real time: 100 samples per second
    out = tmp_path / "ctrl-c.parquet"
    proc = record_for_a_while(sil, out, 1.0)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert f"interrupted ({how})" in stdout  # the metadata says which stop it was
    session = read_session(out)
    assert 50 <= session.n_samples <= 400
    assert session.meta.extra["interrupted"] == f"interrupted ({how})"


def test_frames_dropped_by_a_stalled_reader_become_recorded_gaps(start_sil, normal_source, tmp_path):
    from tinyad.device.client import DeviceClient

    sil = start_sil(speed=100)  # 10,000 samples/s at 100 Hz
    sil.pty.MAX_PENDING = 1024  # a small TX ring, like the board's: overflows within milliseconds
    client = DeviceClient(sil.port)
    real_next_frame = client.transport.next_frame
    calls = [0]

    def stalling_next_frame(deadline):
        calls[0] += 1
        if calls[0] == 20:
            time.sleep(1.0)  # the host stops reading for a second; the device must drop, not block
            deadline += 1.0
        return real_next_frame(deadline)

    client.transport.next_frame = stalling_next_frame
    # 200 s of device time: about 2 s of wall clock at speed 100, around the 1 s stall.
    result = record(sil.port, "normal", 200.0, tmp_path / "gaps.parquet", client=client)
    client.close()
    assert sil.pty.dropped_bytes > 0
    assert result.gaps and result.lost_samples > 0 and result.lost_frames > 0
    session = read_session(result.path)
    assert session.meta.extra["sequence_gaps"] == result.gaps
    # Samples after a gap still sit at their true sample numbers, with their true values.
    numbers = np.rint(session.t * 100.0).astype(int) + session.meta.extra["first_sample_seq"]
    expected = (normal_source.counts[numbers % len(normal_source.counts)] * UPC).astype(np.float32)
    np.testing.assert_array_equal(session.data, expected)
    assert int(np.sum(np.diff(numbers) - 1)) == result.lost_samples


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=60))
def test_tracker_counts_exactly_the_frames_and_samples_a_lossy_link_dropped(plan):
    """plan[i] = (is_score_frame, dropped) for unsolicited frame i (8 samples per SAMPLES frame). Frame losses are
    visible between two received frames of any kind, sample losses between two received SAMPLES frames."""
    tracker = SequenceTracker()
    next_sample = received_samples = 0
    for i, (is_score, dropped) in enumerate(plan):
        frame = None if is_score else _samples(i, next_sample)
        next_sample += 0 if is_score else 8
        if dropped:
            continue
        if is_score:
            tracker.note_frame(i)
        else:
            tracker.check(frame, received_samples)
            received_samples += 8

    def dropped_between(indices, kinds):
        if len(indices) < 2:
            return 0
        return sum(1 for i, (is_score, dropped) in enumerate(plan)
                   if dropped and is_score in kinds and indices[0] < i < indices[-1])

    received = [i for i, (_, dropped) in enumerate(plan) if not dropped]
    received_samples_frames = [i for i, (is_score, dropped) in enumerate(plan) if not dropped and not is_score]
    assert tracker.lost_frames == dropped_between(received, {True, False})
    assert tracker.lost_samples == 8 * dropped_between(received_samples_frames, {False})
    assert sum(g["missing_samples"] for g in tracker.gaps) == tracker.lost_samples


def test_a_recorded_session_replayed_by_the_sil_records_back_identically(start_sil, tiny_model, tmp_path):
    from tinyad.sil.sources import session_source

    _, settings = tiny_model
    first = record(start_sil().port, "normal", 0.3, tmp_path / "a.parquet")
    replayed = start_sil(source=session_source(first.path, settings.channels, settings.units_per_count))
    second = record(replayed.port, "normal", 0.3, tmp_path / "b.parquet")
    a, b = read_session(first.path), read_session(second.path)
    index = (b.meta.extra["first_sample_seq"] + np.arange(b.n_samples)) % a.n_samples
    np.testing.assert_array_equal(b.data, a.data[index])  # physical -> counts -> physical is exact


def test_decimated_recording_keeps_every_nth_sample_at_the_lower_rate(sil, normal_source, tmp_path):
    result = record(sil.port, "normal", 0.3, tmp_path / "d.parquet", decimation=4)
    session = read_session(result.path)
    assert session.meta.sample_rate_hz == 25.0 and result.gaps == []
    np.testing.assert_allclose(np.diff(session.t), 0.04)
    first = session.meta.extra["first_sample_seq"]
    expected = (normal_source.take(first, 4 * session.n_samples)[::4].astype(np.float64) * UPC).astype(np.float32)
    np.testing.assert_array_equal(session.data, expected)


def test_a_recording_never_overwrites_an_existing_session(tmp_path):
    from tinyad.errors import InputError

    existing = tmp_path / "s.parquet"
    existing.write_bytes(b"precious")
    with pytest.raises(InputError, match="already exists"):
        record("fake", "normal", 1, existing, client=FakeClient([_samples(1, 0)]))
    assert existing.read_bytes() == b"precious"
    with pytest.raises(InputError, match="path separators"):
        record("fake", "../x", 1, tmp_path / "t.parquet", client=FakeClient([]))


def test_an_unwritable_output_is_refused_before_streaming(tmp_path):
    from tinyad.errors import InputError

    (tmp_path / "afile").write_text("x")
    client = FakeClient([_samples(1, 0)])
    with pytest.raises(InputError, match="cannot write") as err:
        record("fake", "normal", 60, tmp_path / "afile" / "s.parquet", client=client)
    assert "writable" in err.value.hint
    assert not client.closed  # refused before the device was used (the client is the caller's)


def test_a_write_refused_at_the_end_saves_the_samples_elsewhere(tmp_path, monkeypatch):
    import tinyad.device.recorder as recorder
    from tinyad.errors import InputError

    real_write = recorder.write_session
    target = tmp_path / "out" / "s.parquet"

    def refuse_the_target(path, session, **options):  # the folder vanished or the disk filled during the recording
        if Path(path).parent == target.parent:
            raise OSError(28, "No space left on device")
        return real_write(path, session, **options)

    monkeypatch.setattr(recorder, "write_session", refuse_the_target)
    monkeypatch.setattr(recorder.tempfile, "gettempdir", lambda: str(tmp_path / "rescue"))
    with pytest.raises(InputError, match=r"No space left on device.*16 samples were saved to .*rescue") as err:
        record("fake", "normal", 60, target, client=FakeClient([_samples(1, 0), _samples(2, 8)]))
    saved = str(err.value).rsplit("saved to ", 1)[1]
    assert read_session(saved).n_samples == 16 and read_session(saved).meta.label == "normal"


def test_recordings_started_in_the_same_second_get_their_own_names(tmp_path, monkeypatch):
    import datetime as dt

    from tinyad.device import recorder

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 12, 6, 5, 45, 38, tzinfo=dt.timezone.utc)

    monkeypatch.setattr(recorder._dt, "datetime", Frozen)
    names = []
    for _ in range(3):
        path = recorder.session_path_for(tmp_path, "normal")
        path.write_bytes(b"")  # the earlier recording is there now
        names.append(path.name)
    assert names == ["normal-20261206T054538Z.parquet", "normal-20261206T054538Z-2.parquet",
                     "normal-20261206T054538Z-3.parquet"]


@pytest.mark.parametrize("duration", ["nan", "inf", "-inf", "0", "-1"])
def test_a_duration_that_is_not_a_positive_number_is_refused_before_the_device_is_used(tmp_path, capsys, duration):
    from tinyad.cli import main
    from tinyad.errors import InputError

    client = FakeClient([_samples(1, 0)])
    with pytest.raises(InputError, match="duration must be a positive number of seconds"):
        record("fake", "normal", float(duration), tmp_path / "s.parquet", client=client)
    assert not client.closed
    # the command line: the same error and exit code 2, not a traceback; no port is opened
    assert main(["record", "-p", str(tmp_path / "no-port"), "-l", "normal", "-d", duration,
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"duration must be a positive number of seconds, got {float(duration)}" in err and "hint:" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.parquet").exists()


def test_a_session_never_replaces_one_written_meanwhile_under_its_name(tmp_path):
    from tinyad.device.recorder import write_new_session
    from tinyad.session import Session, SessionMeta

    def session(value):
        meta = SessionMeta(sample_rate_hz=100.0, label="normal", channels=["ax"])
        return Session(t=np.arange(3) / 100.0, data=np.full((3, 1), value, np.float32), meta=meta)

    chosen = tmp_path / "normal-20261207T203230Z.parquet"  # two recordings chose this name at their start
    assert write_new_session(chosen, session(1.0)) == chosen
    second = write_new_session(chosen, session(2.0))
    assert second == tmp_path / "normal-20261207T203230Z-2.parquet"
    assert read_session(chosen).data[0, 0] == 1.0 and read_session(second).data[0, 0] == 2.0
    assert {p.name for p in tmp_path.iterdir()} == {chosen.name, second.name}  # no temporary file left


def test_a_decimation_under_the_sensors_low_pass_warns_of_aliasing_before_streaming(tmp_path):
    from tinyad.device.recorder import aliasing_warning

    assert aliasing_warning(100.0, 1, 44.0) is None
    assert aliasing_warning(1000.0, 4, 94.0) is None  # 250 Hz holds up to 125 Hz
    assert aliasing_warning(100.0, 2, 0.0) is None  # low-pass unknown
    text = aliasing_warning(100.0, 2, 44.0)
    assert text.startswith("--decimation 2 records 50 Hz, which holds frequencies up to 25 Hz, but the sensor's "
                           "low-pass passes up to 44 Hz: vibration between 25 and 44 Hz folds")
    warned = []
    frames = [SamplesFrame(1, 0, 0, 2, np.zeros((8, 6), np.int16)),
              SamplesFrame(2, 16, 0, 2, np.zeros((8, 6), np.int16))]
    record("fake", "normal", 60, tmp_path / "s.parquet", decimation=2, on_warning=warned.append,
           client=FakeClient(frames, end=KeyboardInterrupt()))
    assert warned == [text]  # the fake device samples at 100 Hz behind a 44 Hz low-pass


def test_frames_of_another_decimation_are_another_streams_and_left_out(tmp_path):
    # a stream a killed client left running at decimation 1, then this recording's at decimation 2
    frames = [SamplesFrame(1, 0, 0, 1, np.zeros((8, 6), np.int16)),
              SamplesFrame(2, 8, 0, 1, np.zeros((8, 6), np.int16)),
              SamplesFrame(3, 100, 0, 2, np.ones((8, 6), np.int16)),
              SamplesFrame(4, 116, 0, 2, np.ones((8, 6), np.int16))]
    result = record("fake", "normal", 60, tmp_path / "s.parquet", decimation=2,
                    client=FakeClient(frames, end=KeyboardInterrupt()))
    session = read_session(result.path)
    assert session.n_samples == 16 and (session.data != 0).all() and session.meta.sample_rate_hz == 50.0


def test_the_recorders_samples_per_frame_is_the_firmwares():
    import re

    from tinyad.device.recorder import SAMPLES_PER_FRAME
    from tinyad.paths import firmware_dir

    header = (firmware_dir() / "core" / "include" / "tinyad" / "device.h").read_text()
    assert int(re.search(r"kSamplesPerFrame = (\d+);", header).group(1)) == SAMPLES_PER_FRAME


def test_a_large_decimation_waits_for_its_slow_frames(sil, tmp_path, monkeypatch):
    from tinyad.device import recorder as recorder_module

    seen = {}
    real_stream = recorder_module.DeviceClient.stream

    def stream(self, seconds=None, decimation=None, idle_timeout_s=2.0):
        seen["idle"] = idle_timeout_s
        return real_stream(self, seconds, decimation, idle_timeout_s)

    monkeypatch.setattr(recorder_module.DeviceClient, "stream", stream)
    result = record(sil.port, "normal", 3.0, tmp_path / "d.parquet", decimation=100)  # a frame every 8 s at 1 Hz
    assert seen["idle"] == 2 * 8 * 100 / 100 + 1.0  # was 2 s: "no data while streaming" on a board at real time
    assert result.n_samples == 3 and read_session(result.path).meta.sample_rate_hz == 1.0
