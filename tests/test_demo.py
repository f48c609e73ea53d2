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
