"""The sample ring buffer of the core: sequence numbers, windows, overwrite of the oldest samples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core

CAPACITY = _core.RING_SAMPLES


def test_windows_by_sequence_number():
    ring = _core.SampleRing()
    ring.reset(2)
    for i in range(5):
        ring.push([i, -i])
    assert (ring.total, ring.oldest) == (5, 0)
    assert ring.copy(1, 3) == [1, -1, 2, -2, 3, -3]
    assert ring.contains(2, 3) and not ring.contains(3, 3)  # sample 5 is not there yet
    assert ring.copy(3, 3) is None


def test_oldest_samples_are_overwritten():
    ring = _core.SampleRing()
    ring.reset(1)
    for i in range(CAPACITY + 10):
        ring.push([i])
    assert ring.oldest == 10
    assert ring.copy(9, 1) is None                      # overwritten
    assert ring.copy(10, 3) == [10, 11, 12]
    assert ring.copy(CAPACITY + 7, 3) == [CAPACITY + 7, CAPACITY + 8, CAPACITY + 9]  # wraps around the storage
    assert not ring.contains(10, CAPACITY + 1)          # longer than the ring


def test_wrong_channel_count_is_refused():
    ring = _core.SampleRing()
    ring.reset(3)
    with pytest.raises(ValueError):
        ring.push([1, 2])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3 * CAPACITY), st.integers(0, 3 * CAPACITY), st.integers(0, 40))
def test_ring_matches_a_list(n_pushed, first, length):
    ring = _core.SampleRing()
    ring.reset(1)
    values = [(7 * i) % 65536 - 32768 for i in range(n_pushed)]
    for v in values:
        ring.push([v])
    available = first >= max(0, n_pushed - CAPACITY) and first + length <= n_pushed
    assert ring.copy(first, length) == (values[first:first + length] if available else None)
