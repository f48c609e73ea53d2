"""tinyad.timestamps: which column is the time column, and its cells as instants or elapsed time."""

import numpy as np
import pandas as pd

from tinyad.timestamps import (date_and_clock_columns, epoch_stamps, epoch_unit, is_date_or_time_text, is_dotted_date,
                               joined_time_column, names_an_instant, reads_as_time, reads_as_time_column,
                               time_like_column, time_stamps, time_unit_from_name)


def test_time_like_names_and_the_units_they_state():
    assert time_like_column(["ax", "Timestamp", "t"]) == "Timestamp"
    assert time_like_column(["t_ms", "ax"]) == "t_ms" and time_like_column(["time (s)"]) == "time (s)"
    assert time_like_column(["tilt", "temperature", "ax"]) is None
    for name in ["Date Time", "Date/Time", "Time Stamp", "Timestamp (UTC)", "unix_time", "epoch_ms", "Time-Stamp"]:
        assert time_like_column(["flow", name]) == name
    assert [time_unit_from_name(n) for n in ("t", "time_ms", "seconds", "Time [s]", "datetime", None)] == \
        [None, "ms", "s", "s", None, None]


def test_time_names_are_whole_names_and_must_still_read_as_time():
    assert time_like_column(["Zeitraum_h", "Datumswert", "data", "fecha_alta"]) is None
    assert time_like_column(["flow", "Zeitstempel"]) == "Zeitstempel"
    assert reads_as_time_column(["2024-03-11 00:10", "2024-03-11 00:00"])  # dates, unsorted: the time column
    assert reads_as_time_column(np.array(["2024-03-11T00:10", "2024-03-11T00:00"], "datetime64[ns]"))
    assert not reads_as_time_column([21.5, 21.4, 21.6])  # numbers that go back: a temperature
    # pandas reads "2,5" and "now" as dates too: unsorted text must look like dates or clock times
    assert not reads_as_time_column(["2,5", "1,5"]) and not reads_as_time_column(["now", "2024-03-11"])
    assert not reads_as_time_column(["2024-03-11", None]) and not reads_as_time_column([])
    assert reads_as_time([0.0, 0.01, 0.02]) and not reads_as_time([21.5, 21.4]) and not reads_as_time([])


def test_stamps_with_offsets_are_instants_in_utc_and_stamps_without_stay_as_written():
    # 01:59 +01:00 is 00:59 UTC, the next minute 03:00 +02:00 (a daylight-saving switch) is 01:00 UTC
    text = ["2024-03-31T01:59:00+01:00", "2024-03-31T03:00:00+02:00"]
    in_utc = np.array(["2024-03-31T00:59", "2024-03-31T01:00"], "datetime64[ns]")
    stamps, zoned = time_stamps(text)
    assert zoned and (stamps == in_utc).all()
    # a zoned column (a Parquet datetime64[ns, tz]) is the same instants
    berlin = pd.Series(pd.to_datetime(text, utc=True)).dt.tz_convert("Europe/Berlin")
    assert time_stamps(berlin)[1] and (time_stamps(berlin)[0] == in_utc).all()
    stamps, zoned = time_stamps(["2024-03-31 01:59", "2024-03-31 03:00"])
    assert zoned is False and (stamps == np.array(["2024-03-31T01:59", "2024-03-31T03:00"], "datetime64[ns]")).all()
    assert time_stamps(["2024-03-31 01:59", "soon"]) is None and time_stamps([]) is None


def test_dotted_dates_are_day_first_and_slashed_dates_month_first_unless_only_day_first_reads():
    assert is_dotted_date("01.03.2024 23:59") and not is_dotted_date("2024-03-01") and not is_dotted_date(1.5)
    assert str(time_stamps(["01.03.2024 00:00"])[0][0])[:10] == "2024-03-01"  # 1 March, not 3 January
    assert str(time_stamps(["03/01/2024 00:00"])[0][0])[:10] == "2024-03-01"  # month first
    assert str(time_stamps(["13/03/2024 00:00"])[0][0])[:10] == "2024-03-13"  # no 13th month: day first


def test_date_or_time_text_needs_a_date_or_clock_pattern_that_parses():
    assert is_date_or_time_text("2024-03-11") and is_date_or_time_text("12:30")
    assert is_date_or_time_text("11.03.2024 00:00")
    assert not any(is_date_or_time_text(v) for v in ("1,5", "now", "off", "n/a", 3.0, None))


def test_a_date_column_and_a_clock_column_join_into_one_stamp_per_row():
    frame = pd.DataFrame({"flow": ["1,5", "2,5", "3,5"], "Datum": ["11.03.2024", "11.03.2024", None],
                          "Uhrzeit": ["23:59:59", "00:00:00", "00:00:01"]})
    assert date_and_clock_columns(frame, ["flow", "Datum", "Uhrzeit"]) == ("Datum", "Uhrzeit")
    assert date_and_clock_columns(frame, ["flow", "Uhrzeit"]) is None  # no date column among the names
    name = joined_time_column(frame, "Datum", "Uhrzeit")
    assert name == "Datum+Uhrzeit"
    assert frame[name].tolist()[:2] == ["11.03.2024 23:59:59", "11.03.2024 00:00:00"]
    assert pd.isna(frame[name].iloc[2])  # no date: no stamp, not half a one


def test_epoch_units_follow_the_numbers_magnitude():
    assert epoch_unit([1794182400]) == ("s", "seconds") and epoch_unit([0.0, 0.5]) == ("s", "seconds")
    assert epoch_unit([1794182400000]) == ("ms", "milliseconds")
    assert epoch_unit([1794182400000000]) == ("us", "microseconds")
    assert epoch_unit([1794182400000000000]) == ("ns", "nanoseconds")
    assert epoch_unit([np.nan, 1794182400000]) == ("ms", "milliseconds")  # blanks aside


def test_epoch_numbers_read_as_utc_dates_only_from_2000_to_a_year_ahead():
    stamps, unit = epoch_stamps([1794182400000, 1794182460000, None])
    assert (stamps.tolist(), unit) == (["2026-11-09T00:00:00Z", "2026-11-09T00:01:00Z", None], "milliseconds")
    assert epoch_stamps([1794182400.5, 1794182401.25])[0].tolist() == ["2026-11-09T00:00:00.500Z",
                                                                       "2026-11-09T00:00:01.250Z"]
    # elapsed time from 0, an elapsed counter named with another unit, and numbers before 2000 are not dates
    assert epoch_stamps([0.0, 0.01]) is None and epoch_stamps([6e8, 6.1e8], "ms") is None
    assert epoch_stamps([5e8, 5.1e8]) is None and epoch_stamps(["2026-11-09"]) is None
    assert epoch_stamps([1794182400000, 1794182460000], "ms")[1] == "milliseconds"  # "epoch_ms"
    assert epoch_stamps([True, False]) is None and epoch_stamps([1794182400, np.inf]) is None


def test_only_names_of_instants_make_epoch_numbers_dates():
    assert all(map(names_an_instant, ["timestamp", "Timestamp (UTC)", "epoch_ms", "unix_time", "Date Time"]))
    assert not any(map(names_an_instant, ["t", "time", "time_ms", "seconds", "elapsed_ms"]))


def test_ambiguous_slash_dates_take_the_reading_that_makes_a_regular_series():
    import pandas as pd

    from tinyad.timestamps import time_stamps

    hours = pd.date_range("2024-03-01", periods=288, freq="1h")  # 01/03 .. 12/03: every day <= 12
    day_first, _ = time_stamps(list(hours.strftime("%d/%m/%Y %H:%M")))
    assert (day_first == hours.to_numpy("datetime64[ns]")).all()  # twelve days, not a jump of a month each day
    month_first, _ = time_stamps(list(hours.strftime("%m/%d/%Y %H:%M")))
    assert (month_first == hours.to_numpy("datetime64[ns]")).all()  # the US form still reads month first
    assert str(time_stamps(["01/02/2024 00:00"])[0][0])[:10] == "2024-01-02"  # one stamp: month first, as before
    days = pd.date_range("2024-03-01", periods=12, freq="1D")  # one row a day: months of 29-31 days, or days
    assert (time_stamps(list(days.strftime("%d/%m/%Y")))[0] == days.to_numpy("datetime64[ns]")).all()
    assert (time_stamps(list(days.strftime("%m/%d/%Y")))[0] == days.to_numpy("datetime64[ns]")).all()
