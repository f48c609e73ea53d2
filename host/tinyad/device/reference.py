"""The host's side of a parity check: what the board must compute for a window of raw counts.

* host int8 input  = the Python preprocessing reference (tinyad.preprocess) on the model settings' constants;
* host int8 output = the TFLM interpreter from the `tflite-micro` wheel (tinyad.tflm.TflmModel), the same
  kernels as the board;
* TFLite (reference kernels) vs TFLM is compared separately by tinyad.tflm.compare_tflite_tflm: the two are
  known to differ by one LSB now and then (double vs single rounding), so that difference is reported with the first
  divergent op and never fails the board.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyad.errors import InputError
from tinyad.preprocess import preprocess_constants, preprocess_raw
from tinyad.scoring import SCORE_KIND_PROBABILITY, anomaly_probability, logit_margin


def load_settings_for(model_path: str | Path):
    """The model_settings.json beside a .tflite; InputError with a hint when it is missing."""
    from tinyad.model_settings import ModelSettings

    model_path = Path(model_path)
    if model_path.is_file():
        with open(model_path, "rb") as f:
            head = f.read(8)
        if head[4:8] != b"TFL3":  # the TFLite flatbuffer's file identifier
            raise InputError(f"{model_path}: not a .tflite model (no TFL3 identifier)",
                             hint="give the int8 model.tflite written by `tinyad quantize`, not the Keras model")
    path = model_path.with_name("model_settings.json")
    if not path.exists():
        raise InputError(f"{path}: no model settings beside {model_path}",
                         hint="`tinyad quantize` writes model_settings.json beside model.tflite: keep the two together")
    return ModelSettings.load(path)


class HostReference:
    """Everything the host computes for parity, built from a .tflite and its model settings."""

    def __init__(self, model_path: str | Path, settings=None):
        from tinyad.tflm import TflmModel

        self.model_path = Path(model_path)
        if not self.model_path.exists():
            raise InputError(f"{model_path}: no such model file")
        self.model_bytes = self.model_path.read_bytes()
        self.settings = settings or load_settings_for(model_path)
        self.tflm = TflmModel(self.model_bytes)
        expected = self.settings.window * self.settings.n_channels
        if int(np.prod(self.tflm.input_shape)) != expected:
            raise InputError(f"{model_path}: input tensor {self.tflm.input_shape} does not match the settings "
                             f"(window {self.settings.window} x {self.settings.n_channels} channels)",
                             hint="the model_settings.json beside the .tflite belongs to another model")
        self.a, self.b, self.zero_point = preprocess_constants(self.settings)

    def input_for(self, raw_counts: np.ndarray) -> np.ndarray:
        """The int8 input tensor the board must build from these raw counts (the Python reference)."""
        return np.asarray(preprocess_raw(raw_counts, self.a, self.b, self.zero_point), np.int8)

    def output_for(self, input_int8: np.ndarray) -> np.ndarray:
        """The int8 output tensor TFLM computes for this input tensor."""
        return self.tflm.invoke(np.asarray(input_int8, np.int8))

    def score_for(self, output_int8: np.ndarray, score_kind: int = 0) -> np.float32:
        """The alert score for the device's SCORE_KIND (tinyad.scoring, bit-exact with the core): 0 the logit
        margin, 1 the probability."""
        if score_kind == SCORE_KIND_PROBABILITY:
            return self.probability_for(output_int8)
        return logit_margin(np.asarray(output_int8, np.int8), self.settings.output_scale)

    def probability_for(self, output_int8: np.ndarray) -> np.float32:
        """1 - softmax_0 as the core computes it (its own float32 exp: bit-exact, no libm)."""
        return anomaly_probability(np.asarray(output_int8, np.int8), self.settings.output_scale)
