"""The host ML pipeline commands: train, quantize, check, export, demo (thin wrappers over the typed API)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinyad.errors import InputError


def load_sessions(paths: tuple[str, ...] | list[str]) -> list:
    """Session files given directly or as directories of *.parquet, in sorted order."""
    from tinyad.session import read_session

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.glob("*.parquet"))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    if not files:
        raise InputError(f"no session files (*.parquet) in {', '.join(map(str, paths))}",
                         hint="create some with `tinyad synth`, `tinyad import` or `tinyad record`")
    return [read_session(f) for f in files]


def _metrics_table(rows: list[tuple[str, dict]]) -> str:
    keys = ("accuracy", "macro_f1", "binary_f1", "roc_auc")
    out = [f"{'':10s}" + "".join(f"{k:>11s}" for k in keys)]
    for name, m in rows:
        out.append(f"{name:10s}" + "".join(f"{m[k]:11.4f}" for k in keys))
    return "\n".join(out)


@click.command()
@click.argument("sessions", nargs=-1, required=True)
@click.option("--model", "model_name", default="cnn_gru", show_default=True,
              type=click.Choice(["cnn_gru", "cnn_gru_keras", "cnn_lstm", "cnn_transformer"]))
@click.option("--task", default="multiclass", show_default=True, type=click.Choice(["multiclass", "binary"]))
@click.option("--window", default=64, show_default=True, help="Samples per window.")
@click.option("--hop", default=32, show_default=True, help="Samples between window starts.")
@click.option("--epochs", default=40, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--max-windows-per-session", type=int, default=None, help="Down-sample very long sessions.")
@click.option("--min-samples", default=0, show_default=True, help="Curation: skip a data set with fewer samples.")
@click.option("--min-anomaly-fraction", default=0.0, show_default=True,
              help="Curation: skip a data set with a smaller anomalous fraction (the study used 0.05).")
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Run directory [runs/<model>].")
def train(sessions, model_name, task, window, hop, epochs, seed, max_windows_per_session, min_samples,
          min_anomaly_fraction, out_dir):
    """Train a model on labeled SESSIONS (files or directories of .parquet session files)."""
    from tinyad.datasets import DatasetConfig, build_dataset
    from tinyad.models import ModelConfig
    from tinyad.train import TrainConfig
    from tinyad.train import train as train_model

    data = build_dataset(load_sessions(sessions), DatasetConfig(
        window=window, hop=hop, task=task, max_windows_per_session=max_windows_per_session,
        min_samples=min_samples, min_anomaly_fraction=min_anomaly_fraction))
    click.echo(f"classes {data.class_names}; windows train {len(data.train)}, val {len(data.val)}, "
               f"test {len(data.test)} (split by session / time block, no window crosses a boundary)")
    out_dir = Path(out_dir or f"runs/{model_name}")
    run = train_model(data, ModelConfig(name=model_name), TrainConfig(epochs=epochs, seed=seed), out_dir)
    metrics = json.loads((run.path / "metrics.json").read_text())
    click.echo(_metrics_table([("float", metrics["float_test"])]))
    click.echo(f"run directory: {run.path} (model.keras, metrics.json, training_curves.png, confusion_matrix.png)")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Where to write model.tflite [RUN_DIR].")
@click.option("--per-channel-dense", is_flag=True, help="Per-channel scales for dense layers (more flash).")
def quantize(run_dir, out_dir, per_channel_dense):
    """Full-int8 quantization of a training run; float vs int8 (under TFLM) on the test split."""
    from tinyad.quantize import quantize_run
    from tinyad.train import load_run

    result = quantize_run(load_run(run_dir), out_dir, per_channel_dense=per_channel_dense)
    click.echo(_metrics_table([("float", result.float_metrics), ("int8", result.int8_metrics)]))
    s = result.settings
    click.echo(f"{result.tflite_path}: {s.flash_bytes:,} bytes, arena {s.arena_bytes:,} bytes, "
               f"input scale {s.input_scale:.6g} zp {s.input_zero_point}, output scale {s.output_scale:.6g} "
               f"zp {s.output_zero_point}")


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False),
              help="Training run whose test windows to compare on (else random int8 windows).")
@click.option("--windows", "n_windows", default=500, show_default=True, help="How many test windows to compare.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(model, run_dir, n_windows, as_json):
    """Measure MODEL under the host TFLM (arena, ops, flash, MACs, time) and compare TFLite with TFLM."""
    from tinyad.check import check_model, format_report

    model_bytes = Path(model).read_bytes()
    windows = test_windows_int8(Path(model), run_dir, n_windows)
    report = check_model(model_bytes, windows, progress=not as_json)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        if windows is None:
            click.echo("(no --run given: compared on random int8 windows)")
        click.echo(format_report(report))


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
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--settings", "settings_path", type=click.Path(exists=True, dir_okay=False),
              help="model_settings.json [beside MODEL].")
@click.option("--out", "out_dir", type=click.Path(), default=None, help="Output directory [firmware/main/model].")
def export(model, settings_path, out_dir):
    """Generate model_data.cc/.h and model_settings.h (with RegisterOps) for the firmware from MODEL."""
    from tinyad.export import export_model

    for path in export_model(model, settings_path, out_dir):
        click.echo(f"wrote {path}")


@click.command()
@click.option("--out", "out_dir", type=click.Path(), default="runs/demo", show_default=True)
@click.option("--sessions-per-class", default=6, show_default=True)
@click.option("--duration", default=60.0, show_default=True, help="Seconds per synthetic session.")
@click.option("--epochs", default=40, show_default=True)
@click.option("--seed", default=0, show_default=True)
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
