"""Shared pieces of the label-free detectors: input checks, standardisation, sliding windows, and the
per-time-step average of window errors."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinyad.errors import InputError


def as_segments(normal) -> list:
    """The training data as a list of segments: a list or tuple of arrays, DataFrames or Series is segments (no
    window straddles two); anything else, also a list of rows ([[1.0, 2.0], [1.1, 2.1], ...]), is one series.
    E.g. as_segments(np.zeros((9, 2))) -> [that array]; as_segments([[1, 2], [3, 4]]) -> [[[1, 2], [3, 4]]].
    Several 1-D arrays of one length are refused: they may be rows (list(array)) or one-channel segments."""
    if isinstance(normal, (list, tuple)) and normal and all(hasattr(part, "shape") for part in normal):
        shapes = {tuple(part.shape) for part in normal}
        if len(normal) > 1 and len(shapes) == 1 and len(next(iter(shapes))) == 1:
            raise InputError(f"{len(normal)} one-dimensional arrays of {next(iter(shapes))[0]} values each: rows of "
                             "one series, or one-channel segments?",
                             hint="for rows give numpy.asarray(rows); for one-channel segments give each as a "
                                  "column, segment.reshape(-1, 1)")
        return list(normal)
    return [normal]


def columns_by_name(frame, wanted, where: str, named: str):
    """`frame` with the columns `wanted` (names compared as text), in that order, the others left out; InputError
    naming those it lacks, with what the names are (`named`: "the detector was fitted on")."""
    have = [str(name) for name in frame.columns]
    missing = [name for name in wanted if str(name) not in have]
    if missing:
        raise InputError(f"{where}: no column(s) {missing}; {named} {list(wanted)} and the data has {have}",
                         hint="name the columns so (a DataFrame is matched by name)")
    return frame.set_axis(have, axis=1)[[str(name) for name in wanted]]


def _frame_as_array(frame, where: str) -> np.ndarray:
    """A DataFrame's cells as float64 (missing as NaN), or InputError naming a column that is not numbers (a
    date-time column: a hint to make it the index)."""
    import pandas as pd

    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            raise InputError(f"{where}: column {name!r} holds times ({dtype}), not signal values",
                             hint=f"make it the index (frame.set_index({name!r})) or leave it out")
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            sample = frame[name].dropna()
            shown = f", e.g. {sample.iloc[0]!r}" if len(sample) else ""
            raise InputError(f"{where}: column {name!r} is not numbers (dtype {dtype}{shown})",
                             hint="leave it out, or convert it with pandas.to_numeric")
    return frame.to_numpy(dtype=float, na_value=np.nan)


def check_training_settings(config) -> None:
    """Refuse training settings no Keras fit can run with: epochs and batch size below 1, a validation fraction
    outside [0, 1), a patience below 0 (an untrained network would otherwise "fit" and score)."""
    if config.epochs < 1 or config.batch_size < 1:
        raise InputError(f"epochs and batch_size must be >= 1, got {config.epochs} and {config.batch_size}")
    if not 0 <= config.validation_fraction < 1 or config.patience < 0:
        raise InputError(f"validation_fraction must be in [0, 1) and patience >= 0, got "
                         f"{config.validation_fraction} and {config.patience}")


def check_series(values, n_features: int | None = None, min_length: int = 2, where: str = "data") -> np.ndarray:
    """Return `values` as a (time, features) float64 array, or raise InputError for wrong shape, wrong
    channel count, too few rows, a DataFrame column that is not numbers, or NaN/inf (naming the first bad row).
    A DataFrame's index (e.g. its time stamps) is not a channel."""
    names = index = None  # a DataFrame's, to name a bad cell by them
    if hasattr(values, "dtypes") and hasattr(values, "columns"):  # a DataFrame
        names, index = list(values.columns), values.index
        values = _frame_as_array(values, where)
    elif hasattr(values, "dtype") and hasattr(values, "index") and hasattr(values, "to_numpy"):  # a Series
        values = values.to_numpy(dtype=float, na_value=np.nan)
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{where}: expected (time, features), got shape {array.shape}")
    if n_features is not None and array.shape[1] != n_features:
        raise InputError(f"{where}: {array.shape[1]} channels, but the model was fitted on {n_features}",
                         hint="score data with the same columns the model was fitted on")
    if array.shape[0] < min_length:
        raise InputError(f"{where}: {array.shape[0]} rows, need at least {min_length}",
                         hint="the detector needs at least one full window")
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        at = (f"row {index[row]!s}, column {names[col]!r}" if names is not None and len(names) == array.shape[1]
              else f"row {row}, column {col} (array indices, from 0)")
        raise InputError(f"{where}: {at}: NaN or infinite value ({int(bad.sum())} such cell(s))",
                         hint="drop or interpolate the bad rows first")
    return array


@dataclass
class Standardizer:
    """Per-channel z-scoring with statistics of the training data (a constant channel keeps std 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Standardizer":
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        return cls(np.asarray(d["mean"], float), np.asarray(d["std"], float))


def sliding_windows(values: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """(time, features) -> (n_windows, length, features) views, windows starting every `stride` steps."""
    if len(values) < length:
        raise InputError(f"{len(values)} rows are fewer than one window of {length}")
    view = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)  # (n, f, length)
    return np.ascontiguousarray(view[::stride].transpose(0, 2, 1))


def window_errors_to_steps(window_errors: np.ndarray, n_steps: int, stride: int = 1) -> np.ndarray:
    """Average per-window, per-position errors (n_windows, length) into one error per time step: step t gets
    the mean over every window that covers it."""
    n_windows, length = window_errors.shape
    total = np.zeros(n_steps)
    count = np.zeros(n_steps)
    for offset in range(length):
        idx = np.arange(n_windows) * stride + offset
        np.add.at(total, idx, window_errors[:, offset])
        np.add.at(count, idx, 1)
    return total / np.maximum(count, 1)


def add_window_errors(total: np.ndarray, count: np.ndarray, window_errors: np.ndarray, first_window: int) -> None:
    """Add per-window, per-position errors (n_windows, length, ...) of the stride-1 windows that start at rows
    `first_window`, `first_window + 1`, ... into the per-step sums `total` (n_steps, ...) and the per-step window
    counts `count` (n_steps,), in place; total / count is then `window_errors_to_steps`'s average. A long file can
    so be added a chunk of windows at a time."""
    n_windows, length = window_errors.shape[:2]
    for offset in range(length):  # each position's windows cover distinct steps: a plain slice add is exact
        total[first_window + offset:first_window + offset + n_windows] += window_errors[:, offset]
        count[first_window + offset:first_window + offset + n_windows] += 1


class KerasDetector:
    """What the Keras-based detectors share: their state, and saving/loading as model.keras + detector.json.
    Subclasses set `kind` and `config_class` and implement build(), fit() and errors()."""

    kind = ""
    config_class: type = type(None)

    def __init__(self, config=None):
        self.config = config or self.config_class()
        self.model = None
        self.scaler: Standardizer | None = None
        self.n_features: int | None = None
        self.history: dict = {}

    def save(self, directory) -> Path:
        """Write model.keras + detector.json into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(directory / "model.keras")
        meta = {"kind": self.kind, "config": asdict(self.config), "scaler": self.scaler.to_dict(),
                "n_features": self.n_features}
        (directory / "detector.json").write_text(json.dumps(meta, indent=2))
        return directory

    @classmethod
    def load(cls, directory, meta: dict):
        """A fitted detector from `directory` and its detector.json contents `meta`."""
        import keras

        detector = cls(cls.config_class(**meta["config"]))
        detector.scaler = Standardizer.from_dict(meta["scaler"])
        detector.n_features = int(meta["n_features"])
        detector.model = keras.models.load_model(Path(directory) / "model.keras")
        return detector
