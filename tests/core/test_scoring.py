"""Scoring (logit margin, probability, EWMA): C++ core against the Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core
from tinyad.errors import InputError
from tinyad.scoring import Ewma, anomaly_probability, ewma, logit_margin, logit_margin_q

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
def test_margin_is_bit_exact_and_probability_close(q, scale):
    assert _core.logit_margin_q(q) == logit_margin_q(q)
    assert np.float32(_core.logit_margin(q, scale)) == logit_margin(q, scale)  # libm-free: exact
    p_core = _core.anomaly_probability(q, scale)
    p_py = float(anomaly_probability(q, scale))
    assert 0.0 <= p_core <= 1.0
    assert p_core == pytest.approx(p_py, abs=4e-7)  # expf may differ by an ulp across libms


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
