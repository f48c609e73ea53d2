"""`tinyad bert ...`: the AnomalyBERT-style detector for battery telemetry (thin wrappers over tinyad.bert and
tinyad.battery)."""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import shutil
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from tinyad.atomic import outputs_in, remove_outputs
from tinyad.bert.notes import FEW_EVENTS, diverged_warning, method_cut_text, score_ceiling
from tinyad.bert.score_telemetry import SCORE_FILES
from tinyad.errors import ALARMS_EXIT_CODE, AlarmsFound, InputError

DATASET_HELP = "ess_lfp:N (rack N of ../shared/data/bms/ess_lfp), bess (the BESS log), or a Parquet/CSV file."


def _reading_options(func):
    """--dayfirst/--monthfirst and --decimal, defined once for load-bms and every command reading a data set: how
    a CSV file's dates and numbers are written (tinyad.battery.bms.load_table's `dayfirst` and `decimal`). Not
    --time-column: load-bms has its own (for --input); train, evaluate and score share `_time_column_option`."""
    func = click.option("--decimal", type=click.Choice([".", ","]), default=".", show_default=True,
                        help="Decimal mark of a CSV file: ',' for a European export ('6,27' with ';' between "
                             "fields).")(func)
    return click.option("--dayfirst/--monthfirst", default=None,
                        help="Dates written as text (in a CSV, or a Parquet text column) day first (10/06/2021 = "
                             "10 June) or month first (6 October); default: day first for dotted dates (13.03.2024), "
                             "and for slashes only when month first leaves irregular steps that day first does not "
                             "(a note says so). Refused for typed date-times and epoch numbers; a tidy file from "
                             "load-bms, ess_lfp:N and bess are read in their known format.")(func)


def _time_column_option(func):
    """--time-column, defined once for the commands reading data sets (train, evaluate, score); load-bms has its own
    for --input. Arrives as `time_column`, None when not given (then `time`)."""
    return click.option("--time-column", metavar="NAME", help="Time column of a CSV/Parquet data set read now "
                        "(default: time): datetime text, or epoch numbers. A tidy file from load-bms, ess_lfp:N "
                        "and bess are read in their known format.")(func)


def _refuse_unused_reading_options(specs, dayfirst: bool | None, decimal: str, time_column: str | None = None) -> None:
    """Refuse --dayfirst/--monthfirst, --decimal or --time-column when no data set given is a file they apply to: an
    option that silently changes nothing would hide that the data was read some other way."""
    from tinyad.battery.bms import reads_as_table

    files = [spec for spec in specs if spec and reads_as_table(spec)]
    unused = [] if files or dayfirst is None else ["--dayfirst" if dayfirst else "--monthfirst"]
    if time_column is not None and not files:
        unused.append("--time-column")
    if decimal != "." and not any(Path(spec).suffix.lower() != ".parquet" for spec in files):
        unused.append("--decimal")
    if unused:
        one = len(unused) == 1
        raise InputError(f"{' and '.join(unused)} {'applies' if one else 'apply'} to a CSV file, and no data set "
                         f"given is one", hint=f"leave {'it' if one else 'them'} out: a tidy Parquet file from tinyad "
                                               f"bert load-bms, ess_lfp:N and bess are read in their known format")


@click.group("bert")
def bert():
    """Synthetic-outlier transformer (AnomalyBERT method) for multichannel telemetry."""


@bert.command("load-bms")
@click.option("--rack", type=int, help="An ess_lfp rack number (cluster N).")
@click.option("--bess", is_flag=True, help="The BESS controller log instead of an ess_lfp rack.")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Any Parquet/CSV telemetry file instead.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="ess_lfp root (default ../shared/data/bms/ess_lfp); BESS: the CSV path.")
@click.option("--time-column", default="time", show_default=True, help="Time column of --input: datetime text, "
              "or epoch numbers (seconds, ms, us or ns, told apart by their size).")
@_reading_options
@click.option("--column", "columns", multiple=True, help="Channel column of --input (repeat; default: all numeric).")
@click.option("--period", "period_s", type=float, help="Grid period in seconds (default: 5 ess_lfp, 10 BESS, "
              "the median interval for --input).")
@click.option("--max-fill", "max_fill_s", type=float, help="Longest gap (s) to interpolate; longer gaps split "
              "the data into segments (default: 30 ess_lfp, 60 BESS, 6 periods --input).")
@click.option("--start", help="Keep the rows at or after this time (e.g. 2021-06-01 or '2021-06-01 12:00'; in "
              "the times the table prints: UTC when the source gives a zone or epoch numbers).")
@click.option("--end", help="Keep the rows before this time (same form as --start).")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The tidy Parquet file to write.")
def load_bms(rack, bess, input_path, root, time_column, dayfirst, decimal, columns, period_s, max_fill_s,
             start, end, out_path):
    """Turn BMS telemetry into a tidy fixed-rate Parquet table (voltage, current, SOC, temperature, cell
    voltage difference) and report the gaps. A table where almost no row reaches the grid is refused.
    --start/--end keep a time range (e.g. the months of one site's commissioning), cut after resampling."""
    from tinyad.battery import bms
    from tinyad.paths import shared_data_dir

    if sum(bool(x) for x in (rack is not None, bess, input_path)) != 1:
        raise InputError("give exactly one of --rack, --bess, --input", hint="e.g. --rack 1 -o rack1.parquet")
    given_for_input = [name for name, given in (("--dayfirst/--monthfirst", dayfirst is not None),
                                                ("--decimal", decimal != "."), ("--column", bool(columns)),
                                                ("--time-column", time_column != "time")) if given]
    if given_for_input and not input_path:
        raise InputError(f"{', '.join(given_for_input)} apply to --input only",
                         hint="the ess_lfp and BESS files are read in their known format, with their known channels")
    if input_path is not None and out_path.exists() and out_path.resolve() == input_path.resolve():
        raise InputError(f"-o {out_path} is the --input file: writing the table would replace its source",
                         hint=f"write it beside, e.g. -o {out_path.with_name(out_path.stem + '_tidy.parquet')}")
    if out_path.suffix.lower() != ".parquet":
        raise InputError(f"-o {out_path}: the tidy table is written as Parquet; the name must end in .parquet",
                         hint=f"use -o {out_path.with_suffix('.parquet')}")
    for option, value in (("--period", period_s), ("--max-fill", max_fill_s)):
        if value is not None and not (math.isfinite(value) and value > (0 if option == "--period" else -1e-12)):
            raise InputError(f"{option} {value:g} must be a positive number of seconds"
                             + (" (or 0: fill no gap)" if option == "--max-fill" else ""),
                             hint="e.g. --period 10 --max-fill 60")
    defaults = {}
    if period_s is not None:
        defaults["period_s"] = period_s
    if max_fill_s is not None:
        defaults["max_fill_s"] = max_fill_s
    if rack is not None:
        tidy = bms.load_ess_lfp(root or shared_data_dir() / "bms" / "ess_lfp", rack, **defaults)
    elif bess:
        tidy = bms.load_bess_log(root or shared_data_dir() / "bms" / "bess_bmu" / "bess_task1.csv", **defaults)
    else:
        tidy = bms.load_table(input_path, time_column, list(columns) or None, dayfirst=dayfirst, decimal=decimal,
                              **defaults)
    if start is not None or end is not None:
        tidy = bms.cut_to(tidy, _time_bound("--start", start, tidy.time_zone),
                          _time_bound("--end", end, tidy.time_zone))
    bms.write_tidy(tidy, out_path)
    summary, *gaps = bms.gap_lines(tidy)
    click.echo(summary)
    for line in gaps:
        click.echo(f"  {line}" + (" (all in the file's metadata)" if line.startswith("...") else ""))
    for note in tidy.gaps.notes:
        click.echo(f"note: {note}")
    for warning in tidy.gaps.warnings:
        click.secho(f"warning: {warning} (kept in the table's metadata)", fg="yellow", err=True)
    plural = "s" if len(tidy.channels) != 1 else ""
    click.echo(f"wrote {out_path} ({len(tidy.frame)} rows x {len(tidy.channels)} channel{plural}: "
               f"{', '.join(tidy.channels)}; {tidy.period_s:g} s" + (", times in UTC)" if tidy.time_zone else ")"))


def _time_bound(option: str, text: str | None, time_zone: str):
    """--start/--end as a time comparable with the table's (naive) times: a time with a zone or offset is
    converted to UTC when the table's times are in UTC, and refused when the table's zone is unknown."""
    if text is None:
        return None
    import pandas as pd

    try:
        bound = pd.Timestamp(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a time", hint=f"e.g. {option} 2021-06-01 or "
                                                                    f"{option} '2021-06-01 12:00'") from None
    if bound is pd.NaT:
        raise InputError(f"{option} {text!r} is not a time", hint=f"e.g. {option} 2021-06-01")
    if bound.tzinfo is None:
        return bound
    if time_zone != "UTC":
        raise InputError(f"{option} {text!r} has a zone, and this table's times have none (as written in the source)",
                         hint=f"give the time as the table prints it, without the offset, e.g. {option} "
                              + shlex.quote(f"{bound.tz_localize(None):%Y-%m-%d %H:%M}"))
    return bound.tz_convert("UTC").tz_localize(None)


def _rate(ctx, param, value):
    """--anomaly-rate checked when parsed: a percentage (8) is refused before any data is read."""
    from tinyad.bert.evaluate import check_anomaly_rate

    if value is not None:
        check_anomaly_rate(value)
    return value


def _range(ctx, param, value):
    from tinyad.bert.train import parse_range

    return None if value in (None, "none") else parse_range(value)


def _load_dataset(spec: str, to_stderr: bool = False, dayfirst: bool | None = None, decimal: str = ".",
                  time_column: str | None = None):
    """`tinyad.battery.bms.load_any(spec, ...)` (`time_column` None: `time`), printing what loading did (gaps,
    resampling, assumptions) when the data was loaded and resampled now rather than read from a tidy file (whose
    report load-bms showed)."""
    from tinyad.battery.bms import TIME_COLUMN, is_tidy_file, load_any, loading_messages

    data = load_any(spec, dayfirst=dayfirst, decimal=decimal, time_column=time_column or TIME_COLUMN)
    for level, text in loading_messages(data, is_tidy_file(spec)):
        if level == "warning":
            click.secho(f"warning: {text}", fg="yellow", err=True)
        else:
            click.echo(f"note: {text}", err=to_stderr)
    return data


def _format_row(row: dict) -> str:
    """One history row for people: 'step N  loss ...  score ...'; a loss not measured yet (step 0 of
    fine-tuning) is shown as '-', and step 0 says what it scores (not what `bert evaluate` gives the loaded
    checkpoint, which keeps its own standardization)."""
    def value(key):
        number = float(row[key])
        return "-" if number != number else f"{number:.3f}"  # NaN: nothing measured

    scores = "  ".join(f"{key} {value(key)}" for key in ("loss", "score", "score_pa", "f1", "pa_f1", "auc_pr",
                                                           "vus_pr") if key in row)
    before = "  (the loaded weights before any update, standardized on this data)" if row["step"] == 0 else ""
    return f"step {row['step']:6d}  {scores}{before}"


@contextlib.contextmanager
def _removed_if_left_empty(folder: Path):
    """Run the body; if it fails and `folder` did not exist before but does now with nothing in it, remove it
    (a refused command leaves no empty run folder behind)."""
    existed = folder.exists()
    try:
        yield
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _beside(folder: Path, suffix: str) -> Path:
    """A folder named like `folder` plus `suffix`, for hints: runs -> runs_2; `.` or `..` by their real name
    (`._2` would be a hidden folder inside the current one)."""
    if folder.name in ("", ".", ".."):
        return folder.resolve().with_name(folder.resolve().name + suffix)
    return folder.with_name(folder.name + suffix)


def _check_output_folder(run_dir: Path, checkpoint: str | None, overwrite: bool) -> list[Path]:
    """The earlier run's files in `run_dir` that --overwrite will remove (empty: a fresh folder). Refuses a
    folder holding a run without --overwrite, and a --checkpoint inside the folder it would remove."""
    from tinyad.bert.train import refuse_a_used_run_dir, resolve_checkpoint

    existing = refuse_a_used_run_dir(run_dir, overwrite, hint=f"train into another folder (e.g. --out "
                                                              f"{_beside(run_dir, '_2')}), "
                                                              "or add --overwrite to remove the old run's files first")
    if not existing:
        return []
    if checkpoint:
        source = resolve_checkpoint(Path(checkpoint)).resolve()
        folder = run_dir.resolve()
        if source == folder or folder in source.parents:
            raise InputError(f"--checkpoint {checkpoint} is inside --out {run_dir}, which --overwrite would "
                             f"remove", hint=f"fine-tune into another folder, e.g. --out {_beside(run_dir, '_ft')}")
    return existing


@bert.command("train")
@click.option("--dataset", required=True, help=DATASET_HELP)
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory: step_NNNNNN/ checkpoints, history.json, history.png. A folder holding "
                   "another run is refused (see --overwrite).")
@click.option("--overwrite", is_flag=True, help="Remove an earlier run's files from --out first (its step_* "
              "checkpoints and history.json/png; nothing else).")
@click.option("--preset", type=click.Choice(["tiny", "small", "medium", "method"]), default="small",
              show_default=True, help="Architecture: method = AnomalyBERT's 6-layer, width-512, 512-step body (slow "
              "on CPU); medium = 3 layers, width 128 (about 3x small's step time).")
@click.option("--patch_size", type=int, help="Steps per patch (default: the preset's).")
@click.option("--window", type=int, help="Window length in steps (default: the preset's).")
@click.option("--window_sliding", type=int, default=16, show_default=True, help="Stride of evaluation windows.")
@click.option("--soft_replacing", type=float, default=0.5, show_default=True)
@click.option("--uniform_replacing", type=float, default=0.15, show_default=True)
@click.option("--peak_noising", type=float, default=0.15, show_default=True)
@click.option("--length_adjusting", type=float, default=0.0, show_default=True)
@click.option("--donor", help="Another data set to take soft-replacing segments from. " + DATASET_HELP)
@click.option("--checkpoint", help="Start from this checkpoint (transfer learning / fine-tuning).")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--max_steps", type=int, default=2000, show_default=True)
@click.option("--batch_size", type=int, default=32, show_default=True)
@click.option("--checkpoint_every", type=int, default=200, show_default=True)
@click.option("--train-range", default="0:0.75", show_default=True, callback=_range,
              help="Fraction of the data set's time span to train on.")
@click.option("--eval-dataset", help="Evaluate checkpoints on this data set instead (e.g. another rack).")
@click.option("--eval-range", default="0.75:1", show_default=True, callback=_range,
              help="Held-out time range evaluated at each checkpoint ('none': no evaluation).")
@click.option("--anomaly-rate", type=float, default=0.08, show_default=True, callback=_rate,
              help="Injected anomaly rate of the evaluation sets, also the quantile cut of the method's score.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--center/--no-center", default=True, show_default=True,
              help="Center each window per channel inside the model (judge shapes, not the operating point).")
@click.option("--ema-decay", type=float, default=0.0, show_default=True,
              help="Exponential moving average of the weights (e.g. 0.98; 0 = off); checkpoints hold the average.")
@_reading_options
@_time_column_option
def train_command(dataset, run_dir, overwrite, preset, patch_size, window, window_sliding, soft_replacing,
                  uniform_replacing, peak_noising, length_adjusting, donor, checkpoint, lr, max_steps, batch_size,
                  checkpoint_every, train_range, eval_dataset, eval_range, anomaly_rate, seed, center, ema_decay,
                  dayfirst, decimal, time_column):
    """Train (or fine-tune with --checkpoint) on normal telemetry with synthetic outliers; every
    --checkpoint_every steps a checkpoint is written and evaluated."""
    from tinyad.bert.evaluate import TARGET_SCORE, first_reaching
    from tinyad.bert.train import TrainingInterrupted, TrainOptions, remove_run_files, train_on_dataset, \
        validate_options

    given = click.get_current_context().get_parameter_source("preset") == click.core.ParameterSource.COMMANDLINE
    if checkpoint and given:
        raise InputError("--preset does not apply when fine-tuning: the architecture is the checkpoint's",
                         hint="leave --preset out with --checkpoint")
    _refuse_unused_reading_options([dataset, donor, eval_dataset], dayfirst, decimal, time_column)
    options = TrainOptions(preset=preset, patch_size=patch_size, window=window, window_sliding=window_sliding,
                           soft_replacing=soft_replacing, uniform_replacing=uniform_replacing,
                           peak_noising=peak_noising, length_adjusting=length_adjusting, checkpoint=checkpoint,
                           lr=lr, max_steps=max_steps, batch_size=batch_size, checkpoint_every=checkpoint_every,
                           seed=seed, center_windows=center, ema_decay=ema_decay)
    validate_options(options)  # refused options fail before any data is loaded or folder touched
    old_run = _check_output_folder(run_dir, checkpoint, overwrite)

    def remove_old_run():
        """Called once every check passed and the source checkpoint is loaded: only then is the old run gone."""
        if old_run:
            removed = remove_run_files(run_dir)
            click.echo(f"note: --overwrite: removed the earlier run's {len(removed)} file(s)/folder(s) from "
                       f"{run_dir}")

    try:
        with _removed_if_left_empty(run_dir):
            result = train_on_dataset(dataset, options, run_dir, train_range, eval_dataset, eval_range, donor,
                                      anomaly_rate, log=_log_note_or_warning,
                                      progress=sys.stderr.isatty(),  # a log file would collect every bar frame
                                      on_checkpoint=lambda row: click.echo(_format_row(row)),
                                      before_first_write=remove_old_run, dayfirst=dayfirst, decimal=decimal,
                                      time_column=time_column or "time", overwrite=overwrite)
    except TrainingInterrupted as interrupted:
        done = interrupted.result
        click.echo(f"interrupted: history.json holds {len(done.history)} checkpoint row(s) in {run_dir}", err=True)
        if done.final_checkpoint is not None:
            click.echo(f"last checkpoint: {done.final_checkpoint} (pass it to --checkpoint to continue, or to "
                       f"tinyad bert evaluate / score)", err=True)
        else:
            click.echo("no checkpoint was written yet", err=True)
        raise click.exceptions.Abort() from None  # the CLI exits 130, as for any Ctrl-C
    if eval_range is not None:
        first = first_reaching(result.history)
        click.echo(f"first checkpoint with unadjusted (P+R)/2 >= {TARGET_SCORE:.2f}: "
                   f"{first if first is not None else 'none'}")
        click.echo(f"plot: {result.run_dir / 'history.png'}")
    if warning := diverged_warning(result.history):
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"final checkpoint: {result.final_checkpoint} ({result.seconds:.0f} s)")


def _scoring_options(range_default: str, range_help: str, rate_default: float | None = 0.08,
                     rate_help: str = "The method's cut: flags this share of the steps, those with the highest "
                                      "scores."):
    """The options `evaluate` and `score` share: a checkpoint, the data (and how a CSV is written, which column
    holds its times), a time range, the window stride and the method's cut. The range arrives as `score_range`."""
    def decorate(func):
        func = _reading_options(_time_column_option(func))
        for option in reversed([
            # no exists/file_okay checks here: resolve_checkpoint names a missing path or a file given as one
            click.argument("checkpoint", type=click.Path(path_type=Path)),
            click.option("--dataset", required=True, help=DATASET_HELP),
            click.option("--range", "score_range", default=range_default, show_default=True, callback=_range,
                         help=range_help),
            click.option("--window_sliding", type=int, default=16, show_default=True),
            click.option("--anomaly-rate", type=float, default=rate_default, show_default=rate_default is not None,
                         callback=_rate, help=rate_help),
        ]):
            func = option(func)
        return func
    return decorate


def _load_for(checkpoint: Path, dataset: str, window_sliding: int, to_stderr: bool = False,
              dayfirst: bool | None = None, decimal: str = ".", time_column: str | None = None):
    """(loaded checkpoint, telemetry in its channel order, warnings); other channels are refused with a hint, a
    --window_sliding longer than the checkpoint's window too (before the data is read); a sampling period other than
    the checkpoint's is a warning (printed, and returned for the outputs that keep warnings). `dayfirst`,
    `decimal`, `time_column`: how a CSV is written."""
    from tinyad.bert.evaluate import check_stride
    from tinyad.bert.train import load_checkpoint, period_note

    check_stride(window_sliding)  # below 1: refused before the checkpoint is read
    loaded = load_checkpoint(checkpoint)
    check_stride(window_sliding, loaded.config.window)
    data = _telemetry_for(loaded, dataset, to_stderr, dayfirst, decimal, time_column)
    warnings = []
    if note := period_note(loaded.meta, data.period_s, data.source):
        warnings.append(note)
        click.secho(f"warning: {note}", fg="yellow", err=True)
    return loaded, data, warnings


def _log_note_or_warning(message: str) -> None:
    """Training's messages: those starting "warning: " in yellow on stderr, the others as notes."""
    if message.startswith("warning: "):
        click.secho(message, fg="yellow", err=True)
    else:
        click.echo(f"note: {message}")


def _telemetry_for(loaded, dataset: str, to_stderr: bool = False, dayfirst: bool | None = None, decimal: str = ".",
                   time_column: str | None = None):
    """`dataset` in the loaded checkpoint's channel order; channels beyond the checkpoint's are left out with a
    note; a checkpoint channel the data lack is refused with a hint."""
    from tinyad.bert.evaluate import in_checkpoint_channels

    data, note = in_checkpoint_channels(loaded.channels, _load_dataset(dataset, to_stderr, dayfirst, decimal,
                                                                       time_column), dataset)
    if note:
        click.echo(f"note: {note}", err=to_stderr)
    return data


@bert.command("evaluate")
@_scoring_options("0.75:1", "Held-out time range to inject anomalies into and score.")
@click.option("--seeds", type=click.IntRange(min=1), default=4, show_default=True,
              help="Injected copies of the held-out range.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def evaluate_command(checkpoint, dataset, score_range, window_sliding, anomaly_rate, seeds, as_json, dayfirst,
                     decimal, time_column):
    """Score a checkpoint (or a run's last one) on a held-out range with injected anomalies: the method's
    score ((P+R)/2 at the anomaly-rate quantile, raw and point-adjusted) and the common evaluation suite."""
    from tinyad.bert.evaluate import CheckpointEvaluator, blocks_for_evaluation, held_out_check
    from tinyad.bert.outliers import TRAIN_TYPES, UNSEEN_TYPES
    from tinyad.bert.train import resolve_checkpoint

    _refuse_unused_reading_options([dataset], dayfirst, decimal, time_column)
    range_given = click.get_current_context().get_parameter_source("score_range") != ParameterSource.DEFAULT
    loaded, data, load_warnings = _load_for(checkpoint, dataset, window_sliding, as_json, dayfirst, decimal,
                                            time_column)
    # One block per contiguous segment: an injected test window never spans a gap in the data; a block needs at
    # least one whole window.
    scored = data.time_slice(*score_range)
    range_text = f"{score_range[0]:g}:{score_range[1]:g}" + ("" if range_given else " (the default --range)")
    # also in --json's output: a script reading the numbers must not miss them
    held_out, note = held_out_check(loaded.meta.get("train", {}), data, scored, score_range, range_text, dataset)
    for warning in held_out:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    warnings = [*load_warnings, *held_out]
    if note:
        click.echo(f"note: {note}", err=as_json)
    blocks, left_out = blocks_for_evaluation(scored.segments(), loaded.config.window,
                                             f"range {score_range[0]:g}:{score_range[1]:g} of {dataset}", "--range")
    if left_out:
        click.echo(f"note: {left_out}", err=as_json)
    evaluator = CheckpointEvaluator(blocks, window_sliding, range(seeds), anomaly_rate)
    # The checkpoint's standardizer was fitted on its training data; evaluate in its units.
    result = evaluator(loaded.model, loaded.standardizer, with_report=True)
    report = result.pop("report")
    injected = result["events"]  # (type, start, stop) of every injected anomaly
    for key in ("scores", "labels", "events", "part_starts"):
        result.pop(key)
    flagged = report.counts["tp"] + report.counts["fp"]
    if as_json:
        result.update(far=report.far, mar=report.mar, roc_auc=report.roc_auc, step=loaded.step,
                      checkpoint=str(resolve_checkpoint(checkpoint)), range=list(score_range), seeds=seeds,
                      anomaly_rate=anomaly_rate, held_out=not held_out, warnings=warnings,
                      flagged_share=flagged / report.n_points if report.n_points else 0.0,
                      anomalous_share=report.n_anomalous_points / report.n_points if report.n_points else 0.0,
                      score_ceiling=score_ceiling(flagged, report.n_anomalous_points))
        click.echo(json.dumps(result, default=float, sort_keys=True))
        return
    click.echo(f"checkpoint step {loaded.step}, {dataset} range {score_range}, {seeds} injected copies")
    click.echo(f"method score (P+R)/2: {result['score']:.3f} (point-adjusted {result['score_pa']:.3f}); "
               f"precision {result['precision']:.3f}, recall {result['recall']:.3f}")
    click.echo("  " + method_cut_text(anomaly_rate, result["threshold"], flagged, report.n_anomalous_points,
                                      report.n_points))
    click.echo(str(report))
    click.echo("recall by type: " + ", ".join(f"{k} {v:.2f}" for k, v in result["recall_by_type"].items()))
    if unplaced := [kind for kind in TRAIN_TYPES + UNSEEN_TYPES if kind not in result["recall_by_type"]]:
        why = (f"the range held only {len(injected)} injected events" if len(injected) < len(TRAIN_TYPES + UNSEEN_TYPES)
               else "they would change nothing visible in these rows, e.g. a stuck value in a flat stretch")
        click.echo(f"  not placed in this range: {', '.join(unplaced)} ({why})")
    if len(injected) < FEW_EVENTS:
        click.echo(f"note: only {len(injected)} injected events: figures from so few vary much; evaluate a longer "
                   "range or more --seeds")


@bert.command("score")
@_scoring_options("0:1", "Time range to score, as fractions of the span.", None,
                  "The cut: this share of the steps scoring highest (default 0.08, the method's), or with "
                  "--reference the share of the reference's steps above it (default 0.001).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Write scores.csv (time, score, alarm, interpolated), scores.png and summary.json here (the "
                   "earlier ones are removed first: a run that fails leaves none, but for a summary.json given "
                   "as --threshold-from, which keeps its cut and nothing else).")
@click.option("--reference", help="Known-normal telemetry (same forms as --dataset): the cut becomes its "
              "(1 - anomaly-rate) score quantile, a fixed threshold; the anomaly rate is then its false alarm share.")
@click.option("--threshold-from", "threshold_from", type=click.Path(dir_okay=False, path_type=Path),
              help="The summary.json of an earlier `bert score --reference` run with this checkpoint and stride: "
                   "reuse its cut instead of scoring the reference again (a job scoring new data every day).")
@click.option("--fail-on-alarm", is_flag=True,
              help=f"Exit with code {ALARMS_EXIT_CODE} when a step is above the cut (0: none), for scripts; an error "
                   "still exits with its own code.")
def score_command(checkpoint, dataset, score_range, window_sliding, anomaly_rate, out_dir, reference, threshold_from,
                  fail_on_alarm, dayfirst, decimal, time_column):
    """Score real telemetry with a checkpoint (or a run's last one): per-step anomaly scores, no injected
    anomalies and no labels. Writes a CSV and a PNG. The cut ranks steps within this data, or with
    --reference is set on known-normal telemetry (--threshold-from reuses such a cut)."""
    from tinyad.bert.evaluate import saved_reference_cut
    from tinyad.bert.score_telemetry import (keep_only_the_cut, plot_scored_telemetry, reference_warnings,
                                             score_summary, score_telemetry, write_scores_csv, write_summary)
    from tinyad.bert.train import WEIGHTS_FILE, resolve_checkpoint
    from tinyad.model_settings import sha256_file

    if threshold_from is not None and (reference or anomaly_rate is not None):
        given = "--reference" if reference else "--anomaly-rate"
        raise InputError(f"--threshold-from and {given} both set the cut",
                         hint="give --threshold-from alone (its cut was set on a reference), or --reference with "
                              "--anomaly-rate to set a new one")
    _refuse_unused_reading_options([dataset, reference], dayfirst, decimal, time_column)
    # First, before anything can be refused: an unattended job must never read an earlier run's results as this
    # one's. The cut it reads (its --threshold-from may be the summary.json of this folder) stays, alone, until
    # the new summary replaces it.
    earlier = outputs_in(out_dir, SCORE_FILES)
    if threshold_from is not None and any(path.resolve() == threshold_from.resolve() for path in earlier):
        keep_only_the_cut(threshold_from)
        earlier = [path for path in earlier if path.resolve() != threshold_from.resolve()]
    remove_outputs(earlier)
    weights = resolve_checkpoint(checkpoint) / WEIGHTS_FILE
    weights_sha256 = sha256_file(weights) if weights.is_file() else None  # missing: loading the checkpoint says so
    saved = (saved_reference_cut(threshold_from, weights_sha256, window_sliding)
             if threshold_from and weights_sha256 else None)
    loaded, whole, load_warnings = _load_for(checkpoint, dataset, window_sliding, dayfirst=dayfirst,
                                             decimal=decimal, time_column=time_column)
    earlier_warnings = [*load_warnings, *whole.gaps.warnings]  # printed as they arose; kept in summary.json
    normal = None
    about_reference = list(saved.reference_warnings) if saved is not None else []  # the cut still rests on it
    if reference:
        reference_data = _telemetry_for(loaded, reference, dayfirst=dayfirst, decimal=decimal, time_column=time_column)
        normal = reference_data.segments()
        about_reference = reference_warnings(loaded, reference_data, anomaly_rate or 0.001, reference)
    for warning in about_reference:
        click.secho(f"warning: {warning}" + (f" (said when the cut was set, {threshold_from})" if saved else ""),
                    fg="yellow", err=True)
    earlier_warnings += about_reference
    scored = score_telemetry(loaded, whole, score_range, window_sliding, anomaly_rate, normal, reference, saved,
                             threshold_from)
    flags, filled = scored.flags, scored.filled
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scores_csv(scored, out_dir / "scores.csv")
    png = plot_scored_telemetry(scored, out_dir / "scores.png")
    click.echo(f"{scored.data.source}: {len(scored.scores)} steps scored with checkpoint step {scored.step}; "
               f"{int(flags.sum())} ({flags.mean():.1%}) above the {scored.cut_text} ({scored.threshold:.3f}) in "
               f"{len(scored.regions)} region(s)")
    if not scored.episodes:
        click.echo("no alarm episode")
    else:
        click.echo(f"{len(scored.episodes)} episode(s) (runs less than a window, {scored.window} steps, apart; "
                   f"{scored.zone_text})" + (", the 10 highest:" if len(scored.episodes) > 10 else ":"))
    for a, b in scored.highest_episodes():
        click.echo(f"  {scored.times.iloc[a]} .. {scored.times.iloc[b - 1]}  peak score {scored.scores[a:b].max():.3f}")
    if filled.any():
        click.echo(f"note: {int(filled.sum())} step(s) were interpolated over short gaps, {int((filled & flags).sum())}"
                   " of them above the cut (column `interpolated` in scores.csv, blue in scores.png)")
    for warning in scored.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for note in scored.notes:
        click.echo(f"note: {note}")
    write_summary(score_summary(scored, dataset, checkpoint, weights_sha256, window_sliding, threshold_from,
                                earlier_warnings, about_reference), out_dir / "summary.json")
    click.echo(f"wrote {out_dir / 'scores.csv'}, {png} and {out_dir / 'summary.json'}")
    if fail_on_alarm and flags.any():
        raise AlarmsFound()
