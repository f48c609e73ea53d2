"""BMS loader: tiny ess_lfp-style CSVs written to tmp_path (exact values, gaps, duplicates, bad input), the
generic table loader, the Parquet round trip, and one test of the real files (shared data)."""

import numpy as np
import pandas as pd
import pytest

from tinyad.battery import bms
from tinyad.errors import InputError

HEADER = ("MCGS_TIME,MCGS_TIMEMS,Cluster7_Voltage,Cluster7_Current,Cluster7_Max_Cell_Vol,Cluster7_Min_Cell_Vol,"
          "Cluster7_SOC,Cluster7AveTemp")


def row(second, voltage=8000, current=-100, vmax=3400, vmin=3380, soc=500, temp=250, ms=0):
    return f"2021/06/10 20:00:{second:02d},{ms},{voltage},{current},{vmax},{vmin},{soc},{temp}"


def write_rack(root, name, rows, folder="Test_data"):
    path = root / folder / "cluster7" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def test_units_and_voltage_difference(tmp_path):
    write_rack(tmp_path, "state7_20210610_20.csv", [row(0), row(5, voltage=8010, vmax=3410, soc=505, temp=251)])
    tidy = bms.load_ess_lfp(tmp_path, 7)
    assert tidy.channels == list(bms.TIDY_CHANNELS)
    values = tidy.values()
    np.testing.assert_allclose(values[0], [800.0, -10.0, 50.0, 25.0, 20.0], rtol=1e-6)
    np.testing.assert_allclose(values[1], [801.0, -10.0, 50.5, 25.1, 30.0], rtol=1e-6)
    assert tidy.frame["segment"].tolist() == [0, 0]


def test_short_gap_interpolated_long_gap_splits(tmp_path):
    # 5-s grid: 0, 5, [10 missing], 15, [20..45 missing = 6 steps], 50, 55
    rows = [row(0, voltage=8000), row(5, voltage=8010), row(15, voltage=8030), row(50), row(55)]
    write_rack(tmp_path, "state7_20210610_20.csv", rows)
    tidy = bms.load_ess_lfp(tmp_path, 7, period_s=5.0, max_fill_s=10.0)
    np.testing.assert_allclose(tidy.frame["voltage_v"].to_numpy()[:4], [800.0, 801.0, 802.0, 803.0])
    assert tidy.frame["segment"].tolist() == [0, 0, 0, 0, 1, 1]
    report = tidy.gaps
    assert [(g.missing_steps, g.action) for g in report.gaps] == [(1, "interpolated"), (6, "split")]
    assert report.interpolated_steps == 1 and report.dropped_steps == 6 and report.segments == 2
    assert [len(s) for s in tidy.segments()] == [4, 2]


def test_cut_to_keeps_a_time_range_and_recounts_its_gaps(tmp_path):
    # as above: rows at 0, 5, 10 (interpolated), 15 | split gap 20..45 | 50, 55
    rows = [row(0, voltage=8000), row(5, voltage=8010), row(15, voltage=8030), row(50), row(55)]
    write_rack(tmp_path, "state7_20210610_20.csv", rows)
    tidy = bms.load_ess_lfp(tmp_path, 7, period_s=5.0, max_fill_s=10.0)
    late = bms.cut_to(tidy, "2021-06-10 20:00:30", None)  # the second segment only
    assert late.frame["time"].dt.second.tolist() == [50, 55] and late.gaps.segments == 1
    assert late.gaps.gaps == [] and (late.gaps.interpolated_steps, late.gaps.dropped_steps) == (0, 0)
    assert late.gaps.grid_rows == 2 and late.gaps.raw_rows == tidy.gaps.raw_rows == 5  # the source's
    assert late.gaps.notes[-1].startswith("kept the rows from 2021-06-10 20:00:50 to 2021-06-10 20:00:55 (2 of 6 ")
    early = bms.cut_to(tidy, None, "2021-06-10 20:00:15")  # end excluded: rows 0, 5, 10
    assert early.frame["time"].dt.second.tolist() == [0, 5, 10]
    assert [(g.missing_steps, g.action) for g in early.gaps.gaps] == [(1, "interpolated")]
    assert (early.gaps.interpolated_steps, early.gaps.dropped_steps, early.gaps.segments) == (1, 0, 1)
    across = bms.cut_to(tidy, "2021-06-10 20:00:05", "2021-06-10 20:01")  # both segments, both gaps
    assert (across.gaps.interpolated_steps, across.gaps.dropped_steps, across.gaps.segments) == (1, 6, 2)
    assert [len(part) for part in across.segments()] == [3, 2]
    with pytest.raises(InputError, match="no rows from 2021-06-10 20:00:20 to before 2021-06-10 20:00:45") as err:
        bms.cut_to(tidy, "2021-06-10 20:00:20", "2021-06-10 20:00:45")  # inside the dropped gap
    assert err.value.hint == "its rows run from 2021-06-10 20:00:00 to 2021-06-10 20:00:55"
    with pytest.raises(InputError, match="is not after the start"):
        bms.cut_to(tidy, "2021-06-10 20:00:30", "2021-06-10 20:00:30")


def test_duplicate_hours_across_folders_are_merged_and_counted(tmp_path):
    write_rack(tmp_path, "state7_20210610_20.csv", [row(0), row(5)])
    write_rack(tmp_path, "state7_20210610_20.csv", [row(5), row(10, current=-200)], folder="explore")
    tidy = bms.load_ess_lfp(tmp_path, 7)
    assert len(tidy.frame) == 3
    assert tidy.gaps.duplicate_rows == 1 and tidy.gaps.conflicting_duplicates == 0
    assert tidy.frame["current_a"].tolist() == [-10.0, -10.0, -20.0]


def test_truncated_and_non_numeric_rows_are_reported_not_silently_used(tmp_path):
    rows = [row(0), row(5).replace(",-100,", ",abc,"), row(10), "2021/06/10 20:0"]  # last line cut off
    write_rack(tmp_path, "state7_20210610_20.csv", rows)
    tidy = bms.load_ess_lfp(tmp_path, 7, max_fill_s=5.0)
    assert tidy.gaps.unparseable_rows == 1 and tidy.gaps.non_numeric_cells == 1
    # the non-numeric current at 5 s is a one-step gap, interpolated between -10 and -10
    assert tidy.frame["current_a"].tolist() == [-10.0, -10.0, -10.0]
    assert tidy.gaps.interpolated_steps == 1


def test_missing_column_and_missing_rack_are_clear_errors(tmp_path):
    path = write_rack(tmp_path, "state7_20210610_20.csv", [row(0)])
    path.write_text(path.read_text().replace("Cluster7_SOC", "Cluster7_XYZ"))
    with pytest.raises(InputError, match="Cluster7_SOC"):
        bms.load_ess_lfp(tmp_path, 7)
    with pytest.raises(InputError, match="cluster3"):
        bms.load_ess_lfp(tmp_path, 3)


def test_generic_table_and_parquet_round_trip(tmp_path):
    csv = tmp_path / "other.csv"
    pd.DataFrame({"t": [0.0, 10.0, 20.0, 40.0], "a": [1.0, 2.0, 3.0, 5.0], "b": [0.0, 0.0, 1.0, 1.0]}).to_csv(
        csv, index=False)
    tidy = bms.load_table(csv, time_column="t")  # period inferred: median 10 s; the 30-s hole is 1 step
    assert tidy.channels == ["a", "b"] and tidy.period_s == 10.0
    np.testing.assert_allclose(tidy.frame["a"], [1, 2, 3, 4, 5])
    out = bms.write_tidy(tidy, tmp_path / "tidy.parquet")
    back = bms.read_tidy(out)
    assert back.channels == ["a", "b"] and back.period_s == 10.0
    assert back.source == f"{out} (from {csv})"  # named as given on the command line, and where it came from
    np.testing.assert_array_equal(back.values(), tidy.values())
    assert back.gaps.interpolated_steps == 1 and back.gaps.gaps[0].action == "interpolated"
    with pytest.raises(InputError, match="missing column"):
        bms.load_table(csv, time_column="t", columns=["a", "c"])


def test_truncated_parquet_is_a_clear_error(tmp_path):
    csv = tmp_path / "x.csv"
    pd.DataFrame({"t": [0.0, 1.0], "a": [1.0, 2.0]}).to_csv(csv, index=False)
    path = bms.write_tidy(bms.load_table(csv, "t"), tmp_path / "x.parquet")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(InputError, match="Parquet"):
        bms.read_tidy(path)


def test_real_ess_lfp_and_bess(shared_data):
    rack1 = bms.load_ess_lfp(shared_data / "bms" / "ess_lfp", 1)
    # 12 hourly files at 5 s; one ~25-minute hole between the explore and Test_data hours splits the rack
    assert rack1.gaps.raw_rows == 8344 and rack1.gaps.segments == 2
    assert [g.action for g in rack1.gaps.gaps] == ["split"]
    rack2 = bms.load_ess_lfp(shared_data / "bms" / "ess_lfp", 2)
    assert rack2.gaps.duplicate_rows == 4320 and len(rack2.frame) == 6480  # explore repeats 6 hours
    values = rack2.values()
    assert np.isfinite(values).all()
    assert 600 < np.median(values[:, 0]) < 900  # rack voltage in V
    assert 0 <= values[:, 2].min() and values[:, 2].max() <= 100  # SOC in %
    assert (values[:, 4] >= 0).all()  # max - min cell voltage
    bess = bms.load_bess_log(shared_data / "bms" / "bess_bmu" / "bess_task1.csv")
    assert bess.channels == list(bms.BESS_CHANNELS) and bess.period_s == 10.0 and len(bess.frame) > 4000


def _table(path, time, **columns):
    pd.DataFrame({"t": time, **columns}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("scale, unit", [(1, "seconds"), (1e3, "milliseconds"), (1e6, "microseconds"),
                                         (1e9, "nanoseconds")])
def test_epoch_numbers_are_read_in_the_unit_their_size_suggests(tmp_path, scale, unit):
    seconds = 1_623_355_200 + np.arange(6) * 10  # 2021-06-10 20:00 UTC, every 10 s
    csv = _table(tmp_path / "x.csv", (seconds * scale).astype(np.int64), a=np.arange(6.0))
    tidy = bms.load_table(csv, "t")
    assert tidy.frame["time"].iloc[0] == pd.Timestamp("2021-06-10 20:00:00") and tidy.period_s == 10.0
    assert any(f"read as {unit} since 1970" in note for note in tidy.gaps.notes)


def test_a_time_column_that_does_not_parse_is_a_clear_error(tmp_path):
    csv = _table(tmp_path / "x.csv", ["soon", "later", "never"], a=[1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="no value parses as a time") as err:
        bms.load_table(csv, "t")
    assert "--time-column" in err.value.hint
    with pytest.raises(InputError, match="no time column 'time'") as err:
        bms.load_table(csv)  # the default name is not in the file
    assert "tinyad bert load-bms --input" in err.value.hint and "--time-column NAME" in err.value.hint


def test_one_bad_cell_becomes_a_gap_not_a_dropped_channel(tmp_path):
    volts = [str(v) for v in np.linspace(3.0, 3.5, 8)]
    volts[3] = "ERR"
    csv = _table(tmp_path / "x.csv", np.arange(8) * 10.0, volts=volts, amps=np.ones(8), status=["ok"] * 8)
    tidy = bms.load_table(csv, "t")
    assert tidy.channels == ["volts", "amps"] and tidy.gaps.non_numeric_cells == 1
    assert tidy.gaps.interpolated_steps == 1  # the bad cell is filled like a one-step gap
    np.testing.assert_allclose(tidy.frame["volts"].iloc[3], np.linspace(3.0, 3.5, 8)[3], rtol=1e-6)
    notes = " | ".join(tidy.gaps.notes)
    assert "column 'volts': 1 cell(s) not a number (e.g. 'ERR')" in notes and "status left out" in notes


def test_day_first_dates_are_read_day_first_when_only_that_reading_is_regular(tmp_path):
    times = pd.date_range("2021-06-10 20:00", periods=30, freq="1h")  # 10/06 20:00 .. 12/06 01:00
    csv = _table(tmp_path / "x.csv", times.strftime("%d/%m/%Y %H:%M:%S"), a=np.arange(30) + 0.5)
    chosen = bms.load_table(csv, "t")  # no choice given: month-first leaves 30-day steps, day-first none
    assert chosen.frame["time"].tolist() == list(times) and chosen.gaps.gaps == []
    assert chosen.gaps.notes == [
        "dates like '10/06/2021 20:00:00' read day-first (10 June 2021): read month-first they leave irregular "
        "steps (largest 30 days, median 1 h), read day-first the largest step is 1 h; pass --monthfirst to read "
        "them month-first"]
    month_first = bms.load_table(csv, "t", dayfirst=False)  # asked for: kept, no note
    assert month_first.gaps.dropped_steps > 0 and month_first.gaps.notes == []
    assert month_first.frame["time"].iloc[0] == pd.Timestamp("2021-10-06 20:00")  # 6 October
    day_first = bms.load_table(csv, "t", dayfirst=True)
    assert day_first.gaps.gaps == [] and day_first.gaps.notes == []
    assert day_first.frame["time"].iloc[0] == times[0]
    iso = _table(tmp_path / "iso.csv", times.strftime("%Y-%m-%d %H:%M:%S"), a=np.arange(30) + 0.5)
    assert bms.load_table(iso, "t").gaps.notes == []  # unambiguous dates: no warning


def test_day_first_only_somewhat_more_regular_gets_a_hint_not_a_switch(tmp_path):
    # day-first: 30 h, a 16-day outage, 30 h; month-first: 10-12/06 become October-December (99-day step)
    times = pd.date_range("2021-06-10 20:00", periods=30, freq="1h").append(
        pd.date_range("2021-06-28 20:00", periods=30, freq="1h"))
    csv = _table(tmp_path / "x.csv", times.strftime("%d/%m/%Y %H:%M:%S"), a=np.arange(60) + 0.5)
    tidy = bms.load_table(csv, "t", period_s=3600.0)
    assert tidy.frame["time"].iloc[0] == pd.Timestamp("2021-06-28 20:00")  # still month-first: not 10 June
    assert len(tidy.gaps.notes) == 1 and tidy.gaps.notes[0].startswith("dates like '10/06/2021 20:00:00' are "
                                                                       "ambiguous")
    assert "pass --dayfirst" in tidy.gaps.notes[0]


def test_an_empty_column_is_left_out_with_a_note(tmp_path):
    csv = _table(tmp_path / "x.csv", np.arange(6) * 10.0, a=np.arange(6.0), spare=[np.nan] * 6)
    tidy = bms.load_table(csv, "t")
    assert tidy.channels == ["a"] and len(tidy.frame) == 6 and tidy.gaps.dropped_steps == 0
    np.testing.assert_array_equal(tidy.frame["a"], np.arange(6.0))
    assert tidy.gaps.notes == ["column(s) spare left out: no values (every cell empty)"]


def test_a_named_channel_without_numbers_is_refused(tmp_path):
    csv = _table(tmp_path / "x.csv", np.arange(6) * 10.0, a=np.arange(6.0), spare=[np.nan] * 6,
                 status=["ok"] * 6)
    with pytest.raises(InputError, match=r"column 'spare' has no values \(every cell empty\)") as err:
        bms.load_table(csv, "t", columns=["a", "spare"])
    assert err.value.hint == "leave it out of --column; columns with numbers: a"
    with pytest.raises(InputError, match=r"column 'status' holds no number \(e.g. 'ok'\)"):
        bms.load_table(csv, "t", columns=["a", "status"])


def test_decimal_commas_are_refused_with_a_hint_and_read_with_decimal_comma(tmp_path):
    csv = tmp_path / "euro.csv"
    csv.write_text("time;volts;amps\n2021-06-10 20:00:00;3,25;1,5\n2021-06-10 20:00:10;3,5;-0,25\n"
                   "2021-06-10 20:00:20;3,75;0\n")
    for columns in (None, ["volts"]):  # default selection and a named channel alike
        with pytest.raises(InputError, match=r"cells look like decimal commas \('3,25' in column 'volts'\)") as err:
            bms.load_table(csv, columns=columns)
        assert "--decimal ," in err.value.hint
    tidy = bms.load_table(csv, decimal=",")
    assert tidy.channels == ["volts", "amps"] and tidy.gaps.non_numeric_cells == 0
    np.testing.assert_allclose(tidy.values(), [[3.25, 1.5], [3.5, -0.25], [3.75, 0.0]])
    comma_separated = _table(tmp_path / "x.csv", [0.0, 10.0], a=[1.0, 2.0])
    with pytest.raises(InputError, match="separated by ','"):
        bms.load_table(comma_separated, "t", decimal=",")


def test_a_table_where_almost_no_row_reaches_the_grid_is_refused(tmp_path):
    sparse = np.full(1000, np.nan)
    sparse[::500] = 1.0  # 2 values in 1000 rows: every other bin is a long gap
    csv = _table(tmp_path / "x.csv", np.arange(1000) * 60.0, a=np.arange(1000.0), b=sparse)
    with pytest.raises(InputError) as err:
        bms.load_table(csv, "t")
    assert str(err.value).startswith("only 2 of 1000 timed row(s) (0.20%) are left on the 60-s grid: 2 row(s) "
                                     "have a value in every channel; 'b' has a value in 2 of 1000 rows")
    assert "--column" in err.value.hint
    assert bms.load_table(csv, "t", columns=["a"]).gaps.grid_rows == 1000  # without it: every row


def test_resample_with_no_complete_row_raises_instead_of_a_one_row_table():
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=4, freq="10s"), "a": [1.0, 2, 3, 4],
                          "b": np.nan})
    with pytest.raises(InputError, match="only 0 of 4 timed row"):
        bms.resample(frame, ["a", "b"], 10.0, 60.0)


def test_times_with_offsets_become_utc_and_say_so(tmp_path):
    times = ["2024-03-18T00:00:00+01:00", "2024-03-18T00:01:00+01:00", "2024-03-18T00:02:00+01:00"]
    csv = _table(tmp_path / "x.csv", times, a=[1.0, 2.0, 3.0])
    tidy = bms.load_table(csv, "t")
    assert tidy.frame["time"].iloc[0] == pd.Timestamp("2024-03-17 23:00") and tidy.time_zone == "UTC"
    assert tidy.gaps.notes == ["time column 't' has UTC offsets ('2024-03-18T00:00:00+01:00'): times are "
                               "converted to UTC, also where they are printed and written (scores.csv)"]
    back = bms.read_tidy(bms.write_tidy(tidy, tmp_path / "x.parquet"))
    assert back.time_zone == "UTC" and back.time_slice(0, 1).time_zone == "UTC"
    naive = bms.load_table(_table(tmp_path / "n.csv", [t[:19] for t in times], a=[1.0, 2.0, 3.0]), "t")
    assert naive.time_zone == "" and naive.gaps.notes == []
    assert bms.read_tidy(bms.write_tidy(naive, tmp_path / "n.parquet")).time_zone == ""


def test_a_repeated_local_hour_is_explained_as_a_daylight_saving_change(tmp_path):
    # naive local time over the end of summer time: 02:00-02:59 appears twice (other values the second time)
    local = pd.date_range("2024-10-27 00:00", periods=300, freq="1min", tz="Europe/Berlin")
    text = local.tz_localize(None).strftime("%Y-%m-%d %H:%M:%S")
    csv = _table(tmp_path / "x.csv", text, a=np.arange(300) + 0.5)
    tidy = bms.load_table(csv, "t")
    assert tidy.gaps.duplicate_rows == 60 and tidy.gaps.conflicting_duplicates == 60 and len(tidy.frame) == 240
    assert tidy.gaps.notes == [
        "60 duplicate time(s) with other values (first at 2024-10-27 02:00:00): repeated local times, e.g. the hour "
        "repeated when clocks go back at a daylight-saving change, look like this and the first of each was kept; "
        "timestamps with a UTC offset (2024-10-27T02:30:00+01:00) or in UTC keep them apart"]
    with_offsets = bms.load_table(_table(tmp_path / "o.csv", [t.isoformat() for t in local], a=np.arange(300) + 0.5),
                                  "t")
    assert with_offsets.gaps.duplicate_rows == 0 and len(with_offsets.frame) == 300


def test_a_missing_rack_lists_the_racks_there(tmp_path):
    write_rack(tmp_path, "state7_20210610_20.csv", [row(0), row(5)])
    with pytest.raises(InputError) as err:
        bms.load_ess_lfp(tmp_path, 9)
    assert "racks under" in err.value.hint and err.value.hint.endswith(": 7")


def test_the_first_conflicting_duplicate_is_named_not_the_first_repeat(tmp_path):
    # 00:00:00 repeats with the same values (a harmless repeat), 00:00:20 with others: the note names 00:00:20
    csv = tmp_path / "d.csv"
    csv.write_text("t,a\n2024-01-01 00:00:00,1\n2024-01-01 00:00:00,1\n2024-01-01 00:00:10,2\n"
                   "2024-01-01 00:00:20,3\n2024-01-01 00:00:20,9\n2024-01-01 00:00:30,4\n")
    tidy = bms.load_table(csv, "t")
    assert (tidy.gaps.duplicate_rows, tidy.gaps.conflicting_duplicates) == (2, 1)
    assert tidy.gaps.notes[-1].startswith("1 duplicate time(s) with other values (first at 2024-01-01 00:00:20)")


def test_dotted_dates_are_day_first_and_a_quoted_comma_in_a_comma_file_is_only_text(tmp_path):
    # dots: 01.03.2024 is 1 March even when every step is regular both ways (one day of data)
    dotted = _table(tmp_path / "dots.csv", [f"01.03.2024 10:{m:02d}:00" for m in range(10)], a=np.arange(10.0))
    assert bms.load_table(dotted, "t").frame["time"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
    # ',' between fields: "1,2" in a text column is quoted text, not a decimal comma; the column is left out
    quoted = tmp_path / "q.csv"
    quoted.write_text("time,v,status\n" + "".join(f'2024-01-01 00:00:{s:02d},{s},"1,2"\n' for s in range(0, 60, 10)))
    tidy = bms.load_table(quoted, "time")
    assert tidy.channels == ["v"] and "column(s) status left out: not numeric" in tidy.gaps.notes[0]


def test_monthfirst_on_dates_that_are_day_first_is_refused_not_read_two_ways(tmp_path):
    # 04.03 month first is 3 April, but 13.03 can only be 13 March: pandas would mix both readings silently
    dates = [f"{d:02d}.03.2024 10:00:00" for d in range(4, 16)]
    csv = _table(tmp_path / "dots.csv", dates, a=np.arange(12.0))
    with pytest.raises(InputError, match=r"time column 't': --monthfirst, but '13.03.2024 10:00:00' has no month "
                                         r"13: the dates are written day first") as refused:
        bms.load_table(csv, "t", dayfirst=False)
    assert refused.value.hint == "leave --monthfirst out (or give --dayfirst)"
    # a ';' file with numbers and a version string "1,2" is not a decimal-comma export: the text is left out
    mixed = tmp_path / "v.csv"
    mixed.write_text("time;v;firmware\n" + "".join(f"2024-01-01 00:00:{s:02d};{s}.5;1,2\n" for s in range(0, 60, 10)))
    tidy = bms.load_table(mixed, "time")
    assert tidy.channels == ["v"] and tidy.frame["v"].iloc[0] == 0.5


def test_the_hour_clocks_skip_in_spring_is_named_in_local_time_only(tmp_path):
    # naive local time over the start of summer time: 01:59 is followed by 03:00, no data missing
    local = pd.date_range("2024-03-31 00:00", periods=240, freq="1min", tz="Europe/Berlin")
    text = local.tz_localize(None).strftime("%Y-%m-%d %H:%M:%S")
    tidy = bms.load_table(_table(tmp_path / "x.csv", text, a=np.arange(240) + 0.5), "t")
    assert [(g.start, g.missing_steps, g.action) for g in tidy.gaps.gaps] == [("2024-03-31T02:00:00", 60, "split")]
    assert tidy.gaps.notes[-1] == (
        "the gap 2024-03-31 02:00:00 .. 2024-03-31 02:59:00 is one hour of local clock time: the hour skipped when "
        "clocks go forward at a daylight-saving switch, where no data are missing; timestamps with a UTC offset (or "
        "in UTC) have no such gap")
    with_offsets = bms.load_table(_table(tmp_path / "o.csv", [t.isoformat() for t in local], a=np.arange(240) + 0.5),
                                  "t")
    assert with_offsets.gaps.gaps == [] and not any("clocks go forward" in n for n in with_offsets.gaps.notes)


def test_boolean_columns_of_a_typed_parquet_are_left_out_with_a_note_unless_named(tmp_path):
    path = tmp_path / "typed.parquet"
    pd.DataFrame({"time": pd.date_range("2024-01-01", periods=6, freq="10s"), "volts": [3.3, 3.4, 3.2, 3.5, 3.3, 3.4],
                  "temp_c": np.array([25, 26, 25, 27, 26, 25], np.int64),  # integers, not rising: a signal
                  "balancing_active": [True, False, False, True, True, False]}).to_parquet(path)
    tidy = bms.load_table(path)
    assert tidy.channels == ["volts", "temp_c"]
    assert tidy.gaps.notes == [
        "column(s) balancing_active left out: true/false status flags, not signals; to keep it, name every channel "
        f"with --column (tinyad bert load-bms --input {path} --column NAME --column ... -o tidy.parquet)"]
    named = bms.load_table(path, columns=["volts", "balancing_active"])  # named: kept, as 1.0 / 0.0
    assert named.channels == ["volts", "balancing_active"] and named.gaps.notes == []
    assert named.frame["balancing_active"].tolist() == [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    assert bms.load_any(str(path)).channels == ["volts", "temp_c"]  # the path `bert train --dataset` takes


def test_an_integer_counter_column_is_left_out_with_a_note_unless_named(tmp_path):
    volts = [3.3, 3.4, 3.2, 3.5] * 6
    csv = _table(tmp_path / "x.csv", np.arange(24) * 10.0, volts=volts,
                 sample_counter=np.arange(7, 31))  # 7, 8, ..., 30: one more on every row
    tidy = bms.load_table(csv, "t")
    assert tidy.channels == ["volts"] and len(tidy.frame) == 24
    assert tidy.gaps.notes == [
        "column(s) sample_counter left out: integers that increase on every row, a counter or record id, not a "
        "signal (every later window would lie outside the training range); to keep it, name every channel with "
        f"--column (tinyad bert load-bms --input {csv} --time-column t --column NAME --column ... -o tidy.parquet)"]
    named = bms.load_table(csv, "t", columns=["volts", "sample_counter"])
    assert named.frame["sample_counter"].tolist() == list(np.arange(7.0, 31.0)) and named.gaps.notes == []
    # a short file's few rising whole numbers (a charging SOC) stay a signal: a counter needs 20 rows
    short = _table(tmp_path / "s.csv", np.arange(19) * 10.0, soc=np.arange(50, 69))
    assert bms.load_table(short, "t").channels == ["soc"]
    only_counter = _table(tmp_path / "c.csv", np.arange(24) * 10.0, record_id=np.arange(7, 31))
    with pytest.raises(InputError, match=r"no numeric channel columns \(left out as status flags or counters: "
                                         r"record_id\)") as err:
        bms.load_table(only_counter, "t")
    assert err.value.hint == (f"name the channels: tinyad bert load-bms --input {only_counter} --time-column t "
                              "--column NAME --column ... -o tidy.parquet (load-bms takes --column), then use the "
                              "tidy file")


def test_a_counter_with_one_blank_cell_is_still_a_counter_and_a_rising_fractional_signal_is_not(tmp_path):
    # a CSV counter with one blank cell reads as float64 with a NaN: its whole numbers still rise on every row
    rows = ["t,volts,soc,sample_counter"]
    for i in range(24):
        counter = "" if i == 5 else str(7 + i)
        rows.append(f"{i * 10},{[3.3, 3.4, 3.2, 3.5][i % 4]},{50 + 0.5 * i},{counter}")
    csv = tmp_path / "x.csv"
    csv.write_text("\n".join(rows) + "\n")
    tidy = bms.load_table(csv, "t")
    assert tidy.channels == ["volts", "soc"] and len(tidy.frame) == 24 and tidy.gaps.gaps == []
    assert tidy.gaps.notes == [
        "column(s) sample_counter left out: integers that increase on every row, a counter or record id, not a "
        "signal (every later window would lie outside the training range); to keep it, name every channel with "
        f"--column (tinyad bert load-bms --input {csv} --time-column t --column NAME --column ... -o tidy.parquet)"]
    assert bms.is_counter_column(pd.Series([7.0, np.nan, *range(9, 29)]))  # 21 whole numbers, one blank
    assert not bms.is_counter_column(pd.Series(50 + 0.5 * np.arange(24)))  # a rising signal with fractions
    assert not bms.is_counter_column(pd.Series([7.0, np.nan, 8.0, *range(8, 27)]))  # 8 twice: not rising
    assert not bms.is_counter_column(pd.Series([True] * 24))  # a flag
    assert not bms.is_counter_column(pd.Series([7.0, np.nan, *range(9, 26)]))  # 18 values: too few


def test_load_any_passes_decimal_and_dayfirst_to_a_csv_data_set(tmp_path):
    # the reader behind `bert train/evaluate/score --dataset`: a European export, ';' and decimal commas
    euro = tmp_path / "euro.csv"
    euro.write_text("time;volts;amps\n2021-06-10 20:00:00;3,25;1,5\n2021-06-10 20:00:10;3,5;-0,25\n"
                    "2021-06-10 20:00:20;3,75;0\n")
    with pytest.raises(InputError, match=r"cells look like decimal commas \('3,25' in column 'volts'\)") as err:
        bms.load_any(str(euro))
    assert err.value.hint == f"add --decimal , (this command takes it; or tinyad bert load-bms --input {euro} " \
                             f"--decimal , -o tidy.parquet)"
    np.testing.assert_allclose(bms.load_any(str(euro), decimal=",").values(), [[3.25, 1.5], [3.5, -0.25], [3.75, 0]])
    # day-first dotted dates: 12.03.2024 22:00 .. 13.03.2024 03:00 hourly, read day first without being asked
    times = pd.date_range("2024-03-12 22:00", periods=6, freq="1h")
    dotted = tmp_path / "dots.csv"
    pd.DataFrame({"time": times.strftime("%d.%m.%Y %H:%M:%S"), "a": [1.0, 2.0, 1.5, 2.5, 2.0, 1.0]}).to_csv(
        dotted, index=False)
    tidy = bms.load_any(str(dotted))
    assert tidy.frame["time"].tolist() == list(times) and tidy.period_s == 3600.0 and tidy.gaps.gaps == []
    assert bms.load_any(str(dotted), dayfirst=True).frame["time"].tolist() == list(times)
    with pytest.raises(InputError, match="--monthfirst, but '13.03.2024 00:00:00' has no month 13"):
        bms.load_any(str(dotted), dayfirst=False)  # passed through: refused, not read two ways
    # the options are for files read now: a tidy file keeps what load-bms read, even with decimal=","
    tidy_file = bms.write_tidy(bms.load_any(str(euro), decimal=","), tmp_path / "euro.parquet")
    assert bms.load_any(str(tidy_file), decimal=",").frame["volts"].tolist() == [3.25, 3.5, 3.75]
    assert [bms.reads_as_table(s) for s in (str(euro), str(tidy_file), "ess_lfp:1", "bess")] == [True, False,
                                                                                                  False, False]


def test_dayfirst_or_monthfirst_on_typed_times_is_refused_not_ignored(tmp_path):
    times = pd.date_range("2024-03-12 22:00", periods=6, freq="1h")
    typed = tmp_path / "typed.parquet"
    pd.DataFrame({"Zeitstempel": times, "volts": [3.25, 3.5, 3.75, 3.5, 3.25, 3.5]}).to_parquet(typed)
    assert bms.load_table(typed, "Zeitstempel").frame["time"].tolist() == list(times)  # no option: read as typed
    for dayfirst, option in ((False, "--monthfirst"), (True, "--dayfirst")):
        with pytest.raises(InputError) as err:
            bms.load_table(typed, "Zeitstempel", dayfirst=dayfirst)
        assert str(err.value) == (f"{option} applies to dates written as text; column 'Zeitstempel' holds typed "
                                     f"date-times")
        assert err.value.hint == "leave it out"
    epoch = _table(tmp_path / "e.csv", 1_710_280_800 + np.arange(6) * 3600, volts=[3.25, 3.5] * 3)
    with pytest.raises(InputError) as err:
        bms.load_any(str(epoch), dayfirst=True, time_column="t")  # as `bert train --dataset` reads it
    assert str(err.value) == "--dayfirst applies to dates written as text; column 't' holds epoch numbers"
    # a Parquet text column is dates written as text: the option applies
    text = tmp_path / "text.parquet"
    pd.DataFrame({"Zeitstempel": times.strftime("%d.%m.%Y %H:%M"), "volts": [3.25, 3.5] * 3}).to_parquet(text)
    assert bms.load_table(text, "Zeitstempel", dayfirst=True).frame["time"].tolist() == list(times)


def test_copy_paste_load_bms_hints_repeat_the_options_given(tmp_path):
    assert bms.load_bms_command(tmp_path / "a.csv") == f"tinyad bert load-bms --input {tmp_path / 'a.csv'}"
    assert bms.load_bms_command("my rack.csv", "Zeit stempel", ",", False) == (
        "tinyad bert load-bms --input 'my rack.csv' --time-column 'Zeit stempel' --decimal , --monthfirst")
    # a German export: ';', decimal commas, a time column 'Zeitstempel', a counter left out
    euro = tmp_path / "euro.csv"
    euro.write_text("Zeitstempel;Spannung;Zaehler\n" + "".join(
        f"12.03.2024 10:{i:02d}:00;3,{25 + i % 3};{100 + i}\n" for i in range(24)))
    with pytest.raises(InputError) as err:
        bms.load_table(euro, "Zeitstempel")
    assert err.value.hint == (f"add --decimal , (this command takes it; or tinyad bert load-bms --input {euro} "
                              f"--time-column Zeitstempel --decimal , -o tidy.parquet)")
    tidy = bms.load_table(euro, "Zeitstempel", decimal=",")
    assert tidy.channels == ["Spannung"]
    assert tidy.gaps.notes == [
        "column(s) Zaehler left out: integers that increase on every row, a counter or record id, not a signal "
        "(every later window would lie outside the training range); to keep it, name every channel with --column "
        f"(tinyad bert load-bms --input {euro} --time-column Zeitstempel --decimal , --column NAME --column ... "
        "-o tidy.parquet)"]
    with pytest.raises(InputError) as err:
        bms.load_table(euro, decimal=",", dayfirst=True)  # the default name 'time' is not in the file
    assert err.value.hint == ("columns found: Zeitstempel, Spannung, Zaehler; name the time column: add --time-column "
                              f"NAME (this command takes it; or tinyad bert load-bms --input {euro} --decimal , "
                              f"--dayfirst --time-column NAME -o tidy.parquet)")
    # slashed dates only somewhat more regular day first: the note's command repeats the options given too
    times = pd.date_range("2021-06-10 20:00", periods=30, freq="1h").append(
        pd.date_range("2021-06-28 20:00", periods=30, freq="1h"))
    csv = tmp_path / "slashes.csv"
    csv.write_text("Zeitstempel;a\n" + "".join(f"{t:%d/%m/%Y %H:%M:%S};{i},5\n" for i, t in enumerate(times)))
    note = bms.load_table(csv, "Zeitstempel", period_s=3600.0, decimal=",").gaps.notes[0]
    assert note.endswith(f"if the file writes the day first, pass --dayfirst (tinyad bert load-bms --input {csv} "
                         f"--time-column Zeitstempel --decimal , --dayfirst)")


def test_load_any_reads_a_file_with_another_time_column_and_keeps_tidy_files_as_written(tmp_path):
    euro = tmp_path / "euro.csv"
    euro.write_text("Zeitstempel;Spannung\n12.03.2024 23:59:50;3,25\n13.03.2024 00:00:00;3,5\n"
                    "13.03.2024 00:00:10;3,75\n")
    tidy = bms.load_any(str(euro), decimal=",", time_column="Zeitstempel")
    assert tidy.frame["time"].tolist() == list(pd.date_range("2024-03-12 23:59:50", periods=3, freq="10s"))
    assert tidy.channels == ["Spannung"] and tidy.frame["Spannung"].tolist() == [3.25, 3.5, 3.75]
    with pytest.raises(InputError, match="no time column 'time'"):
        bms.load_any(str(euro), decimal=",")
    tidy_file = bms.write_tidy(tidy, tmp_path / "tidy.parquet")  # its column is `time`: the option is not used
    assert bms.load_any(str(tidy_file), time_column="Zeitstempel").frame["Spannung"].tolist() == [3.25, 3.5, 3.75]


def test_dotted_digit_groups_in_a_decimal_comma_file_are_refused_not_misread(tmp_path):
    # A German export's "100.000" (a thousands mark) would be read as 100.0 beside decimal commas
    times = [f"13.03.2024 10:{m:02d}:00" for m in range(30)]
    rows = [f"{t};3,{m:02d};{100 + m}.{m:03d}" for m, t in enumerate(times)]
    path = tmp_path / "de.csv"
    path.write_text("Zeitstempel;Spannung;Datensatz\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as refused:
        bms.load_table(path, "Zeitstempel", decimal=",")
    assert str(refused.value) == (f"{path}: column 'Datensatz' holds '100.000', read with --decimal , : is '.' a "
                                  "thousands mark there or a decimal point?")
    assert refused.value.hint.endswith("for a decimal point, leave out --decimal ,")
    # decimal commas alone read as before
    path.write_text("Zeitstempel;Spannung\n" + "\n".join(f"{t};3,{m:02d}" for m, t in enumerate(times)) + "\n")
    assert bms.load_table(path, "Zeitstempel", decimal=",").frame["Spannung"].iloc[:2].tolist() == \
        pytest.approx([3.0, 3.01])


def test_a_time_column_named_in_another_case_is_named_as_the_file_spells_it(tmp_path):
    csv = tmp_path / "h.csv"
    csv.write_text("Zeitstempel,v\n2024-03-01 00:00:00,1.0\n2024-03-01 00:00:10,2.0\n")
    with pytest.raises(InputError) as err:
        bms.load_table(csv, "zeitstempel")
    assert str(err.value) == f"{csv}: no time column 'zeitstempel'; the file has 'Zeitstempel'"
    assert err.value.hint == "names are case-sensitive: --time-column Zeitstempel"


def test_empty_cells_are_counted_by_column(tmp_path):
    csv = tmp_path / "h.csv"
    csv.write_text("time,v,i\n2024-03-01 00:00:00,1.0,2\n2024-03-01 00:00:10,,2\n2024-03-01 00:00:20,1.2,\n"
                   "2024-03-01 00:00:30,1.3,2\n")
    notes = bms.load_table(csv).gaps.notes
    assert "column 'v': 1 empty cell(s), treated as missing (the gaps below count their steps)" in notes
    assert "column 'i': 1 empty cell(s), treated as missing (the gaps below count their steps)" in notes
