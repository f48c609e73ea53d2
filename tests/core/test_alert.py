"""Alert state machine: hand-written traces, and hypothesis traces comparing C++ with the Python reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core
from tinyad.alert import AlertConfig, AlertMachine, AlertState, alert_trace
from tinyad.errors import InputError

OK, PENDING, ALERT, COOLDOWN = (int(s) for s in AlertState)


def core_trace(scores, config: AlertConfig) -> list[int]:
    machine = _core.AlertMachine(config.threshold_on, config.threshold_off, config.min_windows,
                                 config.cooldown_windows)
    return [machine.step(s) for s in scores]


def test_min_windows_hysteresis_and_cooldown_by_hand():
    config = AlertConfig(threshold_on=1.0, threshold_off=0.5, min_windows=2, cooldown_windows=2)
    scores = [0.0, 1.0, 0.9, 1.0, 1.2, 0.7, 0.6, 0.4, 2.0, 2.0, 2.0, 2.0]
    expected = [OK, PENDING, OK, PENDING, ALERT, ALERT, ALERT, COOLDOWN, COOLDOWN, COOLDOWN, PENDING, ALERT]
    # 0.9 < on resets PENDING; 0.7 and 0.6 stay in ALERT (>= off); 0.4 clears -> COOLDOWN, the next two windows
    # are ignored even though they are high; then it takes min_windows = 2 windows again.
    assert [int(s) for s in alert_trace(scores, config)] == expected
    assert core_trace(scores, config) == expected


def test_min_windows_one_and_no_cooldown():
    config = AlertConfig(threshold_on=1.0, threshold_off=1.0, min_windows=1, cooldown_windows=0)
    scores = [1.0, 0.99, 1.0]
    assert [int(s) for s in alert_trace(scores, config)] == [ALERT, OK, ALERT]
    assert core_trace(scores, config) == [ALERT, OK, ALERT]


def test_alerts_are_counted_once_per_event():
    config = AlertConfig(1.0, 0.5, 1, 1)
    py = AlertMachine(config)
    core = _core.AlertMachine(1.0, 0.5, 1, 1)
    # ALERT x3 (one event), clear -> COOLDOWN, one ignored, ALERT (2nd), clear, one ignored, ALERT (3rd)
    for s in [2, 2, 2, 0, 2, 2, 0, 0, 2]:
        py.step(s)
        core.step(s)
    assert py.alerts_raised == core.alerts_raised == 3


def test_invalid_config_is_rejected():
    with pytest.raises(InputError, match="threshold_off 1.0 > threshold_on 0.5"):
        AlertConfig(threshold_on=0.5, threshold_off=1.0)
    with pytest.raises(InputError, match="min_windows must be >= 1"):
        AlertConfig(threshold_on=1.0, threshold_off=0.5, min_windows=0)
    with pytest.raises(InputError, match="cooldown_windows >= 0"):
        AlertConfig(threshold_on=1.0, threshold_off=0.5, cooldown_windows=-1)
    with pytest.raises(InputError, match="thresholds must be finite"):
        AlertConfig(threshold_on=float("nan"), threshold_off=0.5)


@st.composite
def configs_and_scores(draw):
    on = draw(st.floats(-5, 5, width=32))
    off = draw(st.floats(-5, on, width=32)) if on > -5 else on
    config = AlertConfig(on, off, draw(st.integers(1, 5)), draw(st.integers(0, 6)))
    # Scores concentrated around the thresholds, including exact hits.
    score = st.one_of(st.floats(-6, 6, width=32), st.sampled_from([on, off]))
    return config, draw(st.lists(score, max_size=80))


@settings(max_examples=400, deadline=None)
@given(configs_and_scores())
def test_core_trace_equals_reference(case):
    config, scores = case
    assert core_trace(scores, config) == [int(s) for s in alert_trace(scores, config)]
