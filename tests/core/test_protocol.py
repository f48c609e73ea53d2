"""The protocol codec: the Python reference (tinyad.protocol) against the C++ core (tinyad._core) and the
examples of docs/protocol.md."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyad import _core
from tinyad import protocol as p
from tinyad.paths import docs_dir


def test_numbers_come_from_the_def_file():
    assert p.MsgType.HELLO == 0x01 and p.MsgType.ERROR == 0x7F
    assert p.ErrorCode.OUT_OF_RANGE == 6
    assert p.CONFIG_KEYS["EWMA_ALPHA"].base == 0x0005 and p.CONFIG_KEYS["EWMA_ALPHA"].kind == 1
    assert p.config_key("AFFINE_OFFSET", 5)[0] == 0x0035
    assert p.MAX_FRAME == 6 + p.MAX_PAYLOAD + 4
    assert p.MsgType.HELLO in p.REQUEST_TYPES and p.MsgType.INFO not in p.REQUEST_TYPES


def test_doc_lists_every_message_key_and_error_code():
    text = (docs_dir() / "protocol.md").read_text()
    for name, (ident, _) in _core.MESSAGES.items():
        assert re.search(rf"\| 0x{ident:02X} \| {name} \|", text), name
    for name, code in _core.ERROR_CODES.items():
        assert f"| {code} | {name} |" in text, name
    for name, (ident, *_rest) in _core.CONFIG_KEYS.items():
        assert f"0x{ident:04X}" in text, name


def _doc_examples():
    text = (docs_dir() / "protocol.md").read_text()
    block = text.split("## Examples (hex)", 1)[1].split("```")[1]
    return re.findall(r"frame ([0-9a-f ]+)\n\s+wire\s+([0-9a-f ]+)\n", block)


def test_doc_examples_match_both_codecs():
    examples = _doc_examples()
    assert len(examples) == 7
    for frame_hex, wire_hex in examples:
        body, wire = bytes.fromhex(frame_hex), bytes.fromhex(wire_hex)
        decoded = p.decode_body(body)
        assert p.encode_frame(decoded.type, decoded.seq, decoded.payload) == wire
        assert _core.encode_frame(decoded.type, decoded.seq, decoded.payload) == wire
        assert _core.FrameDecoder().feed(wire) == [(p.PROTOCOL_VERSION, decoded.type, decoded.seq, decoded.payload)]


def test_hand_computed_hello_frame():
    # HELLO seq 1: header 02 01 01 00 00 00 (protocol 2), CRC-32 of it = 0x79D64E7D (zlib), then COBS: two zeros
    # become codes.
    assert p.PROTOCOL_VERSION == 2
    assert zlib.crc32(bytes.fromhex("020101000000")) == 0x79D64E7D
    assert p.encode_frame(p.MsgType.HELLO, 1) == bytes.fromhex("04 02 01 01 01 01 05 7d 4e d6 79 00")


@pytest.mark.parametrize("data, encoded", [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),                 # exactly one full block
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),  # Wikipedia's example 9
])
def test_cobs_known_vectors(data, encoded):
    assert p.cobs_encode(data) == encoded
    assert _core.cobs_encode(data) == encoded
    assert p.cobs_decode(encoded) == data
    assert _core.cobs_decode(encoded) == data


def test_cobs_decode_rejects_bad_blocks():
    for bad in (b"\x05\x11\x22", b"\x03\x11\x00", b"\x00"):
        with pytest.raises(p.ProtocolError):
            p.cobs_decode(bad)
        assert _core.cobs_decode(bad) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200))
def test_cobs_round_trip_and_agreement(data):
    encoded = p.cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + len(data) // 254 + 1
    assert _core.cobs_encode(data) == encoded
    assert p.cobs_decode(encoded) == data
    assert _core.cobs_decode(encoded) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=p.MAX_PAYLOAD))
def test_frames_round_trip_across_languages(msg_type, seq, payload):
    wire_py = p.encode_frame(msg_type, seq, payload)
    wire_cc = _core.encode_frame(msg_type, seq, payload)
    assert wire_py == wire_cc
    assert wire_py.count(0) == 1 and wire_py.endswith(b"\x00")
    assert _core.FrameDecoder().feed(wire_py) == [(p.PROTOCOL_VERSION, msg_type, seq, payload)]
    assert p.FrameDecoder().feed(wire_cc) == [p.Frame(p.PROTOCOL_VERSION, msg_type, seq, payload)]


def test_oversize_payload_is_refused_by_both_encoders():
    with pytest.raises(p.InputError):
        p.encode_frame(1, 0, bytes(p.MAX_PAYLOAD + 1))
    with pytest.raises(ValueError):
        _core.encode_frame(1, 0, bytes(p.MAX_PAYLOAD + 1))


def test_decoder_resynchronizes_after_garbage_and_counts_each_kind():
    good = p.encode_frame(p.MsgType.STATUS_REQ, 7)
    crc_broken = bytearray(p.encode_frame(p.MsgType.HELLO, 8))
    crc_broken[-2] ^= 0x01                          # last CRC byte
    short = p.cobs_encode(b"\x01\x02\x03") + b"\x00"   # decodes to 3 bytes < 10
    bad_cobs = b"\x09\x01\x02\x00"                  # code 9 promises 8 bytes, 2 arrive
    oversize = b"\x02" * (p.MAX_FRAME + 10) + b"\x00"
    stream = b"noise" + b"\x00" + bytes(crc_broken) + short + bad_cobs + oversize + b"\x00\x00" + good
    for decoder in (p.FrameDecoder(), _core.FrameDecoder()):
        frames = decoder.feed(stream)
        assert len(frames) == 1
        f = frames[0]
        expected = (p.PROTOCOL_VERSION, p.MsgType.STATUS_REQ, 7)
        assert ((f.version, f.type, f.seq) if isinstance(f, p.Frame) else f[:3]) == expected
        counters = decoder.counters
        assert counters == {"frames_ok": 1, "bad_crc": 1, "bad_cobs": 2, "bad_length": 1, "oversize": 1}, counters


def test_decoder_accepts_byte_at_a_time_delivery():
    wire = p.encode_frame(p.MsgType.CONFIG_GET, 3, struct.pack("<H", 5)) * 3
    py, cc = p.FrameDecoder(), _core.FrameDecoder()
    got_py, got_cc = [], []
    for byte in wire:
        got_py += py.feed(bytes([byte]))
        got_cc += cc.feed(bytes([byte]))
    assert [f.seq for f in got_py] == [3, 3, 3]
    assert [f[2] for f in got_cc] == [3, 3, 3]


def _mutate(data: st.DataObject, wire: bytes) -> bytes:
    choice = data.draw(st.integers(0, 4))
    b = bytearray(wire)
    if choice == 0 and len(b) > 1:
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] ^= 1 << data.draw(st.integers(0, 7))
    elif choice == 1:
        b = b[: data.draw(st.integers(0, len(b)))]
    elif choice == 2:
        i = data.draw(st.integers(0, len(b)))
        b[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    elif choice == 3 and len(b) > 1:
        i = data.draw(st.integers(0, len(b) - 1))
        del b[i]
    return bytes(b)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_both_decoders_agree_on_mutated_streams(data):
    """Same frames out and the same counters, whatever the corruption (the C++ and Python rules are one rule)."""
    parts = []
    for _ in range(data.draw(st.integers(1, 6))):
        wire = p.encode_frame(data.draw(st.integers(0, 255)), data.draw(st.integers(0, 0xFFFF)),
                              data.draw(st.binary(max_size=300)))
        parts.append(_mutate(data, wire) if data.draw(st.booleans()) else wire)
        if data.draw(st.integers(0, 5)) == 0:
            parts.append(data.draw(st.binary(max_size=50)))
    stream = b"".join(parts) + b"\x00"
    py, cc = p.FrameDecoder(), _core.FrameDecoder()
    frames_py = py.feed(stream)
    frames_cc = cc.feed(stream)
    assert [(f.version, f.type, f.seq, f.payload) for f in frames_py] == frames_cc
    assert py.counters == cc.counters


# ------------------------------------------------------------------------------------------ payloads


def test_status_payload_round_trip_and_layout():
    status = p.Status(2, True, 1, 1.5, 0.75, 123456789012, 10, 1, 50, 2, 3, 4, 5, 6, 7, 8)
    raw = p.pack_status(status)
    assert len(raw) == 60
    assert raw[0] == 2 and raw[1] == 1 and raw[2] == 1 and raw[3] == 0
    assert struct.unpack_from("<Q", raw, 12)[0] == 123456789012
    assert struct.unpack_from("<I", raw, 56)[0] == 8   # fifo_overflows last
    assert p.parse_status(raw) == status
    assert status.bad_frames == 2 + 3 + 4 + 5 and status.alert_name == "ALERT"


def test_info_payload_round_trip():
    info = p.Info(2, (0, 1, 0), "esp32", "MPU6050", 4.0, 500.0, 100.0, "ab" * 32, 64, 32, 2, 2, -3, 5, 0.5,
                  0.25, 60000, p.MAX_PAYLOAD, 6, 1.0, 0.5, 44.0, [0.25, 0.5], [-1.0, 2.0])
    raw = p.pack_info(info)
    assert len(raw) == 116 + 8 * 2
    assert raw[84] == 2 and struct.unpack_from("<f", raw, 112)[0] == 44.0  # the DLPF bandwidth (protocol 2)
    assert struct.unpack_from("<f", raw, 116)[0] == 0.25                   # then a[0]
    assert p.parse_info(raw) == info
    with pytest.raises(p.ProtocolError):  # a protocol-1 INFO (no DLPF field) is 4 bytes short
        p.parse_info(raw[:112] + raw[116:])


def test_samples_score_infer_error_round_trips():
    samples = p.Samples(100, 5_000_000, 2, 3, [1, -2, 3, 32767, -32768, 0])
    assert p.parse_samples(p.pack_samples(samples)) == samples and samples.n == 2
    score = p.Score(5, 320, 1500, 1.25, 1.0, 0.75, 1, [-3, 7])
    assert p.parse_score(p.pack_score(score)) == score
    result = p.InferResult(99, 0.5, 0.25, 2, 3, bytes([1, 2, 3, 4, 5, 6]), bytes([0xFF, 0x01]))
    assert p.parse_infer_resp(p.pack_infer_resp(result)) == result
    err = p.parse_error(p.pack_error(6, 0x0A, "out of range"))
    assert (err.code, err.offending_type, err.text, err.name) == (6, 0x0A, "out of range", "OUT_OF_RANGE")


def test_truncated_payloads_raise_protocol_errors():
    with pytest.raises(p.ProtocolError):
        p.parse_status(bytes(59))
    with pytest.raises(p.ProtocolError):
        p.parse_samples(p.pack_samples(p.Samples(0, 0, 1, 2, [1, 2]))[:-1])
    with pytest.raises(p.ProtocolError):
        p.parse_payload(p.Frame(p.PROTOCOL_VERSION + 1, p.MsgType.STATUS, 0, bytes(60)))


def test_infer_request_validates_shape_and_range():
    import numpy as np

    raw = np.array([[1, -1], [300, -300]], dtype=np.int16)
    payload = p.pack_infer_req(raw)
    assert payload == bytes([2, 0, 2, 0]) + raw.astype("<i2").tobytes()
    with pytest.raises(p.InputError):
        p.pack_infer_req(np.zeros(4, np.int16))
    with pytest.raises(p.InputError):
        p.pack_infer_req(np.array([[40000]]))
    with pytest.raises(p.InputError):
        p.pack_infer_req(np.zeros((600, 1), np.int16))  # 4 + 1200 bytes > MAX_PAYLOAD


def test_config_set_encodes_by_key_kind():
    assert p.pack_config_set("EWMA_ALPHA", 0.25) == bytes.fromhex("05 00 00 00 80 3e")
    assert p.pack_config_set("MIN_WINDOWS", 4) == bytes.fromhex("03 00 04 00 00 00")
    with pytest.raises(p.InputError):
        p.pack_config_set("MIN_WINDOWS", 2.5)
    with pytest.raises(p.InputError):
        p.config_key("NO_SUCH_KEY")


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=p.MAX_FRAME - 20, max_size=p.MAX_FRAME + 40), st.integers(0, 3))
def test_both_decoders_agree_at_the_size_limit(chunk, zeros):
    """Zero-free runs around the maximum frame size: oversize versus COBS error versus length is decided the
    same way by the bounded C++ buffer and the Python decoder."""
    data = bytearray(b or 1 for b in chunk)
    for k in range(zeros):  # a few zeros split it into several candidate frames
        data[(k + 1) * len(data) // (zeros + 2)] = 0
    stream = bytes(data) + b"\x00"
    py, cc = p.FrameDecoder(), _core.FrameDecoder()
    assert len(py.feed(stream)) == len(cc.feed(stream))
    assert py.counters == cc.counters


def test_largest_frame_round_trips_and_one_more_byte_is_oversize():
    payload = bytes(range(1, 256)) * (p.MAX_PAYLOAD // 255) + b"\x07" * (p.MAX_PAYLOAD % 255)
    wire = p.encode_frame(p.MsgType.INFER_REQ, 1, payload)
    assert len(wire) <= _core.MAX_WIRE_FRAME
    assert _core.FrameDecoder().feed(wire) == [(p.PROTOCOL_VERSION, p.MsgType.INFER_REQ, 1, payload)]
    body = bytearray(p.encode_body(p.MsgType.INFER_REQ, 1, payload))
    body.insert(10, 0x55)  # one byte too many
    for decoder in (p.FrameDecoder(), _core.FrameDecoder()):
        assert decoder.feed(p.cobs_encode(bytes(body)) + b"\x00") == []
        assert decoder.counters["oversize"] == 1
