"""The synthetic machine: each fault shows its physical signature where theory puts it."""

from __future__ import annotations

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.errors import InputError
from tinyad.session import read_session
from tinyad.synth import (
    BearingGeometry,
    amplitude_spectrum,
    dlpf_bandwidth_hz,
    envelope_spectrum,
    synth_dataset,
    synth_session,
)

RATE = 100.0


def radial_spectrum(session):
    """Amplitude spectrum of the two radial axes (ay + az), above 1 Hz."""
    f, ay = amplitude_spectrum(session.data[:, 1], RATE)
    _, az = amplitude_spectrum(session.data[:, 2], RATE)
    keep = f > 1.0
    return f[keep], (ay + az)[keep]


def amplitude_at(f, spectrum, hz, tolerance=0.15):
    return spectrum[np.abs(f - hz) <= tolerance].max()


@pytest.mark.parametrize("rpm", [270.0, 450.0])
def test_imbalance_peaks_at_1x_with_radial_axes_in_quadrature(rpm):
    s = synth_session("imbalance", duration_s=40, rpm=rpm, seed=3, severity=0.5, mount_yaw_deg=0.0)
    shaft = rpm / 60
    f, radial = radial_spectrum(s)
    assert abs(f[np.argmax(radial)] - shaft) < 0.1
    # A rotating force: y ~ cos, z ~ sin -> the cross-spectrum phase at 1x is +-90 degrees.
    spec_y = np.fft.rfft(s.data[:, 1] - s.data[:, 1].mean())
    spec_z = np.fft.rfft(s.data[:, 2] - s.data[:, 2].mean())
    freqs = np.fft.rfftfreq(s.n_samples, 1 / RATE)
    k = np.argmax(np.abs(spec_y) * (np.abs(freqs - shaft) < 0.2))
    phase = np.degrees(np.angle(spec_y[k] * np.conj(spec_z[k])))
    assert 70 < abs(phase) < 110


def test_imbalance_is_stronger_than_the_residual_imbalance_of_a_healthy_machine():
    healthy = synth_session("normal", duration_s=30, rpm=360, seed=5)
    faulty = synth_session("imbalance", duration_s=30, rpm=360, seed=5, severity=0.2)
    f, radial_ok = radial_spectrum(healthy)
    _, radial_bad = radial_spectrum(faulty)
    assert amplitude_at(f, radial_bad, 6.0) > 2 * amplitude_at(f, radial_ok, 6.0)
    # ... and the 1x amplitude grows with the square of the speed (centrifugal force).
    fast = synth_session("imbalance", duration_s=30, rpm=480, seed=5, severity=0.2)
    _, radial_fast = radial_spectrum(fast)
    ratio = amplitude_at(f, radial_fast, 8.0) / amplitude_at(f, radial_bad, 6.0)
    assert ratio == pytest.approx((480 / 360) ** 2, rel=0.15)


def test_misalignment_peaks_at_2x_with_axial_1x():
    s = synth_session("misalignment", duration_s=40, rpm=300, seed=1, severity=0.6, mount_yaw_deg=0.0)
    f, radial = radial_spectrum(s)
    assert abs(f[np.argmax(radial)] - 10.0) < 0.1  # 2 x 5 Hz
    fa, axial = amplitude_spectrum(s.data[:, 0], RATE)
    healthy = synth_session("normal", duration_s=40, rpm=300, seed=1, mount_yaw_deg=0.0)
    _, axial_ok = amplitude_spectrum(healthy.data[:, 0], RATE)
    assert amplitude_at(fa, axial, 5.0) > 3 * amplitude_at(fa, axial_ok, 5.0)


@pytest.mark.parametrize("rpm, seed", [(300.0, 0), (420.0, 7)])
def test_bearing_fault_envelope_spectrum_peaks_at_bpfo(rpm, seed):
    bpfo = 7 / 2 * (1 - 3.97 / 15.0) * rpm / 60  # 608 bearing, contact angle 0
    assert BearingGeometry().bpfo_ratio() * rpm / 60 == pytest.approx(bpfo)
    s = synth_session("bearing_fault", duration_s=40, rpm=rpm, seed=seed, severity=0.3)
    assert s.meta.extra["bpfo_hz"] == pytest.approx(bpfo, abs=1e-3)
    f, envelope = envelope_spectrum(s.data[:, 2], RATE, (5.0, 45.0))
    keep = (f > 2) & (f < 45)
    assert abs(f[keep][np.argmax(envelope[keep])] - bpfo) < 0.2
    # A healthy machine's envelope has no line at BPFO.
    healthy = synth_session("normal", duration_s=40, rpm=rpm, seed=seed)
    _, envelope_ok = envelope_spectrum(healthy.data[:, 2], RATE, (5.0, 45.0))
    assert amplitude_at(f, envelope, bpfo) > 5 * amplitude_at(f, envelope_ok, bpfo)


def test_mount_yaw_moves_the_horizontal_radial_motion_to_x():
    straight = synth_session("imbalance", duration_s=20, rpm=360, seed=6, severity=0.8, mount_yaw_deg=0.0)
    turned = synth_session("imbalance", duration_s=20, rpm=360, seed=6, severity=0.8, mount_yaw_deg=90.0)
    f, ax0 = amplitude_spectrum(straight.data[:, 0], RATE)
    _, ay0 = amplitude_spectrum(straight.data[:, 1], RATE)
    _, ax90 = amplitude_spectrum(turned.data[:, 0], RATE)
    _, ay90 = amplitude_spectrum(turned.data[:, 1], RATE)
    assert amplitude_at(f, ay0, 6.0) > 5 * amplitude_at(f, ax0, 6.0)   # radial on y, axial x is quiet
    # Turned by 90 degrees: x_sensor = y_machine, y_sensor = -x_machine.
    assert amplitude_at(f, ax90, 6.0) == pytest.approx(amplitude_at(f, ay0, 6.0), rel=0.05)
    assert amplitude_at(f, ay90, 6.0) == pytest.approx(amplitude_at(f, ax0, 6.0), rel=0.1, abs=1e-3)
    yaws = {synth_session("normal", duration_s=1, seed=k).meta.extra["mount_yaw_deg"] for k in range(5)}
    assert len(yaws) == 5


def test_deterministic_per_seed():
    a = synth_session("bearing_fault", duration_s=5, seed=11)
    b = synth_session("bearing_fault", duration_s=5, seed=11)
    c = synth_session("bearing_fault", duration_s=5, seed=12)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.meta.extra == b.meta.extra
    assert not np.array_equal(a.data, c.data)


def test_quantized_within_full_scale_with_gravity_and_units():
    s = synth_session("bearing_fault", duration_s=20, seed=2, severity=1.0, full_scale={"accel_g": 2, "gyro_dps": 250})
    assert s.data.shape == (2000, 6) and s.meta.sample_rate_hz == RATE
    np.testing.assert_allclose(np.diff(s.t), 0.01)
    accel_counts = s.data[:, :3].astype(np.float64) * (32768 / 2)
    gyro_counts = s.data[:, 3:].astype(np.float64) * (32768 / 250)
    np.testing.assert_array_equal(accel_counts, np.round(accel_counts))  # whole MPU6050 counts
    np.testing.assert_allclose(gyro_counts, np.round(gyro_counts), atol=1e-6)
    assert np.abs(s.data[:, :3]).max() <= 2.0 and np.abs(s.data[:, 3:]).max() <= 250.0
    assert 0.95 < s.data[:, 2].mean() < 1.04  # gravity on z, tilt <= 5 deg
    assert np.abs(s.data[:, :2].mean(axis=0)).max() < 0.12
    assert s.meta.units["ax"] == "g" and s.meta.units["gz"] == "dps"


def test_clipping_at_the_rails_is_counted():
    s = synth_session("imbalance", duration_s=5, rpm=3000, seed=0, severity=1.0, sample_rate_hz=200.0,
                      full_scale={"accel_g": 2, "gyro_dps": 250})
    # 50 Hz shaft: amplitude >= 0.16 g * (50/10)^2 * 0.5 (smallest machine gain) = 2 g, plus gravity.
    assert s.meta.extra["clipped_values"] > 0
    assert np.abs(s.data[:, :3]).max() == pytest.approx(2.0, abs=1e-3)


def test_gyro_sees_the_rocking_of_the_mount():
    s = synth_session("imbalance", duration_s=30, rpm=420, seed=4, severity=0.8)
    gyro = s.data[:, 3:] - s.data[:, 3:].mean(axis=0)
    assert gyro.std(axis=0).max() > 1.0  # dps; gyro white noise alone is ~0.03 dps at 44 Hz
    f, spectrum = amplitude_spectrum(gyro[:, np.argmax(gyro.std(axis=0))], RATE)
    keep = f > 2
    assert abs(f[keep][np.argmax(spectrum[keep])] - 7.0) < 0.1  # rocking at the shaft frequency


def test_rpm_and_severity_vary_across_dataset_sessions(tmp_path):
    paths = synth_dataset(tmp_path, sessions_per_class=3, duration_s=3, seed=9)
    assert [p.name for p in paths][:3] == ["normal_000.parquet", "normal_001.parquet", "normal_002.parquet"]
    assert len(paths) == 12
    sessions = [read_session(p) for p in paths]
    assert [s.meta.label for s in sessions] == [c for c in ("normal", "imbalance", "misalignment", "bearing_fault")
                                                for _ in range(3)]
    rpms = {s.meta.extra["rpm"] for s in sessions}
    assert len(rpms) == 12 and min(rpms) >= 240 and max(rpms) <= 480
    severities = {s.meta.extra["severity"] for s in sessions if s.meta.label != "normal"}
    assert len(severities) == 9 and min(severities) >= 0.2
    # Another class list leaves the seeds of the shared classes unchanged.
    again = synth_dataset(tmp_path / "b", sessions_per_class=1, duration_s=3, seed=9, classes=["bearing_fault"])
    np.testing.assert_array_equal(read_session(again[0]).data, sessions[9].data)


def test_bad_arguments():
    with pytest.raises(InputError, match="unknown condition 'broken'"):
        synth_session("broken")
    with pytest.raises(InputError, match="severity"):
        synth_session("imbalance", severity=1.5)
    with pytest.raises(InputError, match="too low"):
        synth_session("normal", sample_rate_hz=8)
    with pytest.raises(InputError, match="unknown classes"):
        synth_dataset("/nonexistent/never", classes=["normal", "wobble"])
    assert dlpf_bandwidth_hz(100) == 44 and dlpf_bandwidth_hz(1000) == 260 and dlpf_bandwidth_hz(200) == 94


def test_other_rates_and_looseness():
    s = synth_session("looseness", duration_s=20, sample_rate_hz=200.0, rpm=600, seed=0, severity=0.8,
                      mount_yaw_deg=0.0)
    assert s.meta.dlpf_hz == 94 and s.meta.extra["internal_rate_hz"] == 1000
    f, ay = amplitude_spectrum(s.data[:, 1], 200.0)
    # Looseness: many harmonics of 10 Hz, decaying.
    peaks = [amplitude_at(f, ay, 10.0 * k) for k in range(1, 5)]
    floor = np.median(ay[f > 1])
    assert all(p > 10 * floor for p in peaks)
    assert peaks[0] > peaks[3]


def test_cli_synth_with_plot(tmp_path):
    out = tmp_path / "demo"
    assert main(["synth", "--out", str(out), "--sessions-per-class", "1", "--duration", "2", "--seed", "1",
                 "--plot"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bearing_fault_000.parquet", "imbalance_000.parquet",
                                                     "misalignment_000.parquet", "normal_000.parquet",
                                                     "overview.png"]
    assert (out / "overview.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["synth", "--out", str(tmp_path / "x"), "--classes", "normal,wobble"]) == 2
    assert not (tmp_path / "x").exists()


def test_the_machine_does_not_change_with_the_output_rate_from_100_hz_up():
    at = {rate: synth_session("imbalance", duration_s=2, seed=1, machine_seed=0, severity=1.0, sample_rate_hz=rate)
          for rate in (100.0, 250.0, 1000.0)}
    # Pinned: the 100 Hz machine models/default and `tinyad demo` were trained on.
    assert (at[100.0].meta.extra["rpm"], at[100.0].meta.extra["resonance_hz"]) == (362.837, 33.523)
    for rate in (250.0, 1000.0):
        for key in ("rpm", "resonance_hz", "machine_gain", "severity", "mount_yaw_deg"):
            assert at[rate].meta.extra[key] == at[100.0].meta.extra[key], (rate, key)
    # Only the sampling changes: the 1 kHz stream shows the same 1x amplitude and does not saturate at +-4 g.
    assert at[1000.0].data.shape == (2000, 6) and at[1000.0].meta.extra["clipped_values"] == 0
    assert np.abs(at[1000.0].data[:, :3]).max() < 2.0
    spread = [np.ptp(s.data[:, 1]) for s in at.values()]
    assert max(spread) < 1.3 * min(spread)


def test_a_1khz_data_set_keeps_the_100_hz_speed_range(tmp_path):
    sessions = [read_session(p) for p in synth_dataset(tmp_path, sessions_per_class=3, duration_s=1, seed=4,
                                                       sample_rate_hz=1000.0, classes=["normal", "imbalance"])]
    rpms = [s.meta.extra["rpm"] for s in sessions]
    assert min(rpms) >= 240 and max(rpms) <= 480
    assert all(28 <= s.meta.extra["resonance_hz"] <= 34 for s in sessions)
    assert all(s.meta.extra["clipped_values"] == 0 for s in sessions)


def test_below_100_hz_the_machine_slows_down_to_keep_its_faults_below_nyquist():
    s = synth_session("bearing_fault", duration_s=2, seed=1, machine_seed=0, sample_rate_hz=50.0)
    assert s.meta.extra["rpm"] == pytest.approx(362.837 / 2, abs=1e-3)
    assert s.meta.extra["bpfo_hz"] < 0.22 * 50 and s.meta.extra["resonance_hz"] < 25


@pytest.mark.parametrize("rate, message", [("1001", "above the MPU6050's 1000 Hz"), ("nan", "nan Hz is not a number"),
                                           ("inf", "inf Hz is infinite")])
def test_cli_synth_refuses_rates_the_mpu6050_cannot_deliver(tmp_path, capsys, rate, message):
    assert main(["synth", "--out", str(tmp_path / "x"), "--rate", rate, "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and "hint: " in err and "too low" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "'--seed': -1 is not in the range x>=0"),
    (["--machine-seed", "-1"], "'--machine-seed': -1 is not in the range x>=0"),
    (["--duration", "nan"], "duration must be a positive number of seconds, got nan"),
    (["--duration", "inf"], "duration must be a positive number of seconds, got inf"),
    (["--classes", ""], "no classes given"),
    (["--classes", " , "], "no classes given"),
    (["--classes", "normal,imbalance,normal"], "class normal given more than once"),
])
def test_cli_synth_bad_values_are_errors_not_tracebacks(tmp_path, capsys, args, message):
    assert main(["synth", "--out", str(tmp_path / "x"), "--duration", "1", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_cli_synth_refuses_a_folder_with_session_files_and_overwrite_replaces_only_its_own(tmp_path, capsys):
    out = tmp_path / "sessions"
    assert main(["synth", "--out", str(out), "--sessions-per-class", "2", "--duration", "1", "--plot"]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(first) == 9  # 4 classes x 2 + overview.png
    capsys.readouterr()
    # Into the same folder again (another rate): refused, nothing touched.
    args = ["synth", "--out", str(out), "--sessions-per-class", "1", "--duration", "1", "--rate", "200",
            "--classes", "normal"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds session files" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    # --overwrite: the earlier synth files (stale overview.png included) go, the new ones alone remain.
    notes = out / "notes.txt"
    notes.write_text("mine")
    assert main(args + ["--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["normal_000.parquet", "notes.txt"]
    assert read_session(out / "normal_000.parquet").meta.sample_rate_hz == 200.0
    # A session file synth did not write is never removed, so --overwrite refuses to mix with it.
    (out / "recorded.parquet").write_bytes(b"x")
    assert main(args + ["--overwrite"]) == 2
    assert "recorded.parquet: not written by `tinyad synth`" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["normal_000.parquet", "notes.txt", "recorded.parquet"]
