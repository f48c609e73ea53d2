"""Drift detection on normal data and first-differencing of drifting channels: tiny hand-worked cases."""

import numpy as np
import pytest

from tinyad.detectors.drift import difference_channels, drifting_channels, half_shift
from tinyad.errors import InputError


def test_half_shift_by_hand():
    # channel 0: first half [0, 2] (mean 1, std 1), second half [4, 6] (mean 5) -> shift 4
    # channel 1: constant 3 -> first-half std 0 counts as 1, shift 0
    segment = np.array([[0, 3], [2, 3], [4, 3], [6, 3]], dtype=float)
    np.testing.assert_allclose(half_shift(segment), [4.0, 0.0])


def test_drifting_channels_uses_the_median_over_segments():
    # channel 0 drifts in two of three segments (shifts 4, 4, 0), channel 1 in one (0, 0, 4): median 4 vs 0
    ramp = np.array([0, 2, 4, 6], dtype=float)
    flat = np.array([0, 2, 0, 2], dtype=float)  # halves [0,2] and [0,2]: shift 0
    a = np.column_stack([ramp, flat])
    b = np.column_stack([ramp, flat])
    c = np.column_stack([flat, ramp])
    assert drifting_channels([a, b, c], min_shift=0.5).tolist() == [0]
    assert drifting_channels([a, b, c], min_shift=5.0).tolist() == []


def test_difference_channels_keeps_length_and_other_channels():
    values = np.array([[1, 10], [3, 11], [6, 12], [10, 13]], dtype=float)
    out = difference_channels(values, [0])
    np.testing.assert_array_equal(out[:, 0], [2, 2, 3, 4])  # row 0 repeats row 1's difference
    np.testing.assert_array_equal(out[:, 1], values[:, 1])
    np.testing.assert_array_equal(values[:, 0], [1, 3, 6, 10])  # input untouched
    np.testing.assert_array_equal(difference_channels(values, []), values)


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="NaN"):
        half_shift(np.array([[0.0], [np.nan], [1.0], [2.0]]))
    with pytest.raises(InputError, match="at least 4 rows"):
        half_shift(np.zeros((3, 2)))
    with pytest.raises(InputError, match="out of range"):
        difference_channels(np.zeros((3, 2)), [2])
    with pytest.raises(InputError, match="2-D"):
        difference_channels(np.zeros(3), [0])
    with pytest.raises(InputError, match="no normal segments"):
        drifting_channels([])
