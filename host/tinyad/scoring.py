"""Scoring reference (docs/protocol.md, "Scoring and alerts"), bit-exact with the firmware core where stated.

The output tensor holds int8 logits, class 0 = normal. The alert input is the logit margin: exact integer
arithmetic and one float32 multiply, so no libm is involved and the board, the SIL and the host agree bit for bit.
The probability 1 - softmax_0 uses exp and is for display only (it may differ by an ulp between libms).
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError


def _logits(output_int8) -> np.ndarray:
    q = np.asarray(output_int8)
    if q.ndim != 1 or q.size < 2:
        raise InputError(f"need at least 2 int8 logits (class 0 = normal), got shape {q.shape}")
    return q.astype(np.int32)


def logit_margin_q(output_int8) -> int:
    """max_{k>=1} q[k] - q[0]: an exact integer in [-255, 255]."""
    q = _logits(output_int8)
    return int(q[1:].max()) - int(q[0])


def logit_margin(output_int8, output_scale: float) -> np.float32:
    """The alert score: float32(logit_margin_q) * float32(output_scale)."""
    return np.float32(logit_margin_q(output_int8)) * np.float32(output_scale)


def anomaly_probability(output_int8, output_scale: float) -> np.float32:
    """1 - softmax(dequantized logits)[0] in float32 (display; within a few ulps of the core)."""
    q = _logits(output_int8)
    z = (q - q.max()).astype(np.float32) * np.float32(output_scale)
    e = np.exp(z, dtype=np.float32)
    total = np.float32(0.0)
    for value in e:  # the core sums in order
        total = np.float32(total + value)
    return np.float32(np.float32(1.0) - np.float32(e[0] / total))


class Ewma:
    """EWMA as in the core: the first value primes it; then s = s + alpha * (x - s), each step float32."""

    def __init__(self, alpha: float = 0.5):
        self.alpha = np.float32(alpha)
        self.value: np.float32 | None = None

    def update(self, x: float) -> np.float32:
        x = np.float32(x)
        if self.value is None:
            self.value = x
        else:
            delta = np.float32(x - self.value)
            self.value = np.float32(self.value + np.float32(self.alpha * delta))
        return self.value


def ewma(scores, alpha: float) -> np.ndarray:
    """The smoothed series of a score series (float32), as the device computes it window by window."""
    smoother = Ewma(alpha)
    return np.array([smoother.update(s) for s in scores], dtype=np.float32)
