"""`tinyad detect fit|score`: label-free detectors on multivariate CSV/Parquet telemetry and IMU sessions
(thin click wrappers over tinyad.detectors)."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import click

from tinyad.atomic import atomic_path, outputs_in, remove_outputs, write_text_atomic
from tinyad.detectors.pipeline import COLUMNS_FILE, KIND_NAMES, THRESHOLD_METHODS
from tinyad.detectors.skab_rule import UCL_FACTOR, UCL_QUANTILE
from tinyad.detectors.sampling import median_step
from tinyad.errors import ALARMS_EXIT_CODE, AlarmsFound, InputError, TinyadError
from tinyad.paths import distinct_stems

# What `detect fit` writes besides the model's own files: the signal columns in order, and the read options
# and training statistics that `detect score` uses as its defaults (folders fitted before it still load).
READ_OPTIONS_FILE = "read_options.json"
# Every file a fit writes into its folder: a refit removes those of the previous fit first, so that no stale
# model.keras of an LSTM-AE lies beside the model.pkl of a PCA refit.
FIT_FILES = ("model.keras", "model.pkl", "detector.json", "pipeline.json", COLUMNS_FILE, READ_OPTIONS_FILE)
# `detect score --out`: every file's alarms, regions and warning marks, and the files that failed, for scripts
SUMMARY_FILE = "summary.json"

# The model options of `detect fit` and the models that take each (any other model refuses them).
MODEL_OPTIONS = {
    "--window": ("lstm-ae", "conv-ae", "forecaster"),
    "--horizon": ("forecaster",),
    "--dense-units": ("lstm-ae",),
    "--lstm-units": ("lstm-ae", "forecaster"),
    "--epochs": ("lstm-ae", "conv-ae", "forecaster"),
}


def _int_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise InputError(f"bad list of integers {text!r}", hint="e.g. --lstm-units 32,8") from err


def _columns(given: tuple[str, ...] | str | None) -> list[str] | None:
    """Column names from a repeatable option, each use comma-separated: ("a,b", "c") -> ["a", "b", "c"];
    nothing given -> None."""
    texts = (given,) if isinstance(given, str) else tuple(given or ())
    names = [c.strip() for text in texts for c in text.split(",") if c.strip()]
    return names or None


def check_model_options(kind: str, given: dict) -> None:
    """Refuse (InputError naming the CLI option and the models that take it) a model option given for a model
    that has no such setting, e.g. --window for pca-t2q. `given` maps option -> value (None = not given)."""
    for option, value in given.items():
        if value is not None and kind not in MODEL_OPTIONS[option]:
            raise InputError(f"{option} does not apply to --model {kind}",
                             hint=f"{option} is taken by {', '.join(MODEL_OPTIONS[option])}; leave it out for {kind}")


def check_label_not_input(label_column: str | None, input_columns: list[str], model_dir: Path) -> None:
    """Refuse to evaluate against a label column the model also takes as an input: the score would be computed
    from the answer (a model fitted on a file's label column scores its own labels)."""
    if label_column and label_column in input_columns:
        raise InputError(f"--label-column {label_column!r} is one of the model's input columns "
                         f"({', '.join(input_columns)}): the model was fitted on the labels",
                         hint=f"refit without it, e.g. `tinyad detect fit ... --out {model_dir} --drop "
                              f"{label_column}` (or --label-column {label_column})")


def check_drop_not_input(drop: list[str] | None, input_columns: list[str], model_dir: Path) -> None:
    """Refuse a `detect score --drop` of columns the model takes as inputs: a fitted detector needs every column
    it was fitted on, so the drop could not be honoured (it was ignored before, and a NaN hint looped on it)."""
    needed = [c for c in drop or [] if c in input_columns]
    if needed:
        listed = ",".join(needed)
        raise InputError(f"--drop {listed}: the detector in {model_dir} was fitted on {', '.join(input_columns)} "
                         "and needs every one of them to score",
                         hint=f"leave --drop out, or refit without them (`tinyad detect fit ... --out {model_dir} "
                              f"--drop {listed}`)")


def match_columns(given: list[str] | None, saved: list[str] | None) -> list[str] | None:
    """The columns to read for scoring: the model's saved columns in their fitted order. Columns given with
    --columns must be the same names (in any order); else InputError naming expected and given. No saved
    columns (a folder written through the Python API): the given ones, as they are."""
    if saved is None or given is None:
        return saved or given
    if sorted(given) != sorted(saved) or len(set(given)) != len(given):
        missing = [c for c in saved if c not in given]
        extra = [c for c in given if c not in saved]
        raise InputError(f"--columns {', '.join(given)} differ from the columns the model was fitted on: expected "
                         f"{', '.join(saved)}" + (f"; missing {missing}" if missing else "")
                         + (f"; not in the model {extra}" if extra else ""),
                         hint="leave --columns out (the saved columns are used, matched by name), or refit")
    return list(saved)


def load_read_options(model_dir: Path) -> dict:
    """The read options and training statistics saved by `detect fit` (empty for folders fitted before
    they were saved)."""
    path = model_dir / READ_OPTIONS_FILE
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


def expand_folders(paths, echo=None) -> list[Path]:
    """The files to read, in the order given, each once (a repeat is noted through `echo`): a file as it is, a
    folder replaced by its session files (*.parquet, sorted), as `tinyad evaluate` reads them
    (`commands.pipeline.session_files`). A folder without any is refused (InputError), with a hint to name its
    CSV files when it holds some."""
    from tinyad.commands.pipeline import session_files

    for folder in (path for path in map(Path, paths) if path.is_dir()):
        if not session_files([folder])[0]:
            csv = next(iter(sorted(folder.glob("*.csv"))), None)
            raise InputError(f"{folder}: a folder without session or Parquet files (*.parquet)",
                             hint=f"name the CSV files themselves, e.g. {folder / '*.csv'}" if csv else
                             "give CSV, Parquet or session files, or a folder of session files")
    files, repeats = session_files(paths, missing_ok=True)  # a missing file is named by the reader, with its hint
    if repeats and echo:
        echo(f"note: {len(repeats)} file(s) given more than once, used once: "
             + ", ".join(map(str, repeats[:5])) + (" ..." if len(repeats) > 5 else ""))
    return files


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
    import numpy as np

    from tinyad.detectors.sampling import time_text

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
    import numpy as np

    long_enough = [np.asarray(s, float) for s in segments if len(s) >= min_rows]
    if not long_enough:
        return []
    rising = np.logical_and.reduce([(np.diff(s, axis=0) > 0).all(axis=0) for s in long_enough])
    return [name for name, up in zip(names, rising) if up]


_read_options = [
    click.option("--columns", multiple=True,
                 help="Signal columns, comma-separated or repeated (fit: default every numeric column or a session's "
                      "channels; score: the fitted columns, which are also the only ones it takes)."),
    click.option("--time-column", help="Column holding time stamps (excluded from the signals; default: a column "
                                        "named t, time, timestamp, datetime, ...); a date column and a time-of-day "
                                        "column as DATE+TIME (e.g. Datum+Uhrzeit, also found by name)."),
    click.option("--sep", help="CSV separator (default: sniffed from the file; e.g. ';' in European exports)."),
    click.option("--drop", multiple=True,
                 help="Columns to leave out of the signals, comma-separated or repeated (e.g. other label columns)."),
    click.option("--fill-missing", type=click.IntRange(min=0),
                 help="Interpolate runs of up to N missing or non-numeric cells in a signal column (a note counts "
                      "them); longer runs stay an error. Default 0: none at fit; score: as at fit."),
]


def _with_read_options(func):
    for option in reversed(_read_options):
        func = option(func)
    return func


class RowsOrDuration(click.ParamType):
    """A number of rows ("12") or a duration ("30min", "1h", "2 days": pandas.Timedelta's forms), returned as an
    int or a pandas.Timedelta; rows at least `least`, durations above zero."""

    name = "ROWS|DURATION"

    def __init__(self, least: int):
        self.least = least

    def convert(self, value, param, ctx):
        if isinstance(value, (int, timedelta)):
            return value
        text = str(value).strip()
        if text.isdigit():
            if int(text) < self.least:
                self.fail(f"{text} rows is below the least, {self.least}", param, ctx)
            return int(text)
        import pandas as pd

        try:
            duration = pd.Timedelta(text)
        except ValueError:
            self.fail(f"{value!r} is neither a number of rows nor a duration (e.g. 12, 30min, 1h, 2d)", param, ctx)
        if duration == pd.Timedelta(0) and self.least == 0:
            return 0
        if duration <= pd.Timedelta(0):
            self.fail(f"{value!r}: a duration must be longer than 0", param, ctx)
        return duration


def region_option_text(value) -> str:
    """How --merge-gap / --min-rows read in the output: "12 rows", "1 h", "50 ms"."""
    if isinstance(value, int):
        return f"{value} rows"
    from tinyad.battery.bms import describe_duration

    return describe_duration(value) if value.total_seconds() >= 1 else f"{value.total_seconds() * 1000:.3g} ms"


# The threshold's settings (not the EWMA span: the saved training errors are smoothed with it): fit saves them,
# score may override them for one scoring without refitting the model.
# (ThresholdConfig field, option names, default at fit, type, help)
THRESHOLD_SETTINGS = (
    ("p", ("--p", "prune_p"), 0.13, click.FloatRange(0.0, 1.0), "Dynamic: pruning fraction (0..1)."),
    ("window", ("--error-window", "error_window"), None, RowsOrDuration(2),
     "Dynamic: error window length in rows, or a duration (1h, 30min) in the training data's sampling interval; "
     "one threshold per window (none: the whole scored series)."),
    ("quantile", ("--quantile", "quantile"), 0.99, click.FloatRange(0.0, 1.0, min_open=True),
     "Quantile threshold: quantile of the smoothed training errors, in (0, 1]."),
    ("k", ("--k", "k_sigma"), 3.0, click.FloatRange(min=0.0),
     "Sigma threshold: mean + k standard deviations of the smoothed training errors (k >= 0)."),
    ("ucl_quantile", ("--ucl-quantile", "ucl_quantile"), UCL_QUANTILE, click.FloatRange(0.0, 1.0, min_open=True),
     "Covering: quantile of the training windows' residuals, in (0, 1]."),
    ("ucl_factor", ("--ucl-factor", "ucl_factor"), UCL_FACTOR, click.FloatRange(min=0.0, min_open=True),
     "Covering: factor on that quantile (> 0)."),
)


def error_window_rows(value, sampling: dict | None) -> int | None:
    """--error-window as rows: rows stay as given; a duration is counted in the training data's median sampling
    interval (`sampling` as `median_interval` gives it, saved at fit), at least 2 rows. E.g. 1 h at 5 minutes ->
    12. InputError when the training data have no interval in seconds to count with."""
    if value is None or isinstance(value, int):
        return value
    if not sampling or sampling.get("unit") != "s" or not sampling.get("interval"):
        raise InputError(f"--error-window {region_option_text(value)}: a duration needs the training data's sampling "
                         "interval, and their time column gives none in seconds",
                         hint="give rows instead, e.g. --error-window 100")
    return max(2, round(value.total_seconds() / sampling["interval"]))


def error_window_rounding_note(value, sampling: dict | None) -> str | None:
    """A note when --error-window's duration spans fewer than 2 rows of the training interval, so the least
    window, 2 rows, is used instead, e.g. 1 min at 5-minute rows: "--error-window 1 min is 0.2 rows at the
    training data's interval (5 min): the least error window, 2 rows, is used". None otherwise."""
    if not isinstance(value, timedelta) or not sampling or sampling.get("unit") != "s" or not sampling.get("interval"):
        return None
    rows = value.total_seconds() / sampling["interval"]
    if round(rows) >= 2:
        return None
    import pandas as pd

    from tinyad.battery.bms import describe_duration

    return (f"--error-window {region_option_text(value)} is {rows:.2g} rows at the training data's interval "
            f"({describe_duration(pd.Timedelta(seconds=sampling['interval']))}): the least error window, 2 rows, "
            "is used")


def _threshold_settings(at_fit: bool):
    """THRESHOLD_SETTINGS as options: with their defaults at fit; at score without (None: as saved at fit)."""
    def decorate(func):
        for _, decls, default, kind, text in reversed(THRESHOLD_SETTINGS):
            func = click.option(*decls, type=kind, default=default if at_fit else None,
                                show_default=f"{default:.4g}" if at_fit and default is not None else False,
                                help=text if at_fit else f"{text} Default: as saved at fit.")(func)
        return func
    return decorate


# The threshold method each setting belongs to (ThresholdConfig field -> method)
SETTING_METHOD = {"p": "dynamic", "window": "dynamic", "quantile": "quantile", "k": "sigma",
                  "ucl_quantile": "covering", "ucl_factor": "covering"}


def unused_settings_note(overrides: dict, method: str) -> str | None:
    """A note naming the threshold options given at score that the threshold in use does not read, e.g. --k with
    a dynamic threshold; None when all apply."""
    options = {name: decls[0] for name, decls, *_ in THRESHOLD_SETTINGS}
    unused = [name for name in overrides if SETTING_METHOD[name] != method]
    if not unused:
        return None
    listed = ", ".join(f"{options[name]} (for --threshold {SETTING_METHOD[name]})" for name in unused)
    return f"{listed} ignored: this scoring's threshold is {method}"


def threshold_overrides(**given) -> dict:
    """The ThresholdConfig fields given at score, keyed by THRESHOLD_SETTINGS' parameter names (prune_p=0.2 ->
    {"p": 0.2}); those None are left out."""
    fields = {decls[1]: name for name, decls, *_ in THRESHOLD_SETTINGS}
    return {fields[key]: value for key, value in given.items() if value is not None}


@click.group("detect")
def detect():
    """Label-free anomaly detection: fit on normal data, score new data, plot the alarms."""


@detect.command("fit")
@click.argument("normal_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the fitted detector.")
@click.option("--model", "kind", default="lstm-ae", show_default=True,
              type=click.Choice(list(KIND_NAMES)))
@_with_read_options
@click.option("--label-column", help="Label column to exclude from the signals (labels are never used to fit).")
@click.option("--train-rows", type=click.IntRange(min=1),
              help="Use only the first N rows of each file (the rest may hold faults).")
@click.option("--train-until", help="Use only the rows of each file before this time (the rest may hold faults), "
                                    "e.g. 2024-03-11 or '2024-03-11 06:00'; needs a time column.")
@click.option("--window", type=click.IntRange(min=2),
              help="LSTM-AE / Conv-AE window, forecaster history (steps).")
@click.option("--horizon", type=click.IntRange(min=1), help="Forecaster: steps predicted ahead.")
@click.option("--dense-units", help="LSTM-AE: comma-separated Dense encoder widths, e.g. 16 (empty: none).")
@click.option("--lstm-units", help="LSTM-AE, forecaster: comma-separated LSTM widths, e.g. 32,8 (the last is "
                                   "the AE bottleneck).")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Maximum training epochs (early stopping on the last 20 %).")
@click.option("--threshold", "method", default="dynamic", show_default=True, type=click.Choice(THRESHOLD_METHODS),
              help="covering (lstm-ae, conv-ae): SKAB's Conv-AE rule on per-window residuals.")
@click.option("--span", "smoothing_span", type=click.FloatRange(min=1.0), default=10.0, show_default=True,
              help="EWMA span (steps, >= 1; 1 = no smoothing).")
@_threshold_settings(at_fit=True)
@click.option("--allow-labelled-faults", is_flag=True,
              help="Fit on sessions labelled as faults too (they are then taken as normal).")
def fit(normal_files, out_dir, kind, columns, time_column, sep, drop, fill_missing, label_column, train_rows,
        train_until, window, horizon, dense_units, lstm_units, epochs, method, smoothing_span, prune_p, error_window,
        quantile, k_sigma, ucl_quantile, ucl_factor, allow_labelled_faults):
    """Fit a detector on NORMAL_FILES (CSV, Parquet or tinyad sessions holding normal data only; a folder
    gives its session files).

    Well-known label columns (anomaly, changepoint, label, labels, is_anomaly, attack; any case) and the
    --label-column are never inputs unless named with --columns; a column named like a time column (t, time,
    timestamp, datetime, ...) is the time column unless --time-column names another. Sessions labelled as
    faults are refused unless --allow-labelled-faults is given. The read options (--time-column, --sep, --drop,
    --fill-missing, --label-column) are saved with the detector and become the defaults of `detect score`."""
    import numpy as np

    from tinyad.detectors.pipeline import (WINDOW_AUTOENCODERS, LabelFreeDetector, ThresholdConfig, fit_summary,
                                           longest_constant_runs)
    from tinyad.detectors.fitted_rows import file_fingerprint, values_fingerprint
    from tinyad.detectors.sampling import median_interval, rows_before, sampling_notes
    from tinyad.detectors.telemetry import load_telemetry
    from tinyad.timestamps import time_unit_from_name

    # Everything that can be checked without the data is checked before loading it.
    check_model_options(kind, {"--window": window, "--horizon": horizon, "--dense-units": dense_units,
                               "--lstm-units": lstm_units, "--epochs": epochs})
    if train_rows and train_until:
        raise InputError("--train-rows and --train-until both choose the training rows",
                         hint="give one of them")
    if method == "covering" and kind not in WINDOW_AUTOENCODERS:
        raise InputError(f"the covering threshold needs a window autoencoder, not {kind}",
                         hint=f"use --model {' or '.join(WINDOW_AUTOENCODERS)}, or another threshold")
    model_config = {}
    if window is not None:
        model_config["history" if kind == "forecaster" else "window"] = window
    if horizon is not None:
        model_config["horizon"] = horizon
    if dense_units is not None:
        model_config["dense_units"] = _int_list(dense_units)
    if lstm_units is not None:
        model_config["lstm_units"] = _int_list(lstm_units)
    if epochs is not None:
        model_config["epochs"] = epochs
    threshold = ThresholdConfig(method=method, smoothing_span=smoothing_span, p=prune_p,
                                window=None if isinstance(error_window, timedelta) else error_window,
                                quantile=quantile, k=k_sigma, ucl_quantile=ucl_quantile, ucl_factor=ucl_factor)
    detector = LabelFreeDetector(kind, threshold, model_config)
    _check_model_config(detector)
    chosen = _columns(columns)
    if chosen and label_column in chosen:
        raise InputError(f"--label-column {label_column!r} is also named in --columns: labels are never inputs",
                         hint=f"leave {label_column!r} out of --columns")

    loaded = [load_telemetry(p, chosen, time_column, label_column, sep, _columns(drop), drop_label_like=True,
                             guess_time=True, fill_missing=fill_missing or 0)
              for p in expand_folders(normal_files, echo=click.echo)]
    faults = labelled_faults(loaded)
    if faults and not allow_labelled_faults:
        # a label-free detector learns what it is fitted on as normal: fitted on a fault, it stays quiet on it
        raise InputError(f"{labelled_faults_text(faults, len(loaded))}; a label-free detector takes everything it "
                         "is fitted on as normal, so it would not alarm on these faults",
                         hint="fit on the sessions labelled normal only, or give --allow-labelled-faults to fit on "
                              "them anyway")
    if faults:
        click.secho(f"warning: {labelled_faults_text(faults, len(loaded))}; fitting on them as normal "
                    "(--allow-labelled-faults)", fg="yellow", err=True)
    names = loaded[0].columns
    for item in loaded[1:]:
        if item.columns != names:
            mixed = {loaded[0].time_like_signal, item.time_like_signal} - {None}
            raise InputError(f"{item.source}: columns {item.columns} differ from {names}",
                             hint=f"column {mixed.pop()!r} reads as time stamps in one file and not in the other: "
                                  "name the time column with --time-column" if mixed else
                                  "files fitted together are more recordings of the same channels; for two loggers "
                                  "on one machine, fit a detector per logger, or join their files by time into one "
                                  "first (pandas.merge_asof, with each logger's clock offset), as "
                                  "docs/label-free-detection.md shows")
    for item in loaded:  # what reading assumed: before hours of training, not after
        for note in item.notes:
            click.echo(f"note: {item.source}: {note}")
    left_out = sorted({c for item in loaded for c in item.label_like_left_out})
    if left_out:
        click.echo(f"note: left out label column(s) {', '.join(left_out)} (labels are never inputs; name them "
                   "with --columns to use them as signals)")
    guessed_time = next((item.time_name for item in loaded if item.time_guessed), None)
    time_like = sorted({item.time_like_signal for item in loaded if item.time_like_signal})
    if time_like:
        click.echo(f"note: column(s) {', '.join(time_like)} named like time do not read as time stamps (a value "
                   "decreases, is missing or is not a number or date): used as signals; name the time column with "
                   "--time-column, or leave it out with --drop")
    if guessed_time:
        click.echo(f"note: took column {guessed_time!r} as the time column (named like one; saved for `detect "
                   f"score`); name another with --time-column, or use it as a signal with --columns")
    if train_until:
        cuts = [rows_before(item.time, train_until, item.time_unit) for item in loaded]
        train_rows_of, limit = [rows for rows, _ in cuts], cuts[0][1]
        empty = [item.source for item, rows in zip(loaded, train_rows_of) if rows == 0]
        if empty:
            raise InputError(f"--train-until {train_until} (read as {limit}): no rows before it in "
                             f"{', '.join(empty)}", hint="give a later time, or leave those files out")
        segments = [item.values[:rows] for item, rows in zip(loaded, train_rows_of)]
        click.echo(f"note: training on the rows before {limit} (--train-until {train_until}): "
                   + ", ".join(f"{rows} of {len(item.values)}" for item, rows in zip(loaded, train_rows_of)))
        whole = [item.source for item, rows in zip(loaded, train_rows_of) if rows == len(item.values)]
        if whole:  # a limit after the end is most likely a misread date, and would train on any faults too
            click.secho(f"warning: --train-until {limit} is after the last row of {', '.join(whole)}: trained on "
                        "all of it", fg="yellow", err=True)
    else:
        segments = [item.values[:train_rows] if train_rows else item.values for item in loaded]
    for item, segment in zip(loaded, segments):  # labels are never fitted on, but they tell of faults trained on
        if warning := labelled_training_rows(item, len(segment), label_column, by_time=bool(train_until)):
            click.secho(f"warning: {warning}", fg="yellow", err=True)
    for item, segment in zip(loaded, segments):  # the time column of the rows trained on: gaps, steps back
        unit = item.time_unit or time_unit_from_name(item.time_name)
        time = item.time[:len(segment)] if item.time is not None else None
        for note in sampling_notes(time, None, unit, at_fit=True):
            click.echo(f"note: {item.source}: {note}")
    counters = increasing_columns(segments, names)
    if counters:
        click.secho(f"warning: column(s) {', '.join(counters)} increase on every row, like a time stamp or counter: "
                    "as a signal every later recording lies outside the training range; name a time column with "
                    "--time-column, or leave it out with --drop", fg="yellow", err=True)
    training = np.concatenate(segments)
    constant = [name for name, values in zip(names, training.T) if np.ptp(values) == 0]
    if constant:
        click.secho(f"warning: column(s) {', '.join(constant)} never change in the training data (a setting or a "
                    "status flag?): scaled with std 1, any later change scores as a large anomaly; leave them out "
                    "with --drop unless that is what you want", fg="yellow", err=True)
    sampling = median_interval(loaded[0].time, loaded[0].time_unit or time_unit_from_name(loaded[0].time_name))
    if isinstance(error_window, timedelta):  # saved in rows, as the detector counts them
        detector.threshold = dataclasses.replace(detector.threshold, window=error_window_rows(error_window, sampling))
        if note := error_window_rounding_note(error_window, sampling):
            click.echo(f"note: {note}")
    click.echo(f"fitting {kind} on {sum(len(s) for s in segments)} rows x {len(names)} channels "
               f"({', '.join(names)})")
    # tqdm redraws its bar with carriage returns: a log file or pipe would collect every frame
    detector.fit(segments, progress=sys.stderr.isatty())
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_previous_fit(out_dir)
    if removed:
        click.echo(f"note: replaced the previous fit in {out_dir} ({', '.join(removed)})")
    detector.columns = names
    detector.save(out_dir)  # columns.txt among its files
    read_options = {"columns": names, "time_column": time_column or guessed_time, "sep": sep,
                    "drop": _columns(drop) or [], "label_column": label_column, "fill_missing": fill_missing or 0,
                    # so that `detect score` can tell a file sampled at another interval
                    "sampling": sampling,
                    # the PNGs of `detect score` z-score the signals with these, so a level shift shows
                    "signal_mean": training.mean(0).tolist(), "signal_std": training.std(0).tolist(),
                    # so that `detect score` can tell a stuck sensor from a channel that often holds still
                    "longest_constant_run": [max(runs) for runs in zip(*(
                        [length for length, _ in longest_constant_runs(s)] for s in segments))],
                    # so that `detect score` leaves the rows fitted on out of a labelled file's evaluation
                    "trained_on": [{"file": str(Path(item.source).resolve()), **file_fingerprint(item.source),
                                    "rows": len(segment), "values_sha256": values_fingerprint(segment)}
                                   for item, segment in zip(loaded, segments)]}
    (out_dir / READ_OPTIONS_FILE).write_text(json.dumps(read_options, indent=2))
    if summary := fit_summary(detector):
        click.echo(summary)
    click.echo(settings_line(detector, read_options["sampling"]))
    if method == "dynamic" and all(item.session_label is not None for item in loaded):
        click.echo("note: the dynamic threshold is set on each scored file's own errors and flags departures within "
                   "it; a whole recording faulty throughout (an IMU session of a worn machine) stands out nowhere: "
                   "score sessions with --threshold quantile or sigma (no refit needed)")
    if kind == "pca-t2q" and len(names) == 1:
        click.echo("note: one channel: PCA's T2 is the squared z-score and Q is 0, so pca-t2q is a z-score detector "
                   "here (a fair baseline; PCA's use is the ties between channels)")
    if warning := few_training_rows_warning(len(training), _rows_per_window(detector), len(names)):
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"saved to {out_dir}; smoothed training error p99 {detector.training_quantile(0.99):.4g}")


# Fewer training rows than this many model windows earn a warning at fit (the hard floor is one window).
MANY_WINDOWS = 10


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


def _model_config(detector):
    """The detector's model config (its class's defaults with the options given), fitted or not."""
    from tinyad.detectors.pipeline import detector_kinds

    _, config_cls = detector_kinds()[detector.kind]
    return config_cls(**detector.model_config)


def _rows_per_window(detector) -> int:
    """The rows one model input spans (window, or history + horizon); 1 for the per-row baselines."""
    config = _model_config(detector)
    if hasattr(config, "history"):
        return int(config.history) + int(config.horizon)
    return int(getattr(config, "window", 1))


def settings_line(detector, sampling: dict | None, given_here: bool = False) -> str:
    """The fitted detector's settings in rows, and in time when the file's sampling interval is known (`sampling`
    as `median_interval` gives it), e.g. "settings: window 30 rows (2.5 h), EWMA span 10 rows (50 min), dynamic
    threshold (p 0.13) over the whole scored file (...)"; `given_here`: the threshold options were given at score."""
    from tinyad.detectors.sampling import rows_as_time

    def rows(n) -> str:
        return f"{n:g} rows{rows_as_time(n, sampling)}"

    config, threshold = _model_config(detector), detector.threshold
    parts = []
    if hasattr(config, "history"):
        parts.append(f"history {rows(config.history)} predicts {rows(config.horizon)}")
    elif hasattr(config, "window"):
        parts.append(f"window {rows(config.window)}")
    if threshold.method == "covering":
        parts.append(f"covering threshold: {threshold.ucl_factor:.3g} x the {threshold.ucl_quantile:g} quantile of the "
                     "training windows' residuals (no smoothing)")
    else:
        parts.append(f"EWMA span {rows(threshold.smoothing_span)}")
        parts.append({"dynamic": f"dynamic threshold (p {threshold.p:g}) "
                                 + (f"per {rows(threshold.window)} (--error-window)" if threshold.window else
                                    "over the whole scored file (--error-window N sets one per N rows)"),
                      "quantile": f"threshold: the {threshold.quantile:g} quantile of the training errors",
                      "sigma": f"threshold: mean + {threshold.k:g} sigma of the training errors"}[threshold.method])
    return ("settings (threshold options given here, for this scoring only): " if given_here else "settings: ") + (
        ", ".join(parts))


def _check_model_config(detector) -> None:
    """Build the (unfitted) model once so that a bad combination of model options (e.g. a Conv-AE window that
    its strides do not divide) fails before the data is loaded. Keras is imported only by fit itself."""
    try:
        _model_config(detector)
    except TypeError as err:
        raise InputError(f"bad option for {detector.kind}: {err}") from err


@detect.command("score")
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_with_read_options
@click.option("--label-column", help="0/1 label column: only for the printed evaluation, never for thresholds.")
@click.option("--threshold", "method", type=click.Choice(THRESHOLD_METHODS),
              help="Override the threshold method saved with the detector.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write <name>.scores.csv and <name>.png per input here, and summary.json for all of them "
                   "(a file that fails has its earlier outputs removed, never left stale).")
@click.option("--fail-on-alarm", is_flag=True,
              help=f"Exit with code {ALARMS_EXIT_CODE} when a scored file has an alarm (0: none), for scripts; "
                   "an error still exits with its own code.")
@click.option("--merge-gap", type=RowsOrDuration(0), default="0", show_default=True,
              help="Join flagged regions fewer than this many unflagged rows apart, or less than this duration "
                   "(e.g. 1h, 30min; needs a time column), into one region (the rows between then alarm too): "
                   "one episode, not its fragments. 0: as flagged.")
@click.option("--min-rows", type=RowsOrDuration(1), default="1", show_default=True,
              help="Drop flagged regions shorter than this many rows, or lasting less than this duration (e.g. "
                   "30min; needs a time column), after --merge-gap: no alarm for a blip.")
@_threshold_settings(at_fit=False)
def score(model_dir, files, columns, time_column, sep, drop, fill_missing, label_column, method, out_dir,
          fail_on_alarm, merge_gap, min_rows, prune_p, error_window, quantile, k_sigma, ucl_quantile, ucl_factor):
    """Score FILES with the detector in MODEL_DIR (a folder gives its session files): alarms, flagged
    regions, PNG plots, optional evaluation.

    The columns are those the detector was fitted on (matched by name, in any order in the file);
    --time-column, --sep, --drop, --fill-missing and --label-column default to the values given at fit (else a
    column named like a time column gives the times); --drop cannot leave out a fitted column. The threshold
    options (--threshold, --p, --error-window, --quantile, --k, --ucl-*) apply to this scoring only, without
    refitting. Rows are data rows counted from 1 (the first row after the header), as in the scores CSV's `row`
    column. A file that cannot be scored is reported and the others are scored; the exit code is then that of
    its error."""
    from tinyad.detectors.pipeline import WINDOW_AUTOENCODERS, LabelFreeDetector

    detector = LabelFreeDetector.load(model_dir)
    saved = load_read_options(model_dir)
    window_rows = error_window_rows(error_window, saved.get("sampling"))  # a duration in the training interval
    if note := error_window_rounding_note(error_window, saved.get("sampling")):
        click.echo(f"note: {note}")
    overrides = threshold_overrides(prune_p=prune_p, error_window=window_rows, quantile=quantile, k_sigma=k_sigma,
                                    ucl_quantile=ucl_quantile, ucl_factor=ucl_factor)
    if method or overrides:  # for this scoring only; the saved detector keeps its settings
        detector.threshold = dataclasses.replace(detector.threshold, **overrides,
                                                 **({"method": method} if method else {}))
    if detector.threshold.method == "covering" and detector.kind not in WINDOW_AUTOENCODERS:
        raise InputError(f"the covering threshold needs a window autoencoder, not {detector.kind}",
                         hint="choose another --threshold, or fit a detector with --model "
                              + " or ".join(WINDOW_AUTOENCODERS))
    saved_columns_file = model_dir / COLUMNS_FILE
    saved_columns = ([line for line in saved_columns_file.read_text().splitlines() if line]
                     if saved_columns_file.exists() else None)
    wanted = match_columns(_columns(columns), saved_columns)
    # Options remembered from the fit are defaults; a remembered time or label column a file lacks is skipped.
    optional = tuple(name for name, given in (("time", time_column), ("label", label_column))
                     if given is None and saved.get(f"{name}_column"))
    label_column = label_column or saved.get("label_column")
    if saved_columns:
        check_label_not_input(label_column, saved_columns, model_dir)
        check_drop_not_input(_columns(drop), saved_columns, model_dir)
    read = {"columns": wanted, "time_column": time_column or saved.get("time_column"),
            "label_column": label_column, "sep": sep or saved.get("sep"),
            "drop": _columns(drop) or saved.get("drop") or None, "optional": optional,
            "fill_missing": saved.get("fill_missing", 0) if fill_missing is None else fill_missing,
            "trained_on": saved.get("trained_on", [])}
    statistics = (saved.get("signal_mean"), saved.get("signal_std"), saved.get("sampling"),
                  saved.get("longest_constant_run"))
    applied = bool(method) or any(SETTING_METHOD[name] == detector.threshold.method for name in overrides)
    click.echo(settings_line(detector, saved.get("sampling"), given_here=applied))
    if unused := unused_settings_note(overrides, detector.threshold.method):
        click.secho(f"warning: {unused}", fg="yellow", err=True)
    files = expand_folders(files, echo=click.echo)
    if out_dir:  # an unattended job must never read an earlier night's results as tonight's
        remove_outputs(outputs_in(out_dir, [SUMMARY_FILE]))
    scored, failures = [], []  # failures: (path, error)
    for path, stem in zip(files, distinct_stems(files)):
        if out_dir:
            remove_outputs(outputs_in(out_dir, [f"{stem}.scores.csv", f"{stem}.png"]))
        try:
            scored.append(_score_file(detector, path, stem, read, statistics, method, out_dir, merge_gap, min_rows))
        except TinyadError as err:
            named = err if str(path) in str(err) else type(err)(f"{path}: {err}", hint=err.hint)
            failures.append((path, named))
            if len(files) > 1:
                click.secho(f"error: {named}", fg="red", err=True)
    if out_dir:
        write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(score_summary(model_dir, detector, scored, failures),
                                                             indent=2) + "\n")
    if len(scored) > 1 or (scored and failures):
        _print_summary(scored, detector.kind)
    if len(files) == 1 and failures:
        raise failures[0][1]
    if failures:
        listed = "; ".join(str(error) for _, error in failures)  # each names its file
        first = failures[0][1]
        raise type(first)(f"{len(failures)} of {len(files)} file(s) could not be scored: {listed}",
                          hint=first.hint)
    if fail_on_alarm and any(f.flags.any() for f in scored):
        raise AlarmsFound()


def score_summary(model_dir: Path, detector, scored: list["_ScoredFile"], failures: list) -> dict:
    """What `detect score --out` writes to summary.json: per scored file its rows, alarms, regions, first and
    last alarmed row (counted from 1), the summary's warning marks and its scores CSV; the files that failed
    with their error; and whether any file alarmed."""
    files = []
    for f in scored:
        alarmed = f.flags.nonzero()[0]
        files.append({"file": str(f.path), "rows": len(f.flags), "alarm_rows": int(len(alarmed)),
                      "regions": f.regions, "first_alarm_row": int(alarmed[0]) + 1 if len(alarmed) else None,
                      "last_alarm_row": int(alarmed[-1]) + 1 if len(alarmed) else None, "warnings": list(f.marks),
                      "fitted_on_rows": f.first_test_row, "scores_csv": f.csv_path})
    return {"detector": str(model_dir), "kind": detector.kind, "threshold": detector.threshold.method,
            "alarms": any(item["alarm_rows"] for item in files), "files": files,
            "failed": [{"file": str(path), "error": str(error), "exit_code": error.exit_code}
                       for path, error in failures]}


def _score_file(detector, path: Path, stem: str, read: dict, statistics: tuple, method: str | None,
                out_dir: Path | None, merge_gap: int = 0, min_rows: int = 1) -> "_ScoredFile":
    """Score one file, print its alarms, notes and (labelled) evaluation, write its CSV and PNG; return what
    the summary needs. Regions fewer than `merge_gap` rows (or less than a `merge_gap` duration) apart are joined
    (`merge_close_regions`), then those shorter than `min_rows` rows (or a duration) dropped (`drop_short_regions`)."""
    import numpy as np
    import pandas as pd

    from tinyad.detectors.pipeline import (level_shift_note, no_threshold_note, pruned_note, stuck_channel_notes,
                                           unflagged_excess_note, whole_file_departure_note, whole_file_window_note)
    from tinyad.detectors.fitted_rows import fitted_path_changed, rows_trained_on
    from tinyad.detectors.sampling import median_interval, other_interval_note, sampling_notes, time_text
    from tinyad.detectors.scored_plot import plot_scored
    from tinyad.detectors.telemetry import load_telemetry
    from tinyad.evaluation import events, report
    from tinyad.timestamps import time_unit_from_name

    training_p99 = detector.training_quantile(0.99)
    data = load_telemetry(path, read["columns"], read["time_column"], read["label_column"], read["sep"],
                          read["drop"], optional=read["optional"], guess_time=True,
                          needed_by_model=read["columns"] is not None, fill_missing=read["fill_missing"])
    result = detector.score(data.values, method, channels=True)
    seconds = _seconds_for_durations(data, path, merge_gap, min_rows)
    result.flags, joined = merge_close_regions(result.flags, merge_gap, seconds)
    flagged_by_threshold = result.flags  # before --min-rows: the notes speak of what the threshold flagged
    result.flags, dropped = drop_short_regions(result.flags, min_rows, seconds)
    regions = events(result.flags)
    fewer = "fewer" if isinstance(merge_gap, int) else "less"
    changes = ([f"{joined} {fewer} than {region_option_text(merge_gap)} apart joined"] if joined else []) + (
        [f"{dropped} shorter than {region_option_text(min_rows)} dropped"] if dropped else [])
    # (summary mark, note): the notes worth repeating in the multi-file summary
    # a run of over-range marks read as the column's largest reading is no frozen sensor: left out of that test
    held = data.values if data.range_marked is None else np.where(data.range_marked, np.nan, data.values)
    stuck = stuck_channel_notes(held, data.columns, statistics[3], data.time)
    unit = data.time_unit or time_unit_from_name(data.time_name)
    sampled = median_interval(data.time, unit)  # one comparison with the fit: printed as a note, marked in the summary
    other_interval = sampled and other_interval_note(sampled["interval"], sampled["unit"], statistics[2])
    warnings = [("level far from the training data", level_shift_note(data.values, data.columns, *statistics[:2])),
                ("departs from the training data as a whole", whole_file_departure_note(result, training_p99)),
                ("no threshold", no_threshold_note(result, data.time)),
                ("unflagged excess", unflagged_excess_note(dataclasses.replace(result, flags=flagged_by_threshold),
                                                           training_p99, data.time,
                                                           error_window=detector.threshold.window))]
    # "0 flagged" is the line read first: say there and then when rows far above the training errors went unflagged
    unflagged = ("; rows far above the training errors left unflagged, see the notes"
                 if dict(warnings)["unflagged excess"] else "")
    click.echo(f"{path}: {len(data.values)} rows, {int(result.flags.sum())} flagged in {len(regions)} "
               f"region(s) ({'; '.join([f'{result.method} threshold', *changes])}){unflagged}")
    shown = regions_to_list(regions, result.smoothed)
    if regions:
        click.echo("  flagged (data rows counted from 1" + (", with the channels that carry most of the error"
                                                            if _has_channel_errors(result, data.columns) else "")
                   + (f"; the {len(shown)} of {len(regions)} with the highest smoothed error, in file order"
                      if len(shown) < len(regions) else "") + "):")
    for a, b in shown:
        when = f"  ({time_text(data.time[a])} .. {time_text(data.time[b - 1])})" if data.time is not None else ""
        click.echo(f"  rows {a + 1}..{b}{when}{region_channels_text(result.channel_errors, a, b, data.columns)}")
    if len(shown) < len(regions):
        click.echo(f"  ... {len(regions) - len(shown)} more ("
                   + ("all of them in the scores CSV's alarm column)" if out_dir else "--out writes them all to a "
                                                                                      "scores CSV)"))
    if regions and result.channel_errors is None and len(data.columns) > 1:
        click.echo(f"  note: {detector.kind} scores each row as a whole: no channel's part of the error to name")
    window_note = whole_file_window_note(result.method, detector.threshold.window, len(data.values))
    for note in [*data.notes, pruned_note(result, detector.threshold.p), window_note, *(note for _, note in warnings),
                 *sampling_notes(data.time, None, unit), other_interval, *stuck]:
        if note:
            click.echo(f"  note: {note}")
    first_test_row = rows_trained_on(path, read["trained_on"], data.values)
    if data.labels is not None and not first_test_row and (changed := fitted_path_changed(path, read["trained_on"])):
        click.echo(f"  note: the detector was fitted on rows 1..{changed} of this file, which has changed since: "
                   "every row is evaluated")
    if data.labels is not None and first_test_row >= len(result.flags):
        click.echo(f"  note: all {len(result.flags)} rows of this file trained the detector: no evaluation (score "
                   "files it was not fitted on)")
    elif data.labels is not None:
        if first_test_row:
            click.echo(f"  note: rows 1..{first_test_row} of this file trained the detector: left out of the "
                       "evaluation")
        basis = {"dynamic": "; the dynamic threshold was set on this file's own errors, without its labels"
                            if np.isfinite(result.threshold).any() else "; no dynamic threshold could be set: "
                                                                        "nothing flagged",
                 "covering": "; the covering rule alarms on window residuals"}.get(result.method, "")
        click.echo(f"  evaluation, rows {first_test_row + 1}..{len(result.flags)} (AUC-PR, VUS-PR and ROC-AUC rank "
                   f"the smoothed error{basis}):")
        click.echo("  " + str(report(data.labels[first_test_row:], result.flags[first_test_row:],
                                     result.smoothed[first_test_row:], name=detector.kind,
                                     threshold_saw_test_labels=False)))
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame({"row": np.arange(1, len(result.flags) + 1), "error": result.errors,
                              "smoothed": result.smoothed, "threshold": result.threshold,
                              "alarm": result.flags.astype(np.int8)})
        if data.time is not None:  # under the file's own name, so the scores join back to the data
            frame.insert(1, data.time_name or "time", data.time)
        if data.labels is not None:  # beside the alarms they are compared with
            frame["label"] = data.labels
        if first_test_row:  # the rows the detector was fitted on: not evaluated
            frame["fitted_on"] = (np.arange(len(frame)) < first_test_row).astype(np.int8)
        if _has_channel_errors(result, data.columns):  # each row's error split by channel (they sum to it)
            for name, column in zip(data.columns, result.channel_errors.T):
                frame[f"error_{name}"] = column
        csv_path = out_dir / f"{stem}.scores.csv"
        with atomic_path(csv_path) as partial:  # a reader never sees half a file
            frame.to_csv(partial, index=False)
        mean, std = statistics[:2]
        usable = mean is not None and std is not None and len(mean) == len(data.columns)
        order, order_note = plot_channel_order(result, data.columns)
        png = plot_scored(data, result.smoothed, result.threshold, result.flags, out_dir / f"{stem}.png",
                          title=f"{path.name}: {detector.kind}, {result.method} threshold",
                          training_p99=training_p99, pruned=result.pruned,
                          signal_mean=mean if usable else None, signal_std=std if usable else None,
                          channel_order=order, order_note=order_note, max_channels=PLOTTED_CHANNELS)
        if data.values.shape[1] > PLOTTED_CHANNELS:
            drawn = ", ".join(data.columns[i] for i in order[:PLOTTED_CHANNELS]) if order is not None else ""
            click.echo(f"  note: the PNG plots {PLOTTED_CHANNELS} of {data.values.shape[1]} channels, "
                       + (f"those with {order_note}: {drawn}" if order is not None else "the first ones"))
        click.echo(f"  wrote {csv_path} and {png}")
    marks = [mark for mark, note in warnings if note] + (["stuck channel"] if stuck else []) + (
        ["sampled at another interval"] if other_interval else [])
    return _ScoredFile(path, len(regions), result.flags, result.smoothed, data.labels, tuple(marks), first_test_row,
                       str(csv_path) if out_dir else None)


# A file's flagged regions listed on screen at most: a quantile threshold can flag hundreds of blips.
REGIONS_LISTED = 20


def regions_to_list(regions: list, smoothed, most: int = REGIONS_LISTED) -> list:
    """The flagged `regions` (half-open row ranges) to print: all of them when at most `most`, else the `most`
    with the highest peak of the `smoothed` error, in file order (the first 20 could all be blips before the
    fault). E.g. regions [(0, 2), (5, 9), (12, 13)], peaks 1, 9, 4, most 2 -> [(5, 9), (12, 13)]."""
    if len(regions) <= most:
        return list(regions)
    peaks = [float(smoothed[a:b].max()) for a, b in regions]
    highest = sorted(range(len(regions)), key=lambda i: -peaks[i])[:most]
    return [regions[i] for i in sorted(highest)]


def merge_close_regions(flags, merge_gap, seconds=None):
    """(flags with the flagged regions fewer than `merge_gap` unflagged rows apart joined, the rows between
    flagged too; how many regions were joined into others). E.g. merge_close_regions([1, 0, 1, 0, 0, 0, 1], 2)
    -> ([1, 1, 1, 0, 0, 0, 1], 1). A `merge_gap` duration (a timedelta) with the rows' times in `seconds`
    joins regions when the unflagged rows between them cover less than that time (the time from the last flagged
    row to the next, less one median interval; a gap in the file counts as the time it is): at 5-minute rows,
    1 h joins as 12 rows do."""
    import numpy as np

    from tinyad.evaluation import events, join_events

    flags = np.asarray(flags, bool)
    regions = events(flags)
    if len(regions) < 2 or not merge_gap:
        return flags, 0
    if isinstance(merge_gap, timedelta):
        limit, interval, joined = merge_gap.total_seconds(), median_step(seconds), [regions[0]]
        for start, stop in regions[1:]:
            # the time the unflagged rows between cover (one interval each, as a region's rows in drop_short_regions)
            if seconds[start] - seconds[joined[-1][1] - 1] - interval < limit:
                joined[-1] = (joined[-1][0], stop)
            else:
                joined.append((start, stop))
    else:
        joined = join_events(regions, merge_gap)
    merged = np.zeros_like(flags)
    for start, stop in joined:
        merged[start:stop] = True
    return merged, len(regions) - len(joined)


def elapsed_seconds(seconds):
    """The rows' times as time elapsed in file order: a step back or a repeated stamp (an hour repeated at a clock
    change) counts as one median interval, as the detectors count each row as one sample. E.g. [0, 60, 120, 60,
    120] -> [0, 60, 120, 180, 240]."""
    import numpy as np

    steps = np.diff(seconds)
    return np.concatenate([[0.0], np.cumsum(np.where(steps > 0, steps, median_step(seconds)))]) + seconds[0]


def drop_short_regions(flags, min_rows, seconds=None):
    """(flags without the flagged regions shorter than `min_rows` rows, how many were dropped). E.g.
    drop_short_regions([1, 0, 1, 1, 0, 1], 2) -> ([0, 0, 1, 1, 0, 0], 2). A `min_rows` duration (a timedelta)
    with the rows' times in `seconds` drops regions lasting less than that: from their first row's time to their
    last row's, plus the median sampling interval (one row lasts one interval)."""
    import numpy as np

    from tinyad.evaluation import events

    flags = np.array(flags, bool)
    if isinstance(min_rows, timedelta):
        interval = median_step(seconds)
        short = [(start, stop) for start, stop in events(flags)
                 if seconds[stop - 1] - seconds[start] + interval < min_rows.total_seconds()]
    else:
        short = [(start, stop) for start, stop in events(flags) if stop - start < min_rows]
    for start, stop in short:
        flags[start:stop] = False
    return flags, len(short)


# Channels drawn in a PNG (`plot_scored`'s max_channels): more lines than this are not told apart.
PLOTTED_CHANNELS = 8


def _has_channel_errors(result, columns) -> bool:
    """Whether the model split the error by channel and there is more than one channel to tell apart."""
    return result.channel_errors is not None and len(columns) > 1


# A channel under this share of a region's error is not named beside a larger one (noise, not a cause); leading
# channels that together carry less than SPREAD_SHARE are named as the largest parts of a spread-out error.
MIN_NAMED_SHARE = 0.05
SPREAD_SHARE = 0.5


def region_channels_text(channel_errors, first: int, stop: int, columns: list[str]) -> str:
    """The channels carrying most of the error in rows first .. stop - 1, for a region's line, e.g.
    "  mostly pressure 71%, flow 18%", or "  spread over the channels, largest: valve 14%, leak 9%, volts 8%"
    when no few channels carry half of it; channels under MIN_NAMED_SHARE are named only when first. Empty
    without channel errors or with a single channel."""
    from tinyad.detectors.pipeline import channel_shares, leading_channels

    if channel_errors is None or len(columns) < 2:
        return ""
    leading = leading_channels(channel_shares(channel_errors, first, stop), columns)
    if sum(share for _, share in leading) < SPREAD_SHARE:
        return "  spread over the channels, largest: " + ", ".join(f"{name} {share:.0%}" for name, share in leading)
    named = leading[:1] + [(name, share) for name, share in leading[1:] if share >= MIN_NAMED_SHARE]
    return "  mostly " + ", ".join(f"{name} {share:.0%}" for name, share in named)


def plot_channel_order(result, columns: list[str]) -> tuple[list[int] | None, str]:
    """(channel indices, what orders them) for a PNG of a file with more channels than it draws: the channels by
    their share of the error in the flagged rows (all rows when none is flagged), so that the plot shows the
    channels behind the alarms rather than the first columns. (None, "") when all fit or there are no channel
    errors."""
    import numpy as np

    from tinyad.detectors.pipeline import channel_shares

    if result.channel_errors is None or len(columns) <= PLOTTED_CHANNELS:
        return None, ""
    flagged = np.asarray(result.flags, bool)
    rows = result.channel_errors[flagged] if flagged.any() else result.channel_errors
    shares = channel_shares(rows)
    order = [int(i) for i in np.argsort(-shares, kind="stable")]
    return order, "the most error in the flagged rows" if flagged.any() else "the most error"


def _seconds_for_durations(data, path, merge_gap, min_rows):
    """The rows' times in seconds when --merge-gap or --min-rows is a duration (else None); InputError when the
    file has no time column of date-times or seconds to measure it with."""
    from tinyad.detectors.sampling import time_in_seconds
    from tinyad.timestamps import time_unit_from_name

    given = [(name, value) for name, value in (("--merge-gap", merge_gap), ("--min-rows", min_rows))
             if isinstance(value, timedelta)]
    if not given:
        return None
    found = time_in_seconds(data.time, data.time_unit or time_unit_from_name(data.time_name))
    if found is None or found[1] != "s":
        shown = " and ".join(f"{name} {region_option_text(value)}" for name, value in given)
        rows = "give rows instead, e.g. " + " ".join(f"{name} 12" for name, _ in given)
        if data.time is None:
            raise InputError(f"{path}: {shown}: a duration needs a time column, and the file has none",
                             hint=f"{rows}, or name the time column with --time-column")
        raise InputError(f"{path}: {shown}: the time column {data.time_name!r} holds numbers without a unit, so a "
                         "duration cannot be measured on it",
                         hint=f"{rows}, or name the column with its unit (e.g. {data.time_name}_s or "
                              f"{data.time_name}_ms)")
    return elapsed_seconds(found[0])


class _ScoredFile(NamedTuple):
    path: Path
    regions: int
    flags: "np.ndarray"
    smoothed: "np.ndarray"
    labels: "np.ndarray | None"
    marks: tuple = ()  # warnings worth repeating in the summary, e.g. "no threshold"
    first_test_row: int = 0  # the rows before it trained the detector: not evaluated
    csv_path: str | None = None  # its scores CSV, when written


def _print_summary(scored: list[_ScoredFile], kind: str) -> None:
    """A line per file (with its warnings: a level far from the training data, departs from it as a whole, no
    threshold, a large unflagged excess, a stuck channel, sampled at another interval), then (when every file is
    labelled) the report over all files concatenated, as SKAB's protocol scores them, without the rows the
    detector was fitted on (events counted file by file)."""
    import numpy as np

    from tinyad.evaluation import part_starts_of, report

    width = max(len(str(f.path)) for f in scored)
    click.echo(f"summary: {len(scored)} file{'s' if len(scored) != 1 else ''}")
    for f in scored:
        rows, flagged = len(f.flags), int(f.flags.sum())
        marks = f"  [{'; '.join(f.marks)}: see its notes]" if f.marks else ""
        if f.first_test_row:  # the data the detector was fitted on: its alarms say little
            marks += f"  [fitted on rows 1..{f.first_test_row}]"
        click.echo(f"  {str(f.path):{width}}  {rows:7d} rows  {flagged:7d} flagged ({flagged / rows:6.1%})  "
                   f"{f.regions:4d} region(s){marks}")
    if not all(f.labels is not None for f in scored):
        return
    tested = [f for f in scored if f.first_test_row < len(f.flags)]
    if len(tested) < len(scored):
        click.echo(f"  left out of the evaluation (every row trained the detector): "
                   f"{', '.join(str(f.path) for f in scored if f not in tested)}")
    if tested:
        joined = [np.concatenate([getattr(f, name)[f.first_test_row:] for f in tested])
                  for name in ("labels", "flags", "smoothed")]
        fitted_rows = sum(f.first_test_row for f in tested)
        without = f", without the {fitted_rows} rows fitted on" if fitted_rows else ""
        starts = part_starts_of([f.labels[f.first_test_row:] for f in tested])
        click.echo(f"  all files concatenated{without}: "
                   + str(report(*joined, name=kind, threshold_saw_test_labels=False, part_starts=starts)))
        if starts:  # a ranking over the pooled rows, a range measure per file (TSB-AD's definition)
            click.echo("  (events and point adjustment stop at each file's end; VUS-PR is the mean over the files "
                       "holding both classes, AUC-PR and ROC-AUC rank the pooled rows)")
