"""The session format: round trip, atomic writes, and errors that name the file and the row."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyad.errors import InputError
from tinyad.session import METADATA_KEY, Session, SessionMeta, gap_count, read_session, validate, write_session


def make_session(n=5, rate=100.0, channels=("ax", "ay", "az", "gx", "gy", "gz"), **meta):
    t = np.arange(n, dtype=np.float64) / rate
    # Row i, channel j holds i + j / 10: every value is distinct and easy to check by hand.
    data = (np.arange(n)[:, None] + np.arange(len(channels))[None, :] / 10).astype(np.float32)
    return Session(t=t, data=data, meta=SessionMeta(sample_rate_hz=rate, label="normal", channels=list(channels),
                                                     **meta))


def test_round_trip_keeps_data_and_metadata(tmp_path):
    session = make_session(full_scale={"accel_g": 4, "gyro_dps": 500}, device_id="dev1", session_id="s1",
                           extra={"gaps": [[11, 0.95]], "note": "x"})
    path = write_session(tmp_path / "s1.parquet", session)
    back = read_session(path)
    np.testing.assert_array_equal(back.t, [0.0, 0.01, 0.02, 0.03, 0.04])
    assert back.data.dtype == np.float32
    assert back.data[3, 4] == np.float32(3.4)
    np.testing.assert_array_equal(back.data, session.data)
    assert back.meta.channels == ["ax", "ay", "az", "gx", "gy", "gz"]
    assert back.meta.units == {"ax": "g", "ay": "g", "az": "g", "gx": "dps", "gy": "dps", "gz": "dps"}
    assert back.meta.full_scale == {"accel_g": 4, "gyro_dps": 500}
    assert (back.meta.device_id, back.meta.session_id, back.meta.label) == ("dev1", "s1", "normal")
    assert back.meta.extra == {"gaps": [[11, 0.95]], "note": "x"}
    assert back.n_samples == 5 and back.duration_s == pytest.approx(0.04)


def test_subset_of_channels_round_trips(tmp_path):
    session = make_session(channels=("ax", "ay", "az"), rate=200.0)
    back = read_session(write_session(tmp_path / "a.parquet", session))
    assert back.meta.channels == ["ax", "ay", "az"] and back.data.shape == (5, 3)


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    path = tmp_path / "s.parquet"
    write_session(path, make_session(n=5))
    before = path.read_bytes()

    bad = make_session(n=5)
    bad.data[2, 1] = np.nan
    with pytest.raises(InputError, match="row 2, channel 'ay'"):
        write_session(path, bad)

    def broken_writer(table, where, **kwargs):
        with open(where, "wb") as handle:  # a partial file, then the disk "fails"
            handle.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken_writer)
    with pytest.raises(OSError):
        write_session(path, make_session(n=7))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]  # no temporary file left
    with pytest.raises(InputError):
        write_session(tmp_path / "new" / "x.parquet", bad)
    assert not (tmp_path / "new").exists()


def test_truncated_file_names_the_file(tmp_path):
    path = write_session(tmp_path / "cut.parquet", make_session(n=50))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.parquet") as err:
        read_session(path)
    assert err.value.hint and "truncated" in err.value.hint


def test_missing_file_and_foreign_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pytest.raises(InputError, match="no such session file"):
        read_session(tmp_path / "none.parquet")
    pq.write_table(pa.table({"t": [0.0, 0.01]}), tmp_path / "foreign.parquet")
    with pytest.raises(InputError, match="foreign.parquet.*no 'tinyad.session' metadata"):
        read_session(tmp_path / "foreign.parquet")


def test_the_dlpf_round_trips_and_a_format_1_file_keeps_the_synthesizers_one(tmp_path):
    import pyarrow.parquet as pq

    path = write_session(tmp_path / "d.parquet", make_session(dlpf_hz=94.0))
    assert read_session(path).meta.dlpf_hz == 94.0
    assert read_session(write_session(tmp_path / "u.parquet", make_session())).meta.dlpf_hz == 0.0  # unknown
    # Format 1 had no field: `tinyad synth` wrote it among the extras, other writers not at all.
    table = pq.read_table(path)
    fields = json.loads(table.schema.metadata[METADATA_KEY])
    del fields["dlpf_hz"]
    for extra, expected in (({"dlpf_hz": 44.0, "seed": 3}, 44.0), ({"seed": 3}, 0.0)):
        old = {**fields, "format_version": 1, "extra": extra}
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(old).encode()}), path)
        meta = read_session(path).meta
        assert (meta.dlpf_hz, meta.extra) == (expected, {"seed": 3})
    given = {"dlpf_hz": 94.0}
    assert SessionMeta(100.0, "normal", ["ax"], extra=given).dlpf_hz == 94.0 and given == {"dlpf_hz": 94.0}


def test_low_pass_differs_only_where_both_are_known():
    from tinyad.session import low_pass_differs

    assert low_pass_differs(44.0, 94.0) and not low_pass_differs(44.0, 44.0)
    assert not low_pass_differs(0.0, 94.0) and not low_pass_differs(44.0, 0.0)  # 0: not recorded


def test_corrupt_metadata_is_an_input_error(tmp_path):
    import pyarrow.parquet as pq

    path = write_session(tmp_path / "m.parquet", make_session())
    table = pq.read_table(path)
    for raw, message in ((b"{not json", "not valid JSON"), (json.dumps({"label": "x"}).encode(), "fields"),
                         (json.dumps({"format_version": 99}).encode(), "newer")):
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: raw}), path)
        with pytest.raises(InputError, match=message):
            read_session(path)


def test_nan_row_is_named():
    session = make_session(n=6)
    session.data[4, 5] = np.inf
    with pytest.raises(InputError, match=r"<x>: row 4, channel 'gz'"):
        validate(session, "<x>")
    # Importers map rows to source lines.
    with pytest.raises(InputError, match=r"f.csv: line 9, channel 'gz'"):
        validate(session, "f.csv", line_numbers=np.arange(6) + 5)


def test_non_monotonic_row_is_named():
    session = make_session(n=5)
    session.t = np.array([0.0, 0.01, 0.02, 0.015, 0.04])
    with pytest.raises(InputError, match=r"row 3: time does not increase \(0.02 s -> 0.015 s\)"):
        validate(session)
    session.t = np.array([0.0, 0.01, 0.01, 0.03, 0.04])  # a repeated timestamp is not increasing either
    with pytest.raises(InputError, match=r"row 2: time does not increase"):
        validate(session)


def test_mixed_rates_are_rejected_with_the_row():
    # 151 samples at 100 Hz, then 50 at 200 Hz: the median still says 100 Hz, but 50 intervals are 5 ms.
    t = np.r_[np.arange(151) * 0.01, 1.5 + np.arange(1, 51) * 0.005]
    session = Session(t=t, data=np.zeros((201, 3), np.float32),
                      meta=SessionMeta(sample_rate_hz=100.0, label="normal", channels=["ax", "ay", "az"]))
    with pytest.raises(InputError, match=r"row 151: 50 intervals .*mix sample rates"):
        validate(session)
    # A declared rate that contradicts the timestamps.
    session = make_session(n=20, rate=100.0)
    session.meta.sample_rate_hz = 50.0
    with pytest.raises(InputError, match=r"median sample interval 10.000 ms contradicts the declared rate 50 Hz"):
        validate(session)


def _timed(t, rate):
    return Session(t=np.asarray(t, np.float64), data=np.zeros((len(t), 1), np.float32),
                   meta=SessionMeta(sample_rate_hz=rate, label="normal", channels=["ax"]))


def test_a_slower_stretch_in_a_faster_file_is_mixed_rates():
    # 1,500 samples at 200 Hz, then 1,500 at 100 Hz: the median says 200 Hz and no interval is short, but the
    # 100 Hz part is 1,499 consecutive 10-ms "gaps".
    t = np.r_[np.arange(1500) * 0.005, 7.5 + np.arange(1500) * 0.01]
    with pytest.raises(InputError, match=r"row 1501: 1499 intervals in runs of 5 or more are longer than 1.5/rate "
                                         r"\(typically 10 ms, 2 periods\); the file seems to mix sample rates"):
        validate(_timed(t, 200.0))
    # Importers name the line.
    with pytest.raises(InputError, match=r"f.csv: line 1502: 1499 intervals"):
        validate(_timed(t, 200.0), "f.csv", line_numbers=np.arange(3000) + 1)


def test_sampling_gaps_are_not_mixed_rates():
    # 3,000 samples at 100 Hz with a 950 ms boot gap, 30 isolated lost samples and 4 consecutive ones.
    dt = np.full(2999, 0.01)
    dt[8] = 0.95
    dt[100:2800:90] = 0.02
    dt[2900:2904] = 0.02
    validate(_timed(np.r_[0.0, np.cumsum(dt)], 100.0))
    # A lossy link: every other 8-sample SAMPLES frame lost (a gap every 8 intervals, 12.5 % of them).
    dt = np.resize([0.01] * 7 + [0.09], 2999)
    validate(_timed(np.r_[0.0, np.cumsum(dt)], 100.0))


def test_wrong_channel_counts_and_names():
    session = make_session(n=4)
    session.meta.channels = ["ax", "ay", "az"]
    with pytest.raises(InputError, match="6 data columns but 3 channel names"):
        validate(session)
    wide = Session(t=np.arange(4) / 100.0, data=np.zeros((4, 7), np.float32),
                   meta=SessionMeta(sample_rate_hz=100.0, label="x",
                                    channels=["ax", "ay", "az", "gx", "gy", "gz", "gz"]))
    with pytest.raises(InputError, match="repeated channel names|1 to 6 channels"):
        validate(wide)
    odd = make_session(n=4, channels=("ax", "temp"))
    with pytest.raises(InputError, match=r"unknown channel names \['temp'\]"):
        validate(odd)
    with pytest.raises(InputError, match="at least 2 samples"):
        validate(make_session(n=1))


def test_gap_count_counts_lost_samples():
    session = make_session(n=6)
    session.t = np.array([0.0, 0.01, 0.03, 0.04, 0.08, 0.09])  # two gaps: 20 ms and 40 ms
    assert gap_count(session) == 2


def test_atomic_path_leaves_the_old_file_when_the_write_fails(tmp_path):
    from tinyad.atomic import atomic_path, write_text_atomic

    target = write_text_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left behind


def test_range_warnings_flag_m_per_s2_and_values_beyond_the_full_scale():
    from tinyad.session import range_warnings

    # ax alternates +-0.05 g, az is gravity: |a| = sqrt(1 + 0.05^2) = 1.00125 g on every sample.
    in_g = np.column_stack([np.resize([0.05, -0.05], 500), np.ones(500)]).astype(np.float32)
    assert range_warnings(in_g, ["ax", "az"], {}) == []
    # The same data in m/s^2 imported as g: az ~ 9.8 "g", beyond the default +-4 g on every sample.
    warnings = range_warnings(in_g * 9.80665, ["ax", "az"], {}, "good")
    assert len(warnings) == 2
    assert warnings[0].startswith("good: the median accelerometer magnitude is 9.82 \"g\", close to 9.81")
    assert warnings[0].endswith("(hint: import with --units ax=m/s^2,az=m/s^2)")
    assert warnings[1].startswith("good: channel az: 100 % of the values exceed the full scale +-4 g (assumed")
    # A recorded full scale is the limit.
    gyro = np.array([[10.0], [300.0], [-10.0], [20.0]], np.float32)
    assert range_warnings(gyro, ["gz"], {"gyro_dps": 250}) == [
        "channel gz: 25 % of the values exceed the full scale +-250 dps (max |gz| 300 dps); they are clipped to the "
        "full scale for training, as on the board (hint: check --units and --scale: a sensor at that range "
        "cannot deliver them)"]
    # Without a recorded range: the firmware's default one, assumed and said so
    assert range_warnings(gyro * 2, ["gz"], {})[0].endswith(
        "(assumed: the session records no full scale) (max |gz| 600 dps); they are clipped to the full scale for "
        "training, as on the board (hint: check --units and --scale; if the sensor was set to a wider range, "
        "import with --full-scale, e.g. accel_g=8,gyro_dps=1000)")


def test_rate_matches_allows_a_board_clock_error_and_refuses_another_rate():
    from tinyad.session import RATE_TOLERANCE, SAME_RATE_TOLERANCE, rate_matches

    assert RATE_TOLERANCE == 0.02
    assert rate_matches(100.0, 100.0) and rate_matches(101.9, 100.0) and rate_matches(98.1, 100.0)
    assert not rate_matches(102.1, 100.0) and not rate_matches(97.9, 100.0)
    assert not rate_matches(125.0, 100.0)  # the board's next rate (a divisor of 1000 Hz) is another rate
    # Relative to the expected (model's) rate, not to the larger one.
    assert rate_matches(102.0, 100.0) and not rate_matches(100.0, 98.0)
    for bad in (float("nan"), float("inf")):
        assert not rate_matches(bad, 100.0) and not rate_matches(100.0, bad)
    assert not rate_matches(0.0, 0.0) and not rate_matches(-100.0, -100.0)
    # Two labels of the same stream: only float rounding is the same rate.
    assert rate_matches(100.00001, 100.0, SAME_RATE_TOLERANCE)
    assert not rate_matches(100.001, 100.0, SAME_RATE_TOLERANCE)


def test_a_nan_sample_rate_is_refused():
    session = Session(np.arange(3) / 100.0, np.zeros((3, 1), np.float32), SessionMeta(float("nan"), "x", ["ax"]))
    with pytest.raises(InputError, match="sample rate must be positive, got nan"):
        validate(session, "s")


def test_full_scale_warnings_name_each_channel_beyond_its_limit():
    from tinyad.session import full_scale_warnings

    data = np.array([[0.5, 10.0], [-3.0, 20.0], [1.0, -30.0], [0.0, 0.0]])
    assert full_scale_warnings(data, ["ax", "gz"], [4.0, 30.0]) == []  # +-limit itself is within
    assert full_scale_warnings(data, ["ax", "gz"], [2.0, 15.0], "s1", scale_name="the model's full scale",
                               limit_note=" (assumed)", consequence="they are clipped", hint="check units") == [
        "s1: channel ax: 25 % of the values exceed the model's full scale +-2 g (assumed) (max |ax| 3 g); they are "
        "clipped (hint: check units)",
        "s1: channel gz: 50 % of the values exceed the model's full scale +-15 dps (assumed) (max |gz| 30 dps); "
        "they are clipped (hint: check units)"]
    # Without where, consequence or hint: the finding alone.
    assert full_scale_warnings(data[:, 1:], ["gz"], [25.0]) == [
        "channel gz: 25 % of the values exceed the full scale +-25 dps (max |gz| 30 dps)"]


@pytest.mark.parametrize("name, content", [
    ("data.csv", b"t,ax,ay,az\n0.0,0.1,0.2,1.0\n0.01,0.1,0.2,1.0\n"),
    ("data.parquet", "\ufefftime;AccX\n0,0.5\n1,0.25 \u00b0\n".encode()),  # text under a session's name
])
def test_a_csv_given_as_a_session_points_to_the_csv_import(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=name) as err:
        read_session(path)
    assert "looks like a CSV (text) file" in err.value.hint and "`tinyad import csv" in err.value.hint


@pytest.mark.parametrize("content", [b"PAR1 cut short", b"\x00\x01\x02\x03\xff\xfe", b""])
def test_a_damaged_binary_file_keeps_the_truncated_hint(tmp_path, content):
    path = tmp_path / "s.parquet"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable Parquet session") as err:
        read_session(path)
    assert "truncated" in err.value.hint and "import" not in err.value.hint
