"""`tinyad alerts` through the CLI entry point, with the BLE scanner replaced by a fake source."""

from __future__ import annotations

import json

from tests.ble._helpers import KEY, MAC_BYTES
from tinyad._core import bthome as core
from tinyad.ble import alerts as alerts_api
from tinyad.ble.receiver import Advert
from tinyad.cli import main


def fake_bleak_source(advertisements):
    def factory(adapter=None):
        def start(adverts, stop):
            def run():
                for raw in advertisements:
                    adverts.put_nowait(Advert("54:48:E6:8F:80:A5", raw, -40, 0.0))
                stop.wait(5.0)
            return run
        return start
    return factory


def test_alerts_json_and_log_with_bind_key(monkeypatch, tmp_path, capsys):
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")
    ads = [beacon.publish(False, True, 0.1), beacon.advertisement, beacon.publish(True, True, 2.5)]
    monkeypatch.setattr(alerts_api, "bleak_source", fake_bleak_source(ads))
    log = tmp_path / "log.jsonl"
    code = main(["alerts", "--json", "--count", "2", "--bind-key", KEY.hex(), "--log", str(log), "--duration", "5"])
    assert code == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["packet_id"], e["alert"], e["score"]) for e in out] == [(1, False, 0.1), (2, True, 2.5)]
    assert len(log.read_text().splitlines()) == 2


def test_alerts_bad_bind_key_is_an_input_error(capsys):
    assert main(["alerts", "--bind-key", "1234"]) == 2
    assert "bind key" in capsys.readouterr().err


def test_alerts_sim_without_port_is_an_input_error(capsys):
    assert main(["alerts", "--sim"]) == 2
    assert "--port" in capsys.readouterr().err
