"""A stand-in model for the SIL benchmarks when models/default has not been exported yet: the default
architecture (cnn_gru, window 64, hop 32, 6 channels, 4 classes) with untrained random weights, int8-quantized
with representative windows and normalization fitted on the motor_mpu6050 *_trial1 files (the training split).

Parity does not depend on what the weights learned - every op, shape and quantization path is the real one -
but the benchmarks say which model they ran, and prefer the exported default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WINDOW, HOP = 64, 32
CLASSES = ["normal", "imbalance", "misalignment", "bearing_fault"]


def resolve_model(work_dir: Path, shared_root: Path | None = None) -> tuple[Path, str]:
    """(model path, description): models/default/model.tflite when it exists, else a stand-in built here."""
    from tinyad.paths import default_model_dir

    default = default_model_dir() / "model.tflite"
    if default.exists() and default.with_name("model_settings.json").exists():
        return default, f"models/default/model.tflite (exported default, sha256 {_sha(default)[:12]})"
    path = build_standin(work_dir, shared_root)
    return path, f"stand-in: untrained cnn_gru, window {WINDOW}, hop {HOP} (models/default not exported yet)"


def _sha(path: Path) -> str:
    from tinyad.model_settings import sha256_file

    return sha256_file(path)


def build_standin(out_dir: Path, shared_root: Path | None = None, seed: int = 0) -> Path:
    """Write model.tflite + model_settings.json of the stand-in into out_dir; returns the .tflite path."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from tinyad.importers import motor_mpu6050_sessions
    from tinyad.model_settings import ModelSettings, sha256_file
    from tinyad.models import ModelConfig, build_model
    from tinyad.paths import shared_data_dir
    from tinyad.quantize import DEFAULT_FULL_SCALE, convert_int8, io_quantization, units_per_count

    keras.utils.set_random_seed(seed)
    root = Path(shared_root or shared_data_dir())
    sessions = [s for s in motor_mpu6050_sessions(root / "imu" / "motor_mpu6050")
                if "trial1" in s.meta.source]
    channels = ["ax", "ay", "az", "gx", "gy", "gz"]
    train = np.concatenate([s.data[:, [s.meta.channels.index(c) for c in channels]] for s in sessions])
    mean, std = train.mean(axis=0).astype(np.float64), train.std(axis=0).astype(np.float64) + 1e-6
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(train) - WINDOW, 200)
    representative = np.stack([(train[s: s + WINDOW] - mean) / std for s in starts]).astype(np.float32)
    config = ModelConfig()
    model = build_model(config, WINDOW, len(channels), len(CLASSES))
    tflite = convert_int8(model, config, WINDOW, len(channels), len(CLASSES), representative)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.tflite"
    path.write_bytes(tflite)
    in_s, in_z, out_s, out_z = io_quantization(tflite)
    ModelSettings(
        model_name="standin-cnn_gru-untrained", window=WINDOW, hop=HOP, channels=channels, sample_rate_hz=100.0,
        units={c: ("g" if c.startswith("a") else "dps") for c in channels},
        units_per_count=units_per_count(channels, DEFAULT_FULL_SCALE), full_scale=dict(DEFAULT_FULL_SCALE),
        norm_mean=mean.tolist(), norm_std=std.tolist(), input_scale=in_s, input_zero_point=in_z,
        output_scale=out_s, output_zero_point=out_z, class_names=CLASSES, tflite_sha256=sha256_file(path),
    ).save(out_dir / "model_settings.json")
    return path
