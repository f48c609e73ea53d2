"""The bind key set over serial, end to end against the SIL device: BIND_KEY_SET through the client and
`tinyad config`, then encrypted advertisements decoded by `tinyad alerts --sim` and by bthome-ble."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.ble._helpers import bthome_ble_values
from tinyad import protocol as p
from tinyad.ble.sources import SIL_ADDRESS
from tinyad.cli import main

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
KEY_CHECK = "1838858c"  # AES-128(KEY, 0^16)[:4]
WRONG_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")


@pytest.fixture(scope="module")
def sil():
    from tests.sil.tiny_model import build_tiny_model
    from tinyad.device.reference import load_settings_for
    from tinyad.sil.device import SIL_MAC, SilDevice
    from tinyad.sil.sources import synth_source

    assert SIL_MAC == bytes.fromhex(SIL_ADDRESS.replace(":", ""))
    model_path, _ = build_tiny_model()
    settings = load_settings_for(model_path)
    source = synth_source("normal", settings.channels, settings.units_per_count, settings.sample_rate_hz,
                          seconds=5.0)
    # Samples only while streaming: after STREAM_STOP the advertisement stays that of the last scored window,
    # which STATUS describes, so the decoded values can be checked exactly.
    with SilDevice(model_path, settings=settings, source=source, speed=20.0, stream_when_idle=False).running() as dev:
        yield dev


def _score_windows(client, seconds: float = 0.4):
    """Stream briefly (windows get scored, each publishes an advertisement), stop; STATUS of the last window."""
    frames = list(client.stream(seconds=seconds))
    assert any(type(f).__name__ == "ScoreFrame" for f in frames)
    return client.status()


def _counter(raw: bytes) -> int:
    """The encryption counter of an encrypted BTHome advertisement (service data: ... counter(4 LE) MIC(4))."""
    ad_len = raw[3]
    service_data = raw[3:4 + ad_len]
    assert service_data[1:4] == b"\x16\xd2\xfc" and service_data[4] == 0x41  # encrypted BTHome v2
    return int.from_bytes(service_data[-8:-4], "little")


def test_key_set_over_serial_encrypts_the_advertisement_bthome_ble_decrypts_it(sil):
    from tinyad.device.client import DeviceClient

    with DeviceClient(sil.port) as client:
        client.set_bind_key(None)
        assert client.info(refresh=True).flags & p.INFO_FLAG_ENCRYPTED == 0
        assert client.set_bind_key(KEY).hex() == KEY_CHECK
        assert client.info(refresh=True).flags & p.INFO_FLAG_ENCRYPTED
        assert client.config_get("BIND_KEY_CHECK") & 0xFFFFFFFF == int(KEY_CHECK, 16)
        status = _score_windows(client)
        first = client.adv()
        status_again = _score_windows(client)
        second = client.adv()

    sensors, binaries, _ = bthome_ble_values(first, KEY, address=SIL_ADDRESS)
    assert sensors["count"] == p_score_centi(status.last_smoothed)
    assert binaries == {"problem": status.alert_state == 2, "running": True}
    assert KEY not in first and KEY not in second
    # A new counter per advertisement (never a reused nonce), across windows.
    assert _counter(second) > _counter(first)
    sensors, _, _ = bthome_ble_values(second, KEY, address=SIL_ADDRESS)
    assert sensors["count"] == p_score_centi(status_again.last_smoothed)
    # bthome-ble with the wrong key gets no values out of it.
    sensors, binaries, _ = bthome_ble_values(second, WRONG_KEY, address=SIL_ADDRESS)
    assert "count" not in sensors and not binaries


def p_score_centi(score: float) -> int:
    from tinyad import _core

    return _core.bthome.score_to_centi(score)


def test_alerts_sim_decodes_with_the_key_and_skips_with_a_wrong_one(sil, capsys):
    from tinyad.device.client import DeviceClient

    assert main(["config", "--port", sil.port, "--bind-key", KEY.hex(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"bind_key_check": KEY_CHECK, "encrypted": True, "values": {}}
    with DeviceClient(sil.port) as client:
        status = _score_windows(client)

    assert main(["alerts", "--sim", "--port", sil.port, "--bind-key", KEY.hex(), "--json", "--count", "1",
                 "--duration", "10"]) == 0
    captured = capsys.readouterr()
    (event,) = [json.loads(line) for line in captured.out.splitlines()]
    assert event["encrypted"] is True and event["address"] == SIL_ADDRESS
    assert event["score"] == pytest.approx(p_score_centi(status.last_smoothed) / 100)
    assert event["alert"] is (status.alert_state == 2) and event["running"] is True
    assert isinstance(event["counter"], int)

    # Nothing decodable is a failure (exit 2, the input's fault), with the summary still printed.
    assert main(["alerts", "--sim", "--port", sil.port, "--bind-key", WRONG_KEY.hex(), "--json",
                 "--duration", "0.5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing decoded, nothing shown
    (summary_line,) = [line for line in captured.err.splitlines() if line.startswith('{"summary"')]
    summary = json.loads(summary_line)["summary"]
    assert summary["wrong_key"] >= 1 and summary.get("accepted", 0) == 0
    assert "wrong --bind-key" in captured.err


def test_config_command_sets_gets_and_clears(sil, capsys, monkeypatch):
    import io

    from tinyad.device.client import DeviceClient

    monkeypatch.setattr("sys.stdin", io.StringIO(KEY.hex() + "\n"))  # --bind-key -: from stdin, not argv
    assert main(["config", "--port", sil.port, "--bind-key", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bind_key_check"] == KEY_CHECK

    assert main(["config", "--port", sil.port, "--set", "THRESHOLD_ON=2.5", "--get", "THRESHOLD_ON",
                 "--get", "BIND_KEY_CHECK", "--bind-key", KEY.hex()]) == 0
    out = capsys.readouterr().out
    assert f"check value {KEY_CHECK} (advertisements encrypted)" in out
    assert "THRESHOLD_ON = 2.5" in out and f"BIND_KEY_CHECK = {KEY_CHECK}" in out
    assert KEY.hex() not in out

    assert main(["config", "--port", sil.port, "--clear-bind-key", "--get", "BIND_KEY_CHECK", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"bind_key_check": "00000000", "encrypted": False,
                                                    "values": {"BIND_KEY_CHECK": "00000000"}}

    # Listing every key (no action given) includes the check value and the per-channel keys.
    assert main(["config", "--port", sil.port, "--json"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    assert values["THRESHOLD_ON"] == 2.5 and values["BIND_KEY_CHECK"] == "00000000" and "AFFINE_SCALE+0" in values

    # The text listing prints each float32 so that it reads back exactly (a copy into --set restores it).
    assert main(["config", "--port", sil.port]) == 0
    printed = dict(line.split(" = ", 1) for line in capsys.readouterr().out.splitlines() if " = " in line)
    for name in ("AFFINE_SCALE+0", "AFFINE_OFFSET+0", "THRESHOLD_ON"):
        assert np.float32(float(printed[name])) == np.float32(values[name]), (name, printed[name], values[name])

    # Bad input: a clear error, and nothing sent.
    with DeviceClient(sil.port) as client:
        min_windows = client.config_get("MIN_WINDOWS")
    assert main(["config", "--port", sil.port, "--bind-key", "abcd"]) == 2
    assert "16 bytes" in capsys.readouterr().err
    assert main(["config", "--port", sil.port, "--set", "THRESHOLD_ON"]) == 2
    assert main(["config", "--port", sil.port, "--set", "MIN_WINDOWS=2.5"]) == 2
    assert main(["config", "--port", sil.port, "--set", "THRESHOLD_ON=5000"]) == 2  # the host knows the range
    assert "THRESHOLD_ON must be in [-1000, 1000], got 5000" in capsys.readouterr().err
    assert main(["config", "--port", sil.port, "--bind-key", KEY.hex(), "--clear-bind-key"]) == 2
    assert "give --bind-key or --clear-bind-key, not both" in capsys.readouterr().err
    with DeviceClient(sil.port) as client:  # all refused before anything was sent: the device is as it was
        assert not client.info(refresh=True).encrypted and client.config_get("BIND_KEY_CHECK") == 0
        assert (client.config_get("THRESHOLD_ON"), client.config_get("MIN_WINDOWS")) == (2.5, min_windows)


def test_a_plain_sil_advertisement_after_clearing(sil):
    from tinyad.device.client import DeviceClient

    with DeviceClient(sil.port) as client:
        assert client.set_bind_key(None) == b""
        status = _score_windows(client)
        raw = client.adv()
    assert raw[7] == 0x40  # device info: plain BTHome v2
    sensors, binaries, _ = bthome_ble_values(raw, None, address=SIL_ADDRESS)
    assert sensors["count"] == p_score_centi(status.last_smoothed) and binaries["running"] is True


def test_client_refuses_a_wrong_check_value_and_a_wrong_key_length():
    """A device whose ACK carries another check value than the key's is reported, not trusted."""
    import threading
    import time

    from tinyad.device import codec
    from tinyad.device.client import DeviceClient
    from tinyad.errors import DeviceError, InputError
    from tinyad.sil.pty import PtyPort

    pty = PtyPort()
    try:
        def device():
            decoder = codec.new_decoder()
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                for frame in decoder.feed(pty.read(0.05)):
                    assert frame.type == codec.MSG["BIND_KEY_SET"] and frame.payload == KEY
                    pty.write(codec.encode_frame(codec.MSG["ACK"], frame.seq, b"\x11\xde\xad\xbe\xef"))
                    pty.flush()
                    return

        thread = threading.Thread(target=device)
        thread.start()
        with DeviceClient(pty.path, timeout_s=0.5, tries=1) as client:
            with pytest.raises(InputError, match="16 bytes"):
                client.set_bind_key(KEY[:15])  # refused before anything is sent
            with pytest.raises(DeviceError, match=f"check value deadbeef, expected {KEY_CHECK}"):
                client.set_bind_key(KEY)
        thread.join()
    finally:
        pty.close()


def test_info_says_whether_advertisements_are_encrypted_never_the_key(sil, capsys):
    from tinyad.cli import main
    from tinyad.device.client import DeviceClient

    with DeviceClient(sil.port) as client:
        client.set_bind_key(KEY)
        assert client.info(refresh=True).encrypted
    assert main(["info", "--port", sil.port]) == 0
    out = capsys.readouterr().out
    assert "BLE BTHome, encrypted" in out and KEY.hex() not in out
    assert "+-4 g, +-500 dps at 100 Hz, low-pass 44 Hz\n" in out  # the synthetic motor's DLPF
    with DeviceClient(sil.port) as client:
        client.set_bind_key(None)
        assert not client.info(refresh=True).encrypted
    assert main(["info", "--port", sil.port]) == 0
    assert "BLE BTHome, plain" in capsys.readouterr().out
