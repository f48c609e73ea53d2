"""Preprocessing reference: raw sensor counts -> int8 model input, bit-exact with the firmware core.

The contract (docs/protocol.md, "Preprocessing"): the host folds units, normalization and input quantization into
per-channel float32 constants once,

    a[c] = units_per_count[c] / (norm_std[c] * input_scale)      (float64, rounded once to float32)
    b[c] = -norm_mean[c] / (norm_std[c] * input_scale)

and the device computes q = clamp(round_half_even(float32(raw) * a[c] + b[c]) + zero_point, -128, 127) with the
multiply and the add as two separately rounded float32 operations. numpy float32 arithmetic is IEEE
round-to-nearest-even per operation and never fuses, so the code below is the same arithmetic.
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError

CLAMP_LIMIT = np.float32(512.0)  # |y| beyond this saturates anyway; the core clamps before its rounding trick


def preprocess_constants(settings) -> tuple[np.ndarray, np.ndarray, int]:
    """(a, b, input_zero_point) for a ModelSettings: the float32 per-channel affine the device applies.

    Raises InputError on a non-positive std or scale, channel-count mismatches or non-finite results.
    """
    n = settings.n_channels
    upc = np.asarray(settings.units_per_count, np.float64)
    mean = np.asarray(settings.norm_mean, np.float64)
    std = np.asarray(settings.norm_std, np.float64)
    if not (upc.shape == mean.shape == std.shape == (n,)):
        raise InputError(
            f"model settings: units_per_count/norm_mean/norm_std have {upc.size}/{mean.size}/{std.size} values "
            f"for {n} channels", hint="re-export the model; the settings file is inconsistent")
    if not np.all(std > 0) or not settings.input_scale > 0:
        raise InputError("model settings: norm_std and input_scale must be > 0",
                         hint="a channel with zero variance in the training data? drop it or re-fit")
    denominator = std * float(settings.input_scale)
    a = (upc / denominator).astype(np.float32)
    b = (-mean / denominator).astype(np.float32)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("model settings give non-finite preprocessing constants")
    return a, b, int(settings.input_zero_point)


def preprocess_raw(raw_counts, a, b, zero_point: int) -> np.ndarray:
    """Raw int16 counts (W, C) -> int8 model input (W, C), exactly as the firmware core computes it.

    raw_counts must be integers within int16; a and b are the float32 constants of preprocess_constants.
    """
    raw = np.asarray(raw_counts)
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    if raw.ndim != 2 or raw.shape[1] != a.shape[0] or a.shape != b.shape:
        raise InputError(f"raw window of shape {raw.shape} does not match {a.shape[0]} channels",
                         hint="expected (window, channels) raw sensor counts")
    if not np.issubdtype(raw.dtype, np.integer):
        raise InputError(f"raw counts must be integers, got {raw.dtype}",
                         hint="use physical_to_counts() for sessions in physical units")
    if raw.size and (raw.min() < -32768 or raw.max() > 32767):
        raise InputError("raw counts outside int16")
    product = raw.astype(np.float32) * a       # float32 multiply, rounded
    y = product + b                            # float32 add, rounded separately
    y = np.clip(y, -CLAMP_LIMIT, CLAMP_LIMIT)
    rounded = np.rint(y).astype(np.int32)      # round half to even
    return np.clip(rounded + int(zero_point), -128, 127).astype(np.int8)


def physical_to_counts(x, units_per_count) -> np.ndarray:
    """Physical units (W, C) -> raw int16 counts: x / units_per_count rounded half to even, saturated to int16.

    For replaying sessions recorded in physical units through the device's raw-count pipeline. NaN is rejected.
    """
    x = np.asarray(x, np.float64)
    upc = np.asarray(units_per_count, np.float64)
    if x.ndim != 2 or x.shape[1] != upc.shape[0]:
        raise InputError(f"data of shape {x.shape} does not match {upc.shape[0]} channels")
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise InputError(f"{bad} non-finite values (NaN/inf) in the data",
                         hint="interpolate or drop the gaps before replaying")
    if not np.all(upc > 0):
        raise InputError("units_per_count must be > 0")
    return np.clip(np.rint(x / upc), -32768, 32767).astype(np.int16)
