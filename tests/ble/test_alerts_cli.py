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
    # the log holds the same two decoded readings, field for field (the re-broadcast in between is not logged)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged == out and [(e["encrypted"], e["counter"]) for e in logged] == [(True, 1), (True, 2)]


def test_alerts_bad_bind_key_is_an_input_error(capsys):
    assert main(["alerts", "--bind-key", "1234"]) == 2
    assert "bind key" in capsys.readouterr().err


def test_alerts_sim_without_port_is_an_input_error(capsys):
    assert main(["alerts", "--sim"]) == 2
    assert "--port" in capsys.readouterr().err


def test_a_failing_source_still_prints_the_summary_and_its_own_error(monkeypatch, capsys):
    from tinyad.errors import DeviceError

    beacon = core.Beacon(MAC_BYTES, None, "tinyad")
    advertisement = beacon.publish(False, True, 0.1)

    def factory(adapter=None):
        def start(adverts, stop):
            def run():
                adverts.put_nowait(Advert("54:48:E6:8F:80:A5", advertisement, -40, 0.0))
                raise DeviceError("/dev/pts/9: the port vanished (EIO)", hint="reconnect")
            return run
        return start

    monkeypatch.setattr(alerts_api, "bleak_source", factory)
    assert main(["alerts", "--duration", "5"]) == 3
    err = capsys.readouterr().err
    assert "error: /dev/pts/9: the port vanished (EIO)" in err and "failed: DeviceError" not in err
    assert "summary: accepted 1, received 1" in err


def test_adverts_received_but_none_decoded_is_an_error(monkeypatch, capsys):
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")
    ads = [beacon.publish(False, True, 0.1), beacon.publish(True, True, 2.5)]
    monkeypatch.setattr(alerts_api, "bleak_source", fake_bleak_source(ads))
    assert main(["alerts", "--duration", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "summary: no_key 2, received 2" in err
    assert "none could be decoded: no bind key given" in err and "--bind-key" in err
    monkeypatch.setattr(alerts_api, "bleak_source", fake_bleak_source(ads))
    assert main(["alerts", "--duration", "0.5", "--bind-key", "00" * 16]) == 2
    assert "none could be decoded: wrong --bind-key" in capsys.readouterr().err


def test_alerts_takes_the_port_as_p_and_from_tinyad_port(monkeypatch, capsys):
    assert main(["alerts", "--sim", "-p", "/dev/tinyad-no-such-port", "--duration", "0.1"]) == 3
    assert "cannot open /dev/tinyad-no-such-port" in capsys.readouterr().err
    monkeypatch.setenv("TINYAD_PORT", "/dev/tinyad-other-port")
    assert main(["alerts", "--sim", "--duration", "0.1"]) == 3
    assert "cannot open /dev/tinyad-other-port" in capsys.readouterr().err
