"""`tinyad check`: what the int8 model costs on the board and whether TFLite agrees with TFLM.

Costs: flash (the .tflite size; the C array is the same bytes), the TFLM arena as TFLM measures it, the op list,
multiply-accumulates, host time per window under TFLM. Agreement: TFLite's reference kernels vs TFLM on the test
windows, with the first divergent op localized. TFLM is the oracle for the board; a TFLite difference is reported,
never hidden by a tolerance.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from tinyad.tflm import Comparison, TflmModel, compare_tflite_tflm, op_histogram, op_names


@dataclass
class CheckReport:
    flash_bytes: int
    arena_bytes: int
    n_ops: int
    ops: dict[str, int]
    macs: int
    host_us_per_window: float
    comparison: Comparison | None = None
    macs_by_op: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.comparison is not None:
            out["comparison"]["mismatch_rate"] = self.comparison.mismatch_rate
            out["comparison"]["mismatched_windows"] = self.comparison.mismatched_windows[:50]
        return out


def count_macs(model_bytes: bytes) -> dict[str, int]:
    """Multiply-accumulates per op type (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL), from the
    tensor shapes in the flatbuffer; element-wise ops are not counted."""
    from tflite_micro.python.tflite_micro import runtime

    model = runtime.convert_bytearray_to_object(bytearray(model_bytes))
    graph = model.subgraphs[0]
    names = op_names(model_bytes)
    macs: dict[str, int] = {}
    for name, op in zip(names, graph.operators):
        shape = lambda i: [int(v) for v in graph.tensors[i].shape]  # noqa: E731
        out = shape(op.outputs[0])
        if name == "CONV_2D":
            oc, kh, kw, ic = shape(op.inputs[1])
            n = int(np.prod(out[:-1])) * oc * kh * kw * ic
        elif name == "DEPTHWISE_CONV_2D":
            _, kh, kw, oc = shape(op.inputs[1])
            n = int(np.prod(out)) * kh * kw
        elif name == "FULLY_CONNECTED":
            units, depth = shape(op.inputs[1])
            n = int(np.prod(out)) // units * units * depth
        elif name == "BATCH_MATMUL":
            a = shape(op.inputs[0])
            n = int(np.prod(out)) * a[-1]
        else:
            continue
        macs[name] = macs.get(name, 0) + n
    return macs


def time_per_window(model: TflmModel, windows: np.ndarray, repeats: int = 200) -> float:
    """Median host time of one TFLM invoke in microseconds (reference kernels on this CPU, not the MCU)."""
    samples = []
    for i in range(repeats):
        w = windows[i % len(windows)]
        t0 = time.perf_counter()
        model.invoke(w)
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples) * 1e6)


def check_model(model_bytes: bytes, windows_int8: np.ndarray | None = None, compare: bool = True,
                progress: bool = False) -> CheckReport:
    """Measure the model and, given int8 test windows, compare TFLite (reference kernels) with TFLM."""
    tflm = TflmModel(model_bytes)
    if windows_int8 is None or len(windows_int8) == 0:
        rng = np.random.default_rng(0)
        windows_int8 = rng.integers(-128, 128, size=(64, *tflm.input_shape[1:]), dtype=np.int8)
    macs = count_macs(model_bytes)
    report = CheckReport(
        flash_bytes=len(model_bytes), arena_bytes=tflm.arena_bytes, n_ops=len(op_names(model_bytes)),
        ops=op_histogram(model_bytes), macs=int(sum(macs.values())),
        host_us_per_window=time_per_window(tflm, windows_int8), macs_by_op=macs)
    if compare:
        report.comparison = compare_tflite_tflm(model_bytes, windows_int8, progress=progress)
    return report


def format_report(report: CheckReport) -> str:
    """Human-readable summary for the terminal."""
    lines = [
        f"flash (.tflite = C array) : {report.flash_bytes:,} bytes",
        f"TFLM arena (measured)     : {report.arena_bytes:,} bytes (host, 64-bit pointers: an upper bound)",
        f"ops                       : {report.n_ops} ({', '.join(f'{k} {v}' for k, v in report.ops.items())})",
        f"MACs per window           : {report.macs:,}",
        f"host TFLM time per window : {report.host_us_per_window:.1f} us (median)",
    ]
    c = report.comparison
    if c is not None:
        lines.append(f"TFLite(ref) vs TFLM       : {len(c.mismatched_windows)}/{c.n_windows} windows differ "
                     f"({100 * c.mismatch_rate:.2f} %), max {c.max_lsb} LSB")
        if c.first_divergence:
            d = c.first_divergence
            lines.append(f"  first divergence        : window {d.window}, op #{d.op_index} {d.op_name}, "
                         f"tensor {d.tensor_index} ({d.n_different} values, max {d.max_lsb} LSB)")
            lines.append(f"  first divergent op types: {c.divergent_ops}")
        lines.append("  (TFLM is the oracle for the board; TFLite differences are reported, not tolerated away)")
    return "\n".join(lines)
