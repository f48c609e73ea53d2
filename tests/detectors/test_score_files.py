"""tinyad.detectors.score_files: scoring files as `detect score` does (its CLI output: test_pipeline_cli.py)."""

import numpy as np
import pandas as pd
import pytest

from tinyad.detectors.fit_files import ReadOptions
from tinyad.detectors.score_files import (FitRecord, drop_short_regions, elapsed_seconds, merge_close_regions,
                                          region_option_text)
from tinyad.errors import InputError


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
    # the time column given must be there; a label column given only evaluates: a file may lack it
    assert (given.time_column, given.label_column, given.fill_missing, given.optional) == (
        "stamp", "anomaly", 0, ("label-given",))
    assert ReadOptions.at_score({}) == ReadOptions()  # a detector saved through the Python API


def test_a_fit_record_and_a_summary_from_what_fit_saved():
    record = FitRecord.from_saved({"signal_mean": [1.0], "signal_std": [2.0], "trained_on": [{"rows": 3}]})
    assert (record.signal_mean, record.sampling, record.trained_on) == ([1.0], None, [{"rows": 3}])
    assert FitRecord.from_saved({}) == FitRecord()


def test_rows_or_duration_reads_rows_and_durations_as_the_cli_does():
    from tinyad.detectors.score_files import rows_or_duration

    assert rows_or_duration(12, 1, "--min-rows") == 12 and rows_or_duration("12", 1, "--min-rows") == 12
    assert rows_or_duration("1h", 0, "--merge-gap") == pd.Timedelta("1h") and rows_or_duration("0", 0, "-") == 0
    for bad, least in (("soon", 0), (0, 1), (-3, 0), ("-5min", 1), (2.5, 0), (True, 0)):
        with pytest.raises(InputError, match="--merge-gap"):
            rows_or_duration(bad, least, "--merge-gap")


def _plant(path, order=("temp", "pressure", "flow")):
    """A small plant CSV: three channels, a pressure fault at rows 400..439 (0-based), marked in `anomaly`."""
    rng = np.random.default_rng(0)
    temp = 60 + rng.normal(0, 0.1, 500)
    columns = {"temp": temp, "pressure": 2 + 0.05 * temp + rng.normal(0, 0.01, 500), "flow": rng.normal(10, 0.2, 500)}
    columns["pressure"][400:440] += 0.3
    frame = pd.DataFrame({name: columns[name] for name in order})
    frame.insert(0, "time", np.arange(500))
    frame["anomaly"] = (np.arange(500) >= 400) & (np.arange(500) < 440)
    frame["anomaly"] = frame["anomaly"].astype(int)
    frame.to_csv(path, index=False)
    return path


def test_score_file_matches_columns_by_name_and_names_the_columns_when_their_count_differs(tmp_path):
    from tinyad.detectors.pipeline import LabelFreeDetector, ThresholdConfig
    from tinyad.detectors.score_files import score_file

    plant = _plant(tmp_path / "plant.csv")
    frame = pd.read_csv(plant)
    detector = LabelFreeDetector("pca-t2q", ThresholdConfig(smoothing_span=5))
    detector.fit(frame[["temp", "pressure", "flow"]].iloc[:300])
    reordered = _plant(tmp_path / "reordered.csv", order=("flow", "temp", "pressure"))
    reading = ReadOptions(label_column="anomaly")
    found = [score_file(detector, path, reading, FitRecord()) for path in (plant, reordered)]
    assert found[0].regions == found[1].regions and found[0].flags[405:440].all()
    assert found[1].data.columns == ["temp", "pressure", "flow"]  # read by name, in the fitted order
    # saved with LabelFreeDetector.save, a detector knows no rows it was fitted on: evaluated whole, and said so
    assert found[0].evaluation.n_points == 500
    assert any("records no rows it was fitted on" in note for note in found[0].notes)
    by_position = LabelFreeDetector("pca-t2q").fit(frame[["temp", "pressure", "flow"]].to_numpy()[:300])
    with pytest.raises(InputError, match=r"4 columns read \(temp, pressure, flow, anomaly\), but the detector was "
                                         r"fitted on 3 channels") as refused:
        score_file(by_position, plant, ReadOptions(), FitRecord())
    assert "--label-column" in refused.value.hint
    with pytest.raises(InputError, match="unknown threshold method 'quantil'"):
        score_file(detector, plant, ReadOptions(label_column="anomaly"), FitRecord(), method="quantil")
    with pytest.raises(InputError, match="unknown threshold method 'dynamc'"):
        detector.score(frame, method="dynamc")
