"""`tinyad detect fit|score`: label-free detectors on multivariate CSV/Parquet telemetry and IMU sessions
(thin click wrappers over tinyad.detectors)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import click

from tinyad.detectors.pipeline import KIND_NAMES, THRESHOLD_METHODS
from tinyad.detectors.skab_rule import UCL_FACTOR, UCL_QUANTILE
from tinyad.errors import InputError


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


def output_stems(files) -> list[str]:
    """One output name per input file, unique: the file's stem, or with its folder where stems repeat
    (valve1/0.csv and valve2/0.csv -> valve1_0, valve2_0), numbered if that still repeats."""
    from collections import Counter

    paths = [Path(f) for f in files]
    repeated = {stem for stem, n in Counter(p.stem for p in paths).items() if n > 1}
    names = [f"{p.parent.name}_{p.stem}" if p.stem in repeated and p.parent.name else p.stem for p in paths]
    counts = Counter(names)
    seen: Counter = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(f"{name}_{seen[name]}" if counts[name] > 1 else name)
    return unique


_read_options = [
    click.option("--columns", multiple=True,
                 help="Numeric columns, comma-separated or repeated (default: all numeric ones / session channels)."),
    click.option("--time-column", help="Column holding time stamps (excluded from the signals)."),
    click.option("--sep", help="CSV separator (default: sniffed; SKAB uses ';')."),
    click.option("--drop", multiple=True,
                 help="Columns to leave out of the signals, comma-separated or repeated (e.g. other label columns)."),
]


def _with_read_options(func):
    for option in reversed(_read_options):
        func = option(func)
    return func


@click.group("detect")
def detect():
    """Label-free anomaly detection: fit on normal data, score new data, plot the alarms."""


@detect.command("fit")
@click.argument("normal_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the fitted detector.")
@click.option("--model", "kind", default="lstm-ae", show_default=True,
              type=click.Choice(list(KIND_NAMES)))
@_with_read_options
@click.option("--label-column", help="Label column to exclude from the signals (labels are never used to fit).")
@click.option("--train-rows", type=int, help="Use only the first N rows of each file (the rest may hold faults).")
@click.option("--window", type=int, help="LSTM-AE / Conv-AE window, forecaster history (steps).")
@click.option("--horizon", type=int, help="Forecaster: steps predicted ahead.")
@click.option("--dense-units", help="LSTM-AE: comma-separated Dense encoder widths, e.g. 16 (empty: none).")
@click.option("--lstm-units", help="Comma-separated LSTM widths, e.g. 32,8 (the last is the AE bottleneck).")
@click.option("--epochs", type=int, help="Maximum training epochs (early stopping on the last 20 %).")
@click.option("--threshold", "method", default="dynamic", show_default=True, type=click.Choice(THRESHOLD_METHODS),
              help="covering (lstm-ae, conv-ae): SKAB's Conv-AE rule on per-window residuals.")
@click.option("--span", "smoothing_span", type=float, default=10.0, show_default=True, help="EWMA span (steps).")
@click.option("--p", "prune_p", type=float, default=0.13, show_default=True, help="Dynamic: pruning fraction.")
@click.option("--error-window", type=int, help="Dynamic: error window length (default: whole series).")
@click.option("--quantile", type=float, default=0.99, show_default=True)
@click.option("--k", "k_sigma", type=float, default=3.0, show_default=True)
@click.option("--ucl-quantile", type=float, default=UCL_QUANTILE, show_default=True,
              help="Covering: quantile of the training windows' residuals.")
@click.option("--ucl-factor", type=float, default=UCL_FACTOR, show_default=True,
              help="Covering: factor on that quantile.")
def fit(normal_files, out_dir, kind, columns, time_column, sep, drop, label_column, train_rows, window, horizon,
        dense_units, lstm_units, epochs, method, smoothing_span, prune_p, error_window, quantile, k_sigma,
        ucl_quantile, ucl_factor):
    """Fit a detector on NORMAL_FILES (CSV, Parquet or tinyad sessions holding normal data only)."""
    from tinyad.detectors.pipeline import LabelFreeDetector, ThresholdConfig
    from tinyad.detectors.telemetry import load_telemetry

    loaded = [load_telemetry(p, _columns(columns), time_column, label_column, sep, _columns(drop))
              for p in normal_files]
    names = loaded[0].columns
    for item in loaded[1:]:
        if item.columns != names:
            raise InputError(f"{item.source}: columns {item.columns} differ from {names}",
                             hint="fit on files with the same channels")
    segments = [item.values[:train_rows] if train_rows else item.values for item in loaded]
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
    threshold = ThresholdConfig(method=method, smoothing_span=smoothing_span, p=prune_p, window=error_window,
                                quantile=quantile, k=k_sigma, ucl_quantile=ucl_quantile, ucl_factor=ucl_factor)
    detector = LabelFreeDetector(kind, threshold, model_config)
    click.echo(f"fitting {kind} on {sum(len(s) for s in segments)} rows x {len(names)} channels "
               f"({', '.join(names)})")
    detector.fit(segments, progress=True)
    detector.save(out_dir)
    (out_dir / "columns.txt").write_text("\n".join(names) + "\n")
    click.echo(f"saved to {out_dir}; smoothed training error p99 {detector.training_quantile(0.99):.4g}")


@detect.command("score")
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_with_read_options
@click.option("--label-column", help="0/1 label column: only for the printed evaluation, never for thresholds.")
@click.option("--threshold", "method", type=click.Choice(THRESHOLD_METHODS),
              help="Override the threshold method saved with the detector.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write <name>.scores.csv and <name>.png per input here.")
def score(model_dir, files, columns, time_column, sep, drop, label_column, method, out_dir):
    """Score FILES with the detector in MODEL_DIR: alarms, flagged regions, PNG plots, optional evaluation."""
    import numpy as np
    import pandas as pd

    from tinyad.detectors.pipeline import LabelFreeDetector, pruned_note, whole_file_departure_note
    from tinyad.detectors.telemetry import load_telemetry, plot_scored
    from tinyad.evaluation import events, report

    detector = LabelFreeDetector.load(model_dir)
    training_p99 = detector.training_quantile(0.99)
    saved_columns = model_dir / "columns.txt"
    if not columns and saved_columns.exists():
        columns = [line for line in saved_columns.read_text().splitlines() if line]
    scored = []  # for the summary
    for path, stem in zip(files, output_stems(files)):
        data = load_telemetry(path, _columns(columns), time_column, label_column, sep, _columns(drop))
        result = detector.score(data.values, method)
        regions = events(result.flags)
        scored.append(_ScoredFile(path, len(regions), result.flags, result.smoothed, data.labels))
        click.echo(f"{path}: {len(data.values)} rows, {int(result.flags.sum())} flagged in {len(regions)} "
                   f"region(s) ({result.method} threshold)")
        for a, b in regions[:20]:
            when = f"  ({data.time[a]} .. {data.time[b - 1]})" if data.time is not None else ""
            click.echo(f"  rows {a}..{b - 1}{when}")
        if len(regions) > 20:
            click.echo(f"  ... {len(regions) - 20} more")
        for note in (pruned_note(result, detector.threshold.p), whole_file_departure_note(result, training_p99)):
            if note:
                click.echo(f"  note: {note}")
        if data.labels is not None:
            click.echo("  " + str(report(data.labels, result.flags, result.smoothed, name=detector.kind,
                                         threshold_saw_test_labels=False)))
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            frame = pd.DataFrame({"error": result.errors, "smoothed": result.smoothed,
                                  "threshold": result.threshold, "alarm": result.flags.astype(np.int8)})
            if data.time is not None:
                frame.insert(0, "time", data.time)
            csv_path = out_dir / f"{stem}.scores.csv"
            frame.to_csv(csv_path, index=False)
            png = plot_scored(data, result.smoothed, result.threshold, result.flags, out_dir / f"{stem}.png",
                              title=f"{path.name}: {detector.kind}, {result.method} threshold",
                              training_p99=training_p99, pruned=result.pruned)
            click.echo(f"  wrote {csv_path} and {png}")
    if len(scored) > 1:
        _print_summary(scored, detector.kind)


class _ScoredFile(NamedTuple):
    path: Path
    regions: int
    flags: "np.ndarray"
    smoothed: "np.ndarray"
    labels: "np.ndarray | None"


def _print_summary(scored: list[_ScoredFile], kind: str) -> None:
    """A line per file, then (when every file is labelled) the report over all files concatenated, as SKAB's
    protocol scores them."""
    import numpy as np

    from tinyad.evaluation import report

    width = max(len(str(f.path)) for f in scored)
    click.echo(f"summary: {len(scored)} files")
    for f in scored:
        rows, flagged = len(f.flags), int(f.flags.sum())
        click.echo(f"  {str(f.path):{width}}  {rows:7d} rows  {flagged:7d} flagged ({flagged / rows:6.1%})  "
                   f"{f.regions:4d} region(s)")
    if all(f.labels is not None for f in scored):
        joined = [np.concatenate([getattr(f, name) for f in scored]) for name in ("labels", "flags", "smoothed")]
        click.echo("  all files concatenated: " + str(report(*joined, name=kind, threshold_saw_test_labels=False)))
