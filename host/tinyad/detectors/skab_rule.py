"""SKAB's own decision rule for window autoencoders, as its leaderboard notebooks apply it (waico/SKAB,
`notebooks/Conv_AE.ipynb`): one residual per window, a control limit from the training windows' residuals,
and a row flagged only when every earlier window covering it is flagged.

Pure functions on arrays, used by `tinyad.bench.skab_conv_ae` (SKAB's exact loop bounds) and by the `covering`
threshold of `tinyad.detectors.pipeline` (every row can alarm).
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError

UCL_QUANTILE = 0.999  # SKAB's Conv-AE: the 99.9th percentile of the training residuals ...
UCL_FACTOR = 4 / 3  # ... times 4/3


def window_residuals(windows: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """One residual per window: the absolute reconstruction error averaged over the window's time steps and
    summed over channels. (n_windows, window, channels) twice -> (n_windows,)."""
    windows, reconstructed = np.asarray(windows, float), np.asarray(reconstructed, float)
    if windows.shape != reconstructed.shape or windows.ndim != 3:
        raise InputError(f"windows {windows.shape} and reconstructions {reconstructed.shape} must be the same "
                         "(n_windows, window, channels) shape")
    return np.abs(windows - reconstructed).mean(axis=1).sum(axis=1)


def control_limit(train_residuals: np.ndarray, quantile: float = UCL_QUANTILE, factor: float = UCL_FACTOR) -> float:
    """The upper control limit: `factor` x the `quantile` of the training windows' residuals."""
    train_residuals = np.asarray(train_residuals, float)
    if train_residuals.size == 0 or not np.isfinite(train_residuals).all():
        raise InputError("the control limit needs at least one finite training residual")
    return float(np.quantile(train_residuals, quantile) * factor)


def covering_window_flags(window_flags: np.ndarray, window: int, *, skab_bounds: bool = True) -> np.ndarray:
    """Row flags from window flags. Window j covers rows j .. j + window - 1, so there are
    n_windows + window - 1 rows.

    skab_bounds=True is SKAB's notebook exactly: row i is flagged when the `window - 1` windows starting at
    i - window + 1 .. i - 1 are all flagged, and only rows window - 1 .. n_windows - window can be flagged
    (the rest stay 0). skab_bounds=False, for scoring any series: row i is flagged when every window
    covering it is flagged (at the edges, the windows that exist)."""
    window_flags = np.asarray(window_flags, bool)
    if window < 2:
        raise InputError(f"window must be >= 2 for the covering-window rule, got {window}")
    n_windows = len(window_flags)
    rows = np.zeros(n_windows + window - 1, bool)
    count_before = np.r_[0, np.cumsum(window_flags)]  # count_before[k] = flagged windows among 0 .. k-1
    if skab_bounds:
        idx = np.arange(window - 1, n_windows - window + 1)
        rows[idx] = count_before[idx] - count_before[idx - window + 1] == window - 1
        return rows
    idx = np.arange(len(rows))
    first = np.maximum(idx - window + 1, 0)
    last = np.minimum(idx, n_windows - 1)
    return count_before[last + 1] - count_before[first] == last - first + 1
