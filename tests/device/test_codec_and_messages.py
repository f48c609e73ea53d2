"""Host-side framing and payloads: the doc's examples, resync, and agreement with the firmware's C++ codec."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tinyad.device import codec, messages
from tinyad.errors import DeviceError, InputError


@pytest.mark.parametrize("msg_type, seq, payload, wire", [
    (0x01, 1, b"", "04 02 01 01 01 01 05 7d 4e d6 79 00"),
    (0x0C, 2, b"", "04 02 0c 02 01 01 05 22 25 f3 93 00"),
    (0x0A, 3, bytes.fromhex("05000000803e"), "04 02 0a 03 02 06 02 05 01 01 07 80 3e a3 a6 36 f2 00"),
])
def test_encode_matches_the_protocol_doc_examples(msg_type, seq, payload, wire):
    assert codec.encode_frame(msg_type, seq, payload) == bytes.fromhex(wire)


def test_python_codec_agrees_with_the_firmware_codec():
    from tinyad import _core

    rng = np.random.default_rng(1)
    for n in (0, 1, 253, 254, 255, 507, 508, 1024):
        payload = bytes(rng.integers(0, 3, n).astype(np.uint8))  # many zeros: exercises COBS blocks
        assert codec.encode_frame(0x05, 0x1234, payload) == bytes(_core.encode_frame(0x05, 0x1234, payload))


def test_decoder_resyncs_after_garbage_and_counts_bad_frames():
    decoder = codec.new_decoder()
    good = codec.encode_frame(0x02, 9, b"abc")
    bad_crc = bytearray(good)
    bad_crc[-2] ^= 0x01
    chunks = [b"\x00\x00", b"\x05\x41", b"\x00", bytes(bad_crc), good[:4], good[4:], b"\x01" * 2000, b"\x00", good]
    frames = [f for chunk in chunks for f in decoder.feed(chunk)]
    assert [(f.type, f.seq, f.payload) for f in frames] == [(0x02, 9, b"abc")] * 2
    # "05 41": a 5-byte block claimed, 1 byte present -> COBS error; then one bad CRC, one oversize.
    counters = decoder.counters
    assert (counters["bad_cobs"], counters["bad_crc"], counters["oversize"], counters["frames_ok"]) == (1, 1, 1, 2)
    assert decoder.bad_frames == 3


# On a classic ESP32 the protocol shares UART0 with the console: ESP_LOG is silenced, but stdio text still gets
# out (TFLM's MicroPrintf ends in vfprintf(stderr)), between frames. The firmware sends 0x00 before each frame
# (firmware/main/main.cc, hook_write) so that such text costs the host only itself.
CONSOLE_TEXT = b"Node FULLY_CONNECTED (number 3) failed to invoke with status 1\r\n"


def test_console_text_between_frames_costs_no_frame_when_each_frame_starts_with_a_delimiter():
    frames = [codec.encode_frame(0x06, seq, bytes([seq, 0, seq])) for seq in range(3)]
    wire = b"I (312) tinyad: boot log before the first frame\r\n" + b"".join(
        b"\x00" + frame + CONSOLE_TEXT for frame in frames)
    decoder = codec.new_decoder()
    received = [f for i in range(0, len(wire), 7) for f in decoder.feed(wire[i:i + 7])]  # as a port delivers
    assert [(f.type, f.seq, f.payload) for f in received] == [(0x06, seq, bytes([seq, 0, seq])) for seq in range(3)]
    # The boot line and the text after the first two frames (the last is still open): dropped and counted.
    assert decoder.bad_frames == 3 and decoder.counters["frames_ok"] == 3


def test_console_text_right_before_a_frame_without_a_leading_delimiter_takes_that_frame_with_it():
    # Why the firmware sends the leading 0x00: the decoder resynchronizes only at a 0x00.
    first, second = (codec.encode_frame(0x06, seq, b"x") for seq in (1, 2))
    decoder = codec.new_decoder()
    assert [f.seq for f in decoder.feed(first + CONSOLE_TEXT + second)] == [1]
    assert decoder.bad_frames == 1


def test_info_payload_decodes_field_by_field():
    payload = struct.pack("<BBBB16s16sfff32sHHBBbbffIHHfff", 2, 0, 1, 2, b"board", b"MPU6050", 4.0, 500.0, 100.0,
                          bytes(range(32)), 64, 32, 2, 2, -3, 5, 0.5, 0.25, 60000, 1024, 0b101, 1.5, 0.75, 94.0)
    payload += struct.pack("<2f2f", 1.0, 2.0, -3.0, 4.5)
    info = messages.DeviceInfo.decode(payload)
    assert (info.firmware_version, info.board, info.sensor) == ("0.1.2", "board", "MPU6050")
    assert info.model_sha256 == bytes(range(32)).hex()
    assert (info.window, info.hop, info.channels, info.input_zero_point, info.output_zero_point) == (64, 32, 2, -3, 5)
    assert info.is_sil and info.streaming and not info.ble_available
    assert (info.affine_scale, info.affine_offset) == ([1.0, 2.0], [-3.0, 4.5])
    assert (info.threshold_on, info.threshold_off, info.dlpf_bandwidth_hz) == (1.5, 0.75, 94.0)
    with pytest.raises(DeviceError, match="INFO payload"):
        messages.DeviceInfo.decode(payload[:-1])


def test_samples_and_infer_payloads_check_their_lengths():
    raw = np.array([[1, -2, 3], [32767, -32768, 0]], np.int16)
    payload = struct.pack("<IQHBB", 40, 123456, 1, 2, 3) + raw.astype("<i2").tobytes()
    frame = messages.SamplesFrame.decode(5, payload)
    np.testing.assert_array_equal(frame.raw, raw)
    assert (frame.first_sample_seq, frame.timestamp_us) == (40, 123456)
    with pytest.raises(DeviceError, match="SAMPLES payload"):
        messages.SamplesFrame.decode(5, payload[:-2])
    resp = struct.pack("<IffHBB", 77, 0.5, 0.6, 2, 3, 2) + bytes([1, 2, 3, 4, 5, 0xFF]) + bytes([0x80, 0x7F])
    result = messages.InferResult.decode(resp)
    np.testing.assert_array_equal(result.input, [[1, 2, 3], [4, 5, -1]])
    np.testing.assert_array_equal(result.output, [-128, 127])
    with pytest.raises(DeviceError, match="INFER_RESP"):
        messages.InferResult.decode(resp + b"\x00")


def test_infer_request_rejects_values_that_are_not_int16_counts():
    assert messages.encode_infer_request(np.array([[1, -1]])) == bytes.fromhex("0100 0200 0100 ffff".replace(" ", ""))
    with pytest.raises(InputError, match="integer raw counts"):
        messages.encode_infer_request(np.array([[np.nan, 0.0]]))
    with pytest.raises(InputError, match="int16"):
        messages.encode_infer_request(np.array([[40000, 0]]))
    with pytest.raises(InputError, match="samples, channels"):
        messages.encode_infer_request(np.zeros(6, np.int16))


def test_config_keys_come_from_the_firmware_table():
    assert codec.config_key("EWMA_ALPHA") == (0x0005, 1)
    assert codec.config_key("AFFINE_OFFSET+3") == (0x0033, 1)
    assert codec.config_key("MIN_WINDOWS") == (0x0003, 0)
    assert codec.config_key(0x0024) == (0x0024, 1)
    with pytest.raises(InputError, match="unknown config key"):
        codec.config_key("NO_SUCH_KEY")


@pytest.mark.parametrize("name, message", [
    ("AFFINE_SCALE+x", r"config key 'AFFINE_SCALE\+x': the channel after '\+' must be a whole number, got 'x'"),
    ("AFFINE_SCALE+1.5", r"the channel after '\+' must be a whole number, got '1.5'"),
    ("AFFINE_SCALE+", r"must be a whole number, got ''"),
    ("AFFINE_SCALE+8", r"channel 8 is out of range"),
    ("AFFINE_SCALE", r"AFFINE_SCALE is a per-channel key: give the channel as AFFINE_SCALE\+c"),
    ("AFFINE_OFFSET", r"AFFINE_OFFSET is a per-channel key"),
])
def test_per_channel_keys_need_a_whole_channel_number(name, message):
    with pytest.raises(InputError, match=message) as err:
        codec.config_key(name)
    assert err.value.hint.startswith(f"{name.partition('+')[0]}+0 .. +7")


@pytest.mark.parametrize("name", ["EWMA_ALPHA+x", "EWMA_ALPHA+0"])
def test_a_channel_on_a_single_key_is_refused(name):
    with pytest.raises(InputError, match=rf"'{name.replace('+', '[+]')}': EWMA_ALPHA has no channels") as err:
        codec.config_key(name)
    assert err.value.hint == "give EWMA_ALPHA"


def test_a_channel_that_is_a_digit_only_in_unicode_is_refused():
    with pytest.raises(InputError, match="must be a whole number"):
        codec.config_key("AFFINE_SCALE+\u00b2")  # '²' passes str.isdigit but not int()
