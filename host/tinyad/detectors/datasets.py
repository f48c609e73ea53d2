"""Loaders for the public benchmark data under ../shared/data (see its README): SKAB and NAB. (motor_mpu6050
comes from the project importer, tinyad.importers.motor_mpu6050_sessions.)

Nothing here copies data into the repository; every loader takes the data root (default: shared_data_dir())
and raises InputError with a hint when files are missing or malformed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyad.csvfile import read_csv
from tinyad.errors import InputError
from tinyad.paths import shared_data_dir

SKAB_SIGNALS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature",
                "Thermocouple", "Voltage", "Volume Flow RateRMS"]
SKAB_TRAIN_ROWS = 400  # the benchmark's own protocol: the first 400 rows of each file train
DATA_HINT = "the public data sets live in ../shared/data"


@dataclass
class SkabFile:
    """One SKAB file: `values` (n, 8) float64 in file units, `labels` (n,) 0/1 (`anomaly` column)."""

    name: str  # e.g. "valve1/3"
    values: np.ndarray
    labels: np.ndarray

    @property
    def train(self) -> np.ndarray:
        return self.values[:SKAB_TRAIN_ROWS]

    @property
    def test_labels(self) -> np.ndarray:
        return self.labels[SKAB_TRAIN_ROWS:]


def _skab_frame(path: Path):
    frame = read_csv(path, DATA_HINT, sep=";")
    missing = [c for c in SKAB_SIGNALS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing SKAB columns {missing}")
    values = frame[SKAB_SIGNALS].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        row = int(np.argwhere(~np.isfinite(values))[0][0])
        raise InputError(f"{path}: row {row} holds NaN or non-numeric values")
    return frame, values


def skab_files(root: Path | None = None) -> list[SkabFile]:
    """The 34 SKAB files with an anomaly (valve1, valve2, other), in a fixed order."""
    base = Path(root or shared_data_dir()) / "ts" / "skab"
    files = []
    for group in ("valve1", "valve2", "other"):
        paths = sorted((base / group).glob("*.csv"), key=lambda p: int(p.stem))
        for path in paths:
            frame, values = _skab_frame(path)
            if "anomaly" not in frame.columns:
                raise InputError(f"{path}: no 'anomaly' column")
            labels = frame["anomaly"].to_numpy(dtype=float)
            files.append(SkabFile(f"{group}/{path.stem}", values, labels.astype(np.int8)))
    if not files:
        raise InputError(f"{base}: no SKAB files found", hint="expected valve1/ valve2/ other/ with CSVs")
    return files


def skab_anomaly_free(root: Path | None = None) -> np.ndarray:
    """The anomaly-free SKAB run (n, 8): normal data only, usable for tuning without test labels."""
    _, values = _skab_frame(Path(root or shared_data_dir()) / "ts" / "skab" / "anomaly-free" / "anomaly-free.csv")
    return values


@dataclass
class NabSeries:
    """One NAB file: `values` (n,), `labels` (n,) 0/1 from the anomaly windows, `category` = folder."""

    name: str  # "<folder>/<file>.csv", the key of combined_windows.json
    category: str
    timestamps: np.ndarray
    values: np.ndarray
    labels: np.ndarray


def nab_series(root: Path | None = None, categories: list[str] | None = None) -> list[NabSeries]:
    """All NAB series with labels from `labels/combined_windows.json` (a point is anomalous if its timestamp
    lies inside a window, bounds included)."""
    import pandas as pd

    base = Path(root or shared_data_dir()) / "ts" / "nab"
    windows_path = base / "labels" / "combined_windows.json"
    if not windows_path.exists():
        raise InputError(f"{windows_path}: missing", hint="the NAB copy needs labels/combined_windows.json")
    windows = json.loads(windows_path.read_text())
    series = []
    for key in sorted(windows):
        category = key.split("/")[0]
        if categories and category not in categories:
            continue
        frame = read_csv(base / "data" / key, DATA_HINT)
        if not {"timestamp", "value"} <= set(frame.columns):
            raise InputError(f"{base / 'data' / key}: expected columns timestamp,value")
        stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
        values = frame["value"].to_numpy(dtype=float)
        labels = np.zeros(len(values), dtype=np.int8)
        for begin, end in windows[key]:
            labels[(stamps >= np.datetime64(pd.Timestamp(begin))) & (stamps <= np.datetime64(pd.Timestamp(end)))] = 1
        series.append(NabSeries(key, category, stamps, values, labels))
    return series
