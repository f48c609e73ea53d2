"""Preprocessing: the C++ core and the numpy reference agree bit for bit, including the cases where an FMA or
another rounding order would change the result."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyad import _core
from tinyad.errors import InputError
from tinyad.model_settings import ModelSettings
from tinyad.preprocess import physical_to_counts, preprocess_constants, preprocess_raw


def core_preprocess(raw: np.ndarray, a, b, zp: int) -> np.ndarray:
    out = _core.preprocess_window(np.ascontiguousarray(raw, "<i2").tobytes(), [float(v) for v in a],
                                  [float(v) for v in b], int(zp))
    return np.frombuffer(out, np.int8).reshape(raw.shape)


def test_hand_computed_window():
    # a = 0.5, b = -1, zp = 3: raw 3 -> 0.5 -> 0 (half to even) -> 3; raw 5 -> 1.5 -> 2 -> 5;
    # raw 1000 -> 499 -> saturates at 127; raw -1000 -> -501 -> -128; raw 7 -> 2.5 -> 2 -> 5.
    raw = np.array([[3, 5], [1000, -1000], [7, -3]], np.int16)
    a = np.float32([0.5, 0.5])
    b = np.float32([-1.0, -1.0])
    expected = np.array([[3, 5], [127, -128], [5, 1]], np.int8)  # -3*0.5-1 = -2.5 -> -2 -> 1
    np.testing.assert_array_equal(preprocess_raw(raw, a, b, 3), expected)
    np.testing.assert_array_equal(core_preprocess(raw, a, b, 3), expected)


@pytest.mark.parametrize("y, expected", [(0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (-2.5, -2),
                                         (0.49999997, 0), (255.5, 256), (-511.5, -512), (3.0, 3)])
def test_round_half_even_without_libm(y, expected):
    assert _core.round_half_even_small(y) == expected
    assert int(np.rint(np.float32(y))) == expected


def _fma_sensitive_case(raw: int, target_product: float, tie: float):
    """(a, b, separate_result, fused_result) such that fl(fl(raw * a) + b) lands exactly on a tie `tie` while the
    exact raw * a + b (what an FMA rounds) lies off it, so round-half-even gives a different integer."""
    a = np.float32(target_product / raw)
    p32 = np.float32(np.float32(raw) * a)
    error = Fraction(raw) * Fraction(float(a)) - Fraction(float(p32))
    assert error != 0
    b = np.float32(tie - float(p32))
    assert Fraction(float(p32)) + Fraction(float(b)) == Fraction(tie)  # the separate sum is exact: a tie
    fused = np.float32(float(Fraction(float(p32)) + error + Fraction(float(b))))
    return a, b, int(np.rint(np.float32(tie))), int(np.rint(fused))


def test_fma_would_change_the_result_but_the_core_does_not_fuse():
    cases = []
    for raw, target in [(30011, 1000.3), (-29999, 900.7), (12345, 700.1), (31111, 999.9), (-20001, 613.37)]:
        for tie in (0.5, 1.5, -0.5, -1.5, 2.5):
            a, b, separate, fused = _fma_sensitive_case(raw, target, tie)
            if separate != fused:
                cases.append((raw, a, b, separate))
    assert len(cases) >= 5  # the construction really produces FMA-sensitive inputs
    for raw, a, b, separate in cases:
        assert _core.quantize_value(raw, float(a), float(b), 0) == separate
        assert int(preprocess_raw(np.array([[raw]], np.int16), [a], [b], 0)[0, 0]) == separate


finite_f32 = st.floats(-1e4, 1e4, allow_nan=False, width=32)


@settings(max_examples=300, deadline=None)
@given(
    raw=hnp.arrays(np.int16, st.tuples(st.integers(1, 16), st.integers(1, 8)),
                   elements=st.integers(-32768, 32767)),
    data=st.data(),
)
def test_core_matches_python_bit_for_bit(raw, data):
    channels = raw.shape[1]
    a = np.float32(data.draw(st.lists(st.floats(-0.0625, 0.0625, width=32), min_size=channels, max_size=channels)))
    b = np.float32(data.draw(st.lists(finite_f32, min_size=channels, max_size=channels)))
    zp = data.draw(st.integers(-128, 127))
    np.testing.assert_array_equal(core_preprocess(raw, a, b, zp), preprocess_raw(raw, a, b, zp))


@settings(max_examples=200, deadline=None)
@given(st.integers(-32768, 32767), st.integers(-8, 8), st.integers(0, 2**16), st.integers(-128, 127))
def test_core_matches_python_on_exact_ties(raw_count, k, frac_bits, zp):
    """Inputs built so that raw * a + b hits (or nearly hits) a .5 tie: the rounding rule matters."""
    a = np.float32(np.ldexp(np.float32(frac_bits), -20))
    b = np.float32(k + 0.5) - np.float32(np.float32(raw_count) * a)
    raw = np.array([[raw_count]], np.int16)
    assert core_preprocess(raw, [a], [b], zp)[0, 0] == preprocess_raw(raw, [a], [b], zp)[0, 0]


def _settings(**overrides) -> ModelSettings:
    fields = dict(model_name="t", window=4, hop=2, channels=["ax", "gz"], sample_rate_hz=100.0,
                  units={"ax": "g", "gz": "dps"}, units_per_count=[4 / 32768, 500 / 32768],
                  full_scale={"accel_g": 4, "gyro_dps": 500}, norm_mean=[0.5, -2.0], norm_std=[0.25, 10.0],
                  input_scale=0.05, input_zero_point=-3, output_scale=0.1, output_zero_point=0,
                  class_names=["normal", "fault"], tflite_sha256="")
    fields.update(overrides)
    return ModelSettings(**fields)


def test_constants_follow_the_contract():
    a, b, zp = preprocess_constants(_settings())
    assert a.dtype == np.float32 and b.dtype == np.float32 and zp == -3
    # a = upc / (std * scale): 4/32768 / (0.25 * 0.05) = 0.009765625 exactly; b = -0.5 / 0.0125 = -40
    assert a[0] == np.float32(0.009765625) and b[0] == np.float32(-40.0)
    assert a[1] == np.float32((500 / 32768) / (10.0 * 0.05)) and b[1] == np.float32(4.0)


def test_folded_affine_equals_the_unfolded_contract_on_typical_data():
    """The folded a, b and the model_settings docstring's three steps give the same int8 on almost every value
    (they are different float32 computations; the device and the host both use the folded one)."""
    s = _settings()
    a, b, zp = preprocess_constants(s)
    raw = np.random.default_rng(1).integers(-4000, 4000, size=(2000, 2)).astype(np.int16)
    physical = raw.astype(np.float32) * np.float32(s.units_per_count)
    x = (physical - np.float32(s.norm_mean)) / np.float32(s.norm_std)
    unfolded = np.clip(np.rint(x / np.float32(s.input_scale)) + zp, -128, 127).astype(np.int8)
    folded = preprocess_raw(raw, a, b, zp)
    assert np.mean(folded == unfolded) > 0.99
    assert np.max(np.abs(folded.astype(int) - unfolded.astype(int))) <= 1


def test_bad_settings_and_inputs_give_clear_errors():
    with pytest.raises(InputError, match="norm_std"):
        preprocess_constants(_settings(norm_std=[0.25, 0.0]))
    with pytest.raises(InputError, match="channels"):
        preprocess_constants(_settings(norm_mean=[0.5]))
    a, b, zp = preprocess_constants(_settings())
    with pytest.raises(InputError, match="channels"):
        preprocess_raw(np.zeros((4, 3), np.int16), a, b, zp)
    with pytest.raises(InputError, match="integers"):
        preprocess_raw(np.zeros((4, 2), np.float32), a, b, zp)
    with pytest.raises(InputError, match="int16"):
        preprocess_raw(np.full((1, 2), 40000), a, b, zp)


def test_physical_to_counts_rounds_and_saturates():
    upc = [0.5, 2.0]
    x = np.array([[1.25, 3.0], [0.75, -5.0], [1e6, -1e6]])
    # 1.25/0.5 = 2.5 -> 2 (half even); 3/2 = 1.5 -> 2; 0.75/0.5 = 1.5 -> 2; -5/2 = -2.5 -> -2; saturation.
    np.testing.assert_array_equal(physical_to_counts(x, upc), [[2, 2], [2, -2], [32767, -32768]])
    with pytest.raises(InputError, match="non-finite"):
        physical_to_counts(np.array([[np.nan, 0.0]]), upc)
    with pytest.raises(InputError, match="channels"):
        physical_to_counts(np.zeros((2, 3)), upc)


def test_binding_rejects_mismatched_constants():
    with pytest.raises(ValueError):
        _core.preprocess_window(struct.pack("<2h", 1, 2), [0.5], [0.1, 0.2], 0)
    with pytest.raises(ValueError):
        _core.preprocess_window(struct.pack("<3h", 1, 2, 3), [0.5, 0.5], [0.1, 0.2], 0)
