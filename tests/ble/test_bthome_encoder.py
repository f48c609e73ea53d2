"""The C++ BTHome v2 encoder (firmware/core/bthome.cc), decoded by the independent bthome-ble package."""

from __future__ import annotations

import pytest

from tests.ble._helpers import KEY, MAC_BYTES, bthome_ble_values
from tinyad._core import bthome as core


def encode(packet_id=1, alert=False, running=True, score_centi=0, counter=0, key=None, name="", obj="problem"):
    return core.encode_advertisement(packet_id, alert, running, score_centi, counter, MAC_BYTES, key, name, obj)


def test_plain_bytes_match_the_bthome_format_by_hand():
    raw = encode(packet_id=5, alert=True, running=True, score_centi=-1234, name="ab")
    # flags | service data: len 13, 0x16, D2 FC, info 0x40, 00 05, 26 01, 27 01, 5A 2E FB (-1234 LE) | name
    assert raw.hex() == "020106" + "0d16d2fc40" + "0005" + "2601" + "2701" + "5a2efb" + "03096162"


@pytest.mark.parametrize("alert,running,score_centi", [(True, True, 250), (False, True, 0), (True, False, -3)])
def test_plain_advertisement_decodes_with_bthome_ble(alert, running, score_centi):
    raw = encode(packet_id=9, alert=alert, running=running, score_centi=score_centi, name="tinyad-m1")
    sensors, binaries, _ = bthome_ble_values(raw, None)
    assert sensors["packet_id"] == 9
    assert sensors["count"] == score_centi
    assert binaries["problem"] is alert
    assert binaries["running"] is running


def test_vibration_object_decodes_with_bthome_ble():
    raw = encode(packet_id=3, alert=True, obj="vibration")
    sensors, binaries, _ = bthome_ble_values(raw, None)
    assert binaries == {"running": True, "vibration": True}
    assert sensors["packet_id"] == 3


def test_encrypted_advertisement_decodes_with_bthome_ble_and_the_right_key():
    raw = encode(packet_id=200, alert=True, score_centi=4321, counter=0x01020304, key=KEY, name="tinyad")
    assert raw[7] == 0x41  # device info: encrypted, version 2
    assert bytes.fromhex("04030201") in raw  # the counter travels in clear, little-endian
    sensors, binaries, parser = bthome_ble_values(raw, KEY)
    assert parser.bindkey_verified is True
    assert sensors["packet_id"] == 200 and sensors["count"] == 4321
    assert binaries["problem"] is True


def test_encrypted_advertisement_with_a_wrong_key_yields_no_values_in_bthome_ble():
    raw = encode(packet_id=1, alert=True, counter=7, key=KEY)
    wrong = bytes(16)
    sensors, binaries, parser = bthome_ble_values(raw, wrong)
    assert "count" not in sensors and binaries == {}
    assert parser.bindkey_verified is not True


def test_ciphertext_hides_the_plain_objects_and_changes_with_the_counter():
    plain = encode(packet_id=1, alert=True, score_centi=77)
    first = encode(packet_id=1, alert=True, score_centi=77, counter=1, key=KEY)
    second = encode(packet_id=1, alert=True, score_centi=77, counter=2, key=KEY)
    objects = plain[8:17]
    assert objects not in first
    assert first[8:17] != second[8:17]


@pytest.mark.parametrize("key", [None, KEY])
def test_advertisement_fits_a_legacy_pdu_even_with_a_long_name(key):
    long_name = "tinyad-very-long-board-name-0123456789"
    raw = encode(key=key, name=long_name)
    assert len(raw) == 31
    # The name is cut to what fits and marked as shortened (AD type 0x08).
    name_at = 3 + raw[3] + 1
    assert raw[name_at + 1] == 0x08
    assert raw[name_at + 2:] == long_name[: 31 - name_at - 2].encode()


def test_sizes_without_name_are_17_plain_and_25_encrypted():
    assert len(encode()) == 17
    assert len(encode(key=KEY)) == 25


def test_score_to_centi_rounds_and_clamps():
    assert core.score_to_centi(1.234) == 123
    assert core.score_to_centi(0.125) == 13  # exact half rounds up
    assert core.score_to_centi(-0.125) == -12
    assert core.score_to_centi(-2.5) == -250
    assert core.score_to_centi(float("nan")) == 0
    assert core.score_to_centi(1e9) == 32767
    assert core.score_to_centi(-1e9) == -32767


def test_beacon_advances_packet_id_and_counter_only_on_publish():
    beacon = core.Beacon(MAC_BYTES, KEY, "tinyad")
    beacon.counter = 41
    first = beacon.publish(True, True, 1.5)
    assert beacon.packet_id == 1 and beacon.counter == 42
    assert beacon.advertisement == first  # re-broadcasting the same bytes does not advance anything
    second = beacon.publish(False, True, 0.25)
    assert beacon.packet_id == 2 and beacon.counter == 43
    sensors, binaries, _ = bthome_ble_values(second, KEY)
    assert sensors["count"] == 25 and binaries["problem"] is False


def test_beacon_without_key_is_plain_and_key_can_be_cleared():
    beacon = core.Beacon(MAC_BYTES, None, "")
    assert beacon.publish(False)[7] == 0x40 and beacon.counter == 0
    beacon.set_bind_key(KEY)
    assert beacon.encrypted and beacon.publish(False)[7] == 0x41
    beacon.set_bind_key(None)
    assert not beacon.encrypted and beacon.publish(False)[7] == 0x40


def test_bind_key_check_value_is_aes_of_zero_block_and_differs_per_key():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
    expected = int.from_bytes((encryptor.update(bytes(16)) + encryptor.finalize())[:4], "big")
    assert core.bind_key_check_value(KEY) == expected
    assert core.bind_key_check_value(bytes(16)) != expected


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError):
        core.encode_advertisement(1, False, True, 0, 0, b"\x00" * 5)  # MAC of 5 bytes
    with pytest.raises(ValueError):
        core.encode_advertisement(1, False, True, 0, 0, MAC_BYTES, b"short")
    with pytest.raises(ValueError):
        core.encode_advertisement(1, False, True, 0, 0, MAC_BYTES, None, "", "smoke")
