"""A tiny int8 model (Conv1D + Dense, full-int8 PTQ) with matching ModelSettings, built once per test run.

Seconds to build; shared by tests/sil and tests/device through their conftest fixtures.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np

WINDOW = 32
HOP = 16
CHANNELS = ["ax", "ay", "az", "gx", "gy", "gz"]
FULL_SCALE = {"accel_g": 4.0, "gyro_dps": 500.0}
UNITS_PER_COUNT = [4.0 / 32768] * 3 + [500.0 / 32768] * 3
RATE_HZ = 100.0


@functools.lru_cache(maxsize=1)
def build_tiny_model() -> tuple[Path, Path]:
    """Write model.tflite + model_settings.json into a temporary directory; returns both paths."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from tinyad.model_settings import ModelSettings, sha256_file
    from tinyad.quantize import full_int8, io_quantization

    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = tf.keras.Input((WINDOW, len(CHANNELS)))
    x = tf.keras.layers.Conv1D(4, 5, strides=2, activation="relu")(inputs)
    x = tf.keras.layers.Flatten()(x)
    outputs = tf.keras.layers.Dense(2)(x)
    model = tf.keras.Model(inputs, outputs)

    tflite_bytes = full_int8(model, rng.standard_normal((32, WINDOW, len(CHANNELS))))

    out_dir = Path(tempfile.mkdtemp(prefix="tinyad-tiny-model-"))
    model_path = out_dir / "model.tflite"
    model_path.write_bytes(tflite_bytes)

    in_scale, in_zero_point, out_scale, out_zero_point = io_quantization(tflite_bytes)
    settings = ModelSettings(
        model_name="tiny-test",
        window=WINDOW,
        hop=HOP,
        channels=list(CHANNELS),
        sample_rate_hz=RATE_HZ,
        units={c: ("g" if c.startswith("a") else "dps") for c in CHANNELS},
        units_per_count=list(UNITS_PER_COUNT),
        full_scale=dict(FULL_SCALE),
        # Roughly what the synthetic motor produces: gravity on z, small vibration.
        norm_mean=[0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        norm_std=[0.1, 0.1, 0.1, 5.0, 5.0, 5.0],
        input_scale=in_scale,
        input_zero_point=in_zero_point,
        output_scale=out_scale,
        output_zero_point=out_zero_point,
        class_names=["normal", "anomaly"],
        tflite_sha256=sha256_file(model_path),
        arena_bytes=16 * 1024,
        arena_bytes_with_margin=20 * 1024,
    )
    settings_path = settings.save(out_dir / "model_settings.json")
    return model_path, settings_path
