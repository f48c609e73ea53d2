"""EWMA, Telemanom's dynamic threshold and pruning, static thresholds: tiny hand-worked cases."""

import numpy as np
import pandas as pd
import pytest

from tinyad.detectors.thresholds import (
    dynamic_threshold, ewma, find_epsilon, prune, quantile_threshold, sigma_threshold,
)
from tinyad.errors import InputError

# 18 ones, a weak bump 4 at index 5, a strong spike 10 at index 14.
ERRORS = np.ones(20)
ERRORS[5] = 4.0
ERRORS[14] = 10.0
MEAN, STD = 1.6, np.sqrt(6.7 - 1.6 ** 2)  # mean of squares (18 + 16 + 100) / 20 = 6.7


def test_ewma_by_hand_and_against_pandas():
    # span 3 -> alpha 0.5
    assert ewma([0, 4, 4, 0], span=3).tolist() == [0, 2, 3, 1.5]
    values = np.random.default_rng(0).random(50)
    expected = pd.Series(values).ewm(span=7, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(ewma(values, 7), expected)


def test_find_epsilon_picks_the_hand_computed_z():
    search = find_epsilon(ERRORS, z_range=[1.0, 2.5, 3.0, 3.5, 4.0, 4.5], buffer=1)
    # z = 1 (epsilon 3.63) flags 5 and 14 -> {4,5,6,13,14,15}: 2 sequences, 6 points; the rest are ones:
    # (0.6/1.6 + 1) / (2^2 + 6)
    assert search.scores[1.0] == pytest.approx((0.6 / 1.6 + 1.0) / 10)
    # z = 2.5..4 flag only the spike -> {13,14,15}; the rest is 18 ones and a 4
    below_mean = 22 / 19
    below_std = np.sqrt(34 / 19 - below_mean ** 2)
    spike_only = ((MEAN - below_mean) / MEAN + (STD - below_std) / STD) / (1 + 3)
    for z in (2.5, 3.0, 3.5, 4.0):
        assert search.scores[z] == pytest.approx(spike_only)
    # z = 4.5 puts epsilon above 10: nothing flagged, not a candidate
    assert 4.5 not in search.scores
    # equal scores: the largest z wins (telemanom's `>=`)
    assert search.z == 4.0
    assert search.epsilon == pytest.approx(MEAN + 4.0 * STD)


def test_find_epsilon_guard_rails():
    # allowing no sequence of more than one point rules out every candidate
    assert find_epsilon(ERRORS, z_range=[1.0, 2.5], buffer=1, max_sequences=0).z is None
    assert find_epsilon(np.ones(10)).z is None  # constant errors: no threshold


def test_prune_keeps_only_above_the_last_big_drop():
    # sorted 10, 9.5, 5, then the non-anomalous max 4.8: drops 5 %, 47 %, 4 % -> keep 10 and 9.5
    assert prune([5.0, 10.0, 9.5], non_anomalous_max=4.8, p=0.13).tolist() == [False, True, True]
    # no drop of 13 % anywhere: everything is a weak anomaly
    assert prune([5.0, 4.9], non_anomalous_max=4.8, p=0.13).tolist() == [False, False]
    assert prune([], 1.0, 0.13).tolist() == []


def test_dynamic_threshold_flags_and_prunes():
    result = dynamic_threshold(ERRORS, buffer=1, p=0.13, z_range=[1.0, 2.5, 3.0, 3.5, 4.0])
    # z = 4 flags 13..15; its max 10 vs the largest unflagged error 4: a 60 % drop, kept
    assert np.flatnonzero(result.flags).tolist() == [13, 14, 15]
    assert result.sequences == [(13, 15)]
    strict = dynamic_threshold(ERRORS, buffer=1, p=0.7, z_range=[1.0, 2.5, 3.0, 3.5, 4.0])
    assert not strict.flags.any() and strict.pruned == [(13, 15)]


def test_dynamic_threshold_windows_cover_the_tail():
    errors = np.ones(25)
    errors[23] = 9.0
    result = dynamic_threshold(errors, window=10, step=10, buffer=0, z_range=[2.5])
    assert [(a, b) for a, b, _ in result.epsilons] == [(0, 10), (10, 20), (15, 25)]
    # only the window holding index 23 finds a threshold; buffer 0 gives a one-point run, kept
    assert np.flatnonzero(result.flags).tolist() == [23]


def test_static_thresholds():
    assert quantile_threshold([1, 2, 3, 4, 5], 0.5) == 3.0
    assert sigma_threshold([1, 2, 3, 4, 5], k=2) == pytest.approx(3 + 2 * np.sqrt(2))


@pytest.mark.parametrize("bad, message", [([1.0, np.nan, 2.0], "entry 1 is NaN or infinite"), ([], "is empty"),
                                          ([[1.0, 2.0]], r"must be 1-D, got shape \(1, 2\)")])
def test_bad_errors_raise(bad, message):
    with pytest.raises(InputError, match=message):
        dynamic_threshold(bad)
