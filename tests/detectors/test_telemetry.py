"""tinyad.detectors.telemetry: the plot's x axis."""

import numpy as np
import pandas as pd

import pytest

from tinyad.errors import InputError
from tinyad.detectors.telemetry import (Telemetry, load_telemetry, median_interval, plot_axis, plot_scored,
                                        reads_as_time, sampling_notes, sniff_separator, time_axis_label,
                                        time_stamps)


def test_plot_axis_uses_numeric_time():
    x, label = plot_axis(np.array([0.0, 0.5, 1.0]), 3)
    assert label == "time" and x.tolist() == [0.0, 0.5, 1.0]


def test_plot_axis_parses_datetime_text():
    x, label = plot_axis(np.array(["2020-03-09 10:14:33", "2020-03-09 10:14:34"], dtype=object), 2)
    assert label == "time"
    assert (x == np.array(["2020-03-09T10:14:33", "2020-03-09T10:14:34"], dtype="datetime64[ns]")).all()


def test_stamps_across_a_daylight_saving_switch_read_as_time_in_utc():
    # Local time with its offset: 01:59 +01:00 is 00:59 UTC, the next minute 03:00 +02:00 is 01:00 UTC.
    text = np.array(["2024-03-31T01:58:00+01:00", "2024-03-31T01:59:00+01:00", "2024-03-31T03:00:00+02:00"], object)
    assert reads_as_time(text)
    x, label = plot_axis(text, 3)
    assert label == "time (UTC)" and x.dtype == np.dtype("datetime64[ns]")
    assert x.tolist() == np.array(["2024-03-31T00:58", "2024-03-31T00:59", "2024-03-31T01:00"],
                                  "datetime64[ns]").tolist()
    assert time_axis_label(x, label, "timestamp", None) == "time (UTC, column timestamp)"
    # A zoned column (a Parquet datetime64[ns, tz]) is the same instants; stamps without offsets stay as written.
    zoned = pd.Series(pd.to_datetime(text, utc=True)).dt.tz_convert("Europe/Berlin")
    assert time_stamps(zoned)[1] and (time_stamps(zoned)[0] == x).all()
    assert time_stamps(["2024-03-31 01:59", "2024-03-31 03:00"])[1] is False
    assert time_stamps(["2024-03-31 01:59", "soon"]) is None


def test_plot_axis_keeps_a_gap_in_datetimes():
    times = np.array(["2021-06-10T17:59:55", "2021-06-10T18:24:40"], dtype="datetime64[ns]")
    x, label = plot_axis(times, 2)
    assert label == "time" and (x[1] - x[0]) == np.timedelta64(1485, "s")


def test_plot_axis_falls_back_to_the_data_row_counted_from_1():
    for time in (None,                                              # no time column
                 np.array([0.0, 1.0]),                              # another length
                 np.array([2.0, 1.0, 3.0]),                         # time going back
                 np.array([0.0, np.nan, 2.0]),                      # a missing time
                 np.array(["10:00", "later", "10:02"], dtype=object)):  # text that is no time
        x, label = plot_axis(time, 3)
        assert label == "data row" and x.tolist() == [1, 2, 3], time


def test_plot_scored_draws_against_time(tmp_path, saved_figures):
    import matplotlib.image

    time = np.arange(50) * 5.0
    signals = Telemetry("t", ["a"], np.sin(time)[:, None], time)
    flags = np.zeros(50, bool)
    flags[10:12] = True
    png = plot_scored(signals, np.abs(np.sin(time)), np.full(50, 0.9), flags, tmp_path / "p.png")
    assert matplotlib.image.imread(png).shape[:2] == (660, 1320)
    top, bottom = saved_figures[-1].axes
    assert bottom.get_xlabel() == "time (unit as in the file)"
    # every curve is drawn at the time stamps 0, 5, ..., 245, not at the row numbers
    for line in top.lines + bottom.lines:
        np.testing.assert_array_equal(line.get_xdata(), time)
    # the flagged rows 10 and 11 are shaded from t = 50 to the next row's t = 60, in both panels
    for axis in (top, bottom):
        (span,) = axis.patches
        assert (span.get_x(), span.get_width()) == (50.0, 10.0)


@pytest.mark.parametrize("text, separator", [
    ("value\n1.0\n2.0\n3.5\n", ","),  # one column: pandas' own sniffer split "value" at its "v"
    ("a;b\n1,5;2\n3,5;4\n", ";"),     # decimal commas inside ;-separated fields
    ("a\tb\n1\t2\n3\t4\n", "\t"),
    ("a,b\n1,2\n3,4\n", ","),
])
def test_sniff_separator_picks_among_csv_separators(tmp_path, text, separator):
    path = tmp_path / "x.csv"
    path.write_text(text)
    assert sniff_separator(path) == separator


def test_a_one_column_csv_loads_its_column_by_name(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n1.0\n2.0\n3.5\n")
    data = load_telemetry(path)
    assert data.columns == ["value"] and data.values.ravel().tolist() == [1.0, 2.0, 3.5]


def test_sampling_notes_name_gaps_steps_back_repeats_and_another_interval():
    # minutes: a 1-min grid with a 10-min gap after row 3, a step back after row 5, a repeat after row 6
    minutes = np.array([0, 1, 2, 12, 13, 11, 11, 14, 15, 16, 17, 18], float)
    stamps = (np.datetime64("2024-03-18T00:00") + minutes.astype("timedelta64[m]")).astype("datetime64[ns]")
    text = np.array([f"{s}+00:00" for s in stamps.astype("datetime64[s]")], object)
    notes = sampling_notes(text)
    assert len(notes) == 3
    assert notes[0] == ("1 gap(s) longer than 5 sampling intervals (1 min); the largest, 10 min, at rows 3 -> 4 "
                        "(2024-03-18T00:02:00+00:00 -> 2024-03-18T00:12:00+00:00): the detector takes the rows back "
                        "to back, so a region flagged at a gap may be the jump across it")
    assert notes[1].startswith("time goes back at 1 row(s), first at rows 5 -> 6 (2024-03-18T00:13:00+00:00 -> "
                               "2024-03-18T00:11:00+00:00)")
    assert notes[2].startswith("1 repeated time stamp(s), first at rows 6 -> 7")
    # seconds of a session (unit known) against a detector fitted at 1-min rows: 10 s apart is another interval
    assert median_interval(minutes[:3] * 60, "s") == {"interval": 60.0, "unit": "s"}
    notes = sampling_notes(np.arange(20) * 10.0, {"interval": 60.0, "unit": "s"}, "s")
    assert notes == ["rows are 10 s apart (median), the detector was fitted on rows 1 min apart: windows and "
                     "smoothing count rows, so resample the file to the fitted interval"]
    # within 10 %, a regular grid, no times, or times in an unknown unit compared with seconds: nothing to say
    assert sampling_notes(np.arange(20) * 63.0, {"interval": 60.0, "unit": "s"}, "s") == []
    assert sampling_notes(None) == [] and sampling_notes(np.arange(20) * 10.0, {"interval": 60.0, "unit": "s"}) == []


def test_a_spreadsheet_export_with_decimal_commas_and_dotted_dates_reads_as_numbers_and_times(tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text("Zeit;Druck;Status\n12.03.2024 10:00;6,25;an\n13.03.2024 10:00;-1,5e2;an\n"
                    "14.03.2024 10:00;7;an\n")
    data = load_telemetry(path, columns=["Druck"], time_column="Zeit")
    assert data.values[:, 0].tolist() == [6.25, -150.0, 7.0]
    # day first (12 March, not 3 December): one day apart, in order
    assert time_stamps(data.time)[0].tolist() == np.array(["2024-03-12T10:00", "2024-03-13T10:00",
                                                           "2024-03-14T10:00"], "datetime64[ns]").tolist()
    # with ',' separators a comma inside a quoted number is a thousands separator: left to the error
    quoted = tmp_path / "us.csv"
    quoted.write_text('t,value\n0,"1,5"\n1,2\n')
    with pytest.raises(InputError, match="data row 1, column 'value': missing, non-numeric or NaN"):
        load_telemetry(quoted, columns=["value"], time_column="t")


def test_a_local_clock_hour_jump_is_named_as_a_daylight_saving_switch():
    def local(start, n):  # n minutes of wall-clock stamps without an offset
        first = np.datetime64(start)
        return [str(first + np.timedelta64(m, "m")).replace("T", " ") for m in range(n)]

    autumn = local("2024-10-27T02:00", 60) + local("2024-10-27T02:00", 60) + local("2024-10-27T03:00", 10)
    notes = sampling_notes(np.array(autumn, object))
    assert notes == ["time goes back at 1 row(s), first at rows 60 -> 61 (2024-10-27 02:59 -> 2024-10-27 02:00): "
                     "an hour back, as when clocks go back at a daylight-saving switch: the rows are "
                     "scored in file order, which is right here (sorting would interleave the two hours); time "
                     "stamps with a UTC offset keep them apart"]
    spring = local("2024-03-31T01:00", 60) + local("2024-03-31T03:00", 60)
    assert sampling_notes(np.array(spring, object))[0].startswith(
        "1 gap(s) longer than 5 sampling intervals (1 min); the largest, 1.02 h, at rows 60 -> 61 (2024-03-31 "
        "01:59 -> 2024-03-31 03:00) (an hour, as when clocks go forward at a daylight-saving switch")
    # with offsets the instants are in order and an hour apart only where data are missing: no such note
    assert sampling_notes(np.array([s + "+01:00" for s in spring], object))[0].find("daylight") == -1
