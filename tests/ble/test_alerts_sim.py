"""`tinyad alerts --sim` end to end: the SIL device (firmware core + BTHome encoder) polled over its pty."""

from __future__ import annotations

import json

import pytest

from tinyad.cli import main


@pytest.fixture(scope="module")
def sil_port():
    from tests.sil.tiny_model import build_tiny_model
    from tinyad.device.reference import load_settings_for
    from tinyad.sil.device import SilDevice
    from tinyad.sil.sources import synth_source

    model_path, _ = build_tiny_model()
    settings = load_settings_for(model_path)
    source = synth_source("normal", settings.channels, settings.units_per_count, settings.sample_rate_hz,
                          seconds=5.0)
    # speed 4: 25 windows per second; stream_when_idle so windows are scored without a STREAM_START.
    with SilDevice(model_path, settings=settings, source=source, speed=4.0, stream_when_idle=True).running() as sil:
        yield sil.port


def test_alerts_sim_prints_new_readings_as_json(sil_port, capsys, tmp_path):
    log = tmp_path / "alerts.jsonl"
    code = main(["alerts", "--sim", "--port", sil_port, "--json", "--count", "5", "--duration", "20",
                 "--log", str(log)])
    assert code == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert len(events) == 5
    ids = [e["packet_id"] for e in events]
    assert all(0 < (b - a) % 256 < 64 for a, b in zip(ids, ids[1:]))  # strictly newer each time
    assert all(e["running"] is True and e["encrypted"] is False and e["name"] == "tinyad-sil" for e in events)
    assert all(isinstance(e["score"], float) for e in events)
    assert [json.loads(line)["packet_id"] for line in log.read_text().splitlines()] == ids
    summary = json.loads(captured.err.strip().splitlines()[-1])["summary"]
    assert summary["accepted"] == 5 and summary["received"] >= 5  # polls faster than windows: duplicates


def test_alerts_sim_on_a_missing_port_is_a_device_error(capsys):
    assert main(["alerts", "--sim", "--port", "/dev/tinyad-no-such-port", "--duration", "2"]) == 3
