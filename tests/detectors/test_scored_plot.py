"""tinyad.detectors.scored_plot: the x axis a scored file is drawn against, and the PNG."""

import numpy as np

from tinyad.detectors.scored_plot import plot_axis, plot_scored, time_axis_label
from tinyad.detectors.telemetry import Telemetry
from tinyad.timestamps import reads_as_time


def test_plot_axis_uses_numeric_time():
    x, label = plot_axis(np.array([0.0, 0.5, 1.0]), 3)
    assert label == "time" and x.tolist() == [0.0, 0.5, 1.0]


def test_plot_axis_parses_datetime_text():
    x, label = plot_axis(np.array(["2020-03-09 10:14:33", "2020-03-09 10:14:34"], dtype=object), 2)
    assert label == "time"
    assert (x == np.array(["2020-03-09T10:14:33", "2020-03-09T10:14:34"], dtype="datetime64[ns]")).all()


def test_plot_axis_says_why_it_counts_rows_when_the_time_goes_back():
    repeated = np.array(["2014-01-07 02:55", "2014-01-07 03:00", "2014-01-07 02:00", "2014-01-07 02:05"], object)
    x, label = plot_axis(repeated, 4)  # NAB's machine_temperature file repeats an hour
    assert x.tolist() == [1, 2, 3, 4] and label == "data row (the time column goes back at data row 3)"
    assert plot_axis(np.array(["on", "off"], object), 2)[1] == "data row"  # no time at all: no reason to give


def test_stamps_across_a_daylight_saving_switch_read_as_time_in_utc():
    # Local time with its offset: 01:59 +01:00 is 00:59 UTC, the next minute 03:00 +02:00 is 01:00 UTC.
    text = np.array(["2024-03-31T01:58:00+01:00", "2024-03-31T01:59:00+01:00", "2024-03-31T03:00:00+02:00"], object)
    assert reads_as_time(text)
    x, label = plot_axis(text, 3)
    assert label == "time (UTC)" and x.dtype == np.dtype("datetime64[ns]")
    assert x.tolist() == np.array(["2024-03-31T00:58", "2024-03-31T00:59", "2024-03-31T01:00"],
                                  "datetime64[ns]").tolist()
    assert time_axis_label(x, label, "timestamp", None) == "time (UTC, column timestamp)"


def test_plot_axis_keeps_a_gap_in_datetimes():
    times = np.array(["2021-06-10T17:59:55", "2021-06-10T18:24:40"], dtype="datetime64[ns]")
    x, label = plot_axis(times, 2)
    assert label == "time" and (x[1] - x[0]) == np.timedelta64(1485, "s")


def test_plot_axis_falls_back_to_the_data_row_counted_from_1():
    for time in (None,                                              # no time column
                 np.array([0.0, 1.0]),                              # another length
                 np.array([2.0, 1.0, 3.0]),                         # time going back (the label says so)
                 np.array([0.0, np.nan, 2.0]),                      # a missing time
                 np.array(["10:00", "later", "10:02"], dtype=object)):  # text that is no time
        x, label = plot_axis(time, 3)
        assert label.startswith("data row") and x.tolist() == [1, 2, 3], time
        assert ("goes back" in label) == (time is not None and time[0] == 2.0)


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


def test_the_rows_fitted_on_are_hatched_and_a_missing_threshold_is_said(tmp_path, saved_figures):
    time = np.arange(50) * 5.0
    signals = Telemetry("t", ["a"], np.sin(time)[:, None], time)
    plot_scored(signals, np.abs(np.sin(time)), np.full(50, np.nan), np.zeros(50, bool), tmp_path / "p.png",
                fitted_rows=20, no_threshold=True)
    top, bottom = saved_figures[-1].axes
    for axis in (top, bottom):  # rows 0..19 hatched, to the first row not fitted on (t = 100)
        (span,) = axis.patches
        assert (span.get_x(), span.get_width(), span.get_hatch()) == (0.0, 100.0, "///")
    assert "fitted on (not evaluated)" in [text.get_text() for text in top.get_legend().get_texts()]
    assert [text.get_text() for text in bottom.texts] == ["no dynamic threshold could be set on this file: nothing "
                                                          "flagged"]
    plot_scored(signals, np.abs(np.sin(time)), np.full(50, 0.9), np.zeros(50, bool), tmp_path / "q.png")
    top, bottom = saved_figures[-1].axes
    assert not top.patches and not bottom.texts  # nothing fitted on, a threshold: neither
