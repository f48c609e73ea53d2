"""`tinyad check`: what the int8 model costs on the board and whether TFLite agrees with TFLM.

Costs: flash (the .tflite size; the C array is the same bytes), the TFLM arena as TFLM measures it, the op list,
multiply-accumulates, host time per window under TFLM. Agreement: TFLite's reference kernels vs TFLM on the test
windows, with the first divergent op localized. TFLM is the oracle for the board; a TFLite difference is reported,
never hidden by a tolerance.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from tinyad.errors import InputError
from tinyad.tflm import Comparison, TflmModel, compare_tflite_tflm, op_histogram, op_names

TFLITE_IDENTIFIER = b"TFL3"  # the flatbuffer file identifier, bytes 4..8 of every .tflite


def tflite_problem(model_bytes: bytes, expected_size: int | None = None) -> str | None:
    """Why `model_bytes` cannot be a complete TFLite model, or None if it looks like one.

    Checks what TFLM would otherwise trip over with an unreadable message: the "TFL3" identifier at bytes 4..8,
    the root offset, and (when known, e.g. `flash_bytes` of the model_settings.json beside it) the size."""
    n = len(model_bytes)
    if n == 0:
        return "empty file (0 bytes)"
    if n < 8 or model_bytes[4:8] != TFLITE_IDENTIFIER:
        return (f"not a TFLite flatbuffer: no {TFLITE_IDENTIFIER.decode()!r} identifier at bytes 4..8 "
                f"(found {bytes(model_bytes[4:8])!r}, {n} bytes)")
    if expected_size is not None and n != expected_size:
        if n < expected_size:
            return f"truncated: {n} of {expected_size} bytes"
        return f"{n} bytes, but its settings describe a model of {expected_size} bytes"
    root = int.from_bytes(model_bytes[0:4], "little")
    if root + 4 > n:
        return f"truncated or corrupt: the root table offset {root} lies beyond the end ({n} bytes)"
    try:
        from tflite_micro.python.tflite_micro import runtime

        runtime.convert_bytearray_to_object(bytearray(model_bytes))
    except Exception:  # the flatbuffer reader raises struct/index/unicode errors on cut or corrupt files
        return f"truncated or corrupt: the flatbuffer cannot be read ({n} bytes)"
    return None


def require_tflite(model_bytes: bytes, where: str, expected_size: int | None = None) -> None:
    """Raise InputError naming `where` when `tflite_problem` finds one."""
    problem = tflite_problem(model_bytes, expected_size)
    if problem:
        raise InputError(f"{where}: {problem}",
                         hint="give the model.tflite that `tinyad quantize RUN` wrote (not run.json or another "
                              "file); re-run quantize if the file was cut short")


# The budget the project set for a model (issue 2's target for the default model: <= 32 KB flash, <= 32 KB
# arena). An ESP32 has room for more (its app partition and DRAM are far larger); a smaller part, or firmware that
# needs its RAM elsewhere, less: `tinyad check --flash-budget/--arena-budget` take the board's own.
DEFAULT_FLASH_BUDGET = 32 * 1024
DEFAULT_ARENA_BUDGET = 32 * 1024


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
    esp_nn_scratch_bytes: int = 0  # the largest ESP-NN (ESP32-S3) conv scratch buffer, not in arena_bytes
    arena_bytes_allocated: int = 0  # what the firmware allocates: arena_bytes plus the margin (`arena_with_margin`)
    flash_budget_bytes: int = DEFAULT_FLASH_BUDGET
    arena_budget_bytes: int = DEFAULT_ARENA_BUDGET

    @property
    def over_budget(self) -> list[str]:
        """What exceeds the budget, one line each (empty: the model fits): the flash it takes, and the arena as
        the firmware allocates it (the host measure plus its margin, which must also hold ESP-NN's scratch)."""
        over = []
        if self.flash_bytes > self.flash_budget_bytes:
            over.append(f"flash {self.flash_bytes:,} B > {self.flash_budget_bytes:,} B")
        if self.arena_bytes_allocated > self.arena_budget_bytes:
            over.append(f"arena as allocated {self.arena_bytes_allocated:,} B > {self.arena_budget_bytes:,} B")
        return over

    def to_dict(self) -> dict:
        out = asdict(self)
        out["over_budget"] = self.over_budget
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


def same_padding(in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> int:
    """The leading pad of a SAME convolution along one axis, as TFLM computes it (ComputePaddingHeightWidth)."""
    effective = (filter_size - 1) * dilation + 1
    return max((out_size - 1) * stride + effective - in_size, 0) // 2


def esp_nn_s3_conv_scratch(in_w: int, in_h: int, in_ch: int, filter_w: int, filter_h: int, out_ch: int,
                           pad_w: int, pad_h: int, stride_w: int, stride_h: int) -> int:
    """Bytes of scratch ESP-NN's ESP32-S3 int8 convolution asks TFLM for (esp-nn's
    esp_nn_get_conv_scratch_size_esp32s3, src/convolution/esp_nn_conv_esp32s3.c at commit a4ef344, mirrored line
    by line). The esp-tflite-micro conv kernel requests it in the arena at Prepare; TFLM's reference kernels (what
    the host measures) request none. esp-nn comes unpinned through esp-tflite-micro and other versions size it
    differently: an estimate; the board's boot log prints the real arena_used_bytes()."""
    align_buf = 32
    if filter_w == 1 and filter_h == 1 and pad_w == 0 and pad_h == 0 and stride_w == 1 and stride_h == 1:
        channels8 = (in_ch + 7) & ~7
        transpose = 0 if in_w * in_h < 8 else 2 * 8 * channels8
        padded_input = in_w * in_h * channels8 if in_ch % 8 else 0
        return padded_input + channels8 * out_ch + transpose + align_buf
    channels16 = (in_ch + 15) & ~15
    padded_input = 0 if pad_w == 0 and pad_h == 0 else (in_w + 2 * pad_w) * (in_h + 2 * pad_h) * in_ch
    return padded_input + filter_w * filter_h * channels16 * out_ch + align_buf + 4 * out_ch


def esp_nn_scratch_bytes(model_bytes: bytes) -> int:
    """The largest ESP-NN (ESP32-S3) convolution scratch buffer of the model, 0 without CONV_2D. A scratch
    buffer lives only while its op runs, so the arena grows by at most the largest one over what the host
    measures; the firmware's arena margin must hold it (`arena_with_margin`)."""
    from tflite_micro.python.tflite_micro import runtime

    model = runtime.convert_bytearray_to_object(bytearray(model_bytes))
    graph = model.subgraphs[0]
    largest = 0
    for name, op in zip(op_names(model_bytes), graph.operators):
        if name != "CONV_2D":
            continue
        _, in_h, in_w, in_ch = (int(v) for v in graph.tensors[op.inputs[0]].shape)
        out_ch, filter_h, filter_w, _ = (int(v) for v in graph.tensors[op.inputs[1]].shape)
        _, out_h, out_w, _ = (int(v) for v in graph.tensors[op.outputs[0]].shape)
        options = op.builtinOptions
        stride_w, stride_h = int(options.strideW), int(options.strideH)
        if int(options.padding) == 0:  # Padding.SAME
            pad_w = same_padding(in_w, filter_w, stride_w, int(options.dilationWFactor or 1), out_w)
            pad_h = same_padding(in_h, filter_h, stride_h, int(options.dilationHFactor or 1), out_h)
        else:
            pad_w = pad_h = 0
        largest = max(largest, esp_nn_s3_conv_scratch(in_w, in_h, in_ch, filter_w, filter_h, out_ch, pad_w, pad_h,
                                                      stride_w, stride_h))
    return largest


def time_per_window(model: TflmModel, windows: np.ndarray, repeats: int = 200) -> float:
    """Median host time of one TFLM invoke in microseconds (reference kernels on this CPU, not the MCU)."""
    samples = []
    for i in range(repeats):
        w = windows[i % len(windows)]
        t0 = time.perf_counter()
        model.invoke(w)
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples) * 1e6)


def check_model(model_bytes: bytes | str | os.PathLike, windows_int8: np.ndarray | None = None, compare: bool = True,
                progress: bool = False, n_random_windows: int = 64, flash_budget: int = DEFAULT_FLASH_BUDGET,
                arena_budget: int = DEFAULT_ARENA_BUDGET) -> CheckReport:
    """Measure the model (its bytes, or a .tflite path) and, given int8 test windows, compare TFLite (reference
    kernels) with TFLM; without windows, on `n_random_windows` random int8 windows. The report holds the flash and
    arena budgets in bytes, to say whether the model fits (`CheckReport.over_budget`)."""
    from tinyad.quantize import arena_with_margin

    name = "model"
    if isinstance(model_bytes, (str, os.PathLike)):
        name = str(model_bytes)
        if not os.path.isfile(model_bytes):
            raise InputError(f"{name}: no such model file", hint="give the path of a .tflite file")
        with open(model_bytes, "rb") as handle:
            model_bytes = handle.read()
    require_tflite(model_bytes, name)
    tflm = TflmModel(model_bytes)
    if windows_int8 is None or len(windows_int8) == 0:
        if n_random_windows < 1:
            raise InputError(f"the number of windows must be >= 1, got {n_random_windows}")
        rng = np.random.default_rng(0)
        windows_int8 = rng.integers(-128, 128, size=(n_random_windows, *tflm.input_shape[1:]), dtype=np.int8)
    macs = count_macs(model_bytes)
    scratch = esp_nn_scratch_bytes(model_bytes)
    report = CheckReport(
        flash_bytes=len(model_bytes), arena_bytes=tflm.arena_bytes, n_ops=len(op_names(model_bytes)),
        ops=op_histogram(model_bytes), macs=int(sum(macs.values())),
        host_us_per_window=time_per_window(tflm, windows_int8), macs_by_op=macs, esp_nn_scratch_bytes=scratch,
        arena_bytes_allocated=arena_with_margin(tflm.arena_bytes, scratch), flash_budget_bytes=int(flash_budget),
        arena_budget_bytes=int(arena_budget))
    if compare:
        report.comparison = compare_tflite_tflm(model_bytes, windows_int8, progress=progress)
    return report


def format_report(report: CheckReport) -> str:
    """Human-readable summary for the terminal."""
    lines = [
        f"flash (.tflite = C array) : {report.flash_bytes:,} bytes",
        f"TFLM arena (measured)     : {report.arena_bytes:,} bytes (host reference kernels, 64-bit pointers)",
        f"ESP-NN conv scratch (S3)  : {report.esp_nn_scratch_bytes:,} bytes more (esp-nn's formula, an estimate; "
        f"the exported arena margin covers it)",
        f"ops                       : {report.n_ops} ({', '.join(f'{k} {v}' for k, v in report.ops.items())})",
        f"MACs per window           : {report.macs:,}",
        f"host TFLM time per window : {report.host_us_per_window:.1f} us (median)",
        f"budget                    : flash {report.flash_bytes:,} of {report.flash_budget_bytes:,} B, arena as "
        f"allocated {report.arena_bytes_allocated:,} of {report.arena_budget_bytes:,} B: "
        + (f"OVER ({'; '.join(report.over_budget)})" if report.over_budget else "fits"),
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
