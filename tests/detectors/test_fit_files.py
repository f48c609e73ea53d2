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
