"""The default model's speed sweep: speeds recovered from run.json, and the sweep on the committed model."""

import pytest

from tinyad.bench import default_speed_sweep
from tinyad.session import read_session
from tinyad.synth import synth_dataset


def test_training_speeds_are_those_of_the_written_sessions(tmp_path):
    paths = synth_dataset(tmp_path, sessions_per_class=2, duration_s=0.2, seed=0, machine_seed=0,
                          classes=("normal", "misalignment"))
    sessions = [read_session(p) for p in paths]
    run_info = {"session_ids": [s.meta.session_id for s in sessions],
                "segments": [{"session": i, "split": "train" if i % 2 == 0 else "test"} for i in range(4)]}
    speeds = default_speed_sweep.training_speeds(run_info, seed=0)
    rpm = [round(s.meta.extra["rpm"]) for s in sessions]
    assert speeds == {"normal": {"train": [rpm[0]], "test": [rpm[1]]},
                      "misalignment": {"train": [rpm[2]], "test": [rpm[3]]}}


def test_quick_sweep_of_the_committed_model():
    result = default_speed_sweep.run(quick=True)
    figures = result.figures
    assert figures["rpm"] == list(default_speed_sweep.QUICK_RPM)
    shares = figures["share_by_condition"]
    assert set(shares) == {"normal", "imbalance", "misalignment", "bearing_fault"}
    assert all(0.0 <= v <= 1.0 for values in shares.values() for v in values)
    # 360 rpm lies inside every condition's training speeds: the committed model gets each one right there
    middle = figures["rpm"].index(360)
    assert all(values[middle] >= 0.9 for values in shares.values())
    assert sorted(len(v) for v in figures["training_rpm"]["misalignment"].values()) == [1, 2, 3]
    lowest = figures["lowest"]["misalignment"]
    assert lowest["share"] == pytest.approx(min(shares["misalignment"]))
    assert "| misalignment |" in result.markdown
