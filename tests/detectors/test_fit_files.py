"""tinyad.detectors.fit_files: reading the files a detector is fitted on (its CLI output: test_pipeline_cli.py)."""

import numpy as np
import pytest

from tinyad.detectors.fit_files import ReadOptions, increasing_columns, read_training_set
from tinyad.errors import InputError


def test_increasing_columns():
    rising = np.array([[0.0, 5.0], [1.0, 4.0], [2.0, 6.0]])
    assert increasing_columns([rising], ["ms", "a"]) == ["ms"]
    assert increasing_columns([rising, rising[::-1]], ["ms", "a"]) == []  # must rise in every file
    assert increasing_columns([rising[:2]], ["ms", "a"]) == []  # too short to tell


def test_read_training_set_chooses_rows_and_says_what_it_assumed_in_order(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("time,flow,anomaly\n" + "".join(f"{i},{i % 3}.5,{int(i == 4)}\n" for i in range(8)))
    second.write_text("time,flow,anomaly\n" + "".join(f"{i},{i % 2}.5,0\n" for i in range(8)))
    training = read_training_set([first, second], ReadOptions(), train_rows=6)
    assert training.columns == ["flow"] and [len(s) for s in training.segments] == [6, 6]
    assert training.rows.ravel().tolist() == [0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5, 0.5, 1.5, 0.5, 1.5]
    assert training.guessed_time == "time" and training.sampling == {"interval": 1.0, "unit": ""}  # no unit named
    said = [(m.level, m.text.split(" (")[0].split(":")[0]) for m in training.messages]
    assert said == [("note", "left out label column(s) anomaly"), ("note", "took column 'time' as the time column"),
                    ("warning", f"{first}")]  # row 5 of a.csv is marked anomalous in its label column
    with pytest.raises(InputError, match="no rows before it in"):
        read_training_set([first], ReadOptions(), train_until="-1")
    with pytest.raises(InputError, match="both choose the training rows"):
        read_training_set([first], ReadOptions(), train_rows=2, train_until="3")


def test_one_path_is_one_file_and_train_rows_below_one_are_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("time,flow\n" + "".join(f"{i},{i % 3}.5\n" for i in range(8)))
    assert [len(s) for s in read_training_set(str(path), ReadOptions()).segments] == [8]
    longer = read_training_set([path], ReadOptions(), train_rows=20)
    assert [len(s) for s in longer.segments] == [8] and longer.messages[-1].level == "warning"
    assert longer.messages[-1].text == f"--train-rows 20 is more than the rows of {path} (8): trained on all of it"
    for bad in (0, -5, 2.5):
        with pytest.raises(InputError, match="--train-rows must be a whole number >= 1"):
            read_training_set([path], ReadOptions(), train_rows=bad)


def test_save_fit_refuses_a_detector_fitted_on_other_columns(tmp_path):
    import pandas as pd

    from tinyad.detectors.fit_files import save_fit
    from tinyad.detectors.pipeline import LabelFreeDetector

    path = tmp_path / "a.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)}).to_csv(path, index=False)
    training = read_training_set([path], ReadOptions())
    swapped = LabelFreeDetector("pca-t2q").fit(pd.read_csv(path)[["b", "a"]])
    with pytest.raises(InputError, match="fitted on b, a, not on this training set's columns a, b"):
        save_fit(swapped, tmp_path / "d", training, ReadOptions())
    with pytest.raises(InputError, match="not fitted"):
        save_fit(LabelFreeDetector("pca-t2q"), tmp_path / "d", training, ReadOptions())
    assert not (tmp_path / "d").exists()  # nothing written
    fitted = LabelFreeDetector("pca-t2q").fit(training.segments)
    assert save_fit(fitted, tmp_path / "d", training, ReadOptions()) == []
    assert (tmp_path / "d" / "columns.txt").read_text().split() == ["a", "b"]


def test_model_options_no_fit_can_run_with_are_refused_with_the_options_named():
    from tinyad.detectors.pipeline import make_detector

    for bad in ({"epochs": 0}, {"epochs": -3}, {"batch_size": 0}, {"validation_fraction": 1.0}):
        for kind in ("lstm-ae", "conv-ae", "forecaster"):
            with pytest.raises(InputError, match="must be"):
                make_detector(kind, **bad)
    with pytest.raises(InputError, match="bad option for conv-ae") as refused:
        make_detector("conv-ae", windw=30)
    assert refused.value.hint.startswith("conv-ae takes window, filters, kernel_size, dropout, epochs")


def test_training_files_sampled_at_different_intervals_are_warned_about(tmp_path):
    import numpy as np
    import pandas as pd

    from tinyad.detectors.fit_files import ReadOptions, read_training_set

    rng = np.random.default_rng(0)
    five = tmp_path / "five.csv"
    one = tmp_path / "one.csv"
    for path, freq in ((five, "5min"), (one, "1min")):
        pd.DataFrame({"time": pd.date_range("2024-03-01", periods=200, freq=freq),
                      "a": rng.normal(size=200), "b": rng.normal(size=200)}).to_csv(path, index=False)
    training = read_training_set([five, one], ReadOptions(time_column="time"))
    warnings = [m.text for m in training.messages if m.level == "warning"]
    assert warnings == [f"the training files are sampled at different intervals: {five} every 5 min, {one} (1 min): "
                        "windows and smoothing count rows, so the model learns two time scales; resample them to one "
                        "interval (scoring compares files with the first's)"]
    twin = tmp_path / "five2.csv"
    twin.write_bytes(five.read_bytes())
    same = read_training_set([five, twin], ReadOptions(time_column="time"))
    assert not [m for m in same.messages if m.level == "warning"]
