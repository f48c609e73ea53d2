"""Host-side model runners: the TFLM interpreter (the oracle for the board) and TFLite's reference kernels.

- `TflmModel` wraps `tflite_micro`'s Python interpreter: int8 invoke, the arena size TFLM itself measures
  (`print_allocations`), and every intermediate tensor when built with `preserve_all_tensors=True`.
- `TfliteReference` wraps ai_edge_litert with `BUILTIN_REF` kernels (no XNNPACK delegate) and
  `experimental_preserve_all_tensors=True`.
- `compare_tflite_tflm` runs both on the same int8 windows and localizes the first divergent op.

TFLite and TFLM may differ by 1 LSB on some FULLY_CONNECTED / CONV outputs (double vs single
rounding). That difference is reported, never hidden; the board is compared with TFLM only.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def _schema():
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return runtime, schema


def op_names(model_bytes: bytes) -> list[str]:
    """Builtin op names of subgraph 0 in execution order, e.g. ["RESHAPE", "CONV_2D", ...]."""
    runtime, schema = _schema()
    model = runtime.convert_bytearray_to_object(bytearray(model_bytes))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [
        names[runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])]
        for op in model.subgraphs[0].operators
    ]


def op_histogram(model_bytes: bytes) -> dict[str, int]:
    """How many times each builtin op occurs, most frequent first."""
    return dict(Counter(op_names(model_bytes)).most_common())


def strip_strings(model_bytes: bytes) -> bytes:
    """The same model without tensor/subgraph names and signatures (TFLM needs none of them): less flash."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _capture_fd2(fn) -> str:
    """Run fn() capturing what C++ code prints on file descriptor 2."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return sink.read().decode(errors="replace")


class TflmModel:
    """A model running under the TFLM reference kernels from the `tflite-micro` wheel."""

    def __init__(self, model_bytes: bytes, preserve_all_tensors: bool = False, arena_size: int | None = None):
        runtime, _ = _schema()
        self.model_bytes = bytes(model_bytes)
        config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors
                  else runtime.InterpreterConfig.kAllocationRecording)
        self._preserve = preserve_all_tensors
        try:
            self._interp = runtime.Interpreter.from_bytes(
                self.model_bytes, arena_size=arena_size or max(256 * 1024, 10 * len(self.model_bytes)),
                intrepreter_config=config)
        except Exception as err:  # the wrapper raises RuntimeError with TFLM's message
            from tinyad.errors import InputError

            raise InputError(f"TFLM cannot load the model: {err}",
                             hint="is it a full-int8 .tflite made by `tinyad quantize`?") from err
        self.input = self._interp.get_input_details(0)
        self.output = self._interp.get_output_details(0)
        self._arena_bytes: int | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "TflmModel":
        return cls(Path(path).read_bytes(), **kwargs)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.input["shape"])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.output["shape"])

    def invoke(self, window_int8: np.ndarray) -> np.ndarray:
        """Run one int8 window (any shape with the input's element count); returns the flat int8 output."""
        x = np.asarray(window_int8)
        if x.dtype != np.int8:
            raise TypeError(f"TFLM input must be int8, got {x.dtype}")
        if x.size != int(np.prod(self.input_shape)):
            from tinyad.errors import InputError

            raise InputError(f"window has {x.size} values, the model expects shape {self.input_shape}")
        self._interp.set_input(x.reshape(self.input_shape), 0)
        self._interp.invoke()
        return np.asarray(self._interp.get_output(0)).reshape(-1).astype(np.int8)

    def invoke_batch(self, windows_int8: np.ndarray) -> np.ndarray:
        """Run windows (n, ...) one by one, as the board does; returns (n, outputs) int8."""
        return np.stack([self.invoke(w) for w in windows_int8]) if len(windows_int8) else np.zeros(
            (0, int(np.prod(self.output_shape))), np.int8)

    def tensor(self, index: int) -> np.ndarray:
        """Tensor `index` of the last invoke (needs preserve_all_tensors=True)."""
        if not self._preserve:
            raise RuntimeError("build TflmModel(preserve_all_tensors=True) to read intermediate tensors")
        return np.asarray(self._interp.GetTensor(index, 0)["tensor_data"])

    @property
    def arena_bytes(self) -> int:
        """Arena bytes as TFLM measures them ('Arena allocation total'); an upper bound for a 32-bit MCU."""
        if self._arena_bytes is None:
            if self._preserve:
                raise RuntimeError("arena recording is off with preserve_all_tensors=True")
            self.invoke(np.zeros(self.input_shape, np.int8))
            text = _capture_fd2(self._interp.print_allocations)
            match = re.search(r"Arena allocation total (\d+)", text)
            if not match:
                raise RuntimeError(f"TFLM printed no arena total:\n{text[-500:]}")
            self._arena_bytes = int(match.group(1))
        return self._arena_bytes


class TfliteReference:
    """The same model under TFLite's reference kernels (no delegate), all tensors preserved."""

    def __init__(self, model_bytes: bytes):
        from ai_edge_litert import interpreter as litert

        self._interp = litert.Interpreter(
            model_content=bytes(model_bytes),
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=True)
        self._interp.allocate_tensors()
        self.input = self._interp.get_input_details()[0]
        self.output = self._interp.get_output_details()[0]

    def invoke(self, window_int8: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self.input["index"], np.asarray(window_int8, np.int8).reshape(self.input["shape"]))
        self._interp.invoke()
        return self._interp.get_tensor(self.output["index"]).reshape(-1).astype(np.int8)

    def tensor(self, index: int) -> np.ndarray:
        return self._interp.get_tensor(index)

    def ops(self) -> list[dict]:
        """Op details in execution order: index, op_name, inputs, outputs."""
        return self._interp._get_ops_details()


@dataclass
class Divergence:
    """Where TFLite and TFLM first disagree for one window."""

    window: int
    op_index: int
    op_name: str
    tensor_index: int
    max_lsb: int
    n_different: int


@dataclass
class Comparison:
    """TFLite (reference kernels) vs TFLM on the same int8 windows."""

    n_windows: int
    mismatched_windows: list[int] = field(default_factory=list)
    max_lsb: int = 0
    first_divergence: Divergence | None = None
    divergent_ops: dict[str, int] = field(default_factory=dict)  # op name -> windows where it diverged first

    @property
    def mismatch_rate(self) -> float:
        return len(self.mismatched_windows) / self.n_windows if self.n_windows else 0.0


def first_divergence(model_bytes: bytes, window_int8: np.ndarray, window_index: int = 0,
                     tflite: TfliteReference | None = None, tflm: TflmModel | None = None) -> Divergence | None:
    """Compare every op output of TFLite and TFLM on one window; the first op whose output differs."""
    tflite = tflite or TfliteReference(model_bytes)
    tflm = tflm or TflmModel(model_bytes, preserve_all_tensors=True)
    tflite.invoke(window_int8)
    tflm.invoke(np.asarray(window_int8, np.int8))
    for op in tflite.ops():
        for tensor_index in op["outputs"]:
            a = np.asarray(tflite.tensor(int(tensor_index))).astype(np.int64).reshape(-1)
            b = tflm.tensor(int(tensor_index)).astype(np.int64).reshape(-1)
            if a.shape != b.shape or not np.array_equal(a, b):
                diff = np.abs(a - b) if a.shape == b.shape else np.array([np.iinfo(np.int64).max])
                return Divergence(window_index, int(op["index"]), op["op_name"], int(tensor_index),
                                  int(diff.max()), int((diff != 0).sum()))
    return None


def compare_tflite_tflm(model_bytes: bytes, windows_int8: np.ndarray, localize: int = 20,
                        progress: bool = False) -> Comparison:
    """Run TFLite (reference kernels) and TFLM on each window; count mismatches and the max LSB difference of
    the outputs, and localize the first divergent op for up to `localize` mismatching windows."""
    tflite = TfliteReference(model_bytes)
    tflm = TflmModel(model_bytes)
    tflm_all = None
    result = Comparison(n_windows=len(windows_int8))
    iterator = range(len(windows_int8))
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="TFLite vs TFLM", unit="win", leave=False)
    for i in iterator:
        a = tflite.invoke(windows_int8[i]).astype(np.int32)
        b = tflm.invoke(np.asarray(windows_int8[i], np.int8)).astype(np.int32)
        if not np.array_equal(a, b):
            result.mismatched_windows.append(i)
            result.max_lsb = max(result.max_lsb, int(np.abs(a - b).max()))
            if len(result.mismatched_windows) <= localize:
                tflm_all = tflm_all or TflmModel(model_bytes, preserve_all_tensors=True)
                div = first_divergence(model_bytes, windows_int8[i], i, tflite, tflm_all)
                if div is not None:
                    result.divergent_ops[div.op_name] = result.divergent_ops.get(div.op_name, 0) + 1
                    if result.first_divergence is None:
                        result.first_divergence = div
    return result
