"""The SIL's plumbing: the pty in raw mode, the sample sources and the replay clock."""

from __future__ import annotations

import numpy as np
import pytest
import serial

from tinyad.errors import InputError
from tinyad.sil import sources
from tinyad.sil.pty import PtyPort
from tinyad.sil.sources import ReplayClock, SampleSource


def test_pty_passes_every_byte_unchanged_both_ways():
    pty = PtyPort()
    try:
        client = serial.Serial(pty.path, timeout=1)
        # 0x00, CR/LF, ^C (0x03), ^D, XON/XOFF, DEL: a cooked tty would eat or translate these.
        payload = bytes([0x00, 0x0D, 0x0A, 0x03, 0x04, 0x11, 0x13, 0x7F, 0xFF]) * 3
        pty.write(payload)
        assert client.read(len(payload)) == payload
        client.write(payload)
        client.flush()
        got = b""
        for _ in range(20):
            got += pty.read(0.1)
            if len(got) >= len(payload):
                break
        assert got == payload
        client.close()
    finally:
        pty.close()


def test_pty_drops_whole_droppable_frames_when_nobody_reads(monkeypatch):
    pty = PtyPort()
    monkeypatch.setattr(PtyPort, "MAX_PENDING", 100)
    try:
        pty._pending += b"x" * 90  # as if the kernel buffer were full and 90 bytes were queued
        monkeypatch.setattr(pty, "flush", lambda: None)
        assert pty.write(b"y" * 20, droppable=True) is False
        assert pty.dropped_bytes == 20
        assert pty.write(b"z" * 20, droppable=False) is True  # replies are never dropped
        assert pty.pending_bytes == 110
    finally:
        pty.close()


def test_closed_pty_makes_the_client_read_fail():
    pty = PtyPort()
    client = serial.Serial(pty.path, timeout=0.5)
    pty.close()
    with pytest.raises(serial.SerialException):
        client.read(1)
    client.close()


def test_sample_source_take_wraps_around():
    counts = np.arange(12, dtype=np.int16).reshape(4, 3)
    source = SampleSource(counts, 100.0, "four samples")
    np.testing.assert_array_equal(source.take(3, 3), counts[[3, 0, 1]])
    with pytest.raises(InputError):
        SampleSource(np.zeros((0, 3)), 100.0, "empty")


def test_session_source_converts_physical_units_to_counts(tmp_path):
    from tinyad.session import Session, SessionMeta, write_session

    t = np.arange(4) / 100.0
    data = np.array([[0.5, 100.0], [-0.25, -50.0], [4.0, 0.0], [1e-4, 1000.0]], np.float32)
    path = write_session(tmp_path / "s.parquet",
                         Session(t, data, SessionMeta(100.0, "normal", ["az", "gx"])))
    upc = [4.0 / 32768, 500.0 / 32768]
    source = sources.session_source(path, ["az", "gx"], upc)
    # 0.5 g at 4 g full scale = 4096 counts; 100 dps at 500 dps = 6553.6 -> 6554; 4 g saturates at 32767;
    # 1e-4 g = 0.82 counts -> 1; 1000 dps saturates.
    np.testing.assert_array_equal(source.counts, [[4096, 6554], [-2048, -3277], [32767, 0], [1, 32767]])
    assert source.sample_rate_hz == 100.0
    with pytest.raises(InputError, match="channels"):
        sources.session_source(path, ["ax", "az"], upc)


def test_replay_clock_releases_samples_at_rate_times_speed(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(sources.time, "monotonic", lambda: now[0])
    clock = ReplayClock(100.0, speed=10.0)  # 1000 samples per wall second
    now[0] += 0.0105
    assert clock.due(limit=1000) == 10
    clock.released += 10
    assert clock.due(limit=1000) == 0
    assert clock.seconds_until_next() == pytest.approx(0.0005, abs=1e-9)
    now[0] += 1.0
    assert clock.due(limit=256) == 256  # capped per turn; the rest stays due
    unpaced = ReplayClock(100.0, speed=0)
    assert unpaced.due(limit=64) == 64 and unpaced.seconds_until_next() == 0.0


@pytest.mark.parametrize("condition, expect_alert", [("normal", False), ("bearing_fault", True)])
def test_the_default_sim_machine_is_the_one_the_default_model_knows(condition, expect_alert):
    # README: `tinyad sim --synth bearing_fault` then `tinyad monitor` must show the alert; the sim replays a new
    # recording of the machine models/default was trained on (another machine would be a different motor).
    from tinyad.demo_sil import DEFAULT_MODEL_MACHINE_SEED, HELD_OUT_SESSION_SEED
    from tinyad.device.reference import HostReference
    from tinyad.paths import default_model_dir

    reference = HostReference(default_model_dir() / "model.tflite")
    s = reference.settings
    source = sources.synth_source(condition, s.channels, s.units_per_count, s.sample_rate_hz, seconds=20,
                                  seed=HELD_OUT_SESSION_SEED, machine_seed=DEFAULT_MODEL_MACHINE_SEED)
    starts = range(0, len(source.counts) - s.window + 1, s.hop)
    scores = np.array([reference.score_for(reference.output_for(reference.input_for(source.counts[i:i + s.window])))
                       for i in starts])
    above = float(np.mean(scores >= s.threshold_on))
    assert (above > 0.9) if expect_alert else (above < 0.05), (condition, above, float(np.median(scores)))


def _write(tmp_path, t, data, channels=("ax", "ay", "az", "gx", "gy", "gz"), rate=100.0):
    from tinyad.session import Session, SessionMeta, write_session

    return write_session(tmp_path / "s.parquet",
                         Session(np.asarray(t, np.float64), np.asarray(data, np.float32),
                                 SessionMeta(rate, "normal", list(channels))))


UPC = [4.0 / 32768] * 3 + [500.0 / 32768] * 3
CHANNELS = ["ax", "ay", "az", "gx", "gy", "gz"]


def test_session_source_warns_about_values_clipped_at_the_full_scale(tmp_path):
    data = np.zeros((40, 6))
    data[:, 2] = 1.0
    data[:6, 0] = 5.5  # 6 of 40 ax values beyond +-4 g
    path = _write(tmp_path, np.arange(40) / 100.0, data)
    source = sources.session_source(path, CHANNELS, UPC, window=32)
    assert source.warnings == [
        f"{path}: channel ax: 15 % of the values exceed the model's full scale +-4 g (max |ax| 5.5 g); they are "
        "clipped to the full scale in the replay, as on the board (hint: check the session's units, or use a model "
        "with a larger full scale)"]
    assert source.counts[0, 0] == 32767
    data[:6, 0] = 3.9
    data[10:30, 4] = -600.0  # 20 of 40 gy values beyond +-500 dps
    source = sources.session_source(_write(tmp_path, np.arange(40) / 100.0, data), CHANNELS, UPC)
    assert len(source.warnings) == 1
    assert "channel gy: 50 % of the values exceed the model's full scale +-500 dps (max |gy| 600 dps)" \
        in source.warnings[0]


def test_session_source_warns_about_gaps_in_the_time_column(tmp_path):
    t = np.arange(40) / 100.0
    t[20:] += 0.5  # one hole of half a second
    t[30:] += 0.02  # and a small one (3 periods)
    data = np.zeros((40, 6))
    source = sources.session_source(_write(tmp_path, t, data), CHANNELS, UPC)
    assert len(source.warnings) == 1
    assert "the time column has 2 gap(s) longer than 1.5 sample periods, the largest 0.51 s (~50 samples " \
           "missing)" in source.warnings[0]
    assert "spliced shut" in source.warnings[0]
    steady = sources.session_source(_write(tmp_path, np.arange(40) / 100.0, data), CHANNELS, UPC, window=32)
    assert steady.warnings == []


def test_session_source_refuses_a_session_shorter_than_one_window(tmp_path):
    path = _write(tmp_path, np.arange(10) / 100.0, np.zeros((10, 6)))
    with pytest.raises(InputError, match=r"10 samples, shorter than one window of the model \(32\)") as err:
        sources.session_source(path, CHANNELS, UPC, window=32)
    assert "32 samples (0.32 s at 100 Hz)" in err.value.hint
