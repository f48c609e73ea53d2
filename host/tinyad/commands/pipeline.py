"""The host ML pipeline commands: train, quantize, check, export, demo (thin wrappers over the typed API)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np

from tinyad.atomic import check_png_path
from tinyad.check import DEFAULT_ARENA_BUDGET, DEFAULT_FLASH_BUDGET
from tinyad.errors import InputError


def session_files(paths: tuple[str, ...] | list[str], missing_ok: bool = False) -> tuple[list[Path], list[Path]]:
    """(files, repeats): session files given directly or as directories of *.parquet, in the order given
    (directories sorted), each file once; `repeats` are the files named more than once (by resolved path), which
    would otherwise land in train and test at once. A missing path is an InputError, or with `missing_ok` kept."""
    files: list[Path] = []
    seen: set[Path] = set()
    repeats: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.parquet"))
        elif p.exists() or missing_ok:  # `missing_ok`: the reader names a missing file, with its hint
            found = [p]
        else:
            raise InputError(f"{p}: no such file or directory")
        for f in found:
            key = f.resolve()
            if key in seen:
                repeats.append(f)
            else:
                seen.add(key)
                files.append(f)
    return files, repeats


def load_sessions(paths: tuple[str, ...] | list[str], echo=None) -> list:
    """Read the session files of `paths` (see `load_session_files`): the sessions alone."""
    return [session for _, session in load_session_files(paths, echo)]


def load_session_files(paths: tuple[str, ...] | list[str], echo=None, unreadable: list | None = None,
                       unique_ids: bool = True) -> list[tuple[Path, object]]:
    """(file, session) for the session files of `paths` (see `session_files`) - a Session does not know its
    file; a file given twice is read once (noted through `echo`). With `unique_ids` two files with the same
    session id are refused: the training split treats a session id as one run (synth and import give ids by
    file name, so two such folders repeat them). A file that cannot be read raises its InputError, or with an
    `unreadable` list is appended to it as (file, error) and left out."""
    from tinyad.session import read_session

    files, repeats = session_files(paths)
    if not files:
        csv = next((f for p in map(Path, paths) if p.is_dir() for f in sorted(p.rglob("*.csv"))), None)
        raise InputError(f"no session files (*.parquet) in {', '.join(map(str, paths))}",
                         hint=f"it holds CSV files ({csv.name}, ...): convert them to sessions first with `tinyad "
                              "import csv` (or `tinyad import motor` / `fan` for those data sets)" if csv else
                         "create some with `tinyad synth`, `tinyad import` or `tinyad record`")
    if echo:
        from tinyad.device.journal import unfinished_journals

        for folder in dict.fromkeys(p for p in map(Path, paths) if p.is_dir()):
            for journal in unfinished_journals(folder):
                echo(f"note: {journal} is a recording whose recorder was killed before writing it (not used); "
                     f"`tinyad recover {journal}` makes it a session")
    if repeats and echo:
        echo(f"note: {len(repeats)} session file(s) given more than once, used once: "
             + ", ".join(map(str, repeats[:5])) + (" ..." if len(repeats) > 5 else ""))
    loaded = []
    for f in files:
        try:
            loaded.append((f, read_session(f)))
        except InputError as err:
            if unreadable is None:
                raise
            unreadable.append((f, err))
    if unique_ids:
        first_file: dict[str, Path] = {}
        for f, s in loaded:
            other = first_file.setdefault(s.meta.session_id, f)
            if other is not f:
                synth = "generator_version" in s.meta.extra and s.meta.session_id.startswith("synth_")
                raise InputError(f"{other} and {f} have the same session id {s.meta.session_id!r}",
                                 hint="`tinyad synth` numbers every set's sessions alike: make one set with all the "
                                      "sessions you need (--sessions-per-class, --classes), or train on one set"
                                 if synth else "session ids must be unique: re-import one with another "
                                               "--session-id, or leave the copy out")
    return loaded


def _metrics_table(rows: list[tuple[str, dict]]) -> str:
    keys = ("accuracy", "macro_f1", "binary_f1", "roc_auc")
    out = [f"{'':10s}" + "".join(f"{k:>11s}" for k in keys)]
    for name, m in rows:
        out.append(f"{name:10s}" + "".join(f"{m[k]:11.4f}" for k in keys))
    return "\n".join(out)


def _warn(text: str) -> None:
    click.secho(f"warning: {text}", fg="yellow", err=True)


def _note(text: str) -> None:
    click.echo(text, err=True)


@click.command()
@click.argument("sessions", nargs=-1, required=True)
@click.option("--model", "model_name", default="cnn_gru", show_default=True,
              type=click.Choice(["cnn_gru", "cnn_gru_keras", "cnn_lstm", "cnn_transformer"]))
@click.option("--task", default="multiclass", show_default=True, type=click.Choice(["multiclass", "binary"]))
@click.option("--window", default=64, show_default=True, type=click.IntRange(min=2), help="Samples per window.")
@click.option("--hop", default=32, show_default=True, type=click.IntRange(min=1),
              help="Samples between window starts.")
@click.option("--epochs", default=40, show_default=True, type=click.IntRange(min=1),
              help="Most epochs (early stopping keeps the best one).")
@click.option("--seed", default=0, show_default=True)
@click.option("--max-windows-per-session", type=click.IntRange(min=1), default=None,
              help="Down-sample very long sessions.")
@click.option("--min-samples", default=0, show_default=True, type=click.IntRange(min=0),
              help="Curation: skip a data set with fewer samples.")
@click.option("--min-anomaly-fraction", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Curation: skip a data set with a smaller anomalous fraction (the study used 0.05).")
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Run directory [runs/<model>].")
@click.option("--overwrite", is_flag=True,
              help="Reuse an --out that holds an earlier run: removes only the files train and quantize write.")
def train(sessions, model_name, task, window, hop, epochs, seed, max_windows_per_session, min_samples,
          min_anomaly_fraction, out_dir, overwrite):
    """Train a model on labeled SESSIONS (files or directories of .parquet session files)."""
    from tinyad.datasets import DatasetConfig, build_dataset, classes_without_windows, repeated_test_data
    from tinyad.export import board_channel_problem, refuse_what_the_core_cannot_hold
    from tinyad.models import ModelConfig
    from tinyad.session import range_warnings
    from tinyad.train import TrainConfig, refuse_a_used_run_dir
    from tinyad.train import train as train_model

    out_dir = Path(out_dir or f"runs/{model_name}")
    previous = refuse_a_used_run_dir(out_dir, overwrite, hint="choose another --out, or add --overwrite to replace "
                                                              "it (removes only the files train and quantize write "
                                                              "there)")  # before loading anything
    loaded = load_sessions(sessions, echo=_note)
    # Before the training, not at export or SIL start: a model the board cannot run is wasted work.
    channels = list(loaded[0].meta.channels) if loaded else []  # build_dataset refuses sessions that differ
    channel_problem = board_channel_problem(channels)
    if channel_problem:
        _warn(f"{channel_problem}: `tinyad export` will refuse this model (the host and the SIL can still use it)")
    refuse_what_the_core_cannot_hold(window, len(channels), 2)
    data = build_dataset(loaded, DatasetConfig(
        window=window, hop=hop, task=task, max_windows_per_session=max_windows_per_session,
        min_samples=min_samples, min_anomaly_fraction=min_anomaly_fraction))
    refuse_what_the_core_cannot_hold(window, len(data.channels), len(data.class_names))
    click.echo(f"classes {data.class_names}; windows train {len(data.train)}, val {len(data.val)}, "
               f"test {len(data.test)} (split by session / time block, no window crosses a boundary)")
    # The int8 model sees counts at this full scale: anything beyond it clips on the board and in quantize.
    # From the sessions as given: the windows are already clipped to the full scale, as the board clips them.
    for line in range_warnings(np.concatenate([s.data for s in loaded]), data.channels, data.full_scale,
                               "training data"):
        _warn(line)
    for line in [*classes_without_windows(data), *repeated_test_data(loaded, data.segments, window)]:
        _warn(line)
    unrecorded = [s.where for s in loaded if not s.meta.dlpf_hz]
    if data.dlpf_hz and unrecorded:
        _note(f"note: {len(unrecorded)} of {len(loaded)} sessions do not record their sensor low-pass (e.g. "
              f"{unrecorded[0]}); the model takes the others' {data.dlpf_hz:g} Hz, which the board is then built with")
    if previous:
        _note(f"--overwrite: replacing the earlier run in {out_dir}")
    from tinyad.device.signals import sigterm_as_interrupt

    with sigterm_as_interrupt():  # `kill` stops it like Ctrl-C: after the first epoch, the best one so far is kept
        run = train_model(data, ModelConfig(name=model_name), TrainConfig(epochs=epochs, seed=seed), out_dir,
                          overwrite=True)  # a used --out was refused above unless --overwrite
    metrics = json.loads((run.path / "metrics.json").read_text())
    if metrics.get("interrupted"):
        _warn(f"training {metrics['interrupted']}: the run is written with the best of them (as early stopping "
              "would end it); train again for more epochs")
    click.echo(_best_epoch_line(metrics, run.info["history"]))
    click.echo(_metrics_table([("float", metrics["float_test"])]))
    click.echo(f"run directory: {run.path} (model.keras, metrics.json, training_curves.png, confusion_matrix.png)")


def _best_epoch_line(metrics: dict, history: dict) -> str:
    """'kept the weights of epoch 7 of 13 run (lowest val_loss 0.1234)': what early stopping restored."""
    best, monitor = metrics["best_epoch"], metrics["best_epoch_monitor"]
    value = history[monitor][best - 1]
    return f"kept the weights of epoch {best} of {metrics['epochs_run']} run (lowest {monitor} {value:.4f})"


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Where to write model.tflite [RUN_DIR].")
@click.option("--per-channel-dense", is_flag=True, help="Per-channel scales for dense layers (more flash).")
def quantize(run_dir, out_dir, per_channel_dense):
    """Full-int8 quantization of a training run; float vs int8 (under TFLM) on the test split."""
    from tinyad.quantize import quantize_run
    from tinyad.train import load_run

    if out_dir is not None and Path(out_dir).suffix.lower() == ".tflite":  # it would become a folder of that name
        raise InputError(f"--out {out_dir}: a folder, not a file name (quantize writes model.tflite, "
                         "model_settings.json and quantize.json into it)",
                         hint=f"e.g. --out {Path(out_dir).with_suffix('')}")
    result = quantize_run(load_run(run_dir), out_dir, per_channel_dense=per_channel_dense)
    click.echo(_metrics_table([("float", result.float_metrics), ("int8", result.int8_metrics)]))
    for line in result.warnings:
        _warn(line)
    s = result.settings
    click.echo(f"{result.tflite_path}: {s.flash_bytes:,} bytes, arena {s.arena_bytes:,} bytes, "
               f"input scale {s.input_scale:.6g} zp {s.input_zero_point}, output scale {s.output_scale:.6g} "
               f"zp {s.output_zero_point}")


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False),
              help="Training run whose test windows to compare on (else random int8 windows).")
@click.option("--windows", "n_windows", type=click.IntRange(min=1), default=None,
              help="How many windows to compare [500 test windows with --run, else 64 random int8 windows].")
@click.option("--flash-budget", type=click.IntRange(min=1), default=DEFAULT_FLASH_BUDGET, show_default=True,
              help="Bytes of flash the model may take (the project's target; give your board's).")
@click.option("--arena-budget", type=click.IntRange(min=1), default=DEFAULT_ARENA_BUDGET, show_default=True,
              help="Bytes of RAM the TFLM arena may take as the firmware allocates it (measured plus margin).")
@click.option("--fail-over-budget", is_flag=True,
              help="Exit with code 4 when the model does not fit the budgets (for scripts and CI).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(model, run_dir, n_windows, flash_budget, arena_budget, fail_over_budget, as_json):
    """Measure MODEL under the host TFLM (arena, ops, flash, MACs, time), say whether it fits the flash and
    arena budgets, and compare TFLite with TFLM."""
    from tinyad.check import check_model, format_report, require_tflite
    from tinyad.errors import ModelMismatchError
    from tinyad.model_settings import ModelSettings

    model_path = Path(model)
    model_bytes = model_path.read_bytes()
    settings_path = model_path.with_name("model_settings.json")
    expected = None
    if settings_path.is_file():  # its flash_bytes tells a truncated copy from a complete model
        try:
            expected = ModelSettings.load(settings_path).flash_bytes or None
        except InputError:
            expected = None
    require_tflite(model_bytes, str(model_path), expected)
    windows = test_windows_int8(model_path, run_dir, n_windows or 500)
    n_random = n_windows or 64
    report = check_model(model_bytes, windows, progress=not as_json, n_random_windows=n_random,
                         flash_budget=flash_budget, arena_budget=arena_budget)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        if windows is None:
            click.echo(f"(no --run given: compared on {n_random} random int8 windows)")
        click.echo(format_report(report))
    if fail_over_budget and report.over_budget:
        raise ModelMismatchError(f"{model_path}: over budget: {'; '.join(report.over_budget)}",
                                 hint="a smaller model (`tinyad train --model`, a shorter --window), or raise "
                                      "--flash-budget/--arena-budget to what the board has")


def test_windows_int8(model_path: Path, run_dir, n_windows: int):
    """int8 inputs of the run's test windows, computed the board's way; None without a run."""
    if not run_dir:
        return None
    from tinyad.model_settings import ModelSettings
    from tinyad.quantize import board_inputs
    from tinyad.train import load_run

    settings = ModelSettings.load(model_path.with_name("model_settings.json"))
    x = load_run(run_dir).data["test"].x[:n_windows]
    return board_inputs(x, settings)


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("sessions", nargs=-1, required=True)
@click.option("--threshold-on", type=float, default=None, help="THRESHOLD_ON to try [the model's].")
@click.option("--threshold-off", type=float, default=None, help="THRESHOLD_OFF to try [the model's].")
@click.option("--min-windows", type=click.IntRange(min=1), default=None, help="MIN_WINDOWS to try [the model's].")
@click.option("--cooldown-windows", type=click.IntRange(min=0), default=None,
              help="COOLDOWN_WINDOWS to try [the model's].")
@click.option("--score-kind", type=click.Choice(["margin", "probability"]), default="margin", show_default=True,
              help="What the alert sees, as the board's SCORE_KIND 0/1 (probability: give both thresholds).")
@click.option("--sweep", "sweep_text", default=None, metavar="ON,ON,...",
              help="Also tabulate false alerts and detections for these THRESHOLD_ON values (e.g. 0.5,1,2,3), "
                   "from the same scores.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG (a name ending in .png): each session's smoothed score, the thresholds and the "
                   "alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
def evaluate(model, sessions, threshold_on, threshold_off, min_windows, cooldown_windows, score_kind, sweep_text,
             plot_path, as_json):
    """What the exported MODEL does on new labelled SESSIONS, computed the board's way (preprocessing, TFLM,
    score, EWMA, alert state machine): predictions, alert onsets and time to the first alert per session.

    A session file that cannot be read, or that the model cannot take (too short for a window, missing
    channels, another sample rate), is skipped with a warning and the others are evaluated; the exit code is then
    that of its error (2)."""
    import sys

    from tinyad.check import require_tflite
    from tinyad.device.reference import load_settings_for
    from tinyad.evaluate import (SkippedSession, alert_config_for, check_thresholds_for, evaluate_model,
                                 format_evaluation, format_sweep, parse_sweep, plot_evaluation, threshold_sweep)

    require_tflite(model.read_bytes(), str(model))
    # the options, then the output, before any session is read
    check_thresholds_for(score_kind, threshold_on, threshold_off)
    alert_config_for(load_settings_for(model), threshold_on, threshold_off, min_windows, cooldown_windows)
    sweep_values = parse_sweep(sweep_text, score_kind) if sweep_text is not None else None
    if plot_path is not None:
        check_png_path(plot_path, "--plot")
    unreadable: list[tuple[Path, InputError]] = []
    loaded = load_session_files(sessions, echo=_note, unreadable=unreadable, unique_ids=False)  # no split here
    total = len(loaded) + len(unreadable)
    if not loaded:
        raise _not_evaluated_error([SkippedSession(str(f), err) for f, err in unreadable], total)
    evaluation = evaluate_model(model, [s for _, s in loaded], threshold_on, threshold_off, min_windows,
                                cooldown_windows, score_kind=score_kind, files=[f for f, _ in loaded],
                                skip_unusable=True,
                                progress=not as_json and sys.stderr.isatty())  # a log would collect every frame
    order = {str(f): i for i, f in enumerate(session_files(sessions)[0])}  # the skipped in the order given
    evaluation.skipped = sorted(evaluation.skipped + [SkippedSession(str(f), err) for f, err in unreadable],
                                key=lambda skipped: order.get(skipped.file, len(order)))
    if not evaluation.sessions:
        raise _not_evaluated_error(evaluation.skipped, total)
    sweep = threshold_sweep(evaluation, sweep_values) if sweep_values else None
    if as_json:
        result = evaluation.to_dict()
        if sweep is not None:
            result["sweep"] = [{**asdict(alert), **summary} for alert, summary in sweep]
        click.echo(json.dumps(result, indent=2, default=float))
    else:
        click.echo(format_evaluation(evaluation))
        if sweep is not None:
            click.echo(format_sweep(evaluation, sweep))
    if plot_path is not None:
        _note(f"plot: {plot_evaluation(evaluation, plot_path)}")
    for line in (w for s in evaluation.sessions for w in s.warnings):
        _warn(line)
    if evaluation.skipped:
        for skipped in evaluation.skipped:
            _warn(f"skipped {skipped.error}" + (f" (hint: {skipped.error.hint})" if skipped.error.hint else ""))
        first, files = evaluation.skipped[0].error, [s.file for s in evaluation.skipped]
        raise type(first)(f"{len(files)} of {total} session file(s) skipped (see the warnings), the others "
                          f"evaluated: " + ", ".join(files[:5]) + (" ..." if len(files) > 5 else ""), hint=first.hint)


def _not_evaluated_error(skipped: list, total: int) -> InputError:
    """The error when no session could be evaluated: a single file's own error, else all of them (each names
    its file)."""
    first = skipped[0].error
    if total == 1:
        return first
    return type(first)(f"none of the {total} session files could be evaluated: "
                       + "; ".join(str(s.error) for s in skipped), hint=first.hint)


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--settings", "settings_path", type=click.Path(exists=True, dir_okay=False),
              help="model_settings.json [beside MODEL].")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Output directory [the checkout's firmware/main/model, which the board is built from].")
def export(model, settings_path, out_dir):
    """Generate model_data.cc/.h and model_settings.h (with RegisterOps) for the firmware from MODEL."""
    from tinyad.export import board_requirements, export_model
    from tinyad.model_settings import ModelSettings
    from tinyad.paths import firmware_dir, outside_checkout_note

    if out_dir is None and (note := outside_checkout_note(firmware_dir() / "main" / "model")):
        click.echo(note)
    for path in export_model(model, settings_path, out_dir=out_dir or firmware_dir() / "main" / "model"):
        click.echo(f"wrote {path}")
    settings = ModelSettings.load(settings_path or Path(model).with_name("model_settings.json"))
    click.echo("\n".join(board_requirements(settings)))


@click.command()
@click.option("--out", "out_dir", type=click.Path(), default="runs/demo", show_default=True)
@click.option("--sessions-per-class", default=6, show_default=True, type=click.IntRange(min=1))
@click.option("--duration", default=60.0, show_default=True, help="Seconds per synthetic session.")
@click.option("--epochs", default=40, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--update-default", is_flag=True,
              help="Also install the result as models/default and firmware/main/model (what the repo commits).")
@click.option("--sil/--no-sil", default=True, show_default=True,
              help="Finish by running the model on the SIL device: parity over serial and live alerts.")
def demo(out_dir, sessions_per_class, duration, epochs, seed, update_default, sil):
    """The end-to-end demo: synth -> train -> quantize -> check -> export -> SIL device, with a summary."""
    from tinyad.demo import run_demo

    summary = run_demo(Path(out_dir), sessions_per_class=sessions_per_class, duration_s=duration, epochs=epochs,
                       seed=seed, update_default=update_default, sil=sil, echo=click.echo)
    click.echo(summary)
