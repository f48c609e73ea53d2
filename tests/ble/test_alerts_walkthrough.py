"""`tinyad alerts` as a first-time user meets it (walk-through fixes): a wrong key is said while running, with both
check values; adverts without a MAC, or none at all, are failures with a hint; options are checked up front."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import pytest

from tests.ble._helpers import KEY, MAC, MAC_BYTES
from tests.sil.conftest import normal_source, start_sil, tiny_model  # noqa: F401  (SIL fixtures)
from tinyad._core import bthome as core
from tinyad.ble import alerts as alerts_api
from tinyad.ble.receiver import Advert
from tinyad.ble.sources import SIL_ADDRESS
from tinyad.cli import main

KEY_CHECK = "1838858c"  # AES-128(KEY, 0^16)[:4]
WRONG_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
WRONG_KEY_CHECK = "fde4fbae"
NO_PORT = "/dev/tinyad-no-such-port"  # refused before it is opened: the error never says "cannot open"
MACOS_ADDRESS = "B9EA5233-37EF-4DD6-87A8-2A875E821C46"  # what CoreBluetooth reports instead of a MAC


def fake_scan(address: str, advertisements: list[bytes]):
    """A bleak_source replacement: the given raw advertisements from `address`, then silence until stopped."""
    def factory(adapter=None):
        def start(adverts, stop):
            def run():
                for raw in advertisements:
                    adverts.put_nowait(Advert(address, raw, -50, time.time()))
                stop.wait(5.0)
            return run
        return start
    return factory


def _notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


@pytest.fixture
def encrypted_sil(start_sil):
    """A SIL device that scores (and advertises) windows without a host streaming, encrypted with KEY."""
    from tinyad.device.client import DeviceClient

    sil = start_sil(speed=4.0)
    with DeviceClient(sil.port) as client:
        assert client.set_bind_key(KEY).hex() == KEY_CHECK
    return sil


# -- a wrong key: said once while running, with the two check values ------------------------------------------

def test_a_wrong_key_is_noted_while_the_adverts_still_arrive():
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")
    ads = [beacon.publish(False, True, 0.1 * i) for i in range(5)]
    seen_while_running = threading.Event()
    err = io.StringIO()

    def start(adverts, stop):
        def run():
            for raw in ads:
                adverts.put_nowait(Advert(MAC, raw, -50, time.time()))
            deadline = time.monotonic() + 5.0  # the source keeps running until the note is out (or 5 s)
            while time.monotonic() < deadline and not stop.is_set():
                if "cannot be decrypted" in err.getvalue():
                    seen_while_running.set()
                    return
                time.sleep(0.02)
        return run

    notes = alerts_api.SkipNotes(WRONG_KEY)
    receiver = alerts_api.run_alerts(start, bind_key=WRONG_KEY, out=io.StringIO(), duration_s=10.0, notes=notes,
                                     err=err)
    assert seen_while_running.is_set(), err.getvalue()
    assert receiver.counts["wrong_key"] == 5
    (note,) = _notes(err.getvalue())  # once, not once per advert
    assert f"adverts from {MAC} arrive but cannot be decrypted with this key" in note
    assert f"this key's check value is {WRONG_KEY_CHECK}" in note and "--get BIND_KEY_CHECK" in note


def test_alerts_sim_with_a_wrong_key_names_both_check_values(encrypted_sil, capsys):
    assert main(["alerts", "--sim", "-p", encrypted_sil.port, "--bind-key", WRONG_KEY.hex(), "--duration", "1"]) == 2
    err = capsys.readouterr().err
    (note,) = _notes(err)
    assert f"check value is {WRONG_KEY_CHECK}, the device's is {KEY_CHECK}" in note
    assert err.index("note: ") < err.index("summary: ")  # said before the end, not only in the final error
    assert "none could be decoded: wrong --bind-key (or --address)" in err
    assert f"hint: this key's check value is {WRONG_KEY_CHECK}, the device's is {KEY_CHECK}" in err


def test_a_wrong_key_over_bluetooth_does_not_mention_address(monkeypatch, capsys):
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")  # encrypted: the name is shortened to "tiny"
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(MAC, [beacon.publish(False, True, 0.1)]))
    assert main(["alerts", "--bind-key", WRONG_KEY.hex(), "--duration", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "error: 1 encrypted advertisement(s) received, none could be decoded: wrong --bind-key\n" in err
    assert f"hint: this key's check value is {WRONG_KEY_CHECK}; compare it with the board's" in err
    assert "--address" not in err  # refused without --sim: it cannot be the fix


def test_the_right_key_with_a_wrong_address_blames_the_address(encrypted_sil, capsys):
    assert main(["alerts", "--sim", "-p", encrypted_sil.port, "--bind-key", KEY.hex(), "--address",
                 "02:00:00:00:AD:02", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert "none could be decoded: wrong --address (the --bind-key is right)" in err
    assert f"check value is {KEY_CHECK}, the same as the device's" in err


def test_the_right_key_decodes_and_a_plain_device_notes_the_unneeded_key(start_sil, capsys):
    sil = start_sil(speed=4.0)  # not encrypted
    assert main(["alerts", "--sim", "-p", sil.port, "--bind-key", KEY.hex(), "--count", "3", "--duration", "20",
                 "--json"]) == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert len(events) == 3 and not any(e["encrypted"] for e in events)
    (note,) = _notes(captured.err)
    assert f"adverts from {SIL_ADDRESS} are not encrypted: they need no --bind-key" in note


def test_run_alerts_shows_its_notes_under_the_live_table():
    plain = core.Beacon(MAC_BYTES, None, "tinyad").publish(False, True, 0.3)  # a reading: a row in the table
    encrypted = core.Beacon(bytes.fromhex("5448E68F80A6"), KEY, "tinyad").publish(False, True, 0.1)

    def start(adverts, stop):
        def run():
            adverts.put_nowait(Advert("54:48:E6:8F:80:A6", encrypted, -50, time.time()))
            adverts.put_nowait(Advert(MAC, plain, -50, time.time()))
            stop.wait(5.0)
        return run

    out, err = io.StringIO(), io.StringIO()
    alerts_api.run_alerts(start, out=out, err=err, table=True, duration_s=1.5, notes=alerts_api.SkipNotes())
    (note,) = _notes(err.getvalue())
    # The redraw clears the screen: the note must come back under the table, fed in by run_alerts itself.
    frames = out.getvalue().split("\x1b[H\x1b[J")[1:]
    table, shown = frames[-1].rstrip("\n").rsplit("\n", 1)
    assert MAC in table and "received 2, new 1" in table
    assert shown == note and "encrypted adverts from 54:48:E6:8F:80:A6 arrive: pass --bind-key" in shown
    # A note alone (no reading yet) redraws the table too, or it would wait for the next reading.
    assert "received 1, new 0" in frames[0] and frames[0].endswith(note + "\n")


# -- encrypted adverts of other BTHome devices are not blamed on the key ----------------------------------------

# A Shelly-BLU-like encrypted BTHome v2 advert: device info 0x41, 4 bytes of ciphertext, counter, MIC; its own name.
OTHER_MAC = "3C:2E:F5:00:00:01"
OTHER_ENCRYPTED = bytes.fromhex("020106" "1016d2fc41" "a1b2c3d4" "01000000" "deadbeef") + b"\x0a\x09SBBT-002C"
OTHER_ENCRYPTED_NO_NAME = bytes.fromhex("020106" "1016d2fc41" "a1b2c3d4" "01000000" "deadbeef")


@pytest.mark.parametrize("name, tinyad", [
    ("tinyad", True), ("tiny", True), ("tinya", True), ("tinyad-sil", True), ("tinyad 80A5", True),
    ("tin", False), ("Tiny Tag", False), ("SBBT", False), ("", False), (None, False),
])
def test_a_tinyad_board_is_told_by_its_default_name_complete_or_shortened(name, tinyad):
    assert alerts_api.looks_like_tinyad(name) is tinyad


@pytest.mark.parametrize("args", [[], ["--bind-key", WRONG_KEY.hex()], ["--bind-key", KEY.hex()]])
def test_another_encrypted_bthome_device_alone_is_exit_3_not_a_key_error(monkeypatch, capsys, args):
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(OTHER_MAC, [OTHER_ENCRYPTED] * 2))
    assert main(["alerts", "--duration", "0.5", *args]) == 3
    err = capsys.readouterr().err
    (note,) = _notes(err)
    assert note.startswith(f"note: encrypted adverts from {OTHER_MAC}, a BTHome device (maybe not a tinyad board: "
                           f"named 'SBBT-002C'; a tinyad board advertises 'tinyad', or 'tiny' when encrypted)")
    assert "if it is a tinyad board" in note
    assert ("error: 2 advertisement(s) received in " in err
            and f"none usable from a tinyad board; undecrypted ones came from {OTHER_MAC} ('SBBT-002C')" in err)
    assert "no bind key given" not in err and "wrong --bind-key" not in err


def test_another_device_without_a_name_or_a_mac_is_not_a_tinyad_board_either(monkeypatch, capsys):
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(MACOS_ADDRESS, [OTHER_ENCRYPTED_NO_NAME]))
    assert main(["alerts", "--bind-key", KEY.hex(), "--duration", "0.5"]) == 3
    err = capsys.readouterr().err
    (note,) = _notes(err)
    assert "a BTHome device (maybe not a tinyad board: no name advertised;" in note and "is not a MAC" in note
    assert "the sender's address is not a MAC" not in err  # the exit-2 error of a tinyad board


def test_another_devices_encrypted_adverts_do_not_ask_for_a_key_next_to_a_board(monkeypatch, capsys):
    board = core.Beacon(MAC_BYTES, None, "tinyad").publish(False, True, 0.3)  # plain: decoded without a key

    def factory(adapter=None):
        def start(adverts, stop):
            def run():
                adverts.put_nowait(Advert(OTHER_MAC, OTHER_ENCRYPTED, -60, time.time()))
                adverts.put_nowait(Advert(MAC, board, -50, time.time()))
                stop.wait(5.0)
            return run
        return start

    monkeypatch.setattr(alerts_api, "bleak_source", factory)
    assert main(["alerts", "--duration", "0.5"]) == 0
    captured = capsys.readouterr()
    assert "ok score 0.30" in captured.out
    assert "maybe not a tinyad board" in _notes(captured.err)[0]
    assert "hint:" not in captured.err  # "encrypted boards seen; pass --bind-key" was about the other device


def test_with_sim_every_advert_is_the_devices_whatever_its_name():
    from tinyad.commands.alerts import SimDevice, _check_outcome
    from tinyad.errors import DeviceError, InputError

    for sim, raised, message in [(True, InputError, "2 encrypted advertisement(s) received, none could be decoded: "
                                                     "no bind key given"),
                                 (False, DeviceError, "none usable from a tinyad board")]:
        receiver = alerts_api.Receiver()
        for i in range(2):
            receiver.process(Advert(OTHER_MAC, OTHER_ENCRYPTED, None, float(i)))
        notes = alerts_api.SkipNotes(sim=sim)
        (note,) = notes(receiver)
        assert ("maybe not a tinyad board" in note) is not sim
        device = SimDevice(is_sil=False, encrypted=True, check=None, windows_scored=None) if sim else None
        with pytest.raises(raised, match=re.escape(message)):
            _check_outcome(receiver, None, notes, 1.0, device, None)


def test_with_sim_unusable_adverts_are_not_said_to_come_from_no_tinyad_board():
    from tinyad.commands.alerts import SimDevice, _check_outcome
    from tinyad.errors import DeviceError

    thermometer = bytes.fromhex("020106" "0916d2fc40000102c409")  # BTHome, but no alert flag or score
    receiver = alerts_api.Receiver()
    for raw in (thermometer, bytes.fromhex("020106" "0916d2fc40")):  # the second one truncated
        receiver.process(Advert(SIL_ADDRESS, raw, None, 0.0))
    device = SimDevice(is_sil=True, encrypted=False, check=None, windows_scored=3)
    with pytest.raises(DeviceError) as raised:
        _check_outcome(receiver, None, alerts_api.SkipNotes(sim=True), 1.0, device, 4)
    message = str(raised.value)
    assert message == "2 advertisement(s) read from the device in 1.0 s, none usable (foreign 1, truncated 1)"
    assert "tinyad board" not in message and "does the device on that port run it" in raised.value.hint


def test_a_bind_key_check_that_cannot_be_read_only_loses_its_hint():
    from types import SimpleNamespace

    from tinyad.commands.alerts import SimDevice, _read_sim_device
    from tinyad.errors import DeviceError

    class Client:
        def info(self):
            return SimpleNamespace(is_sil=True, encrypted=True)

        def config_get(self, key):
            raise DeviceError(f"/dev/pts/9: no reply to CONFIG_GET {key}")

        def status(self):
            return SimpleNamespace(windows_scored=7)

    assert _read_sim_device(Client()) == SimDevice(is_sil=True, encrypted=True, check=None, windows_scored=7)


# -- adverts without a MAC (macOS), and no adverts at all -------------------------------------------------

def test_adverts_dropped_for_lack_of_a_mac_fail_with_what_to_do(monkeypatch, capsys):
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")
    ads = [beacon.publish(True, True, 2.5), beacon.publish(True, True, 2.6)]
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(MACOS_ADDRESS, ads))
    assert main(["alerts", "--bind-key", KEY.hex(), "--duration", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "summary: no_mac 2, received 2" in err
    assert "2 encrypted advertisement(s) received, none could be decoded: the sender's address is not a MAC" in err
    (hint,) = [line for line in err.splitlines() if line.startswith("hint: ")]
    assert "macOS" in hint and "--clear-bind-key" in hint and "--sim -p PORT" in hint and "--address" in hint
    assert len(_notes(err)) == 1 and "is not a MAC" in _notes(err)[0]


def test_no_advert_from_a_speed_0_sil_is_a_failure_with_the_reason(start_sil, capsys):
    sil = start_sil(speed=0)  # scores (and advertises) only while a host streams: nobody does
    assert main(["alerts", "--sim", "-p", sil.port, "--duration", "0.5"]) == 3
    err = capsys.readouterr().err
    assert "summary: received 0" in err.splitlines() and "summary: \n" not in err + "\n"
    assert "error: no advertisement received in " in err
    assert "`tinyad sim --speed 0` scores windows (and advertises) only while a host streams" in err
    assert "--speed 1" in err
    assert main(["alerts", "--sim", "-p", sil.port, "--duration", "0.5", "--json"]) == 3
    (summary,) = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert summary == {"summary": {"received": 0}}


def test_other_bthome_traffic_only_is_not_a_success(monkeypatch, capsys):
    raw = bytes.fromhex("020106" "0916d2fc40000102c409")  # a BTHome v2 thermometer (25.00 C), no tinyad board
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(MAC, [raw]))
    assert main(["alerts", "--duration", "0.5"]) == 3
    err = capsys.readouterr().err
    assert "1 advertisement(s) received in " in err and "none usable from a tinyad board\n" in err


# -- the key's hint, and options checked up front ------------------------------------------------------

def test_a_malformed_key_hint_says_where_keys_come_from_and_names_the_env_variable(monkeypatch, capsys):
    assert main(["alerts", "--bind-key", "zz" * 16]) == 2
    err = capsys.readouterr().err
    assert "error: --bind-key: bind key must be 32 hexadecimal characters" in err
    assert "printed by the board" not in err and "tinyad config -p PORT --bind-key" in err
    assert "never prints the key" in err
    monkeypatch.setenv("TINYAD_BIND_KEY", "abc")
    assert main(["alerts", "--sim", "-p", NO_PORT]) == 2
    err = capsys.readouterr().err
    assert "error: $TINYAD_BIND_KEY: bind key must be" in err and "unset the environment variable" in err


@pytest.mark.parametrize("option, value, message", [
    ("--count", "0", "--count 0 must be at least 1"),
    ("--count", "-1", "--count -1 must be at least 1"),
    ("--duration", "-1", "--duration -1 must be a positive number of seconds"),
    ("--duration", "0", "--duration 0 must be a positive number of seconds"),
])
def test_counts_and_durations_that_stop_at_once_are_refused_before_anything_runs(option, value, message, capsys):
    assert main(["alerts", "--sim", "-p", NO_PORT, option, value]) == 2
    err = capsys.readouterr().err
    assert message in err and "cannot open" not in err


def test_port_and_address_without_sim_are_refused_but_tinyad_port_is_not(monkeypatch, capsys):
    assert main(["alerts", "-p", NO_PORT, "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert "--port applies to --sim only; without --sim `tinyad alerts` scans over Bluetooth" in err
    assert "add --sim" in err
    assert main(["alerts", "--address", MAC, "--duration", "1"]) == 2
    assert "--address applies to --sim only" in capsys.readouterr().err
    # $TINYAD_PORT is there for the other commands: a scan goes ahead
    beacon = core.Beacon(MAC_BYTES, None, "tinyad")
    monkeypatch.setattr(alerts_api, "bleak_source", fake_scan(MAC, [beacon.publish(False, True, 0.3)]))
    monkeypatch.setenv("TINYAD_PORT", NO_PORT)
    assert main(["alerts", "--count", "1", "--duration", "5"]) == 0
    assert "ok score 0.30" in capsys.readouterr().out


def test_an_address_that_is_not_a_mac_is_refused_up_front(capsys):
    assert main(["alerts", "--sim", "-p", NO_PORT, "--address", "foo"]) == 2
    err = capsys.readouterr().err
    assert "--address 'foo' is not a MAC address" in err and "cannot open" not in err
    assert SIL_ADDRESS in err
