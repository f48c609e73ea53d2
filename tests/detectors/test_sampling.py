"""tinyad.detectors.sampling: notes on how a file's rows are spaced in time, and rows before a time."""

import numpy as np
import pandas as pd

from tinyad.detectors.sampling import median_interval, rows_before, sampling_notes


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


def test_a_local_clock_hour_jump_is_named_as_a_daylight_saving_switch():
    def local(start, n):  # n minutes of wall-clock stamps without an offset
        first = np.datetime64(start)
        return [str(first + np.timedelta64(m, "m")).replace("T", " ") for m in range(n)]

    autumn = local("2024-10-27T02:00", 60) + local("2024-10-27T02:00", 60) + local("2024-10-27T03:00", 10)
    notes = sampling_notes(np.array(autumn, object))
    assert notes == ["time goes back at 1 row(s), first at rows 60 -> 61 (2024-10-27 02:59 -> 2024-10-27 02:00): "
                     "an hour back, as when clocks go back at a daylight-saving switch or a clock is set back: "
                     "the rows are scored in file order, which keeps a repeated hour apart (sorting would "
                     "interleave it); time stamps with a UTC offset keep them apart"]
    # rows out of order, days apart: with a median step of days, a step back of 5 days is no clock change
    days = ["2024-10-01 00:00", "2024-10-05 00:00", "2024-10-09 00:00", "2024-10-04 00:00", "2024-10-13 00:00"]
    assert sampling_notes(np.array(days, object))[-1].endswith(
        "first at rows 3 -> 4 (2024-10-09 00:00 -> 2024-10-04 00:00): the rows are scored in file order; sort the "
        "file by time")
    # two hour-long steps back are no single clock change either
    twice = autumn[:60] + autumn[:60] + autumn[:60]
    assert sampling_notes(np.array(twice, object))[-1].endswith("sort the file by time")
    spring = local("2024-03-31T01:00", 60) + local("2024-03-31T03:00", 60)
    assert sampling_notes(np.array(spring, object))[0].startswith(
        "1 gap(s) longer than 5 sampling intervals (1 min); the largest, 1.02 h, at rows 60 -> 61 (2024-03-31 "
        "01:59 -> 2024-03-31 03:00) (an hour, as when clocks go forward at a daylight-saving switch")
    # with offsets the instants are in order and an hour apart only where data are missing: no such note
    assert sampling_notes(np.array([s + "+01:00" for s in spring], object))[0].find("daylight") == -1


def test_a_logger_that_writes_on_change_gets_an_irregular_sampling_note():
    seconds = np.cumsum([0] + [1] * 80 + [600] * 10 + [1] * 10).astype(float)  # 10 of 100 steps are 10-min holds
    notes = sampling_notes(seconds, unit="s")
    assert notes[1].startswith("10% of the steps are gaps: the rows look irregularly sampled, as from a logger that "
                               "writes only when a value changes")
    assert len(sampling_notes(np.cumsum([0] + [1] * 20 + [600] * 9).astype(float), unit="s")) == 1  # 9 outages


def test_epoch_dates_as_text_cut_the_training_rows_at_a_date():
    # epoch numbers are read as this text (tinyad.timestamps.epoch_stamps), so that a date cuts the training rows
    assert rows_before(np.array(["2026-11-08T23:59:00Z", "2026-11-09T00:00:00Z"], object), "2026-11-09")[0] == 1


def test_a_newest_first_file_is_named_and_measured_as_it_is_read():
    from tinyad.detectors.sampling import median_step, newest_first
    from tinyad.detectors.score_files import drop_short_regions, elapsed_seconds

    stamps = pd.date_range("2024-03-14 00:00", periods=100, freq="5min")[::-1]  # newest first
    seconds = np.asarray((stamps - pd.Timestamp("1970-01-01")).total_seconds())
    assert newest_first(seconds) and median_step(seconds) == 300.0
    notes = sampling_notes(np.asarray(stamps.strftime("%d.%m.%Y %H:%M")))
    assert notes[0].startswith("the time runs backwards, newest row first (14.03.2024 08:15 .. 14.03.2024 00:00): "
                               "the detector takes the rows in file order")
    assert len(notes) == 1  # no "time goes back at 99 rows"
    elapsed = elapsed_seconds(seconds)
    assert np.all(np.diff(elapsed) == 300.0)
    flags = np.zeros(100, bool)
    flags[40:81] = True  # 41 rows: 3 h 25 min
    kept, dropped = drop_short_regions(flags, pd.Timedelta("30min"), elapsed)
    assert dropped == 0 and kept.sum() == 41  # was: every duration 0, the fault dropped
