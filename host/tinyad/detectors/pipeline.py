"""A label-free detector end to end: a scoring model (LSTM-AE, Conv-AE, forecaster, Isolation Forest, PCA)
fitted on normal data, EWMA smoothing of its per-step error, and a threshold that never sees labels
(Telemanom's dynamic threshold, a static one calibrated on the training errors, or - for the window
autoencoders - SKAB's covering-window rule on per-window residuals)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinyad.detectors import thresholds as th
from tinyad.detectors.common import as_segments, check_series, columns_by_name
from tinyad.detectors.skab_rule import (UCL_FACTOR, UCL_QUANTILE, control_limit, covering_window_flags,
                                        window_residuals)
from tinyad.detectors.sampling import time_text
from tinyad.errors import InputError

THRESHOLD_METHODS = ("dynamic", "quantile", "sigma", "covering")
COLUMNS_FILE = "columns.txt"  # the fitted channels by name, one a line: what `detect score` reads from a file
WINDOW_AUTOENCODERS = ("lstm-ae", "conv-ae")  # the kinds with per-window reconstructions (`covering`)


def detector_kinds() -> dict:
    """kind -> (detector class, config class). Imports the modules lazily (they pull TensorFlow)."""
    from tinyad.detectors.baselines import IsolationForestConfig, IsolationForestDetector, PCAConfig, PCADetector
    from tinyad.detectors.conv_ae import ConvAEConfig, ConvAutoencoder
    from tinyad.detectors.forecaster import ForecasterConfig, LSTMForecaster
    from tinyad.detectors.lstm_ae import LSTMAEConfig, LSTMAutoencoder

    return {
        "lstm-ae": (LSTMAutoencoder, LSTMAEConfig),
        "conv-ae": (ConvAutoencoder, ConvAEConfig),
        "forecaster": (LSTMForecaster, ForecasterConfig),
        "isolation-forest": (IsolationForestDetector, IsolationForestConfig),
        "pca-t2q": (PCADetector, PCAConfig),
    }


KIND_NAMES = ("lstm-ae", "conv-ae", "forecaster", "isolation-forest", "pca-t2q")


def check_method(method: str | None) -> str | None:
    """`method` when it is None (the detector's own) or one of THRESHOLD_METHODS; else InputError."""
    if method is not None and method not in THRESHOLD_METHODS:
        raise InputError(f"unknown threshold method {method!r}", hint=f"choose one of {', '.join(THRESHOLD_METHODS)}")
    return method


def bad_option_error(kind: str, config_cls, err: TypeError) -> InputError:
    """The InputError for a model option `config_cls` does not take (a TypeError from building it), with a hint
    naming the options it does take."""
    from dataclasses import fields

    return InputError(f"bad option for {kind}: {err}",
                      hint=f"{kind} takes {', '.join(f.name for f in fields(config_cls))}")


def make_detector(kind: str, **config):
    """A new, unfitted detector of `kind` with config overrides, e.g. make_detector("lstm-ae", window=20)."""
    kinds = detector_kinds()
    if kind not in kinds:
        raise InputError(f"unknown detector {kind!r}", hint=f"choose one of {', '.join(kinds)}")
    detector_cls, config_cls = kinds[kind]
    try:
        return detector_cls(config_cls(**config))
    except TypeError as err:
        raise bad_option_error(kind, config_cls, err) from err


@dataclass
class ThresholdConfig:
    """How errors become alarms. `smoothing_span` is the EWMA span in steps (1 = no smoothing).
    dynamic: Telemanom over error windows of `window` steps (None = the whole scored series) moving by
    `step`, pruning fraction `p`, `buffer` steps around flagged points. quantile / sigma: a constant
    from the smoothed training errors (`quantile` q, or mean + `k` sigma) times `margin`. covering (window
    autoencoders only; SKAB's Conv-AE rule, no smoothing): a window alarms when its residual (mean absolute
    error summed over channels) exceeds `ucl_factor` x the `ucl_quantile` of the training windows' residuals,
    and a row alarms when every window covering it does."""

    method: str = "dynamic"
    smoothing_span: float = 10.0
    window: int | None = None
    step: int | None = None
    p: float = 0.13
    buffer: int = 5  # telemanom: 100 for its 70-step batches; keeps the EWMA ramp out of pruning
    max_sequences: int = 5
    max_flagged_fraction: float = 0.5
    quantile: float = 0.99
    k: float = 3.0
    margin: float = 1.0
    ucl_quantile: float = UCL_QUANTILE
    ucl_factor: float = UCL_FACTOR

    def __post_init__(self):
        if self.method not in THRESHOLD_METHODS:
            raise InputError(f"unknown threshold method {self.method!r}",
                             hint=f"choose one of {', '.join(THRESHOLD_METHODS)}")


@dataclass
class ScoreResult:
    """Per-step raw error, smoothed error, threshold (NaN where a dynamic window found none) and alarms."""

    errors: np.ndarray
    smoothed: np.ndarray
    threshold: np.ndarray
    flags: np.ndarray
    method: str
    pruned: list = field(default_factory=list)
    # (time, channels), each row summing to `errors` (None: not asked for, or an isolation forest, which scores
    # a row as a whole); the channels in the fitted order, `channel_names` when the detector knows them
    channel_errors: np.ndarray | None = None
    channel_names: list[str] | None = None


def channel_shares(channel_errors: np.ndarray, first: int = 0, stop: int | None = None) -> np.ndarray:
    """Each channel's share of the summed error of rows first .. stop - 1 (shares sum to 1; zeros when the rows
    have no error). E.g. channel_shares(np.array([[1., 3.], [0., 4.]])) -> [0.125, 0.875]."""
    sums = np.asarray(channel_errors, float)[first:stop].sum(axis=0)
    total = sums.sum()
    return sums / total if total > 0 else np.zeros_like(sums)


def leading_channels(shares, names, most: int = 3, covered: float = 0.9) -> list[tuple[str, float]]:
    """(name, share) of the channels with the largest shares, largest first: at most `most`, and no more once
    they account for `covered` of the error. E.g. leading_channels([0.05, 0.93, 0.02], ["a", "b", "c"]) ->
    [("b", 0.93)]; leading_channels([0.5, 0.3, 0.2], ["a", "b", "c"], most=2) -> [("a", 0.5), ("b", 0.3)]."""
    leading, total = [], 0.0
    for index in np.argsort(-np.asarray(shares, float), kind="stable")[:most]:
        leading.append((names[index], float(shares[index])))
        total += float(shares[index])
        if total >= covered:
            break
    return leading


# A file's median smoothed error this many times the training p99 is a departure of the whole file (a margin,
# so that a normal file recorded at another operating point does not trip the note).
WHOLE_FILE_DEPARTURE_FACTOR = 2.0


def whole_file_departure_note(result: ScoreResult, training_p99: float) -> str | None:
    """A warning when the dynamic threshold cannot see a departure because it covers the whole file: the median
    smoothed error is at least WHOLE_FILE_DEPARTURE_FACTOR x the training errors' 99th percentile. The dynamic
    threshold is set on the file's own errors (telemanom), so a fault that lasts for the whole recording raises
    its level with it and is flagged little or not at all. None for other methods or a median in range."""
    if result.method != "dynamic" or len(result.smoothed) == 0 or not training_p99 > 0:
        return None
    median = float(np.median(result.smoothed))
    if not median >= WHOLE_FILE_DEPARTURE_FACTOR * training_p99:
        return None
    return (f"the median smoothed error {median:.4g} is {median / training_p99:.1f}x the training p99 "
            f"{training_p99:.4g}: the file as a whole departs from the training data. The dynamic threshold "
            "is set on the file's own errors and flags departures within it only, so an error that is high "
            "throughout stands out nowhere; `--threshold quantile` or `--threshold sigma` (set on the training "
            "errors) compare every row with the training data.")


# A channel whose median in a scored file lies this many training standard deviations from its training mean
# is named: a level no fault in a few rows moves, as when the file is in other units than the training data.
LEVEL_SHIFT_STDS = 20.0


def level_shift_note(values, columns: list[str], mean, std, shown: int = 3) -> str | None:
    """A note naming the channels whose median over the scored `values` (rows, channels) lies LEVEL_SHIFT_STDS
    or more training standard deviations (`std`) from the training `mean`, the farthest first (at most `shown`);
    None when none does, or without training statistics. Other units (m/s² scored against a fit on g, °F against
    °C), a moved sensor or a level that drifts between recordings look so, and rows then alarm for the level.
    E.g. az median 9.79, training mean 0.998 and std 0.187: "az: median 9.79 is 47 training std from the
    training mean 0.998 (std 0.187)"."""
    if mean is None or std is None or len(mean) != len(columns) or len(values) == 0:
        return None
    median = np.median(np.asarray(values, float), axis=0)
    spread = np.asarray(std, float)
    distance = np.where(spread > 0, np.abs(median - np.asarray(mean, float)) / np.where(spread > 0, spread, 1), 0.0)
    far = [int(j) for j in np.argsort(-distance) if distance[j] >= LEVEL_SHIFT_STDS]
    if not far:
        return None
    listed = "; ".join(f"{columns[j]}: median {median[j]:.4g} is {distance[j]:.0f} training std from the training "
                       f"mean {mean[j]:.4g} (std {std[j]:.3g})" for j in far[:shown])
    more = f"; and {len(far) - shown} more channel(s)" if len(far) > shown else ""
    return (f"{listed}{more}: the file's level lies far outside the training data, as with other units (m/s² "
            "against g, °F against °C), another sensor range, a moved sensor, or a level that drifts between "
            "recordings (a temperature); a threshold set on the training errors then alarms for the level alone "
            "(the dynamic one may flag nothing): convert the file to the training units, or fit on data that cover "
            "this level")


def whole_file_window_note(method: str, error_window: int | None, n_rows: int) -> str | None:
    """A note when the dynamic threshold's error window (`error_window` rows) is not shorter than the scored
    file: the file gets one threshold over all its rows, as without --error-window. None otherwise, e.g.
    whole_file_window_note("dynamic", 500, 300) -> "the error window (500 rows) covers all 300 rows ...". """
    if method != "dynamic" or not error_window or error_window < n_rows:
        return None
    return (f"the error window ({error_window} rows) covers all {n_rows} rows of this file: one threshold over the "
            "whole file, as without --error-window")


def no_threshold_note(result: ScoreResult, time=None) -> str | None:
    """A warning when the dynamic threshold found no level for some or all rows (no z passed telemanom's guard
    rails: at most `max_sequences` runs flagging less than `max_flagged_fraction` of the rows), so those rows
    cannot alarm whatever their error; names the first such stretch in data rows from 1 (and its times, given
    `time`). None when every row has a threshold, or for other methods."""
    if result.method != "dynamic" or len(result.threshold) == 0:
        return None
    missing = np.isnan(result.threshold)
    if not missing.any():
        return None
    if missing.all():
        return ("no threshold could be set: the dynamic threshold found no level that flags few enough, short "
                "enough runs (telemanom's guard rails), so nothing in this file can be flagged")
    runs = th._runs(np.flatnonzero(missing))
    first, last = runs[0]
    when = (f" ({time_text(time[first])} .. {time_text(time[last])})"
            if time is not None and len(time) == len(missing) else "")
    more = f", and {len(runs) - 1} more stretch(es)" if len(runs) > 1 else ""
    return (f"no threshold could be set for {int(missing.sum())} of {len(missing)} rows (error windows where the "
            f"dynamic threshold found no level): they cannot be flagged; data rows {first + 1}..{last + 1}{when}"
            f"{more}")


# An unflagged stretch is worth a warning when its smoothed error is this many times the training p99 ...
UNFLAGGED_EXCESS_FACTOR = 10.0
# ... over at least this share of the rows.
UNFLAGGED_EXCESS_SHARE = 0.05
# Or one unflagged run this long above UNFLAGGED_RUN_FACTOR x the training p99: a sustained excursion the dynamic
# threshold missed because a larger one elsewhere in the file (a start-up transient) set its level. Runs over
# half the file are `whole_file_departure_note`'s case.
UNFLAGGED_RUN_ROWS = 30
# The note names this many of the longest unflagged stretches: a larger fault that set the threshold can hide more
# than one smaller one.
UNFLAGGED_STRETCHES_SHOWN = 3
UNFLAGGED_RUN_FACTOR = 2.0


# Stride-1 windows of a long file take (rows x window x channels) floats several times over (1 M rows of 4
# channels in 30-row windows: 6 GB); scored this many at a time they take tens of MB. A multiple of the predict
# batch (512), so every batch, and so every reconstruction, is the one an unchunked pass computes.
CHUNK_WINDOWS = 64 * 512


def unflagged_excess_note(result: ScoreResult, training_p99: float, time=None,
                          factor: float = UNFLAGGED_EXCESS_FACTOR,
                          min_share: float = UNFLAGGED_EXCESS_SHARE, error_window: int | None = None,
                          min_rows: str | None = None) -> str | None:
    """A warning when at least `min_share` of the rows have a smoothed error above `factor` x the training
    p99 yet raised no alarm (the dynamic threshold is relative to the file, so a fault covering much of it
    can pass unflagged), or when one unflagged run of at least UNFLAGGED_RUN_ROWS rows (and at most half the
    file) stays above UNFLAGGED_RUN_FACTOR x it (a larger excursion elsewhere set the threshold's level).
    Names the longest such stretch in data rows counted from 1 (and its times when `time` is given) and the
    static thresholds that compare with the training errors (and, for a dynamic threshold over the whole file,
    `error_window` None, per-window thresholds). `min_rows`: the --min-rows given, as text ("5 s"), when it is not
    the default 1 row (the note then names it rather than suggest 10 rows). None otherwise."""
    n = len(result.smoothed)
    if n == 0 or not training_p99 > 0:
        return None
    unflagged = ~np.asarray(result.flags, bool)

    def quiet_above(level: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """(unflagged rows above `level` x the training p99, their runs as (first, last), longest first)."""
        quiet = (result.smoothed > level * training_p99) & unflagged
        return quiet, sorted(th._runs(np.flatnonzero(quiet)), key=lambda run: run[0] - run[1])

    def stretch(run: tuple[int, int]) -> str:
        first, last = run
        when = f" ({time_text(time[first])} .. {time_text(time[last])})" if time is not None and len(time) == n else ""
        return f"{first + 1}..{last + 1}{when}"

    quiet, runs = quiet_above(factor)
    if runs and quiet.sum() >= min_share * n:  # many rows far above the training errors, maybe in several faults
        above, count, shown = factor, int(quiet.sum()), runs[:UNFLAGGED_STRETCHES_SHOWN]
        peak = float(result.smoothed[quiet].max())
        rows = f"{count} unflagged rows ({count / n:.0%}) have"
    else:  # long runs at a lower level; short crossings at that level are normal noise
        _, runs = quiet_above(UNFLAGGED_RUN_FACTOR)
        runs = [(first, last) for first, last in runs if UNFLAGGED_RUN_ROWS <= last - first + 1 <= n / 2]
        if not runs:
            return None
        above, shown = UNFLAGGED_RUN_FACTOR, runs[:UNFLAGGED_STRETCHES_SHOWN]
        peak = float(max(result.smoothed[first:last + 1].max() for first, last in shown))
        rows = (f"{shown[0][1] - shown[0][0] + 1} consecutive unflagged rows have" if len(runs) == 1 else
                f"{len(runs)} runs of {UNFLAGGED_RUN_ROWS} or more consecutive unflagged rows have")
    where = (f"the longest stretch is data rows {stretch(shown[0])}" if len(shown) == 1 else
             f"the longest stretches are data rows {', '.join(map(stretch, shown[:-1]))} and {stretch(shown[-1])}")
    return (f"{rows} a smoothed error above {above:g}x the training p99 {training_p99:.4g} (up to "
            f"{peak / training_p99:.3g}x); {where}, and the {result.method} threshold flagged none of them. "
            "`--threshold sigma` or `--threshold quantile` (set on the training errors) compares every row with the "
            "training data; "
            + (f"your --min-rows {min_rows} drops their short blips" if min_rows else
               "with `--min-rows 10` their short blips are dropped")
            + ("; if they then flag much of the file, the training rows may have shown too little of normal "
               "operation: for a long record, score with `--error-window N` (a dynamic threshold per N rows, as "
               "telemanom sets one per batch)" if result.method == "dynamic" and not error_window else ""))


# A channel holding one value for at least this many rows, and STUCK_FACTOR x its longest such run in the training
# data, gets a note: a frozen sensor or historian value reads as a real, constant measurement to every detector.
STUCK_MIN_ROWS = 30
STUCK_FACTOR = 2.0


def longest_constant_runs(values) -> list[tuple[int, int]]:
    """Per channel of (time, channels) data, (length, first row) of its longest run of one repeated value (the
    first such run on ties). E.g. longest_constant_runs([[1, 5], [2, 5], [2, 5], [2, 6]]) -> [(3, 1), (3, 0)]."""
    values = np.asarray(values, float)
    if values.ndim == 1:
        values = values[:, None]
    runs = []
    for column in values.T:
        starts = np.concatenate(([0], np.flatnonzero(np.diff(column) != 0) + 1))
        lengths = np.diff(np.concatenate((starts, [len(column)])))
        longest = int(np.argmax(lengths)) if len(lengths) else 0
        runs.append((int(lengths[longest]), int(starts[longest])) if len(lengths) else (0, 0))
    return runs


def stuck_channel_notes(values, columns: list[str], training_longest: list[int] | None, time=None) -> list[str]:
    """A note per channel that holds one value for at least STUCK_MIN_ROWS rows and STUCK_FACTOR x its longest
    such run in the training data (`training_longest`, per channel; None: not known, no notes), naming the value,
    the data rows (counted from 1) and their times when `time` is given."""
    if training_longest is None or len(training_longest) != len(columns):
        return []
    values = np.asarray(values, float)
    notes = []
    runs = longest_constant_runs(values)
    for column, (name, (length, first), trained) in enumerate(zip(columns, runs, training_longest)):
        if length >= max(STUCK_MIN_ROWS, STUCK_FACTOR * trained):
            last = first + length - 1
            when = f" ({time_text(time[first])} .. {time_text(time[last])})" if time is not None else ""
            notes.append(f"column {name} holds one value ({values[first, column]:g}) for {length} rows, data rows "
                         f"{first + 1}..{last + 1}{when}; its longest such run in the training data was {trained} "
                         f"row{'' if trained == 1 else 's'}. A stuck sensor or a frozen historian value reads to "
                         "the detector as a real measurement: alarms there, or none, may come from the frozen value")
    return notes


def fit_summary(detector: "LabelFreeDetector") -> str | None:
    """One line on what fitting did: the epochs trained and the early-stopping choice (Keras models), the
    principal components kept (PCA), the trees (Isolation Forest)."""
    model = detector.detector
    history = getattr(model, "history", None) or {}
    if "loss" in history:
        epochs, planned = len(history["loss"]), model.config.epochs
        if history.get("val_loss"):
            best = int(np.argmin(history["val_loss"]))
            stopped = "early stopping" if epochs < planned else "the last epoch reached"
            return (f"trained {epochs} of {planned} epochs ({stopped}); kept epoch {best + 1}, validation loss "
                    f"{history['val_loss'][best]:.4g} (training loss {history['loss'][best]:.4g})")
        return f"trained {epochs} epochs, final training loss {history['loss'][-1]:.4g} (too few windows to validate)"
    fitted = getattr(model, "fitted", None)
    if isinstance(fitted, dict) and "components" in fitted:
        return (f"{len(fitted['components'])} of {fitted['n_features']} principal components, the fewest that keep "
                f"{model.config.explained_variance:.0%} of the training variance")
    if getattr(model, "forest", None) is not None:
        return f"{model.config.n_estimators} trees"
    return None


def pruned_note(result: ScoreResult, p: float) -> str | None:
    """Why runs that cross the dynamic threshold line raised no alarm (telemanom's pruning with minimum percent
    decrease `p`), or None when nothing was pruned."""
    if not result.pruned:
        return None
    return (f"{len(result.pruned)} run(s) above the threshold pruned, no alarm: their peaks do not stand "
            f"p={p:g} above the largest unflagged error (telemanom's pruning)")


@dataclass
class LabelFreeDetector:
    """Scoring model + smoothing + threshold. `fit` uses normal data only; `score` never sees labels.

    Data are (time, channels): a NumPy array, a DataFrame (its index, e.g. time stamps, is not a channel), or for
    `fit` a list of such segments (windows never straddle two). Fitted on DataFrames, the detector keeps their
    column names (`columns`) and scores a DataFrame by name, in any column order, leaving other columns out;
    arrays are taken in the fitted order. E.g.
    `LabelFreeDetector("pca-t2q").fit(frame.loc[:"2024-03-07"]).score(frame.loc["2024-03-08":]).flags`."""

    kind: str
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    model_config: dict = field(default_factory=dict)
    detector: object = None
    train_smoothed: np.ndarray | None = None
    train_residuals: np.ndarray | None = None  # per training window (window autoencoders only)
    columns: list[str] | None = None  # the channels by name, when known (fitted on DataFrames, or by `detect fit`)

    def __post_init__(self):
        if self.kind not in KIND_NAMES:
            raise InputError(f"unknown detector {self.kind!r}", hint=f"choose one of {', '.join(KIND_NAMES)}")
        if not isinstance(self.threshold, ThresholdConfig):
            raise InputError(f"threshold must be a ThresholdConfig, not {self.threshold!r}",
                             hint=f"e.g. ThresholdConfig(method={self.threshold!r})" if isinstance(
                                 self.threshold, str) else "e.g. ThresholdConfig(method=\"quantile\")")

    def fit(self, normal, **fit_kwargs) -> "LabelFreeDetector":
        """Fit the scoring model on normal data (array, DataFrame or list of segments) and keep the smoothed
        training errors for the static thresholds (and, for window autoencoders, the training windows'
        residuals). `fit_kwargs` go to the model's fit: `progress` (a bar; Keras models) and `verbose` (Keras)."""
        if self.threshold.method == "covering":
            self._require_windows()
        # a list of rows is one series: as an array, so that the model does not take it for segments again
        segments = [part if hasattr(part, "shape") else check_series(part, where="training data")
                    for part in as_segments(normal)]
        names = [[str(name) for name in part.columns] for part in segments if hasattr(part, "columns")]
        self.columns = names[0] if names else None  # a refit on arrays forgets the names of an earlier fit
        if names:
            repeated = sorted({name for name in names[0] if names[0].count(name) > 1})
            if repeated:
                raise InputError(f"training data: column name(s) {repeated} appear more than once",
                                 hint="give each column its own name (a DataFrame is matched by name)")
            segments = [self.in_fitted_order(part, "training data") for part in segments]
        self.detector = make_detector(self.kind, **self.model_config)
        self.detector.fit(segments, **fit_kwargs)
        passes = [self._errors_and_residuals(s) for s in segments]
        self.train_smoothed = np.concatenate([self.smooth(errors) for errors, _, _ in passes])
        if self.kind in WINDOW_AUTOENCODERS:
            self.train_residuals = np.concatenate([residuals for _, residuals, _ in passes])
        return self

    @property
    def n_channels(self) -> int | None:
        """How many channels the detector was fitted on (None before fit)."""
        if self.columns is not None:
            return len(self.columns)
        fitted = getattr(self.detector, "fitted", None)
        return getattr(self.detector, "n_features", None) or (fitted.get("n_features") if isinstance(fitted, dict)
                                                              else None)

    def in_fitted_order(self, values, where: str = "scoring data"):
        """`values` with a DataFrame's columns picked by name in the fitted order (`columns`), others left out;
        arrays, and DataFrames when no names were fitted, as they are. InputError for fitted columns it lacks."""
        if not hasattr(values, "columns") or self.columns is None:
            return values
        return columns_by_name(values, self.columns, where, "the detector was fitted on")

    def _errors_and_residuals(self, values, channels: bool = False) -> tuple:
        """(per-row errors, per-window residuals (SKAB's rule; window autoencoders only, else None), per-row
        channel errors (`ScoreResult.channel_errors`; None unless `channels` and the model has them)) from one
        pass of the model over the data, CHUNK_WINDOWS windows at a time (`LSTMAutoencoder.step_errors`, in
        parts)."""
        if self.kind not in WINDOW_AUTOENCODERS:
            if channels and hasattr(self.detector, "errors_and_channels"):
                errors, channel_errors = self.detector.errors_and_channels(values)
                return errors, None, channel_errors
            return self.detector.errors(values), None, None
        from tinyad.detectors.common import add_window_errors, window_errors_to_steps

        window = self.detector.config.window
        values = check_series(values, self.detector.n_features, window, where="scoring data")  # rows named whole
        per_window, residuals = [], []
        channel_total = np.zeros(values.shape) if channels else None
        channel_count = np.zeros(len(values))
        for start in range(0, len(values) - window + 1, CHUNK_WINDOWS):
            windows, reconstructed = self.detector.reconstruct(values[start:start + CHUNK_WINDOWS + window - 1])
            per_window.append(self.detector.window_errors(windows, reconstructed))
            residuals.append(window_residuals(windows, reconstructed))
            if channels:
                add_window_errors(channel_total, channel_count,
                                  self.detector.window_channel_errors(windows, reconstructed), start)
        channel_errors = channel_total / np.maximum(channel_count, 1)[:, None] if channels else None
        return (window_errors_to_steps(np.concatenate(per_window), len(values)), np.concatenate(residuals),
                channel_errors)

    def _require_windows(self) -> None:
        if self.kind not in WINDOW_AUTOENCODERS:
            raise InputError(f"the covering threshold needs a window autoencoder, not {self.kind}",
                             hint=f"use the kind {' or '.join(WINDOW_AUTOENCODERS)} (CLI: --model), or another "
                                  "threshold")

    def smooth(self, errors: np.ndarray) -> np.ndarray:
        span = self.threshold.smoothing_span
        return th.ewma(errors, span) if span > 1 else np.asarray(errors, float)

    def static_threshold(self, method: str | None = None) -> float:
        """The constant threshold from the smoothed training errors: their `quantile` if the method is
        "quantile", else mean + k sigma; times `margin`. Never uses labels."""
        if self.train_smoothed is None:
            raise InputError("the detector is not fitted")
        c = self.threshold
        base = (th.quantile_threshold(self.train_smoothed, c.quantile) if (method or c.method) == "quantile"
                else th.sigma_threshold(self.train_smoothed, c.k))
        return base * c.margin

    def training_quantile(self, q: float = 0.99) -> float:
        """The q-quantile of the smoothed training errors: a fixed reference level for any scored file."""
        if self.train_smoothed is None:
            raise InputError("the detector is not fitted")
        return float(np.quantile(self.train_smoothed, q))

    def threshold_errors(self, smoothed: np.ndarray, method: str | None = None) -> tuple:
        """(threshold per step, flags, pruned runs) for already smoothed errors."""
        c = self.threshold
        method = check_method(method) or c.method
        if method == "covering":
            raise InputError("the covering threshold works on window residuals, not on smoothed errors",
                             hint="use score(values)")
        if method == "dynamic":
            result = th.dynamic_threshold(smoothed, c.window, c.step, c.buffer, c.p,
                                          max_sequences=c.max_sequences,
                                          max_flagged_fraction=c.max_flagged_fraction)
            level = np.full(len(smoothed), np.nan)
            for start, stop, epsilon in result.epsilons:  # later windows overwrite: the latest epsilon
                level[start:stop] = epsilon if np.isfinite(epsilon) else np.nan
            return level, result.flags, result.pruned
        constant = self.static_threshold(method)
        return np.full(len(smoothed), constant), smoothed > constant, []

    def score(self, values, method: str | None = None, channels: bool = False) -> ScoreResult:
        """Errors, smoothed errors, threshold and alarms for (time, channels) data; with `channels`, also each
        channel's part of the errors (ScoreResult.channel_errors) where the model has one."""
        if self.detector is None:
            raise InputError("the detector is not fitted", hint="call fit(normal) first (CLI: `tinyad detect fit`)")
        check_method(method)  # before the model runs: a typo must not fall through to another threshold
        errors, residuals, channel_errors = self._errors_and_residuals(self.in_fitted_order(values), channels)
        smoothed = self.smooth(errors)
        names = list(self.columns) if channel_errors is not None and self.columns is not None else None
        if (method or self.threshold.method) == "covering":
            return ScoreResult(errors, smoothed, np.full(len(smoothed), np.nan), self.covering_flags(residuals),
                               "covering", channel_errors=channel_errors, channel_names=names)
        level, flags, pruned = self.threshold_errors(smoothed, method)
        return ScoreResult(errors, smoothed, level, flags, method or self.threshold.method, pruned, channel_errors,
                           names)

    def covering_flags(self, residuals: np.ndarray | None) -> np.ndarray:
        """Row alarms by the covering-window rule (ThresholdConfig) from the data's per-window residuals
        (`window_residuals`; None for models without windows). Its limit applies to window residuals, not to
        the per-row error, so ScoreResult.threshold stays NaN."""
        self._require_windows()
        if self.train_residuals is None:
            raise InputError("this detector was saved without training residuals",
                             hint="refit it with `tinyad detect fit` to use the covering threshold")
        c = self.threshold
        limit = control_limit(self.train_residuals, c.ucl_quantile, c.ucl_factor)
        return covering_window_flags(residuals > limit, self.detector.config.window, skab_bounds=False)

    def save(self, directory) -> Path:
        """Write the model files, pipeline.json (threshold settings, training error statistics) and, when the
        channels are known by name, columns.txt (which `tinyad detect score` matches a file's columns by)."""
        if self.detector is None:
            raise InputError("the detector is not fitted", hint="call fit(normal) before save")
        directory = Path(directory)
        self.detector.save(directory)
        if self.columns is not None:
            (directory / COLUMNS_FILE).write_text("\n".join(self.columns) + "\n")
        else:  # an earlier fit's names in this folder would be matched against data this fit takes by position
            (directory / COLUMNS_FILE).unlink(missing_ok=True)
        meta = {"kind": self.kind, "threshold": asdict(self.threshold), "model_config": self.model_config,
                "train_smoothed": self.train_smoothed.tolist(),
                "train_residuals": None if self.train_residuals is None else self.train_residuals.tolist()}
        tmp = directory / "pipeline.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(directory / "pipeline.json")
        return directory

    @classmethod
    def load(cls, directory) -> "LabelFreeDetector":
        """Load a detector written by `save`."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "pipeline.json").read_text())
            detector_meta = json.loads((directory / "detector.json").read_text())
        except FileNotFoundError as err:
            raise InputError(f"{directory}: not a fitted detector ({err.filename} missing)",
                             hint="create one with `tinyad detect fit`") from err
        except json.JSONDecodeError as err:
            raise InputError(f"{directory}: corrupt detector metadata ({err})") from err
        detector_cls, _ = detector_kinds()[meta["kind"]]
        pipeline = cls(meta["kind"], ThresholdConfig(**meta["threshold"]), meta["model_config"])
        pipeline.detector = detector_cls.load(directory, detector_meta)
        pipeline.train_smoothed = np.asarray(meta["train_smoothed"], float)
        if meta.get("train_residuals") is not None:  # absent in detectors saved before the covering rule
            pipeline.train_residuals = np.asarray(meta["train_residuals"], float)
        if (directory / COLUMNS_FILE).exists():
            pipeline.columns = [line for line in (directory / COLUMNS_FILE).read_text().splitlines() if line]
        return pipeline
