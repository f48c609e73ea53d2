"""Importers: tiny hand-written CSVs (good and bad), all-or-nothing writes, and the real data sets."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest

from tinyad import importers
from tinyad.cli import main
from tinyad.errors import InputError
from tinyad.session import read_session

MOTOR_HEADER = ("Time,Ax_Raw,Ay_Raw,Az_Raw,Gx_Raw,Gy_Raw,Gz_Raw,"
                "Ax_Smooth,Ay_Smooth,Az_Smooth,Gx_Smooth,Gy_Smooth,Gz_Smooth,Temp")
G = 9.80665
RAD = math.pi / 180  # 1 deg/s in rad/s


def motor_csv(path, times, rows=None):
    """A motor_mpu6050-style file; by default row i has ax = i g, az = 1 g and gz = i deg/s."""
    lines = [MOTOR_HEADER]
    for i, time in enumerate(times):
        raw = rows[i] if rows else [i * G, 0.0, G, 0.0, 0.0, i * RAD]
        lines.append(",".join(str(v) for v in [time, *raw, *(7.0 for _ in range(6)), 23.5]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_motor_good_file(tmp_path):
    path = motor_csv(tmp_path / "motor_healthy_trial2.csv", [5000, 5010, 5020, 5030, 5040])
    s = importers.import_motor_mpu6050(path)
    assert (s.meta.label, s.meta.session_id, s.meta.device_id) == ("normal", "motor_healthy_trial2", "motor_mpu6050")
    assert s.meta.sample_rate_hz == 100.0 and s.meta.channels == ["ax", "ay", "az", "gx", "gy", "gz"]
    np.testing.assert_allclose(s.t, [0.0, 0.01, 0.02, 0.03, 0.04])
    np.testing.assert_allclose(s.data[:, 0], [0, 1, 2, 3, 4], atol=1e-6)  # m/s^2 -> g
    np.testing.assert_allclose(s.data[:, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(s.data[:, 5], [0, 1, 2, 3, 4], atol=1e-5)  # rad/s -> dps; *_Smooth (7.0) ignored
    assert s.meta.extra["trial"] == 2 and s.meta.extra["gap_count"] == 0
    assert s.meta.extra["duplicate_timestamps_dropped"] == 0


def test_motor_duplicates_dropped_and_gaps_recorded(tmp_path):
    path = motor_csv(tmp_path / "motor_bearing_fault_trial1.csv", [0, 10, 10, 20, 50, 60])
    s = importers.import_motor_mpu6050(path)
    assert s.meta.label == "bearing_fault" and s.n_samples == 5
    np.testing.assert_allclose(s.t, [0.0, 0.01, 0.02, 0.05, 0.06])
    np.testing.assert_allclose(s.data[:, 0], [0, 1, 3, 4, 5], atol=1e-6)  # the repeated row (i = 2) is gone
    extra = s.meta.extra
    assert extra["duplicate_timestamps_dropped"] == 1 and extra["duplicate_lines"] == [4]
    assert extra["gap_count"] == 1 and extra["gaps"] == [[6, 0.03]]  # line 6: 20 -> 50 ms
    assert extra["missing_samples_estimate"] == 2


@pytest.mark.parametrize(
    "times, rows, message",
    [
        ([0, 10, 5, 20], None, r"motor_imbalance_trial1.csv: line 4: Time goes backwards"),
        ([0, 10, 20, 30], [[0, 0, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, "nan", 1, 0, 0, 0], [0, 0, 1, 0, 0, 0]],
         r"motor_imbalance_trial1.csv: line 4, column 'Ay_Raw'"),
        ([0, 10, 20, 30], [[0, 0, 1, 0, 0, 0], [0, 0, 1, 0, "x", 0], [0, 0, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0]],
         r"line 3, column 'Gy_Raw': value 'x'"),
    ],
)
def test_motor_bad_rows_are_named(tmp_path, times, rows, message):
    path = motor_csv(tmp_path / "motor_imbalance_trial1.csv", times, rows)
    with pytest.raises(InputError, match=message):
        importers.import_motor_mpu6050(path)


def test_motor_missing_column_and_bad_name(tmp_path):
    path = tmp_path / "motor_misalignment_trial1.csv"
    path.write_text("Time,Ax_Raw,Ay_Raw,Az_Raw,Gx_Raw,Gy_Raw\n0,1,2,3,4,5\n10,1,2,3,4,5\n")
    with pytest.raises(InputError, match=r"motor_misalignment_trial1.csv: line 1: missing columns \['Gz_Raw'\]"):
        importers.import_motor_mpu6050(path)
    other = motor_csv(tmp_path / "pump_trial1.csv", [0, 10])
    with pytest.raises(InputError, match="not a motor_mpu6050 file name"):
        importers.import_motor_mpu6050(other)


def fan_file(root, folder, name="0000.csv", rows=200, row_text=None):
    directory = root / "ceiling-fan" / folder
    directory.mkdir(parents=True, exist_ok=True)
    lines = [row_text(i) if row_text else f"{i / 1000:.6f}, 0.2, 0.97" for i in range(rows)]
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ceiling_fan_windows(tmp_path):
    fan_file(tmp_path, "fan_0_low_1_weight", "0000.csv")
    fan_file(tmp_path, "fan_0_low_1_weight", "0001.csv")
    fan_file(tmp_path, "fan_0_high_0_weight-moving")
    fan_file(tmp_path, "fan_0_low-deploy")
    sessions = importers.ceiling_fan_sessions(tmp_path)
    by_id = {s.meta.session_id: s for s in sessions}
    assert sorted(by_id) == ["fan_0_high_0_weight-moving_0000", "fan_0_low-deploy_0000",
                             "fan_0_low_1_weight_0000", "fan_0_low_1_weight_0001"]
    weighted = by_id["fan_0_low_1_weight_0001"]
    assert weighted.meta.label == "imbalance" and weighted.meta.extra["speed"] == "low"
    assert weighted.meta.extra["folder"] == "ceiling-fan/fan_0_low_1_weight"
    assert weighted.meta.sample_rate_hz == 200.0 and weighted.t[1] == pytest.approx(0.005)
    assert weighted.data.shape == (200, 3) and weighted.data[7, 0] == pytest.approx(0.007)
    moving = by_id["fan_0_high_0_weight-moving_0000"]
    assert moving.meta.label == "normal" and moving.meta.extra["moving"] and moving.meta.extra["speed"] == "high"
    assert by_id["fan_0_low-deploy_0000"].meta.extra["deploy"]


@pytest.mark.parametrize(
    "rows, row_text, message",
    [
        (150, None, r"0000.csv: 150 rows, expected 200"),
        (200, lambda i: "0.1, 0.2" if i == 6 else "0.1, 0.2, 0.9", r"0000.csv: line 7: 2 fields, expected 3"),
        (200, lambda i: "0.1, nan, 0.9" if i == 12 else "0.1, 0.2, 0.9", r"0000.csv: line 13: NaN"),
        (200, lambda i: "0.1, abc, 0.9" if i == 0 else "0.1, 0.2, 0.9", r"0000.csv: line 1: not a number"),
    ],
)
def test_ceiling_fan_bad_files(tmp_path, rows, row_text, message):
    fan_file(tmp_path, "fan_0_med_0_weight", rows=rows, row_text=row_text)
    with pytest.raises(InputError, match=message):
        importers.import_ceiling_fan(tmp_path)


def test_generic_csv_with_mapping_units_and_scale(tmp_path):
    path = tmp_path / "rig.csv"
    # 4 samples 20 ms apart (50 Hz). AccX in m/s^2, GyroZ in rad/s, AccZ in counts of a +-4 g sensor.
    path.write_text("stamp_ms,AccX,AccZ,GyroZ,Other\n"
                    "1000,9.80665,8192,0,x\n1020,0,16384,0.0174533,x\n1040,-9.80665,0,0,x\n1060,0,-8192,0,x\n")
    s = importers.import_csv(path, {"gz": "GyroZ", "ax": "AccX", "az": "AccZ"}, time_column="stamp_ms",
                             time_unit="ms", units={"ax": "m/s^2", "az": "counts", "gz": "rad/s"},
                             scale={"az": 4 / 32768}, label="normal")
    assert s.meta.channels == ["ax", "az", "gz"]  # canonical order, whatever the mapping order
    assert s.meta.sample_rate_hz == pytest.approx(50.0) and s.meta.extra["rate_inferred"]
    np.testing.assert_allclose(s.t, [0, 0.02, 0.04, 0.06])
    np.testing.assert_allclose(s.data[:, 0], [1, 0, -1, 0], atol=1e-6)
    np.testing.assert_allclose(s.data[:, 1], [1, 2, 0, -1], atol=1e-6)
    np.testing.assert_allclose(s.data[:, 2], [0, 1, 0, 0], atol=1e-5)
    assert s.meta.session_id == "rig" and s.meta.units == {"ax": "g", "az": "g", "gz": "dps"}


def test_generic_csv_without_time_column_and_with_datetimes(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("a;b\n1;2\n3;4\n5;6\n")
    s = importers.import_csv(path, {"ax": "a", "ay": "b"}, sample_rate_hz=10.0, sep=";")
    np.testing.assert_allclose(s.t, [0, 0.1, 0.2])
    assert s.data[2, 1] == 6
    dated = tmp_path / "dated.csv"
    dated.write_text("when,a\n2024-01-01 00:00:00.000,1\n2024-01-01 00:00:00.500,2\n2024-01-01 00:00:01.000,3\n")
    s = importers.import_csv(dated, {"ax": "a"}, time_column="when")
    np.testing.assert_allclose(s.t, [0, 0.5, 1.0])
    assert s.meta.sample_rate_hz == pytest.approx(2.0)


def test_date_time_stamps_read_as_detect_reads_them(tmp_path):
    # Dotted dates are day first: midnight from 1 to 2 March is 10 ms, not the month from 3 January to 3 February.
    dotted = _write(tmp_path / "dotted.csv", "when;a\n01.03.2024 23:59:59.990;1\n02.03.2024 00:00:00.000;2\n"
                                             "02.03.2024 00:00:00.010;3\n")
    s = importers.import_csv(dotted, {"ax": "a"}, time_column="when", sep=";")
    np.testing.assert_allclose(s.t, [0.0, 0.01, 0.02])
    assert s.meta.sample_rate_hz == pytest.approx(100.0) and s.meta.extra["gap_count"] == 0
    # Stamps with offsets are instants: the spring daylight-saving switch (+01:00 to +02:00) is one second.
    zoned = _write(tmp_path / "zoned.csv", "when,a\n2024-03-31T01:59:59+01:00,1\n2024-03-31T03:00:00+02:00,2\n"
                                           "2024-03-31T03:00:01+02:00,3\n")
    np.testing.assert_allclose(importers.import_csv(zoned, {"ax": "a"}, time_column="when").t, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("cells, message", [
    (["2024-01-01 00:00:00", "soon", "2024-01-01 00:00:02"], "line 3, column 'when': 'soon' is not a time"),
    (["2024-01-01 00:00:00", "01.01.2024 00:00:01", "2024-01-01 00:00:02"],
     "column 'when': the time stamps are not all in one format"),
])
def test_a_time_stamp_that_does_not_read_is_named(cells, message, tmp_path):
    path = _write(tmp_path / "bad.csv", "when,a\n" + "".join(f"{cell},{i}\n" for i, cell in enumerate(cells)))
    with pytest.raises(InputError, match=message):
        importers.import_csv(path, {"ax": "a"}, time_column="when")


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("t,x\n0,1\n1,2\n", {"mapping": {"ax": "x", "ay": "y"}}, r"line 1: missing columns \['y'\]"),
        ("t,x\n0,1\n1,\n2,3\n", {}, r"data.csv: line 3, column 'x': is empty or NaN \(a line cut short\?\)"),
        ("t,x\n0,1\n1,abc\n2,3\n", {}, r"data.csv: line 3, column 'x': value 'abc' is not a finite number"),
        ("t,x\n0,1\n1,2\n1,3\n", {}, r"data.csv: line 4: time does not increase"),
        ("t,x\n0,1\n1,2\n0.5,3\n", {}, r"data.csv: line 4: time does not increase"),
        ("t,x\n0,1\n1,2\n", {"mapping": {"temp": "x"}}, r"unknown channels \['temp'\]"),
        ("t,x\n0,1\n1,2\n", {"units": {"ax": "furlong"}}, r"unknown unit 'furlong'"),
        ("t,x\n0,1\n1,2\n", {"units": {"ax": "counts"}}, r"in counts but has no scale"),
        ("t,x\n0,1\n1,2\n", {"sample_rate_hz": 5.0}, r"contradicts the declared rate 5 Hz"),
        ("t,x\n", {}, r"header but no data rows"),
        ("", {}, r"the file is empty"),
    ],
)
def test_generic_csv_errors_name_file_and_line(tmp_path, text, kwargs, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    arguments = {"mapping": {"ax": "x"}, "time_column": "t", **kwargs}
    with pytest.raises(InputError, match=message):
        importers.import_csv(path, **arguments)


def test_generic_csv_mixed_rates_names_the_line(tmp_path):
    times = [i * 0.01 for i in range(60)] + [0.59 + i * 0.005 for i in range(1, 21)]
    path = tmp_path / "mixed.csv"
    path.write_text("t,x\n" + "".join(f"{t:.3f},1\n" for t in times))
    # Row 60 is the first 5 ms step; its line is 62 (header + 1-based).
    with pytest.raises(InputError, match=r"mixed.csv: line 62: 20 intervals are shorter"):
        importers.import_csv(path, {"ax": "x"}, time_column="t")


def test_write_sessions_is_all_or_nothing(tmp_path):
    good = importers.import_csv(_write(tmp_path / "a.csv", "t,x\n0,1\n1,2\n"), {"ax": "x"}, time_column="t")
    bad = importers.import_csv(_write(tmp_path / "b.csv", "t,x\n0,1\n1,2\n"), {"ax": "x"}, time_column="t")
    bad.data[1, 0] = np.nan  # corrupted after import
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"b.csv: row 1, channel 'ax'"):
        importers.write_sessions([good, bad], out)
    assert not out.exists() or list(out.iterdir()) == []
    with pytest.raises(InputError, match="repeated session ids"):
        importers.write_sessions([good, good], out)
    paths = importers.write_sessions([good], out)
    assert [p.name for p in paths] == ["a.parquet"] and [p.name for p in out.iterdir()] == ["a.parquet"]
    assert read_session(paths[0]).data[1, 0] == 2


def test_cli_import_csv(tmp_path):
    good = _write(tmp_path / "g.csv", "ms,AccX,GyrZ\n0,9.80665,1\n10,0,2\n20,0,3\n")
    out = tmp_path / "out"
    args = ["import", "csv", str(good), "--out", str(out), "--map", "ax=AccX,gz=GyrZ", "--time-column", "ms",
            "--time-unit", "ms", "--units", "ax=m/s^2", "--label", "normal"]
    assert main(args) == 0
    s = read_session(out / "g.parquet")
    assert s.meta.sample_rate_hz == pytest.approx(100.0) and s.data[0, 0] == pytest.approx(1.0)
    bad = _write(tmp_path / "bad.csv", "ms,AccX,GyrZ\n0,1,1\n10,1,nan\n")
    args[2], args[4] = str(bad), str(tmp_path / "out2")
    assert main(args) == 2
    assert not (tmp_path / "out2").exists()


def _write(path, text):
    path.write_text(text)
    return path


# Row counts from ../shared/data/README.md.
MOTOR_ROWS = {"motor_healthy_trial1": 34592, "motor_healthy_trial2": 34736, "motor_imbalance_trial1": 37922,
              "motor_imbalance_trial2": 30927, "motor_misalignment_trial1": 33092,
              "motor_bearing_fault_trial1": 19347}


def test_real_motor_mpu6050(shared_data):
    sessions = importers.motor_mpu6050_sessions(shared_data / "imu" / "motor_mpu6050")
    assert {s.meta.session_id: s.n_samples for s in sessions} == MOTOR_ROWS
    labels = collections.Counter(s.meta.label for s in sessions)
    assert labels == {"normal": 2, "imbalance": 2, "misalignment": 1, "bearing_fault": 1}
    for s in sessions:
        assert s.meta.extra["duplicate_timestamps_dropped"] == 0
        assert 0.95 < np.median(s.data[:, 2]) < 1.2  # gravity on z, in g
        assert s.meta.extra["gap_count"] <= 5
    total_minutes = sum(s.n_samples for s in sessions) / 100 / 60
    assert 31 < total_minutes < 33  # "~32 min in all"


def test_real_ceiling_fan(shared_data):
    sessions = importers.ceiling_fan_sessions(shared_data / "imu" / "ceiling_fan")
    labels = collections.Counter(s.meta.label for s in sessions)
    assert labels == {"normal": 2925, "imbalance": 1749}
    speeds = collections.Counter(s.meta.extra["speed"] for s in sessions if s.meta.label == "imbalance")
    assert set(speeds) == {"low", "med", "high"}
    assert all(s.data.shape == (200, 3) for s in sessions)


def _imu_csv(path, scale=1.0, n=300):
    """ms, AccX, AccZ, GyroZ at 100 Hz; accel in g times `scale` (9.80665: the same data in m/s^2)."""
    rows = [f"{10 * i},{0.01 * (i % 7) * scale:.5f},{(1 + 0.01 * (i % 5)) * scale:.5f},{i % 3}" for i in range(n)]
    return _write(path, "ms,AccX,AccZ,GyroZ\n" + "\n".join(rows) + "\n")


def test_import_csv_warns_when_accel_looks_like_m_per_s2(tmp_path, capsys):
    src = _imu_csv(tmp_path / "good.csv", scale=9.80665)
    args = ["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=AccX,az=AccZ,gz=GyroZ",
            "--time-column", "ms", "--time-unit", "ms", "--label", "normal"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert 'warning: good: the median accelerometer magnitude is 10 "g"' in err
    assert "(hint: import with --units ax=m/s^2,az=m/s^2)" in err
    assert "channel az: 100 % of the values exceed the full scale +-4 g" in err
    # Without --units the file is written as it was read: about 9.8 "g" on az.
    as_read = read_session(tmp_path / "out" / "good.parquet")
    np.testing.assert_allclose(as_read.data[:5, 1], (1 + 0.01 * np.arange(5)) * 9.80665, atol=1e-5)
    # Converted with --units: no warning, and the session holds g (row i: ax 0.01 (i % 7), az 1 + 0.01 (i % 5));
    # gz, given in dps, is unchanged.
    assert main(args[:4] + [str(tmp_path / "out2")] + args[5:] + ["--units", "ax=m/s^2,az=m/s^2"]) == 0
    assert "warning" not in capsys.readouterr().err
    converted = read_session(tmp_path / "out2" / "good.parquet")
    i = np.arange(300)
    assert converted.meta.channels == ["ax", "az", "gz"] and converted.meta.units["az"] == "g"
    np.testing.assert_allclose(converted.data[:, 0], 0.01 * (i % 7), atol=1e-6)
    np.testing.assert_allclose(converted.data[:, 1], 1 + 0.01 * (i % 5), atol=1e-6)
    np.testing.assert_array_equal(converted.data[:, 2], i % 3)


def test_import_refuses_to_replace_a_session_file_unless_overwrite(tmp_path, capsys):
    src = _imu_csv(tmp_path / "good.csv")
    args = ["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=AccX,az=AccZ,gz=GyroZ",
            "--time-column", "ms", "--time-unit", "ms"]
    assert main(args + ["--label", "normal"]) == 0
    capsys.readouterr()
    assert main(args + ["--label", "imbalance"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'out' / 'good.parquet'}: session file already exists" in err
    assert "--session-id" in err and "--overwrite" in err
    assert read_session(tmp_path / "out" / "good.parquet").meta.label == "normal"
    assert main(args + ["--label", "imbalance", "--session-id", "good2"]) == 0
    assert main(args + ["--label", "imbalance", "--overwrite"]) == 0
    assert read_session(tmp_path / "out" / "good.parquet").meta.label == "imbalance"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.parquet", "good2.parquet"]


# -- walk-through findings: labels, rates, cells and separators --------------------------------------------


def test_cli_import_csv_requires_a_label(tmp_path, capsys):
    src = _imu_csv(tmp_path / "good.csv")
    args = ["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=AccX,az=AccZ,gz=GyroZ",
            "--time-column", "ms", "--time-unit", "ms"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: csv import needs --label" in err and "hint: e.g. --label normal" in err
    assert not (tmp_path / "out").exists()
    assert main(args + ["--label", "  "]) == 2
    assert main(args + ["--label", "imbalance"]) == 0
    out = capsys.readouterr().out
    assert read_session(tmp_path / "out" / "good.parquet").meta.label == "imbalance"
    assert f"wrote 1 session to {tmp_path / 'out'}\n" == out  # not "1 sessions"


@pytest.mark.parametrize("text, kwargs, message, hint", [
    # a ms column read as seconds: 0.1 Hz
    ("ms,x\n0,1\n10,2\n20,3\n", {"time_column": "ms"},
     r"data.csv: the time column 'ms' read in s gives 0.1 Hz, outside what an IMU streams \(1 Hz .. 10000 Hz\)",
     "--time-unit"),
    # a us column read as ns: 100 MHz
    ("us,x\n0,1\n10,2\n20,3\n", {"time_column": "us", "time_unit": "ns"}, r"gives 1e\+08 Hz", "--time-unit"),
    ("a,x\n0,1\n1,2\n", {"sample_rate_hz": 1e9}, r"sample rate 1e\+09 Hz is outside what an IMU streams", "--rate"),
    ("a,x\n0,1\n1,2\n", {"sample_rate_hz": 0.5}, r"sample rate 0.5 Hz is outside", "--rate"),
    ("a,x\n0,1\n1,2\n", {"sample_rate_hz": float("nan")}, r"sample rate nan Hz is outside", "--rate"),
])
def test_rates_no_imu_streams_at_are_refused(tmp_path, text, kwargs, message, hint):
    path = _write(tmp_path / "data.csv", text)
    with pytest.raises(InputError, match=message) as err:
        importers.import_csv(path, {"ax": "x"}, **kwargs)
    assert hint in err.value.hint


def test_cli_refuses_rate_1e9(tmp_path, capsys):
    src = _write(tmp_path / "a.csv", "x\n1\n2\n3\n")
    assert main(["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=x", "--rate", "1e9",
                 "--label", "normal"]) == 2
    err = capsys.readouterr().err
    assert "sample rate 1e+09 Hz is outside what an IMU streams" in err and "--rate" in err
    assert "Traceback" not in err


def test_inferred_rate_is_rounded_not_float_noise(tmp_path):
    # 0.01 s steps as decimals: 1 / median interval is 100.00000000000x in float64
    path = _write(tmp_path / "r.csv", "t,x\n" + "".join(f"{0.37 + 0.01 * i:.2f},1\n" for i in range(50)))
    s = importers.import_csv(path, {"ax": "x"}, time_column="t")
    assert 1.0 / float(np.median(np.diff(s.t))) != 100.0  # the noise is there
    assert s.meta.sample_rate_hz == 100.0


def test_non_increasing_time_shows_the_numbers_as_in_the_file(tmp_path):
    path = _write(tmp_path / "d.csv", "t,x\n4.97,1\n4.98,1\n4.99,1\n4.99,1\n")
    with pytest.raises(InputError) as err:
        importers.import_csv(path, {"ax": "x"}, time_column="t")
    assert str(err.value) == f"{path}: line 5: time does not increase (4.99 -> 4.99 s)"
    path = _write(tmp_path / "m.csv", "ms,x\n1000,1\n1010,1\n1005,1\n")
    with pytest.raises(InputError, match=r"(?m)line 4: time does not increase \(1010 -> 1005 ms\)$"):
        importers.import_csv(path, {"ax": "x"}, time_column="ms", time_unit="ms")


def test_a_cell_too_large_for_float32_is_named_without_numpy_warnings(tmp_path):
    import warnings

    path = _write(tmp_path / "big.csv", "t,x,y\n0,1,1\n0.01,1e40,1\n0.02,1,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning (overflow in cast) would fail the test
        with pytest.raises(InputError, match=r"big.csv: line 3, column 'x': value 1e\+40 is too large for float32"):
            importers.import_csv(path, {"ax": "x", "ay": "y"}, time_column="t")


def test_a_folder_is_named_as_a_folder(tmp_path, capsys):
    from tinyad.csvfile import read_csv

    with pytest.raises(InputError, match=r"(?m): is a folder, not a CSV file$"):
        read_csv(tmp_path)
    assert main(["import", "csv", str(tmp_path), "--out", str(tmp_path / "out"), "--map", "ax=x", "--rate", "100",
                 "--label", "normal"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: is a folder, not a CSV file" in err and "no such file" not in err


def test_the_separator_is_sniffed_and_a_wrong_one_is_named(tmp_path):
    path = _write(tmp_path / "semi.csv", "t;x;y\n0;1;2\n0.01;3;4\n0.02;5;6\n")
    s = importers.import_csv(path, {"ax": "x", "ay": "y"}, time_column="t")
    assert s.data[:, 1].tolist() == [2, 4, 6] and s.meta.sample_rate_hz == 100.0
    with pytest.raises(InputError, match=r"one column 't;x;y': the fields seem to be separated by ';'") as err:
        importers.import_csv(path, {"ax": "x", "ay": "y"}, time_column="t", sep=",")
    assert err.value.hint == "give the separator: --sep ';'"


def test_a_channel_mapped_twice_is_an_error(tmp_path, capsys):
    src = _write(tmp_path / "a.csv", "t,ax,ay\n0,1,2\n0.01,1,2\n")
    assert main(["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=ax,ax=ay",
                 "--time-column", "t", "--label", "normal"]) == 2
    err = capsys.readouterr().err
    assert "'ax' is given twice in --map (ax=ax, ax=ay)" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, message, hint", [
    ("--units", "g", "bad --units entry 'g'", "use channel=unit, e.g. --units ax=m/s^2,gx=rad/s"),
    ("--scale", "2", "bad --scale entry '2'", "use channel=factor, e.g. --scale ax=0.000122"),
    ("--full-scale", "8", "bad --full-scale entry '8'", "use sensor=range, e.g. --full-scale accel_g=8"),
    ("--full-scale", "accel=8", "unknown --full-scale sensor 'accel'",
     "use accel_g and/or gyro_dps, e.g. --full-scale accel_g=8,gyro_dps=1000"),
    ("--full-scale", "accel_g=0", "--full-scale accel_g=0 is no sensor range",
     "give the range the sensor was set to, e.g. --full-scale accel_g=8 for +-8 g"),
    ("--dlpf", "-44", "sensor low-pass -44 Hz is no bandwidth",
     "give the DLPF bandwidth in Hz, e.g. 44 for the MPU6050's DLPF_CFG 3, or leave it out"),
])
def test_a_malformed_pair_option_names_itself(tmp_path, capsys, option, value, message, hint):
    src = _write(tmp_path / "a.csv", "t,ax,ay\n0,1,2\n0.01,1,2\n")
    assert main(["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=ax,ay=ay",
                 "--time-column", "t", "--label", "normal", option, value]) == 2
    assert capsys.readouterr().err == f"error: {message}\nhint: {hint}\n"
    assert not (tmp_path / "out").exists()


def test_full_scale_records_the_sensor_range_the_csv_was_logged_at(tmp_path, capsys):
    # +-8 g data: 6 g is beyond the assumed +-4 g (a warning that suggests --full-scale), within the given +-8 g.
    src = _write(tmp_path / "a.csv", "t,ax,az\n0,6,1\n0.01,-6,1\n0.02,0,1\n")
    args = ["import", "csv", str(src), "--map", "ax=ax,az=az", "--time-column", "t", "--label", "normal"]
    assert main([*args, "--out", str(tmp_path / "assumed")]) == 0
    assert "import with --full-scale, e.g. accel_g=8,gyro_dps=1000" in capsys.readouterr().err
    assert read_session(tmp_path / "assumed" / "a.parquet").meta.full_scale == {}
    assert main([*args, "--out", str(tmp_path / "given"), "--full-scale", "accel_g=8"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert read_session(tmp_path / "given" / "a.parquet").meta.full_scale == {"accel_g": 8.0}


def test_dlpf_records_the_low_pass_the_csv_was_logged_with(tmp_path, capsys):
    src = _write(tmp_path / "a.csv", "t,ax,az\n0,0.1,1\n0.01,-0.1,1\n0.02,0,1\n")
    args = ["import", "csv", str(src), "--map", "ax=ax,az=az", "--time-column", "t", "--label", "normal"]
    assert main([*args, "--out", str(tmp_path / "unknown")]) == 0
    assert read_session(tmp_path / "unknown" / "a.parquet").meta.dlpf_hz == 0.0  # not recorded
    assert main([*args, "--out", str(tmp_path / "given"), "--dlpf", "94"]) == 0
    assert read_session(tmp_path / "given" / "a.parquet").meta.dlpf_hz == 94.0
    # the public data sets do not say theirs: refused rather than guessed into every session
    assert main(["import", "fan", str(tmp_path), "--out", str(tmp_path / "fan"), "--dlpf", "44"]) == 2
    assert "--dlpf applies to csv only" in capsys.readouterr().err


def test_csv_gaps_are_noted_and_listed_in_extra_gaps(tmp_path, capsys):
    times = [0.01 * i for i in range(20)] + [0.5 + 0.01 * i for i in range(20)] + [0.73 + 0.01 * i for i in range(5)]
    src = _write(tmp_path / "g.csv", "t,x\n" + "".join(f"{t:.2f},1\n" for t in times))
    assert main(["import", "csv", str(src), "--out", str(tmp_path / "out"), "--map", "ax=x", "--time-column", "t",
                 "--label", "normal"]) == 0
    extra = read_session(tmp_path / "out" / "g.parquet").meta.extra
    # rows 20 and 40 follow the gaps: lines 22 and 42 (header + 1-based)
    assert extra["gap_count"] == 2 and extra["gaps"] == [[22, 0.31], [42, 0.04]]
    assert extra["missing_samples_estimate"] == 33
    err = capsys.readouterr().err
    assert ("note: g: 2 gap(s) longer than 1.5 sample intervals, the largest 0.31 s before line 22; kept in the "
            "time column and listed in extra.gaps") in err


def test_a_header_that_names_the_channels_needs_no_map(tmp_path, capsys):
    src = _write(tmp_path / "named.csv", "t;AX;ay;temp\n0;0,5;1;20\n0.01;0,5;1;20\n0.02;0,5;1;20\n".replace(",", "."))
    assert main(["import", "csv", str(src), "--out", str(tmp_path / "out"), "--time-column", "t",
                 "--label", "normal"]) == 0
    assert "note: columns AX, ay taken as channels ax, ay by their names (--map to choose others)" in \
        capsys.readouterr().err
    session = read_session(tmp_path / "out" / "named.parquet")
    assert session.meta.channels == ["ax", "ay"] and session.data[:, 0].tolist() == [0.5, 0.5, 0.5]
    other = _write(tmp_path / "other.csv", "t,AccX\n0,1\n0.01,1\n")
    assert main(["import", "csv", str(other), "--out", str(tmp_path / "o2"), "--time-column", "t",
                 "--label", "normal"]) == 2
    assert ("error: csv import needs --map: no column is named like a channel (ax ay az gx gy gz)"
            in capsys.readouterr().err)


def test_cli_import_csv_finds_a_time_column_by_name_notes_a_cut_last_line_and_refuses_a_folder(tmp_path, capsys):
    session_csv = _write(tmp_path / "rec.csv", "t,ax,ay,az\n0.00,0,0,1\n0.01,0,0,1\n0.02,0,0,1\n0.03,0,0,1.0")
    assert main(["import", "csv", str(session_csv), "--out", str(tmp_path / "out"), "--label", "normal"]) == 0
    err = capsys.readouterr().err
    assert "note: took column 't' as the time column (named like one), in s (--time-unit)" in err
    assert "the file does not end with a line end: still being written? its last row may be cut off" in err
    assert read_session(tmp_path / "out" / "rec.parquet").meta.sample_rate_hz == pytest.approx(100.0)
    assert main(["import", "csv", str(tmp_path / "out"), "--out", str(tmp_path / "o2"), "--label", "normal"]) == 2
    assert "is a folder, not a CSV file\nhint: `tinyad import csv` converts one file: run it per file" in \
        capsys.readouterr().err
