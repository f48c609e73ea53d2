"""The end-to-end demo on self-generated data: synth -> train -> quantize -> check -> export -> SIL device."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from tinyad.paths import default_model_dir, firmware_dir, outside_checkout_note


def run_demo(out_dir: Path, sessions_per_class: int = 6, duration_s: float = 60.0, epochs: int = 40,
             seed: int = 0, update_default: bool = False, sil: bool = True,
             echo: Callable[[str], None] = print) -> str:
    """Run every stage, print progress through `echo`, and return the summary table (text)."""
    from tinyad.check import check_model, format_report
    from tinyad.datasets import DatasetConfig, build_dataset
    from tinyad.export import export_model
    from tinyad.models import ModelConfig
    from tinyad.quantize import board_inputs, quantize_run
    from tinyad.session import read_session
    from tinyad.synth import synth_dataset
    from tinyad.train import TrainConfig, train

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def stage(name):
        echo(f"\n== {name} ==")
        timings[name] = time.perf_counter()

    def done(name):
        timings[name] = time.perf_counter() - timings[name]

    stage("synth")
    # The demo owns <out>/sessions: a rerun replaces its earlier files (none left over from more sessions).
    paths = synth_dataset(out_dir / "sessions", sessions_per_class=sessions_per_class, duration_s=duration_s,
                          seed=seed, progress=True, machine_seed=seed, overwrite=True)
    echo(f"{len(paths)} sessions in {out_dir / 'sessions'}")
    done("synth")

    stage("train")
    data = build_dataset([read_session(p) for p in paths], DatasetConfig(window=64, hop=32))
    echo(f"classes {data.class_names}; windows train {len(data.train)}, val {len(data.val)}, test {len(data.test)}"
         " (split by session)")
    run = train(data, ModelConfig(name="cnn_gru"), TrainConfig(epochs=epochs, seed=seed), out_dir / "run",
                overwrite=True)  # the demo replaces its earlier run
    done("train")

    stage("quantize")
    q = quantize_run(run, out_dir / "model")
    done("quantize")

    stage("check")
    settings = q.settings
    windows = board_inputs(run.data["test"].x[:500], settings)
    report = check_model(q.tflite_path.read_bytes(), windows, progress=True)
    echo(format_report(report))
    done("check")

    stage("export")
    export_dir = out_dir / "firmware_model"
    for path in export_model(q.tflite_path, out_dir=export_dir):
        echo(f"wrote {path}")
    if update_default:
        default_dir = default_model_dir()
        if note := outside_checkout_note(default_dir):
            echo(note)
        default_dir.mkdir(parents=True, exist_ok=True)
        for name in ("model.tflite", "model_settings.json", "quantize.json"):
            shutil.copy2(out_dir / "model" / name, default_dir / name)
        for name in ("metrics.json", "training_curves.png", "confusion_matrix.png", "run.json"):
            shutil.copy2(run.path / name, default_dir / name)
        for path in export_model(default_dir / "model.tflite", out_dir=firmware_dir() / "main" / "model"):
            echo(f"wrote {path}")
    done("export")

    sil_lines: list[str] = []
    if sil:
        stage("SIL device")
        from tinyad.demo_sil import sil_demo

        sil_lines = sil_demo(q.tflite_path, run, machine_seed=seed, echo=echo)
        done("SIL device")

    f, i = q.float_metrics, q.int8_metrics
    c = report.comparison
    rows = [
        ("classes", ", ".join(data.class_names)),
        ("test windows (held-out sessions)", f"{len(data.test)}"),
        ("float  macro-F1 / binary F1", f"{f['macro_f1']:.3f} / {f['binary_f1']:.3f}"),
        ("int8   macro-F1 / binary F1 (TFLM)", f"{i['macro_f1']:.3f} / {i['binary_f1']:.3f}"),
        ("flash / TFLM arena", f"{report.flash_bytes:,} B / {report.arena_bytes:,} B"),
        ("ops / MACs", f"{report.n_ops} / {report.macs:,}"),
        ("TFLite(ref) vs TFLM", f"{len(c.mismatched_windows)}/{c.n_windows} windows differ, max {c.max_lsb} LSB"
         + (f", first at {c.first_divergence.op_name}" if c.first_divergence else "")),
        *sil_lines,
        ("time", ", ".join(f"{k} {v:.0f}s" for k, v in timings.items())),
        ("outputs", f"{out_dir}/ (run/, model/, firmware_model/)"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n== summary ==\n" + "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
