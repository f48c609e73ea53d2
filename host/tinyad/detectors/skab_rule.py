"""SKAB's own decision rule for window autoencoders, as its leaderboard notebooks apply it (waico/SKAB,
`notebooks/Conv_AE.ipynb`): one residual per window, a control limit from the training windows' residuals,
and a row flagged only when every earlier window covering it is flagged.

Pure functions on arrays; the benchmark that uses them is `tinyad.bench.skab_conv_ae`.
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


def covering_window_flags(window_flags: np.ndarray, window: int) -> np.ndarray:
    """Row flags from window flags, SKAB's way. Window j covers rows j .. j + window - 1, so there are
    n_windows + window - 1 rows. Row i is flagged when the `window - 1` windows starting at i - window + 1 ..
    i - 1 are all flagged; as in SKAB's loop, only rows window - 1 .. n_windows - window can be flagged
    (the rest stay 0)."""
    window_flags = np.asarray(window_flags, bool)
    if window < 2:
        raise InputError(f"window must be >= 2 for the covering-window rule, got {window}")
    n_windows = len(window_flags)
    rows = np.zeros(n_windows + window - 1, bool)
    count_before = np.r_[0, np.cumsum(window_flags)]  # count_before[k] = flagged windows among 0 .. k-1
    idx = np.arange(window - 1, n_windows - window + 1)
    rows[idx] = count_before[idx] - count_before[idx - window + 1] == window - 1
    return rows
