"""Scoring reference (docs/protocol.md, "Scoring and alerts"), bit-exact with the firmware core where stated.

The output tensor holds int8 logits, class 0 = normal. The alert input is the logit margin: exact integer
arithmetic and one float32 multiply, so no libm is involved and the board, the SIL and the host agree bit for bit.
The probability 1 - softmax_0 (the alert input with SCORE_KIND 1) uses the core's own float32 exp
(`exp_nonpositive`), not a libm's: libms' expf differ by an ulp (newlib on the board, glibc here), so only an exp
written out in float32 operations agrees to the bit on the board, the SIL and the host.
"""

from __future__ import annotations

import numpy as np

from tinyad.errors import InputError

# The device's SCORE_KIND (docs/protocol.md, config key 0x0006): what the alert state machine is fed.
SCORE_KIND_MARGIN, SCORE_KIND_PROBABILITY = 0, 1


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


# The core's constants (firmware/core/src/scoring.cc), as float32.
_LOG2E = np.float32(1.44269502)
_LN2_HI = np.float32(0.693145751953125)
_LN2_LO = np.float32(1.42860677e-06)
_EXP_FLOOR = np.float32(-86.0)
_EXP_TAYLOR = [np.float32(v) for v in (1.98412701e-04, 1.38888892e-03, 8.33333377e-03, 4.16666679e-02,
                                        1.66666672e-01, 0.5, 1.0, 1.0)]


def exp_nonpositive(x) -> np.ndarray:
    """e^x for x <= 0 exactly as the core computes it, step by step in float32 (elementwise; within 2 ulp of
    the true value): k = round_half_even(x log2 e), r = x - k ln2 (two parts), a degree-7 Taylor polynomial of r
    by Horner, times 2^k; 0 below -86 (and for NaN), x > 0 taken as 0."""
    x = np.minimum(np.asarray(x, np.float32), np.float32(0.0))
    valid = x >= _EXP_FLOOR                  # False for NaN too
    x = np.where(valid, x, np.float32(0.0))
    k = np.rint(x * _LOG2E)                  # float32 product, rounded half to even like the core
    r = (x - k * _LN2_HI) - k * _LN2_LO      # every operation a float32 one (numpy keeps float32)
    p = np.full_like(x, _EXP_TAYLOR[0])
    for c in _EXP_TAYLOR[1:]:
        p = p * r + c
    scale = np.ldexp(np.float32(1.0), k.astype(np.int32)).astype(np.float32)  # 2^k, exact
    return np.where(valid, p * scale, np.float32(0.0)).astype(np.float32)


def anomaly_probability(output_int8, output_scale: float) -> np.float32:
    """1 - softmax(dequantized logits)[0] in float32, bit-exact with the core (see exp_nonpositive)."""
    q = _logits(output_int8)
    z = (q - q.max()).astype(np.float32) * np.float32(output_scale)
    e = exp_nonpositive(z)
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
