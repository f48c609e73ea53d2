"""tinyad.detectors.score_files: scoring files as `detect score` does (its CLI output: test_pipeline_cli.py)."""

import numpy as np
import pandas as pd

from tinyad.detectors.fit_files import ReadOptions
from tinyad.detectors.score_files import (FitRecord, drop_short_regions, elapsed_seconds, merge_close_regions,
                                          region_option_text)


def test_merge_close_regions_joins_only_regions_fewer_rows_apart_than_the_gap():
    flags = [1, 0, 1, 0, 0, 0, 1, 0]  # regions apart by 1 and by 3 unflagged rows
    merged, joined = merge_close_regions(flags, 2)
    assert merged.astype(int).tolist() == [1, 1, 1, 0, 0, 0, 1, 0] and joined == 1
    merged, joined = merge_close_regions(flags, 4)
    assert merged.astype(int).tolist() == [1, 1, 1, 1, 1, 1, 1, 0] and joined == 2
    merged, joined = merge_close_regions(flags, 0)  # the default: as flagged
    assert merged.astype(int).tolist() == flags and joined == 0


def test_regions_are_joined_and_dropped_by_time_when_given_a_duration():
    flags = [1, 0, 1, 0, 0, 1, 1, 0]
    seconds = np.array([0, 60, 120, 180, 240, 7200, 7260, 7320], float)  # 1-min rows, a 2-hour gap at row 5
    # 2 min from row 0 to row 2 joins them; 2 h to row 5 (two rows on) stays apart, as 2 rows would have joined
    merged, joined = merge_close_regions(flags, pd.Timedelta("5min"), seconds)
    assert merged.astype(int).tolist() == [1, 1, 1, 0, 0, 1, 1, 0] and joined == 1
    assert merge_close_regions(flags, 3)[0].astype(int).tolist() == [1, 1, 1, 1, 1, 1, 1, 0]
    # lasting: one row = one median interval (1 min): rows 5..6 last 2 min, row 0 and row 2 1 min each
    kept, dropped = drop_short_regions(flags, pd.Timedelta("2min"), seconds)
    assert kept.astype(int).tolist() == [0, 0, 0, 0, 0, 1, 1, 0] and dropped == 2


def test_elapsed_seconds_count_a_step_back_as_one_interval():
    assert elapsed_seconds(np.array([0, 60, 120, 60, 120], float)).tolist() == [0, 60, 120, 180, 240]


def test_region_options_read_as_rows_or_a_duration():
    assert region_option_text(12) == "12 rows" and region_option_text(pd.Timedelta("50ms")) == "50 ms"


def test_read_options_at_score_are_those_given_else_those_saved_at_fit():
    saved = {"columns": ["a", "b"], "time_column": "t", "label_column": "y", "sep": ";", "drop": ["c"],
             "fill_missing": 2}
    reading = ReadOptions.at_score(saved)
    assert reading == ReadOptions(["a", "b"], "t", "y", ";", ["c"], 2, ("time", "label"))
    given = ReadOptions.at_score(saved, time_column="stamp", label_column="anomaly", fill_missing=0)
    assert (given.time_column, given.label_column, given.fill_missing, given.optional) == ("stamp", "anomaly", 0, ())
    assert ReadOptions.at_score({}) == ReadOptions()  # a detector saved through the Python API


def test_a_fit_record_and_a_summary_from_what_fit_saved():
    record = FitRecord.from_saved({"signal_mean": [1.0], "signal_std": [2.0], "trained_on": [{"rows": 3}]})
    assert (record.signal_mean, record.sampling, record.trained_on) == ([1.0], None, [{"rows": 3}])
    assert FitRecord.from_saved({}) == FitRecord()
