"""The main job, small: synth -> train -> quantize -> check -> export -> SIL device (parity over serial, alerts)."""

import re

import pytest

from tinyad.demo import run_demo

pytestmark = pytest.mark.slow


def test_demo_runs_end_to_end_and_the_sil_is_bit_exact(tmp_path):
    lines = []
    summary = run_demo(tmp_path / "demo", sessions_per_class=3, duration_s=12, epochs=2, seed=5, echo=lines.append)
    parity = re.search(r"SIL parity over serial \(vs host TFLM\)\s+(\d+)/(\d+) windows bit-exact", summary)
    assert parity and parity.group(1) == parity.group(2) and int(parity.group(2)) > 0, summary
    assert re.search(r"int8\s+macro-F1 / binary F1 \(TFLM\)\s+\d\.\d{3} / \d\.\d{3}", summary)
    assert "alert on the bearing fault" in summary
    for name in ("model_data.cc", "model_data.h", "model_settings.h"):
        assert (tmp_path / "demo" / "firmware_model" / name).stat().st_size > 0
    assert any("PASS: the device is bit-exact" in line for line in lines)


class _StopAfterSynth(Exception):
    pass


def test_a_demo_rerun_replaces_its_earlier_sessions(tmp_path, monkeypatch):
    import tinyad.datasets

    def stop(*args, **kwargs):
        raise _StopAfterSynth

    monkeypatch.setattr(tinyad.datasets, "build_dataset", stop)  # only the synth stage runs
    out = tmp_path / "demo"
    for sessions_per_class in (3, 2):
        with pytest.raises(_StopAfterSynth):
            run_demo(out, sessions_per_class=sessions_per_class, duration_s=1, epochs=1, sil=False,
                     echo=lambda line: None)
    assert sorted(p.name for p in (out / "sessions").iterdir()) == [
        f"{c}_{i:03d}.parquet" for c in ("bearing_fault", "imbalance", "misalignment", "normal") for i in range(2)]


def test_demo_refuses_a_negative_seed(tmp_path, capsys):
    from tinyad.cli import main

    assert main(["demo", "--out", str(tmp_path / "d"), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "'--seed': -1 is not in the range x>=0" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_an_alert_before_the_fault_is_a_false_alarm_not_an_early_detection():
    from tinyad.demo_sil import ALERT, alert_rows, split_alerts

    ok, pending = 0, 1
    # 100 Hz, fault from sample 2000 (20 s): an alert on the healthy machine at 5 s, the fault caught at 23 s.
    frames = [(500, pending), (600, ALERT), (700, ALERT), (800, ok), (1900, ALERT), (2000, ALERT), (2100, ok),
              (2300, ALERT), (2400, ALERT)]
    assert split_alerts(frames, fault_start=2000) == ([600, 1900], 2300)
    assert alert_rows(frames, 2000, 100.0, problem=1) == [
        ("false alarms on the healthy machine", "2, the first 14.0 s before the fault starts"),
        ("alert on the bearing fault", "+3.0 s after the fault starts; BTHome problem=1")]
    # An alert held from the healthy phase into the fault counts once the window holds fault samples.
    assert split_alerts([(1990, ALERT), (2010, ALERT)], 2000) == ([1990], 2010)
    assert alert_rows([(600, ALERT), (2100, ok)], 2000, 100.0, problem=None) == [
        ("false alarms on the healthy machine", "1, the first 14.0 s before the fault starts"),
        ("alert on the bearing fault", "none in 2 windows (MISSED)")]
    assert alert_rows([(2100, ALERT)], 2000, 100.0, problem=1) == [
        ("alert on the bearing fault", "+1.0 s after the fault starts; BTHome problem=1")]
