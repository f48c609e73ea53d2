"""Scoring (logit margin, probability, EWMA): C++ core against the Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core
from tinyad.errors import InputError
from tinyad.scoring import Ewma, anomaly_probability, ewma, exp_nonpositive, logit_margin, logit_margin_q

logits = st.lists(st.integers(-128, 127), min_size=2, max_size=16)
scales = st.floats(2.0**-13, 1.0, width=32)


def test_hand_computed_margins():
    # class 0 = normal: margin = max(q[1:]) - q[0]
    assert logit_margin_q([10, -5, 3]) == -7
    assert _core.logit_margin_q([10, -5, 3]) == -7
    assert logit_margin_q([-128, 127]) == 255 and _core.logit_margin_q([-128, 127]) == 255
    assert logit_margin([0, 20], 0.125) == np.float32(2.5)
    assert _core.logit_margin([0, 20], 0.125) == 2.5


def test_probability_of_two_classes_is_the_sigmoid_of_the_margin():
    # 1 - softmax_0 = 1 / (1 + exp(-(q1 - q0) * s)); q = [0, 20], s = 0.125 -> sigmoid(2.5)
    expected = 1.0 / (1.0 + math.exp(-2.5))
    assert _core.anomaly_probability([0, 20], 0.125) == pytest.approx(expected, rel=1e-6)
    assert float(anomaly_probability([0, 20], 0.125)) == pytest.approx(expected, rel=1e-6)
    # equal logits over three classes: p0 = 1/3
    assert _core.anomaly_probability([5, 5, 5], 0.5) == pytest.approx(2.0 / 3.0, rel=1e-6)


@settings(max_examples=300, deadline=None)
@given(logits, scales)
def test_margin_and_probability_are_bit_exact(q, scale):
    assert _core.logit_margin_q(q) == logit_margin_q(q)
    assert np.float32(_core.logit_margin(q, scale)) == logit_margin(q, scale)  # libm-free: exact
    p_core = np.float32(_core.anomaly_probability(q, scale))
    assert 0.0 <= p_core <= 1.0
    assert p_core.tobytes() == anomaly_probability(q, scale).tobytes()  # the core's own exp: exact too


def test_exp_nonpositive_by_hand():
    # k = 0, r = 0: the polynomial's constant term, exactly 1; below the floor, NaN and beyond: 0
    for x, expected in ((0.0, 1.0), (-0.0, 1.0), (3.0, 1.0), (-86.5, 0.0), (float("nan"), 0.0), (-1e30, 0.0)):
        assert _core.exp_nonpositive(x) == expected and float(exp_nonpositive(x)) == expected, x
    # x = -ln 2 * 3 lands on k = -3: e^x = 1/8 to within an ulp
    assert _core.exp_nonpositive(-3 * math.log(2)) == pytest.approx(0.125, rel=2**-23)


def test_exp_nonpositive_is_within_two_ulp_and_the_same_in_both_languages():
    x = np.linspace(-86.0, 0.0, 50_001, dtype=np.float32)
    core = np.array([_core.exp_nonpositive(float(v)) for v in x], np.float32)
    assert core.tobytes() == exp_nonpositive(x).tobytes()
    true = np.exp(x.astype(np.float64))
    ulps = np.abs(core - true) / np.spacing(true.astype(np.float32))
    assert ulps.max() <= 2.0, float(ulps.max())


@settings(max_examples=300, deadline=None)
@given(st.floats(-100.0, 1.0, width=32, allow_subnormal=False))
def test_exp_nonpositive_core_equals_python(x):
    assert np.float32(_core.exp_nonpositive(x)).tobytes() == exp_nonpositive(x).tobytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-300, 300, width=32), min_size=1, max_size=60),
       st.floats(2.0**-10, 1.0, width=32))
def test_ewma_is_bit_exact(values, alpha):
    core = _core.Ewma(alpha)
    got = [np.float32(core.update(v)) for v in values]
    np.testing.assert_array_equal(np.array(got, np.float32), ewma(values, alpha))


def test_ewma_hand_computed():
    smoother = Ewma(0.25)
    assert smoother.update(4.0) == 4.0          # primes
    assert smoother.update(0.0) == 3.0          # 4 + 0.25 * (0 - 4)
    assert smoother.update(3.0) == 3.0
    core = _core.Ewma(0.25)
    assert [core.update(v) for v in (4.0, 0.0, 3.0)] == [4.0, 3.0, 3.0]


def test_too_few_logits_is_an_input_error():
    with pytest.raises(InputError):
        logit_margin_q([3])
    assert _core.logit_margin_q([3]) == 0  # the core never crashes; the device rejects n_classes < 2 at begin()
