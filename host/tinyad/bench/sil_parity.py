"""Parity through the SIL device on real IMU data: the device's int8 input/output tensors, score and probability
vs the host TFLM, bit for bit, over >= 10,000 windows of imu/motor_mpu6050 (target: 100 % bit-exact). TFLite
(reference kernels) vs TFLM on the same windows is reported separately with the first divergent op."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tinyad.bench import BenchResult, markdown_table

N_WINDOWS = 10_000
N_WINDOWS_QUICK = 300


def run(quick: bool = False) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="tinyad-bench-sil-parity-") as work:
        return _run(Path(work), quick)


def _run(work: Path, quick: bool) -> BenchResult:
    from tinyad.device.parity import real_windows, run_parity
    from tinyad.device.reference import load_settings_for
    from tinyad.sil.device import SilDevice
    from tinyad.sil.standin import resolve_model

    model_path, model_description = resolve_model(work)
    settings = load_settings_for(model_path)
    datasets = ["motor_mpu6050"]
    if set(settings.channels) <= {"ax", "ay", "az"}:
        datasets.append("ceiling_fan")  # 3-axis accelerometer only: the fan data fits too
    n = N_WINDOWS_QUICK if quick else N_WINDOWS
    windows, data_description = real_windows(settings, n, datasets=tuple(datasets))
    device = SilDevice(model_path, settings=settings, speed=0, stream_when_idle=False,
                       source=_idle_source(settings))
    t0 = time.monotonic()
    with device.running():
        report = run_parity(device.port, model_path, windows, compare_tflite=True, progress=True, settings=settings)
    wall = time.monotonic() - t0
    exact = report.n_windows - len(report.mismatching_windows)
    cmp = report.tflite
    div = cmp.first_divergence
    rtt = np.asarray(report.round_trip_ms)
    figures = {
        "model": model_description,
        "data": data_description,
        "windows": report.n_windows,
        "device_bit_exact_windows": exact,
        "device_bit_exact_pct": 100.0 * exact / report.n_windows,
        "input_mismatches": len(report.input_mismatches),
        "output_mismatches": len(report.output_mismatches),
        "score_mismatches": len(report.score_mismatches),
        "target_met": bool(report.device_ok and report.n_windows >= N_WINDOWS),
        "tflite_vs_tflm_windows_differing": len(cmp.mismatched_windows),
        "tflite_vs_tflm_max_lsb": cmp.max_lsb,
        "tflite_vs_tflm_first_divergent_op": f"#{div.op_index} {div.op_name}" if div else None,
        "tflite_vs_tflm_divergent_ops": cmp.divergent_ops,
        "infer_round_trip_median_ms": float(np.median(rtt)),
        "infer_round_trip_p95_ms": float(np.percentile(rtt, 95)),
        "device_invoke_median_us": float(np.median(report.device_invoke_us)),
        "wall_s": wall,
    }
    rows = [
        ["windows (real IMU data)", report.n_windows],
        ["device vs host TFLM: bit-exact windows", f"{exact} ({figures['device_bit_exact_pct']:.2f} %)"],
        ["  input / output / score-or-probability mismatches",
         f"{figures['input_mismatches']} / {figures['output_mismatches']} / {figures['score_mismatches']}"],
        ["target (>= 10,000 windows, 100 % bit-exact)", "met" if figures["target_met"] else
         f"not judged (a quick run of {report.n_windows} windows)" if quick else
         f"NOT met ({report.n_windows} windows, {figures['device_bit_exact_pct']:.2f} %)"],
        ["TFLite(ref) vs TFLM: windows differing", f"{len(cmp.mismatched_windows)} of {cmp.n_windows} "
         f"({100.0 * cmp.mismatch_rate:.2f} %), max {cmp.max_lsb} LSB"],
        ["  first divergent op", figures["tflite_vs_tflm_first_divergent_op"] or "none"],
        ["  first divergent op per window (first 20 windows)", str(cmp.divergent_ops or "-")],
        ["INFER round trip over the pty, median / p95 ms", f"{figures['infer_round_trip_median_ms']:.3f} / "
         f"{figures['infer_round_trip_p95_ms']:.3f}"],
        ["device (SIL) invoke median, us", f"{figures['device_invoke_median_us']:.0f}"],
        ["wall time, s", f"{wall:.1f}"],
    ]
    markdown = (
        f"Model: {model_description}. Data: {data_description} (physical units converted back to raw counts "
        f"with the model's full scale; windows overlap where the stride is shorter than the window; every window "
        f"sent with INFER). The SIL device runs the firmware core "
        f"(tinyad._core.Device: framing, preprocessing, scoring) with the host TFLM as its invoke; the host "
        f"compares with the Python preprocessing reference, its own TFLM interpreter and the scoring reference (the "
        f"logit margin and the probability, whose exp is the core's own, both to the bit). No labels are used; no "
        f"threshold is involved.\n\n" + markdown_table(["measure", "value"], rows))
    if report.mismatching_windows:
        markdown += "\n\nMismatching windows: " + ", ".join(map(str, report.mismatching_windows[:50]))
    return BenchResult("SIL parity on real IMU data (device vs host TFLM)", markdown, figures)


def _idle_source(settings):
    """INFER-only run: the replay source is never streamed; one window of zeros is enough."""
    from tinyad.sil.sources import SampleSource

    return SampleSource(np.zeros((settings.window, settings.n_channels), np.int16), settings.sample_rate_hz,
                        "idle (INFER only)")
