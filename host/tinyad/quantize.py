"""Full-integer int8 post-training quantization, and float-vs-int8 evaluation on the test split.

The int8 model takes int8 input and gives int8 logits (no float ops at either end). Representative data are
normalized windows of the training split. String tables (tensor names, signatures) are stripped: TFLM needs
none of them, and they cost flash. The int8 model is evaluated under TFLM, the oracle for the board.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.errors import InputError
from tinyad.metrics import classification_report
from tinyad.model_settings import ModelSettings, sha256_file
from tinyad.models import ModelConfig, build_model
from tinyad.session import DEFAULT_FULL_SCALE  # MPU6050 ranges the firmware configures by default
from tinyad.train import Run

INT16_COUNTS = 32768.0


@dataclass
class QuantizeResult:
    tflite_path: Path
    settings: ModelSettings
    float_metrics: dict
    int8_metrics: dict
    warnings: list[str] = field(default_factory=list)  # e.g. int8 far below float, and the likely causes


# int8 may lose a little against float; more than this (macro-F1 or binary F1) points to a real problem.
MAX_INT8_DROP = 0.05


def clipped_fraction(x_physical: np.ndarray, channels: list[str], full_scale: dict) -> dict[str, float]:
    """Per channel, the fraction of samples at or beyond the sensor full scale: what the board (and the int8
    path here) saturates to the full scale. Empty channels are left out."""
    limits = np.asarray(units_per_count(channels, full_scale)) * INT16_COUNTS
    x = np.abs(np.asarray(x_physical, np.float32)).reshape(-1, len(channels))
    if not len(x):
        return {}
    beyond = (x >= limits).mean(axis=0)
    return {c: float(f) for c, f in zip(channels, beyond) if f > 0}


def int8_drop_warnings(float_metrics: dict, int8_metrics: dict, clipped: dict[str, float],
                       full_scale: dict, max_drop: float = MAX_INT8_DROP) -> list[str]:
    """Warnings when int8 (TFLM) scores far below float, with the likely causes; empty when int8 keeps up."""
    drops = []
    for key in ("macro_f1", "binary_f1"):
        f, i = float_metrics.get(key, np.nan), int8_metrics.get(key, np.nan)
        if np.isfinite(f) and np.isfinite(i) and f - i > max_drop:
            drops.append(f"{key} {f:.3f} -> {i:.3f}")
    if not drops:
        return []
    causes = []
    if clipped:
        scale = {**DEFAULT_FULL_SCALE, **(full_scale or {})}
        listed = ", ".join(f"{c} {100 * v:.3g} %" for c, v in clipped.items())
        causes.append(f"test inputs beyond the sensor full scale are clipped ({listed} of the samples; full scale "
                      f"+-{scale['accel_g']:g} g / +-{scale['gyro_dps']:g} dps): data in m/s^2 or rad/s imported "
                      "without --units, or a sensor range that full_scale does not record")
    causes.append("calibration: too few or unrepresentative training windows for the int8 ranges")
    causes.append("per-tensor dense quantization (try --per-channel-dense)")
    return [f"int8 scores far below float ({', '.join(drops)}; more than {max_drop:g}). Likely causes: "
            + "; ".join(f"({n}) {c}" for n, c in enumerate(causes, 1))]


def units_per_count(channels: list[str], full_scale: dict[str, float]) -> list[float]:
    """Physical units per raw 16-bit count for each channel: accel full scale (g) or gyro full scale (dps)
    divided by 32768."""
    out = []
    for c in channels:
        key = "accel_g" if c.startswith("a") else "gyro_dps"
        out.append(float(full_scale.get(key, DEFAULT_FULL_SCALE[key])) / INT16_COUNTS)
    return out


def convert_int8(keras_model, config: ModelConfig, window: int, channels: int, n_classes: int,
                 representative: np.ndarray, per_channel_dense: bool = False) -> bytes:
    """Full-int8 TFLite flatbuffer (int8 in, int8 out) of `keras_model`, strings stripped.

    Dense layers are quantized per tensor by default: per-channel scales cost ~6 KB of flash in the unrolled GRU
    (a scale and a 64-bit zero point per output, per FULLY_CONNECTED), and ESP-NN's per-channel
    FULLY_CONNECTED has known defects (espressif/esp-nn issue 34). Convolutions stay per channel.
    """
    fixed = build_model(config, window, channels, n_classes, batch_size=1)
    fixed.set_weights(keras_model.get_weights())
    return full_int8(fixed, representative, per_channel_dense)


# The TF 2.21 converter does not always quantize the same graph the same way: for the Keras LSTM of cnn_lstm it
# left, in about half of the runs, a float SPLIT between DEQUANTIZE and QUANTIZE ops (352 B more flash, another
# hash). A conversion with DEQUANTIZE inside is tried again, up to this many conversions in all.
MAX_CONVERSIONS = 5


def full_int8(keras_model, representative: np.ndarray, per_channel_dense: bool = False) -> bytes:
    """Full-integer PTQ of any Keras model with a fixed batch of 1: int8 input and output, `representative`
    windows (n, ...) as calibration data, strings stripped; converted again while float ops remain
    (`convert_until_integer`)."""
    import tensorflow as tf

    from tinyad.tflm import strip_strings

    def representative_data():
        for w in representative:
            yield [np.asarray(w, np.float32)[None]]

    def convert() -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_data
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        converter._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel_dense
        return strip_strings(_quietly(converter.convert))

    return convert_until_integer(convert)


def convert_until_integer(convert, attempts: int = MAX_CONVERSIONS, ops=None) -> bytes:
    """The first of up to `attempts` results of `convert()` whose ops (`ops(model)`, default the TFLite
    builtin op names) hold no DEQUANTIZE, i.e. no op left in float; else the last result (`float_op_warning`
    says so)."""
    if ops is None:
        from tinyad.tflm import op_names as ops
    model = convert()  # at least one conversion, whatever `attempts` says
    for _ in range(attempts - 1):
        if "DEQUANTIZE" not in ops(model):
            break
        model = convert()
    return model


def float_op_warning(ops: list[str], attempts: int = MAX_CONVERSIONS) -> str | None:
    """A warning when an int8 model still has ops that run in float (between DEQUANTIZE and QUANTIZE) after
    `attempts` conversions."""
    count = ops.count("DEQUANTIZE")
    if not count:
        return None
    return (f"the int8 model holds {count} DEQUANTIZE op(s) after {attempts} conversions: part of it runs in "
            "float on the board (more flash, arena and time); re-run `tinyad quantize` or try another --model")


def _quietly(fn):
    """Run fn() without TensorFlow's export chatter (signature listings on stdout, absl logs on fd 2); on
    failure, the captured text is part of the error."""
    import contextlib
    import io
    import warnings

    from tinyad.tflm import _capture_fd2

    result, error = {}, {}
    out = io.StringIO()

    def call():
        try:
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result["value"] = fn()
        except Exception as err:  # re-raised below with the log attached
            error["err"] = err

    log = _capture_fd2(call)
    if "err" in error:
        from tinyad.errors import TinyadError

        raise TinyadError(f"int8 conversion failed: {error['err']}\n{(out.getvalue() + log)[-2000:]}",
                          hint="recurrent layers must be unrolled (Keras GRU/LSTM with unroll=False crash the TF "
                               "int8 converter; the default cnn_gru writes its GRU out step by step)") from error["err"]
    return result["value"]


def io_quantization(model_bytes: bytes) -> tuple[float, int, float, int]:
    """(input scale, input zero point, output scale, output zero point) of an int8 model."""
    from tinyad.tflm import TflmModel

    m = TflmModel(model_bytes)
    (in_s,), (in_z,) = m.input["quantization_parameters"]["scales"], m.input["quantization_parameters"]["zero_points"]
    (out_s,), (out_z,) = (m.output["quantization_parameters"]["scales"],
                          m.output["quantization_parameters"]["zero_points"])
    return float(in_s), int(in_z), float(out_s), int(out_z)


def quantize_normalized(x_norm: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 = clamp(round_half_even(x / scale) + zero_point): TFLite's input quantization."""
    q = np.rint(np.asarray(x_norm, np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, np.float32) - zero_point) * np.float32(scale)


def quantize_run(run: Run | str | Path, out_dir: str | Path | None = None, n_representative: int = 400,
                 seed: int = 0, progress: bool = True, per_channel_dense: bool = False) -> QuantizeResult:
    """Quantize the run's model (a Run, or its folder) to int8, evaluate float vs int8 (TFLM) on the test split,
    and write `model.tflite`, `model_settings.json` and `quantize.json` into out_dir (default: the run directory)."""
    from tinyad.check import esp_nn_scratch_bytes
    from tinyad.tflm import TflmModel, op_names
    from tinyad.train import load_run

    if isinstance(run, (str, Path)):
        run = load_run(run)
    out_dir = Path(out_dir or run.path)
    info = run.info
    if len(run.class_names) < 2:  # runs made before train refused one class
        raise InputError(f"{run.path}: the run has a single class {run.class_names}; it cannot detect anything",
                         hint="re-train on sessions of at least 2 classes")
    keras_model = run.keras_model()  # refuses a run without model.keras before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    norm = run.normalizer
    config = ModelConfig(**info["model"])
    x_train = norm.apply(run.data["train"].x)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x_train), size=min(n_representative, len(x_train)), replace=False)
    n_classes = len(run.class_names)
    tflite = convert_int8(keras_model, config, run.window, len(info["channels"]), n_classes, x_train[pick],
                          per_channel_dense=per_channel_dense)
    tflite_path = out_dir / "model.tflite"
    tflite_path.write_bytes(tflite)

    in_s, in_z, out_s, out_z = io_quantization(tflite)
    tflm = TflmModel(tflite)
    # A range the sessions do not record is the assumed default, as in units_per_count: the board checks both.
    full_scale = {**DEFAULT_FULL_SCALE, **(info.get("full_scale") or {})}
    settings = ModelSettings(
        model_name=config.name, window=run.window, hop=run.hop, channels=list(info["channels"]),
        sample_rate_hz=float(info["sample_rate_hz"]), dlpf_hz=float(info.get("dlpf_hz") or 0.0),
        units={c: ("g" if c.startswith("a") else "dps") for c in info["channels"]},
        units_per_count=units_per_count(info["channels"], full_scale), full_scale=dict(full_scale),
        norm_mean=[float(v) for v in norm.mean], norm_std=[float(v) for v in norm.std],
        input_scale=in_s, input_zero_point=in_z, output_scale=out_s, output_zero_point=out_z,
        class_names=list(run.class_names), tflite_sha256=sha256_file(tflite_path),
        arena_bytes=tflm.arena_bytes,
        arena_bytes_with_margin=arena_with_margin(tflm.arena_bytes, esp_nn_scratch_bytes(tflite)),
        ops=sorted(set(op_names(tflite))), flash_bytes=len(tflite))

    y_test = run.data["test"].y
    float_logits = keras_model.predict(norm.apply(run.data["test"].x), verbose=0, batch_size=256)
    # The int8 path exactly as on the board: physical units -> sensor counts -> folded affine -> int8 -> TFLM.
    q_in = board_inputs(run.data["test"].x, settings)
    windows = q_in
    if progress:
        from tqdm.auto import tqdm

        windows = tqdm(q_in, desc="int8 under TFLM", unit="win", leave=False)
    q_out = np.stack([tflm.invoke(w) for w in windows]) if len(q_in) else np.zeros((0, n_classes), np.int8)
    int8_logits = dequantize(q_out, out_s, out_z)
    float_metrics = classification_report(y_test, float_logits, run.class_names)
    int8_metrics = classification_report(y_test, int8_logits, run.class_names)
    settings.save(out_dir / "model_settings.json")
    (out_dir / "quantize.json").write_text(json.dumps(
        {"float_test": float_metrics, "int8_test": int8_metrics, "n_representative": int(len(pick)),
         "evaluated_with": "TFLM reference kernels (tflite-micro wheel)"}, indent=2))
    from tinyad.plots import plot_confusion_matrix

    plot_confusion_matrix(np.asarray(int8_metrics["confusion_matrix"]), run.class_names,
                          out_dir / "confusion_matrix_int8.png", title=f"{config.name} int8 (TFLM), test split")
    clipped = clipped_fraction(run.data["test"].x, list(info["channels"]), full_scale)
    warnings = int8_drop_warnings(float_metrics, int8_metrics, clipped, full_scale)
    warnings += filter(None, [float_op_warning(op_names(tflite))])
    return QuantizeResult(tflite_path, settings, float_metrics, int8_metrics, warnings)


def arena_with_margin(measured: int, esp_nn_scratch: int = 0, margin: float = 0.25, align: int = 1024) -> int:
    """What the firmware allocates: the host-measured arena plus a margin, rounded up to `align` bytes. The
    host figure (reference kernels, 64-bit pointers) does not hold the scratch buffers ESP-NN's convolutions
    request on the board (`check.esp_nn_scratch_bytes`), so the margin is at least that."""
    with_margin = max(int(measured * (1 + margin)), measured + esp_nn_scratch)
    return int(-(-with_margin // align) * align)


def board_inputs(x_physical: np.ndarray, settings: ModelSettings) -> np.ndarray:
    """int8 model inputs for windows in physical units, computed the board's way: counts at the sensor's full
    scale (saturating), then the core's folded float32 affine (tinyad.preprocess, bit-exact with the C++)."""
    from tinyad.preprocess import physical_to_counts, preprocess_constants, preprocess_raw

    a, b, zp = preprocess_constants(settings)
    out = np.empty(x_physical.shape, np.int8)
    for i, w in enumerate(x_physical):
        out[i] = preprocess_raw(physical_to_counts(w, settings.units_per_count), a, b, zp)
    return out
