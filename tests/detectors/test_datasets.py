"""SKAB and NAB loaders on the public data (skipped where ../shared/data is absent)."""

import json

import numpy as np
import pandas as pd
import pytest

from tinyad.detectors.datasets import SKAB_TRAIN_ROWS, nab_series, skab_anomaly_free, skab_files
from tinyad.errors import InputError


def test_skab_files_follow_the_protocol(shared_data):
    files = skab_files(shared_data)
    assert len(files) == 34
    first = files[0]
    assert first.name == "valve1/0" and first.values.shape[1] == 8
    assert first.train.shape == (SKAB_TRAIN_ROWS, 8)
    assert first.labels[:SKAB_TRAIN_ROWS].sum() == 0  # the training part is anomaly-free
    assert set(np.unique(first.test_labels)) == {0, 1}
    assert skab_anomaly_free(shared_data).shape[1] == 8


def test_nab_labels_come_from_the_windows(shared_data):
    series = nab_series(shared_data, categories=["realKnownCause"])
    windows = json.loads((shared_data / "ts/nab/labels/combined_windows.json").read_text())
    item = next(s for s in series if s.name == "realKnownCause/machine_temperature_system_failure.csv")
    begin, end = (pd.Timestamp(v) for v in windows[item.name][0])
    inside = (item.timestamps >= np.datetime64(begin)) & (item.timestamps <= np.datetime64(end))
    assert inside.any() and item.labels[inside].all()
    stamps = item.timestamps
    in_windows = [((stamps >= np.datetime64(pd.Timestamp(a))) & (stamps <= np.datetime64(pd.Timestamp(b)))).sum()
                  for a, b in windows[item.name]]
    assert item.labels.sum() == sum(in_windows)
    assert {s.category for s in series} == {"realKnownCause"}


def test_loaders_explain_missing_and_corrupt_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        skab_anomaly_free(tmp_path)
    folder = tmp_path / "ts" / "skab" / "valve1"
    folder.mkdir(parents=True)
    (folder / "0.csv").write_text("datetime;Accelerometer1RMS\n2020-01-01;0.1\n")
    with pytest.raises(InputError, match="missing SKAB columns"):
        skab_files(tmp_path)
