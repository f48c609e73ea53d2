"""SKAB's decision rule on tiny hand-computed arrays."""

import numpy as np
import pytest

from tinyad.detectors.skab_rule import control_limit, covering_window_flags, window_residuals
from tinyad.errors import InputError


def test_window_residual_is_time_mean_of_abs_error_summed_over_channels():
    windows = np.zeros((2, 2, 2))
    reconstructed = np.array([[[1.0, -2.0], [3.0, 0.0]],  # channel means |.|: 2, 1 -> 3
                              [[0.0, 0.0], [0.0, -4.0]]])  # 0, 2 -> 2
    assert window_residuals(windows, reconstructed) == pytest.approx([3.0, 2.0])


def test_window_residual_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="same"):
        window_residuals(np.zeros((2, 3, 1)), np.zeros((2, 2, 1)))


def test_control_limit_scales_the_quantile():
    # quantile 0.5 of 1..5 is 3; times 4/3 -> 4
    assert control_limit(np.arange(1.0, 6.0), quantile=0.5) == pytest.approx(4.0)
    with pytest.raises(InputError, match="finite"):
        control_limit(np.array([1.0, np.nan]))


def test_covering_window_flags_needs_every_earlier_covering_window():
    # window 3, 8 windows -> 10 rows; only rows 2..5 can be flagged (SKAB's loop bound).
    # row 2: windows 0,1 flagged -> yes; row 3: windows 1,2 -> yes; row 4: windows 2,3 (3 is not) -> no;
    # row 5: windows 3,4 -> no; rows 6.. are past the bound although windows 4..7 are all flagged.
    flags = covering_window_flags(np.array([1, 1, 1, 0, 1, 1, 1, 1], bool), window=3)
    assert flags.tolist() == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]


def test_covering_window_flags_rejects_a_one_row_window():
    with pytest.raises(InputError, match="window"):
        covering_window_flags(np.ones(4, bool), window=1)


def test_covering_window_flags_for_any_series_uses_every_window_covering_a_row():
    # window 3, windows 0..7 over rows 0..9. Row 3 is covered by windows 1..3 (3 is not flagged) -> no;
    # rows 4, 5 also include window 3; rows 8, 9 at the end are covered by windows 6-7 and 7 only -> yes.
    flags = covering_window_flags(np.array([1, 1, 1, 0, 1, 1, 1, 1], bool), window=3, skab_bounds=False)
    assert flags.tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1, 1]
