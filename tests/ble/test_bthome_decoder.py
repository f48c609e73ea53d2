"""The project's Python BTHome decoder (tinyad.ble.bthome): hand-made payloads and agreement with bthome-ble."""

from __future__ import annotations

import pytest

from tests.ble._helpers import KEY, MAC, MAC_BYTES
from tinyad._core import bthome as core
from tinyad.ble import bthome


def test_decodes_a_hand_written_plain_payload():
    # info 0x40 | packet id 0x11 | problem 1 | running 0 | count sint16 -2 (FE FF)
    packet = bthome.decode_service_data(bytes.fromhex("40" "0011" "2601" "2700" "5afeff"))
    assert (packet.packet_id, packet.alert, packet.running, packet.score) == (0x11, True, False, -0.02)
    assert packet.encrypted is False and packet.is_tinyad


def test_skips_other_sensor_objects_and_text():
    # temperature 0x02 sint16 -1.00 C, text 0x53 of 3 bytes, then our objects
    data = bytes.fromhex("40" "0001" "0218fc" "2601" "5303616263" "5a6400")
    packet = bthome.decode_service_data(data)
    assert packet.objects[0x02] == -1000 and packet.alert is True and packet.score == 1.0


def test_foreign_sensor_is_not_tinyad():
    packet = bthome.decode_service_data(bytes.fromhex("40" "0001" "02c409"))
    assert not packet.is_tinyad


@pytest.mark.parametrize("hexdata,reason", [
    ("", "truncated"),
    ("20" "0001", "not_bthome"),               # version 1
    ("40" "00", "truncated"),                  # packet id object without its byte
    ("40" "0001" "5aff", "truncated"),
    ("40" "0001" "ee01", "bad_object"),        # unknown id
    ("40" "2601" "0001", "bad_object"),        # ids out of order
    ("41" "0102030405", "truncated"),          # encrypted, shorter than counter + MIC
    ("40" "0001" "5304ab", "truncated"),       # text length runs past the end
])
def test_bad_payloads_raise_bthome_error_with_reason(hexdata, reason):
    with pytest.raises(bthome.BTHomeError) as info:
        bthome.decode_service_data(bytes.fromhex(hexdata))
    assert info.value.reason == reason


def test_encrypted_round_trip_and_failures():
    raw = core.encode_advertisement(42, True, True, 150, 99, MAC_BYTES, KEY, "tinyad")
    packet = bthome.decode_advertisement(raw, MAC, KEY)
    assert (packet.packet_id, packet.alert, packet.score, packet.counter) == (42, True, 1.5, 99)
    for address, key, reason in [(MAC, None, "no_key"), (MAC, bytes(16), "wrong_key"),
                                 ("00:00:00:00:00:01", KEY, "wrong_key"),
                                 ("4C3F2B2A-1111-2222-3333-444455556666", KEY, "no_mac")]:
        with pytest.raises(bthome.BTHomeError) as info:
            bthome.decode_advertisement(raw, address, key)
        assert info.value.reason == reason


def test_a_flipped_ciphertext_bit_is_a_wrong_key_error():
    raw = bytearray(core.encode_advertisement(1, True, True, 0, 5, MAC_BYTES, KEY))
    raw[9] ^= 0x80
    with pytest.raises(bthome.BTHomeError) as info:
        bthome.decode_advertisement(bytes(raw), MAC, KEY)
    assert info.value.reason == "wrong_key"


def test_ad_structures_parsing_and_truncation():
    raw = core.encode_advertisement(1, False, True, 0, 0, MAC_BYTES, None, "tinyad")
    fields = bthome.parse_ad_structures(raw)
    assert fields.flags == 0x06 and fields.local_name == "tinyad" and 0xFCD2 in fields.service_data
    with pytest.raises(bthome.BTHomeError) as info:
        bthome.parse_ad_structures(raw[:10])
    assert info.value.reason == "truncated"
    assert bthome.parse_ad_structures(raw + bytes(5)).local_name == "tinyad"  # zero padding ends the payload


def test_every_truncation_of_an_advertisement_is_an_error_never_a_crash():
    raw = core.encode_advertisement(7, True, True, 12, 3, MAC_BYTES, KEY, "tinyad")
    service_end = 3 + 1 + raw[3]  # a cut right after the service-data AD is a valid, nameless payload
    for cut in range(len(raw)):
        if cut == service_end:
            assert bthome.decode_advertisement(raw[:cut], MAC, KEY).packet_id == 7
            continue
        with pytest.raises(bthome.BTHomeError) as info:
            bthome.decode_advertisement(raw[:cut], MAC, KEY)
        assert info.value.reason in ("truncated", "not_bthome")


def test_bind_key_parsing():
    assert bthome.parse_bind_key(KEY.hex()) == KEY
    assert bthome.parse_bind_key(None) is None
    for bad in ("abc", "zz" * 16, "00" * 15):
        with pytest.raises(ValueError):
            bthome.parse_bind_key(bad)


def test_object_size_and_sign_tables_agree_with_bthome_ble():
    from bthome_ble.const import MEAS_TYPES

    for obj, meas in MEAS_TYPES.items():
        if meas.data_format in ("string", "raw", "command"):
            continue
        assert bthome._OBJECT_SIZES.get(obj) == meas.data_length, hex(obj)
        assert (obj in bthome._SIGNED) == (meas.data_format == "signed_integer"), hex(obj)


def test_advertisement_data_from_raw_is_what_bleak_reports():
    raw = core.encode_advertisement(3, False, True, 5, 0, MAC_BYTES, None, "tinyad")
    adv = bthome.advertisement_data_from_raw(raw, rssi=-71)
    assert adv.local_name == "tinyad" and adv.rssi == -71
    assert adv.service_data[bthome.BTHOME_UUID] == raw[7:4 + raw[3]]
