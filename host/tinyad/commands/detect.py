"""`tinyad detect fit|score`: label-free detectors on multivariate CSV/Parquet telemetry and IMU sessions
(thin click wrappers over tinyad.detectors)."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from tinyad.atomic import outputs_in, remove_outputs, write_text_atomic
from tinyad.detectors.pipeline import COLUMNS_FILE, KIND_NAMES, THRESHOLD_METHODS
from tinyad.detectors.skab_rule import UCL_FACTOR, UCL_QUANTILE
from tinyad.detectors.score_files import region_option_text, rows_or_duration
from tinyad.errors import ALARMS_EXIT_CODE, AlarmsFound, InputError, TinyadError
from tinyad.paths import distinct_stems


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
    for folder in (path for path in map(Path, paths) if path.is_dir()):
        if echo and (csv := csv_files_left_out([folder])):
            echo(f"note: {folder}: {len(csv)} CSV file(s) left out ({', '.join(p.name for p in csv[:3])}"
                 + (", ..." if len(csv) > 3 else "") + f"): a folder gives its *.parquet files; name CSV files "
                 f"themselves, e.g. {folder / '*.csv'}")
    if repeats and echo:
        echo(f"note: {len(repeats)} file(s) given more than once, used once: "
             + ", ".join(map(str, repeats[:5])) + (" ..." if len(repeats) > 5 else ""))
    return files


def csv_files_left_out(paths) -> list[Path]:
    """The CSV files in the folders among `paths`, which a folder does not give (its *.parquet files only)."""
    return [csv for path in map(Path, paths) if path.is_dir() for csv in sorted(path.glob("*.csv"))]


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
        try:
            return rows_or_duration(value, self.least, param.opts[0] if param else "value")
        except InputError as err:
            self.fail(f"{err} ({err.hint})" if err.hint else str(err), param, ctx)


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
              help="Maximum training epochs of the Keras models (default 40; early stopping on the last 20 %).")
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
    from tinyad.detectors.fit_files import (ReadOptions, after_fit_messages, check_model_config,
                                            check_model_options, read_training_set, save_fit)
    from tinyad.detectors.pipeline import WINDOW_AUTOENCODERS, LabelFreeDetector, ThresholdConfig, fit_summary

    # Everything that can be checked without the data is checked before loading it.
    check_model_options(kind, {"--window": window, "--horizon": horizon, "--dense-units": dense_units,
                               "--lstm-units": lstm_units, "--epochs": epochs})
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
    check_model_config(detector)
    chosen = _columns(columns)
    if chosen and label_column in chosen:
        raise InputError(f"--label-column {label_column!r} is also named in --columns: labels are never inputs",
                         hint=f"leave {label_column!r} out of --columns")

    reading = ReadOptions(chosen, time_column, label_column, sep, _columns(drop), fill_missing or 0)
    training = read_training_set(expand_folders(normal_files, echo=click.echo), reading, train_rows, train_until,
                                 allow_labelled_faults)
    _print_messages(training.messages)  # what reading assumed: before hours of training, not after
    if isinstance(error_window, timedelta):  # saved in rows, as the detector counts them
        detector.threshold = dataclasses.replace(detector.threshold,
                                                 window=error_window_rows(error_window, training.sampling))
        if note := error_window_rounding_note(error_window, training.sampling):
            click.echo(f"note: {note}")
    names = training.columns
    click.echo(f"fitting {kind} on {sum(len(s) for s in training.segments)} rows x {len(names)} "
               f"channel{'s' if len(names) != 1 else ''} "
               f"({', '.join(names)})")
    # tqdm redraws its bar with carriage returns: a log file or pipe would collect every frame
    detector.fit(training.segments, progress=sys.stderr.isatty())
    removed = save_fit(detector, out_dir, training, reading)
    if removed:
        click.echo(f"note: replaced the previous fit in {out_dir} ({', '.join(removed)})")
    if summary := fit_summary(detector):
        click.echo(summary)
    click.echo(settings_line(detector, training.sampling))
    _print_messages(after_fit_messages(detector, training))
    click.echo(f"saved to {out_dir}; smoothed training error p99 {detector.training_quantile(0.99):.4g}")


def _print_messages(messages) -> None:
    """Notes on stdout, warnings in yellow on stderr, in their order (`fit_files.Message`)."""
    for message in messages:
        if message.level == "warning":
            click.secho(f"warning: {message.text}", fg="yellow", err=True)
        else:
            click.echo(f"note: {message.text}")


def settings_line(detector, sampling: dict | None, given_here: bool = False) -> str:
    """The fitted detector's settings in rows, and in time when the file's sampling interval is known (`sampling`
    as `median_interval` gives it), e.g. "settings: window 30 rows (2.5 h), EWMA span 10 rows (50 min), dynamic
    threshold (p 0.13) over the whole scored file (...)"; `given_here`: the threshold options were given at score."""
    from tinyad.detectors.fit_files import model_config_of
    from tinyad.detectors.sampling import rows_as_time

    def rows(n) -> str:
        return f"{n:g} rows{rows_as_time(n, sampling)}"

    config, threshold = model_config_of(detector), detector.threshold
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
    from tinyad.detectors.fit_files import ReadOptions, load_read_options
    from tinyad.detectors.pipeline import WINDOW_AUTOENCODERS, LabelFreeDetector
    from tinyad.detectors.score_files import SUMMARY_FILE, FitRecord, score_summary

    if out_dir:  # first: a run refused before scoring (no model, a wrong option) must not leave last night's
        remove_outputs(outputs_in(out_dir, [SUMMARY_FILE]))
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
    # Options remembered from the fit are defaults; a remembered time or label column a file lacks is skipped.
    reading = ReadOptions.at_score(saved, match_columns(_columns(columns), saved_columns), time_column, label_column,
                                   sep, _columns(drop), fill_missing)
    if saved_columns:
        check_label_not_input(reading.label_column, saved_columns, model_dir)
        check_drop_not_input(_columns(drop), saved_columns, model_dir)
    record = FitRecord.from_saved(saved)
    applied = bool(method) or any(SETTING_METHOD[name] == detector.threshold.method for name in overrides)
    click.echo(settings_line(detector, saved.get("sampling"), given_here=applied))
    if unused := unused_settings_note(overrides, detector.threshold.method):
        click.secho(f"warning: {unused}", fg="yellow", err=True)
    given_files = files
    files = expand_folders(files, echo=click.echo)
    scored, failures = [], []  # failures: (path, error)
    for path, stem in zip(files, distinct_stems(files)):
        if out_dir:
            remove_outputs(outputs_in(out_dir, [f"{stem}.scores.csv", f"{stem}.png"]))
        try:
            scored.append(_score_and_report(detector, path, stem, reading, record, method, out_dir, merge_gap,
                                            min_rows))
        except TinyadError as err:
            named = err if str(path) in str(err) else type(err)(f"{path}: {err}", hint=err.hint)
            failures.append((path, named))
            if len(files) > 1:  # each file's own hint: the summary error below has only the first one's
                click.secho(f"error: {named}", fg="red", err=True)
                if named.hint:
                    click.echo(f"hint: {named.hint}", err=True)
    if out_dir:
        write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(score_summary(model_dir, detector, scored, failures,
                                                                             csv_files_left_out(given_files)),
                                                             indent=2) + "\n")
    if len(scored) > 1 or (scored and failures):
        _print_summary(scored, detector.kind)
    if len(files) == 1 and failures:
        raise failures[0][1]
    if failures:
        listed = "; ".join(str(error) for _, error in failures)  # each names its file
        first = failures[0][1]
        raise type(first)(f"{len(failures)} of {len(files)} file(s) could not be scored: {listed}",
                          hint="each file's hint is printed with its error above" if any(
                              error.hint for _, error in failures) else None)
    if fail_on_alarm and any(f.flags.any() for f in scored):
        raise AlarmsFound()


def _score_and_report(detector, path: Path, stem: str, reading, record, method: str | None, out_dir: Path | None,
                      merge_gap=0, min_rows=1):
    """Score one file (`score_files.score_file`), print its alarms, notes and (labelled) evaluation, and write its
    scores CSV and PNG into `out_dir` (when given) as <stem>.scores.csv and <stem>.png."""
    import numpy as np

    from tinyad.detectors.sampling import time_text
    from tinyad.detectors.score_files import (has_channel_errors, plot_scored_file, region_channels_text,
                                              regions_to_list, score_file, write_scores_csv)

    scored = score_file(detector, path, reading, record, method, merge_gap, min_rows)
    data, result, regions = scored.data, scored.result, scored.regions
    # "0 flagged" is the line read first: say there and then when rows far above the training errors went unflagged
    unflagged = ("; rows far above the training errors left unflagged, see the notes"
                 if dict(scored.warnings)["unflagged excess"] else "")
    click.echo(f"{path}: {len(data.values)} rows, {int(result.flags.sum())} flagged in {len(regions)} "
               f"region(s) ({'; '.join([f'{result.method} threshold', *scored.changes])}){unflagged}")
    shown = regions_to_list(regions, result.smoothed)
    if regions:
        click.echo("  flagged (data rows counted from 1" + (", with the channels that carry most of the error"
                                                            if has_channel_errors(result, data.columns) else "")
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
    for note in scored.notes:
        click.echo(f"  note: {note}")
    if scored.fitted_file_changed:
        click.echo(f"  note: the detector was fitted on rows 1..{scored.fitted_file_changed} of this file, which has "
                   "changed since: every row is evaluated")
    if data.labels is not None and scored.evaluation is None:
        click.echo(f"  note: all {len(result.flags)} rows of this file trained the detector: no evaluation (score "
                   "files it was not fitted on)")
    elif scored.evaluation is not None:
        if scored.first_test_row:
            click.echo(f"  note: rows 1..{scored.first_test_row} of this file trained the detector: left out of the "
                       "evaluation")
        basis = {"dynamic": "; the dynamic threshold was set on this file's own errors, without its labels"
                            if np.isfinite(result.threshold).any() else "; no dynamic threshold could be set: "
                                                                        "nothing flagged",
                 "covering": "; the covering rule alarms on window residuals"}.get(result.method, "")
        click.echo(f"  evaluation, rows {scored.first_test_row + 1}..{len(result.flags)} (AUC-PR, VUS-PR and ROC-AUC "
                   f"rank the smoothed error{basis}):")
        click.echo("  " + str(scored.evaluation))
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = write_scores_csv(scored, out_dir / f"{stem}.scores.csv")
        png, note = plot_scored_file(scored, detector, record, out_dir / f"{stem}.png")
        if note:
            click.echo(f"  note: {note}")
        click.echo(f"  wrote {csv_path} and {png}")
    return scored


def _print_summary(scored: list, kind: str) -> None:
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
                   f"{len(f.regions):4d} region(s){marks}")
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
