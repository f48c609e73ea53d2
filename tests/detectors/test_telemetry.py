"""tinyad.detectors.telemetry: the plot's x axis."""

import numpy as np

import pytest

from tinyad.detectors.telemetry import Telemetry, load_telemetry, plot_axis, plot_scored, sniff_separator


def test_plot_axis_uses_numeric_time():
    x, label = plot_axis(np.array([0.0, 0.5, 1.0]), 3)
    assert label == "time" and x.tolist() == [0.0, 0.5, 1.0]


def test_plot_axis_parses_datetime_text():
    x, label = plot_axis(np.array(["2020-03-09 10:14:33", "2020-03-09 10:14:34"], dtype=object), 2)
    assert label == "time"
    assert (x == np.array(["2020-03-09T10:14:33", "2020-03-09T10:14:34"], dtype="datetime64[ns]")).all()


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
