"""Fitting a label-free detector on files, as `tinyad detect fit` does: read the normal files, choose the rows
to train on, say what reading assumed (notes) and what looks wrong (warnings), and save the detector with the
read options and training statistics that `detect score` takes as its defaults (read_options.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.atomic import outputs_in, remove_outputs
from tinyad.detectors.pipeline import COLUMNS_FILE
from tinyad.detectors.sampling import time_text
from tinyad.detectors.telemetry import Telemetry
from tinyad.errors import InputError

# What `detect fit` writes besides the model's own files: the signal columns in order, and the read options
# and training statistics that `detect score` uses as its defaults (folders fitted before it still load).
READ_OPTIONS_FILE = "read_options.json"
# Every file a fit writes into its folder: a refit removes those of the previous fit first, so that no stale
# model.keras of an LSTM-AE lies beside the model.pkl of a PCA refit.
FIT_FILES = ("model.keras", "model.pkl", "detector.json", "pipeline.json", COLUMNS_FILE, READ_OPTIONS_FILE)

# The model options of `detect fit` and the models that take each (any other model refuses them).
MODEL_OPTIONS = {
    "--window": ("lstm-ae", "conv-ae", "forecaster"),
    "--horizon": ("forecaster",),
    "--dense-units": ("lstm-ae",),
    "--lstm-units": ("lstm-ae", "forecaster"),
    "--epochs": ("lstm-ae", "conv-ae", "forecaster"),
}

# Fewer training rows than this many model windows earn a warning at fit (the hard floor is one window).
MANY_WINDOWS = 10


@dataclass
class Message:
    """A line for the user: "note" (what reading or fitting assumed) or "warning" (what may spoil the fit)."""

    level: str
    text: str


@dataclass
class ReadOptions:
    """How `detect` reads a file (`load_telemetry`'s options): the signal columns (None: every numeric one at
    fit, the fitted ones at score), the time and label columns, the CSV separator, columns to leave out, and
    how many missing cells in a row to interpolate. `optional`: the remembered time or label column, which a
    scored file may lack (a note says so)."""

    columns: list[str] | None = None
    time_column: str | None = None
    label_column: str | None = None
    sep: str | None = None
    drop: list[str] | None = None
    fill_missing: int = 0
    optional: tuple[str, ...] = ()

    @classmethod
    def at_score(cls, saved: dict, columns: list[str] | None = None, time_column: str | None = None,
                 label_column: str | None = None, sep: str | None = None, drop: list[str] | None = None,
                 fill_missing: int | None = None) -> "ReadOptions":
        """The read options of a scoring: each one given, else the one saved at fit (`saved`: read_options.json, as
        `load_read_options` gives it). A time or label column remembered from the fit and not given here is
        optional: a scored file may lack it (a note says so). So is a label column given here ("label-given"): a
        file without it is scored without evaluation (labels never change the alarms), with a note."""
        optional = tuple(name for name, given in (("time", time_column), ("label", label_column))
                         if given is None and saved.get(f"{name}_column"))
        optional += ("label-given",) if label_column else ()
        return cls(columns if columns is not None else saved.get("columns"), time_column or saved.get("time_column"),
                   label_column or saved.get("label_column"), sep or saved.get("sep"),
                   drop or saved.get("drop") or None, saved.get("fill_missing", 0) if fill_missing is None else
                   fill_missing, optional)

    def load(self, path, **options) -> Telemetry:
        """The file at `path` read with these options, a time column guessed by its name when none is given."""
        from tinyad.detectors.telemetry import load_telemetry

        return load_telemetry(path, self.columns, self.time_column, self.label_column, self.sep, self.drop,
                              optional=self.optional, guess_time=True, fill_missing=self.fill_missing, **options)


@dataclass
class TrainingSet:
    """The normal files a detector is fitted on, read (`loaded`), the rows of each it trains on (`segments`), the
    signal columns, the time column taken by its name (if any), the first file's sampling interval
    (`median_interval`) and what the user should hear before the training starts (`messages`, in order)."""

    loaded: list[Telemetry]
    segments: list[np.ndarray]
    columns: list[str]
    guessed_time: str | None = None
    sampling: dict | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def rows(self) -> np.ndarray:
        """Every training row, the files' segments one after another."""
        return np.concatenate(self.segments)


def check_model_options(kind: str, given: dict) -> None:
    """Refuse (InputError naming the CLI option and the models that take it) a model option given for a model
    that has no such setting, e.g. --window for pca-t2q. `given` maps option -> value (None = not given)."""
    for option, value in given.items():
        if value is not None and kind not in MODEL_OPTIONS[option]:
            raise InputError(f"{option} does not apply to --model {kind}",
                             hint=f"{option} is taken by {', '.join(MODEL_OPTIONS[option])}; leave it out for {kind}")


def model_config_of(detector):
    """The detector's model config (its class's defaults with the options given), fitted or not."""
    from tinyad.detectors.pipeline import detector_kinds

    _, config_cls = detector_kinds()[detector.kind]
    return config_cls(**detector.model_config)


def check_model_config(detector) -> None:
    """Build the (unfitted) model's config once so that a bad combination of model options (e.g. a Conv-AE window
    that its strides do not divide) fails before the data is loaded. Keras is imported only by fit itself."""
    from tinyad.detectors.pipeline import bad_option_error, detector_kinds

    try:
        model_config_of(detector)
    except TypeError as err:
        raise bad_option_error(detector.kind, detector_kinds()[detector.kind][1], err) from err


def rows_per_window(detector) -> int:
    """The rows one model input spans (window, or history + horizon); 1 for the per-row baselines."""
    config = model_config_of(detector)
    if hasattr(config, "history"):
        return int(config.history) + int(config.horizon)
    return int(getattr(config, "window", 1))


def load_read_options(model_dir: Path) -> dict:
    """The read options and training statistics saved by `detect fit` (empty for folders fitted before they were
    saved, or saved by `LabelFreeDetector.save`); InputError when `model_dir` is no folder."""
    if not Path(model_dir).is_dir():
        raise InputError(f"{model_dir}: no such detector folder", hint="give the folder `detect fit --out` wrote")
    path = Path(model_dir) / READ_OPTIONS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: corrupt ({err})", hint="refit the detector with `tinyad detect fit`") from err


def remove_previous_fit(out_dir: Path) -> list[str]:
    """Delete the files a previous fit wrote into `out_dir` (FIT_FILES only, nothing else) and return
    their names."""
    return [path.name for path in remove_outputs(outputs_in(out_dir, FIT_FILES))]


def labelled_faults(loaded) -> list[tuple[str, str]]:
    """(file, label) of the tinyad sessions among `loaded` (Telemetry) whose metadata label names a class other
    than normal: not "normal" and not one of datasets.UNLABELLED ("unknown", ""). CSV files carry no label."""
    from tinyad.datasets import NORMAL_LABEL, UNLABELLED

    return [(item.source, item.session_label) for item in loaded
            if item.session_label is not None and item.session_label.strip() not in (NORMAL_LABEL, *UNLABELLED)]


def labelled_faults_text(faults: list[tuple[str, str]], total: int, shown: int = 5) -> str:
    """The refusal's text, at most `shown` files named: e.g. "2 of 5 files are sessions labelled as faults, not
    normal: a.parquet (bearing_fault), b.parquet (imbalance)"."""
    listed = ", ".join(f"{source} ({label})" for source, label in faults[:shown])
    more = f" and {len(faults) - shown} more" if len(faults) > shown else ""
    return f"{len(faults)} of {total} files are sessions labelled as faults, not normal: {listed}{more}"


def labelled_training_rows(item, rows: int, label_column: str | None, by_time: bool = False) -> str | None:
    """A warning when the first `rows` rows of `item` (Telemetry, the rows a fit trains on) hold rows that its own
    label column marks anomalous (1): the --label-column's, else a well-known label column's
    (`Telemetry.label_like_marks`); None when none do, or for a session (its label is checked as a whole). E.g.
    rows 1..400 trained, column anomaly 1 on rows 301..420 -> "a.csv: 100 of the 400 training rows are labelled
    anomalous in column 'anomaly' (the first is data row 301) ... --train-rows 300 ..."; `by_time` (the rows were
    chosen with --train-until): the time of that first row instead."""
    if item.session_label is not None:
        return None
    marks = ({label_column: item.labels == 1} if item.labels is not None and label_column else {}) or \
        item.label_like_marks
    for name, marked in marks.items():
        hits = np.flatnonzero(marked[:rows])
        if len(hits):
            if not hits[0]:
                stop_before = "files or rows that hold none"
            elif by_time and item.time is not None:
                stop_before = f"a --train-until at or before {time_text(item.time[hits[0]])} (that row's time)"
            else:
                stop_before = f"--train-rows {hits[0]} or an earlier --train-until"
            return (f"{item.source}: {len(hits)} of the {rows} training rows are labelled anomalous in column "
                    f"{name!r} (the first is data row {hits[0] + 1}): a label-free detector learns them as normal "
                    f"and would not alarm on faults like them; train on {stop_before}")
    return None


def increasing_columns(segments, names: list[str], min_rows: int = 3) -> list[str]:
    """The columns that increase on every row of every segment with at least `min_rows` rows (none when no
    segment is that long): a time stamp or counter. Taken as a signal, it puts every later recording outside
    the training range. E.g. increasing_columns([np.array([[0, 5], [1, 4], [2, 6]])], ["ms", "a"]) -> ["ms"]."""
    long_enough = [np.asarray(s, float) for s in segments if len(s) >= min_rows]
    if not long_enough:
        return []
    rising = np.logical_and.reduce([(np.diff(s, axis=0) > 0).all(axis=0) for s in long_enough])
    return [name for name, up in zip(names, rising) if up]


def few_training_rows_warning(rows: int, window: int, channels: int) -> str | None:
    """A warning when the training rows hold fewer than MANY_WINDOWS model windows, or (per-row models, window 1)
    fewer than MANY_WINDOWS rows per channel (a covariance of 8 channels from 12 rows); None otherwise."""
    seen = "the detector has seen little of normal operation, and anything else it scores as anomalous"
    if window > 1 and rows < MANY_WINDOWS * window:
        return (f"{rows} training rows span {rows / window:.3g} windows of {window} rows (fewer than "
                f"{MANY_WINDOWS}): {seen}")
    if window == 1 and rows < MANY_WINDOWS * channels:
        return f"{rows} training rows for {channels} channels (fewer than {MANY_WINDOWS} per channel): {seen}"
    return None


def _columns_mismatch_hint(first: Telemetry, other: Telemetry) -> str:
    mixed = {first.time_like_signal, other.time_like_signal} - {None}
    if mixed:
        return (f"column {mixed.pop()!r} reads as time stamps in one file and not in the other: name the time "
                "column with --time-column")
    return ("files fitted together are more recordings of the same channels; for two loggers on one machine, fit a "
            "detector per logger, or join their files by time into one first (pandas.merge_asof, with each "
            "logger's clock offset), as docs/label-free-detection.md shows")


def read_training_set(files, reading: ReadOptions, train_rows: int | None = None, train_until: str | None = None,
                      allow_labelled_faults: bool = False) -> TrainingSet:
    """Read the normal `files` (paths; one path alone is one file) with `reading` (well-known label columns left
    out unless named) and choose the
    rows to train on: the first `train_rows` of each file, or those before the time `train_until`, else all.

    Raises InputError for sessions labelled as faults (unless `allow_labelled_faults`: then a warning), files
    with other columns than the first, and a `train_until` with no rows before it in some file. The messages
    say, in this order, what reading assumed (per file), the label and time columns taken or left out, the rows
    chosen, training rows labelled anomalous, the sampling of the rows trained on (gaps, steps back), columns
    that rise on every row (a counter) and columns that never change."""
    from tinyad.detectors.sampling import median_interval, rows_before, sampling_notes
    from tinyad.timestamps import time_unit_from_name

    if train_rows and train_until:
        raise InputError("--train-rows and --train-until both choose the training rows", hint="give one of them")
    if train_rows is not None and (isinstance(train_rows, bool) or not isinstance(train_rows, (int, np.integer))
                                   or train_rows < 1):
        raise InputError(f"--train-rows must be a whole number >= 1, got {train_rows!r}",
                         hint="the number of leading rows of each file to train on; None trains on all of them")
    files = [files] if isinstance(files, (str, Path)) else list(files)
    messages = []

    def note(text):
        messages.append(Message("note", text))

    def warn(text):
        messages.append(Message("warning", text))

    loaded = [reading.load(path, drop_label_like=True) for path in files]
    faults = labelled_faults(loaded)
    if faults and not allow_labelled_faults:
        # a label-free detector learns what it is fitted on as normal: fitted on a fault, it stays quiet on it
        raise InputError(f"{labelled_faults_text(faults, len(loaded))}; a label-free detector takes everything it "
                         "is fitted on as normal, so it would not alarm on these faults",
                         hint="fit on the sessions labelled normal only, or give --allow-labelled-faults to fit on "
                              "them anyway")
    if faults:
        warn(f"{labelled_faults_text(faults, len(loaded))}; fitting on them as normal (--allow-labelled-faults)")
    names = loaded[0].columns
    for item in loaded[1:]:
        if item.columns != names:
            raise InputError(f"{item.source}: columns {item.columns} differ from {names}",
                             hint=_columns_mismatch_hint(loaded[0], item))
    for item in loaded:  # what reading assumed: before hours of training, not after
        for text in item.notes:
            note(f"{item.source}: {text}")
    left_out = sorted({c for item in loaded for c in item.label_like_left_out})
    if left_out:
        note(f"left out label column(s) {', '.join(left_out)} (labels are never inputs; name them with --columns "
             "to use them as signals)")
    guessed_time = next((item.time_name for item in loaded if item.time_guessed), None)
    time_like = sorted({item.time_like_signal for item in loaded if item.time_like_signal})
    if time_like:
        note(f"column(s) {', '.join(time_like)} named like time do not read as time stamps (a value decreases, is "
             "missing or is not a number or date): used as signals; name the time column with --time-column, or "
             "leave it out with --drop")
    if guessed_time:
        note(f"took column {guessed_time!r} as the time column (named like one; saved for `detect score`); name "
             "another with --time-column, or use it as a signal with --columns")
    if train_until:
        cuts = [rows_before(item.time, train_until, item.time_unit) for item in loaded]
        train_rows_of, limit = [rows for rows, _ in cuts], cuts[0][1]
        empty = [item.source for item, rows in zip(loaded, train_rows_of) if rows == 0]
        if empty:
            raise InputError(f"--train-until {train_until} (read as {limit}): no rows before it in "
                             f"{', '.join(empty)}", hint="give a later time, or leave those files out")
        segments = [item.values[:rows] for item, rows in zip(loaded, train_rows_of)]
        note(f"training on the rows before {limit} (--train-until {train_until}): "
             + ", ".join(f"{rows} of {len(item.values)}" for item, rows in zip(loaded, train_rows_of)))
        whole = [item.source for item, rows in zip(loaded, train_rows_of) if rows == len(item.values)]
        if whole:  # a limit after the end is most likely a misread date, and would train on any faults too
            warn(f"--train-until {limit} is after the last row of {', '.join(whole)}: trained on all of it")
    else:
        segments = [item.values[:train_rows] if train_rows else item.values for item in loaded]
        short = [f"{item.source} ({len(item.values)})" for item in loaded
                 if train_rows and train_rows > len(item.values)]
        if short:  # as with a --train-until after the end: a typo that would train on any faults too
            warn(f"--train-rows {train_rows} is more than the rows of {', '.join(short)}: trained on all of it")
    for item, segment in zip(loaded, segments):  # labels are never fitted on, but they tell of faults trained on
        if warning := labelled_training_rows(item, len(segment), reading.label_column, by_time=bool(train_until)):
            warn(warning)
    for item, segment in zip(loaded, segments):  # the time column of the rows trained on: gaps, steps back
        unit = item.time_unit or time_unit_from_name(item.time_name)
        time = item.time[:len(segment)] if item.time is not None else None
        for text in sampling_notes(time, None, unit, at_fit=True):
            note(f"{item.source}: {text}")
    counters = increasing_columns(segments, names)
    if counters:
        warn(f"column(s) {', '.join(counters)} increase on every row, like a time stamp or counter: as a signal "
             "every later recording lies outside the training range; name a time column with --time-column, or "
             "leave it out with --drop")
    constant = [name for name, values in zip(names, np.concatenate(segments).T) if np.ptp(values) == 0]
    if constant:
        warn(f"column(s) {', '.join(constant)} never change in the training data (a setting or a status flag?): "
             "scaled with std 1, any later change scores as a large anomaly; leave them out with --drop unless that "
             "is what you want")
    intervals = [(item, median_interval(item.time, item.time_unit or time_unit_from_name(item.time_name)))
                 for item in loaded]
    sampling = intervals[0][1]
    if warning := mixed_intervals_warning(intervals):
        warn(warning)
    return TrainingSet(loaded, segments, names, guessed_time, sampling, messages)


def mixed_intervals_warning(intervals) -> str | None:
    """A warning when the training files are sampled at different intervals (`intervals`: (file, its
    `median_interval`) pairs): windows and smoothing count rows, so one model would learn two time scales, and
    scoring judges files against the first one's interval. None when they agree (within INTERVAL_TOLERANCE)."""
    from tinyad.detectors.sampling import INTERVAL_TOLERANCE, _span_text  # scoring's tolerance for "another interval"

    first_item, first = intervals[0]
    if not first:
        return None
    other = [(item, found) for item, found in intervals[1:] if found and found.get("unit") == first.get("unit")
             and abs(found["interval"] / first["interval"] - 1) > INTERVAL_TOLERANCE]
    if not other:
        return None
    listed = ", ".join(f"{item.source} ({_span_text(found['interval'], found['unit'])})" for item, found in other[:4])
    return (f"the training files are sampled at different intervals: {first_item.source} every "
            f"{_span_text(first['interval'], first['unit'])}, {listed}: windows and smoothing count rows, so the "
            "model learns two time scales; resample them to one interval (scoring compares files with the first's)")


def fit_record(training: TrainingSet, reading: ReadOptions) -> dict:
    """What read_options.json holds: the read options `detect score` takes as its defaults (the time column taken
    by its name among them), and what it compares a scored file with: the training interval, the signals' mean
    and std, each channel's longest constant run, and the files and rows fitted on (by content and by values)."""
    from tinyad.detectors.fitted_rows import file_fingerprint, values_fingerprint
    from tinyad.detectors.pipeline import longest_constant_runs

    rows = training.rows
    return {"columns": training.columns, "time_column": reading.time_column or training.guessed_time,
            "sep": reading.sep, "drop": reading.drop or [], "label_column": reading.label_column,
            "fill_missing": reading.fill_missing or 0,
            # so that `detect score` can tell a file sampled at another interval
            "sampling": training.sampling,
            # the PNGs of `detect score` z-score the signals with these, so a level shift shows
            "signal_mean": rows.mean(0).tolist(), "signal_std": rows.std(0).tolist(),
            # so that `detect score` can tell a stuck sensor from a channel that often holds still
            "longest_constant_run": [max(runs) for runs in zip(*(
                [length for length, _ in longest_constant_runs(s)] for s in training.segments))],
            # so that `detect score` leaves the rows fitted on out of a labelled file's evaluation
            "trained_on": [{"file": str(Path(item.source).resolve()), **file_fingerprint(item.source),
                            "rows": len(segment), "values_sha256": values_fingerprint(segment)}
                           for item, segment in zip(training.loaded, training.segments)]}


def save_fit(detector, out_dir: Path, training: TrainingSet, reading: ReadOptions) -> list[str]:
    """Save the fitted `detector` into `out_dir` with its columns and read_options.json (`fit_record`), after
    removing a previous fit's files (returned by name; nothing else in the folder is touched)."""
    if detector.n_channels is None:
        raise InputError("the detector is not fitted", hint="fit it on training.segments before save_fit")
    if (detector.columns is not None and list(detector.columns) != training.columns) or \
            detector.n_channels != len(training.columns):
        fitted = ", ".join(detector.columns) if detector.columns is not None else f"{detector.n_channels} channels"
        raise InputError(f"the detector was fitted on {fitted}, not on this training set's columns "
                         f"{', '.join(training.columns)}", hint="fit it on training.segments, then save it with them")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_previous_fit(out_dir)
    detector.columns = training.columns
    detector.save(out_dir)  # columns.txt among its files
    (out_dir / READ_OPTIONS_FILE).write_text(json.dumps(fit_record(training, reading), indent=2))
    return removed


def after_fit_messages(detector, training: TrainingSet) -> list[Message]:
    """What to say of a fitted detector: that a dynamic threshold cannot find a session faulty throughout, that
    pca-t2q on one channel is a z-score, and too few training rows for the model's window."""
    messages = []
    if detector.threshold.method == "dynamic" and all(item.session_label is not None for item in training.loaded):
        messages.append(Message("note", "the dynamic threshold is set on each scored file's own errors and flags "
                                        "departures within it; a whole recording faulty throughout (an IMU session "
                                        "of a worn machine) stands out nowhere: score sessions with --threshold "
                                        "quantile or sigma (no refit needed)"))
    if detector.kind == "pca-t2q" and len(training.columns) == 1:
        messages.append(Message("note", "one channel: PCA's T2 is the squared z-score and Q is 0, so pca-t2q is a "
                                        "z-score detector here (a fair baseline; PCA's use is the ties between "
                                        "channels)"))
    if warning := few_training_rows_warning(len(training.rows), rows_per_window(detector), len(training.columns)):
        messages.append(Message("warning", warning))
    return messages
