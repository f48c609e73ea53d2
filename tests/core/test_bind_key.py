"""BIND_KEY_SET: the write-only bind key request, in both codecs and in tinyad::Device (through the binding)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core
from tinyad import protocol as p
from tinyad.errors import InputError
from tests.core.test_device import Harness

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
KEY_CHECK = bytes.fromhex("1838858c")  # AES-128(KEY, 0^16)[:4], see the example in docs/protocol.md


def test_numbers_and_check_value():
    assert p.MsgType.BIND_KEY_SET == 0x11 and p.MsgType.BIND_KEY_SET in p.REQUEST_TYPES
    assert p.ErrorCode.STORAGE_ERROR == 14
    key_id, info = p.config_key("BIND_KEY_CHECK")
    assert key_id == 0x0050 and info.kind == 0 and not info.writable
    # Independent AES (cryptography) and the core's AES agree on the check value.
    assert p.bind_key_check_value(KEY) == KEY_CHECK
    assert _core.bthome.bind_key_check_value(KEY) == int.from_bytes(KEY_CHECK, "big")
    assert p.bind_key_check_value(bytes(16)) == bytes.fromhex("66e94bd4")  # FIPS-197 style: AES(0, 0) = 66e94bd4...


@settings(max_examples=50, deadline=None)
@given(key=st.one_of(st.just(b""), st.binary(min_size=16, max_size=16)), seq=st.integers(0, 0xFFFF))
def test_bind_key_set_frames_agree_across_codecs(key, seq):
    payload = p.pack_bind_key_set(key)
    wire = p.encode_frame(p.MsgType.BIND_KEY_SET, seq, payload)
    assert _core.encode_frame(p.MsgType.BIND_KEY_SET, seq, payload) == wire
    assert _core.FrameDecoder().feed(wire) == [(p.PROTOCOL_VERSION, p.MsgType.BIND_KEY_SET, seq, key)]
    check = p.bind_key_check_value(key) if key else b""
    ack = p.pack_ack(p.MsgType.BIND_KEY_SET, check)
    ack_wire = _core.encode_frame(p.MsgType.ACK, seq, ack)
    (frame,) = p.FrameDecoder().feed(ack_wire)
    assert p.parse_payload(frame) == p.MsgType.BIND_KEY_SET
    assert p.parse_bind_key_ack(frame.payload) == check


def test_python_codec_rejects_bad_keys_and_acks():
    assert p.pack_bind_key_set(None) == b"" and p.pack_bind_key_set(KEY) == KEY
    for bad in (b"\x01", bytes(15), bytes(17), bytes(32)):
        with pytest.raises(InputError, match="16 bytes"):
            p.pack_bind_key_set(bad)
    with pytest.raises(InputError):
        p.pack_ack(p.MsgType.STREAM_STOP, KEY_CHECK)  # only BIND_KEY_SET's ACK carries a check value
    with pytest.raises(p.ProtocolError):
        p.parse_ack(bytes([p.MsgType.STREAM_STOP]) + KEY_CHECK)
    with pytest.raises(p.ProtocolError):
        p.parse_bind_key_ack(bytes([p.MsgType.BIND_KEY_SET]) + KEY)  # 17 bytes: never a key in an ACK
    with pytest.raises(p.ProtocolError):
        p.parse_bind_key_ack(bytes([p.MsgType.STREAM_STOP]))


class KeyStore:
    """The platform's side of the hook: records every call; can fail like a full NVS."""

    def __init__(self):
        self.calls: list[bytes] = []
        self.fail = False

    def __call__(self, key: bytes):
        self.calls.append(key)
        if self.fail:
            return None
        return p.bind_key_check_value(key) if key else b""


def test_device_hook_gets_the_key_and_the_ack_carries_only_the_check_value():
    store = KeyStore()
    h = Harness(set_bind_key=store, flags=p.INFO_FLAG_BLE)
    wire = bytearray()  # every byte the device sent

    def ask(msg_type, seq, payload=b""):
        h.device.on_rx(p.encode_frame(msg_type, seq, payload))
        wire.extend(h.sent)
        (frame,) = h.replies()
        assert frame.seq == seq
        return frame

    assert p.parse_payload(ask(p.MsgType.HELLO, 1)).flags == p.INFO_FLAG_BLE
    ack = ask(p.MsgType.BIND_KEY_SET, 2, KEY)
    assert ack.type == p.MsgType.ACK and ack.payload == bytes([0x11]) + KEY_CHECK
    assert store.calls == [KEY]
    assert h.device.encrypted and h.device.bind_key_check == KEY_CHECK

    # Everything a host can ask afterwards: the check value is where documented, the key is nowhere.
    info = p.parse_payload(ask(p.MsgType.HELLO, 3))
    assert info.flags == p.INFO_FLAG_BLE | p.INFO_FLAG_ENCRYPTED
    value = p.parse_payload(ask(p.MsgType.CONFIG_GET, 4, (0x0050).to_bytes(2, "little")))
    assert value.key == 0x0050 and (value.value & 0xFFFFFFFF).to_bytes(4, "big") == KEY_CHECK
    status = ask(p.MsgType.STATUS_REQ, 5)
    again = ask(p.MsgType.BIND_KEY_SET, 6, KEY)
    assert again.payload == ack.payload and store.calls == [KEY, KEY]
    for frame in (ack, status, again):
        assert KEY[:8] not in frame.payload and KEY[8:] not in frame.payload
    # ... nor in the wire bytes (COBS leaves a zero-free key unchanged, so this search would find it).
    assert 0 not in KEY and KEY[:8] not in bytes(wire) and KEY[8:] not in bytes(wire)
    assert KEY_CHECK in bytes(wire)  # the search itself works: the check value is found


def test_clearing_the_key_and_the_config_key_is_read_only():
    store = KeyStore()
    h = Harness(set_bind_key=store)
    h.one(p.MsgType.BIND_KEY_SET, 1, KEY, expect=p.MsgType.ACK)
    frames = h.request(p.MsgType.BIND_KEY_SET, 2)
    assert [f.payload for f in frames] == [bytes([0x11])]  # a 1-byte ACK: no check value when off
    assert store.calls == [KEY, b""]
    assert not h.device.encrypted and h.device.bind_key_check == bytes(4)
    assert h.one(p.MsgType.HELLO, 3).flags & p.INFO_FLAG_ENCRYPTED == 0
    assert h.device.config_get(0x0050) == 0
    err = h.one(p.MsgType.CONFIG_SET, 4, (0x0050).to_bytes(2, "little") + bytes(4), expect=p.MsgType.ERROR)
    assert err.name == "READ_ONLY"


@pytest.mark.parametrize("length", [1, 4, 15, 17, 32])
def test_wrong_key_length_is_bad_length_and_never_reaches_the_hook(length):
    store = KeyStore()
    h = Harness(set_bind_key=store)
    err = h.one(p.MsgType.BIND_KEY_SET, 7, KEY[:length] if length <= 16 else KEY + bytes(length - 16),
                expect=p.MsgType.ERROR)
    assert (err.name, err.offending_type) == ("BAD_LENGTH", 0x11)
    assert store.calls == [] and not h.device.encrypted


def test_without_the_hook_it_is_unsupported_and_a_failing_store_keeps_the_old_key():
    h = Harness()
    assert h.one(p.MsgType.BIND_KEY_SET, 1, KEY, expect=p.MsgType.ERROR).name == "UNSUPPORTED"
    store = KeyStore()
    h = Harness(set_bind_key=store)
    h.one(p.MsgType.BIND_KEY_SET, 1, KEY, expect=p.MsgType.ACK)
    store.fail = True
    err = h.one(p.MsgType.BIND_KEY_SET, 2, bytes(range(1, 17)), expect=p.MsgType.ERROR)
    assert err.name == "STORAGE_ERROR" and KEY.hex() not in err.text
    assert h.device.encrypted and h.device.bind_key_check == KEY_CHECK  # the previous key stays in force
    assert h.one(p.MsgType.STATUS_REQ, 3).requests_rejected == 1


def test_a_hook_returning_a_malformed_check_value_raises_and_the_device_survives():
    h = Harness(set_bind_key=lambda key: b"\x01\x02")
    with pytest.raises(TypeError, match="4 bytes"):
        h.device.on_rx(p.encode_frame(p.MsgType.BIND_KEY_SET, 1, KEY))
    assert h.replies() == []  # after a Python error the binding mutes the remaining callbacks of that call
    assert not h.device.encrypted
    assert h.one(p.MsgType.HELLO, 2, expect=p.MsgType.INFO).window == 4


def test_boot_state_from_the_platform_is_reported():
    h = Harness(set_bind_key=KeyStore())
    h.device.set_bind_key_state(True, KEY_CHECK)
    assert h.one(p.MsgType.HELLO, 1).flags & p.INFO_FLAG_ENCRYPTED
    assert h.device.config_get(0x0050) & 0xFFFFFFFF == int.from_bytes(KEY_CHECK, "big")
    with pytest.raises(ValueError):
        h.device.set_bind_key_state(True, b"\x01")
