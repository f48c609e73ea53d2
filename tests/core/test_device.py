"""tinyad::Device, the request handler shared by the firmware and the SIL, driven through the binding and
checked with the independent Python codec and references."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tinyad import _core
from tinyad import protocol as p
from tinyad.alert import AlertConfig, alert_trace
from tinyad.preprocess import preprocess_raw
from tinyad.scoring import ewma

WINDOW, HOP, CHANNELS = 4, 2, 2
A = [0.5, 0.25]
B = [1.0, -2.0]
ZP = -1


class Harness:
    """A Device with a fake model: output = [0, first input value], so the score is controlled by the samples."""

    def __init__(self, **kwargs):
        self.sent = bytearray()
        self.invoke_inputs = []
        self.fail_invoke = False
        self.raise_in_invoke = False
        self.decoder = p.FrameDecoder()
        options = dict(window=WINDOW, hop=HOP, channels=CHANNELS, n_classes=2, affine_scale=A, affine_offset=B,
                       input_zero_point=ZP, input_scale=0.1, output_scale=0.5, output_zero_point=0,
                       threshold_on=2.0, threshold_off=1.0, min_windows=2, cooldown_windows=1, ewma_alpha=0.5,
                       board="test-board", model_sha256=bytes(range(32)), arena_bytes=1234,
                       now_us=lambda: 777)
        options.update(kwargs)
        self.device = _core.Device(self.sent.extend, self.invoke, **options)

    def invoke(self, data: bytes):
        if self.raise_in_invoke:
            raise RuntimeError("model exploded")
        if self.fail_invoke:
            return None
        self.invoke_inputs.append(data)
        return bytes([0, data[0]]), 42

    def request(self, msg_type, seq=1, payload=b""):
        self.device.on_rx(p.encode_frame(msg_type, seq, payload))
        return self.replies()

    def replies(self):
        frames = self.decoder.feed(bytes(self.sent))
        self.sent.clear()
        return frames

    def one(self, msg_type, seq=1, payload=b"", expect=None):
        frames = self.request(msg_type, seq, payload)
        assert len(frames) == 1, frames
        assert frames[0].seq == seq
        if expect is not None:
            assert frames[0].type == expect, p.parse_payload(frames[0])
        return p.parse_payload(frames[0])


def test_hello_returns_info():
    h = Harness()
    info = h.one(p.MsgType.HELLO, 9, expect=p.MsgType.INFO)
    assert info.protocol_version == p.PROTOCOL_VERSION
    assert info.firmware_version == tuple(int(v) for v in _core.firmware_version().split("."))
    assert (info.board, info.window, info.hop, info.channels, info.n_classes) == ("test-board", 4, 2, 2, 2)
    assert info.model_sha256 == bytes(range(32)).hex() and info.arena_bytes == 1234
    assert info.affine_scale == A and info.affine_offset == B and info.input_zero_point == ZP
    assert (info.threshold_on, info.threshold_off, info.max_payload) == (2.0, 1.0, p.MAX_PAYLOAD)


def test_config_reply_matches_the_doc_example_bytes():
    h = Harness()
    h.device.on_rx(bytes.fromhex("04 02 0a 03 02 06 02 05 01 01 07 80 3e a3 a6 36 f2 00"))
    assert bytes(h.sent) == bytes.fromhex("04 02 0b 03 02 07 02 05 02 01 01 07 80 3e f8 df 83 76 00")
    assert h.device.config_get(p.CONFIG_KEYS["EWMA_ALPHA"].base) == 0.25


@pytest.mark.parametrize("key, value, code", [
    ("EWMA_ALPHA", 2.0, "OUT_OF_RANGE"),
    ("EWMA_ALPHA", float("nan"), "OUT_OF_RANGE"),
    ("THRESHOLD_ON", float("inf"), "OUT_OF_RANGE"),
    ("THRESHOLD_ON", 0.5, "CONFLICT"),       # below threshold_off = 1.0
    ("THRESHOLD_OFF", 3.0, "CONFLICT"),      # above threshold_on = 2.0
    ("MIN_WINDOWS", 0, "OUT_OF_RANGE"),
    ("INPUT_ZERO_POINT", 128, "OUT_OF_RANGE"),
    ("WINDOW", 8, "READ_ONLY"),
])
def test_config_set_range_checks(key, value, code):
    h = Harness()
    key_id, info = p.config_key(key)
    payload = struct.pack("<Hf" if info.kind == 1 else "<Hi", key_id, value)
    err = h.one(p.MsgType.CONFIG_SET, 5, payload, expect=p.MsgType.ERROR)
    assert err.name == code and err.offending_type == p.MsgType.CONFIG_SET
    assert h.device.counters["requests_rejected"] == 1


def test_config_per_channel_keys_and_unknown_keys():
    h = Harness()
    value = h.one(p.MsgType.CONFIG_SET, 1, p.pack_config_set(p.config_key("AFFINE_OFFSET", 1)[0], 0.75),
                  expect=p.MsgType.CONFIG_VALUE)
    assert (value.key, value.kind, value.value) == (0x31, 1, 0.75)
    assert h.one(p.MsgType.HELLO).affine_offset == [1.0, 0.75]
    # channel 2 does not exist on a 2-channel device; 0x0099 does not exist at all
    for key in (0x0022, 0x0099):
        assert h.one(p.MsgType.CONFIG_GET, 2, struct.pack("<H", key)).name == "UNKNOWN_KEY"
    assert h.one(p.MsgType.CONFIG_GET, 3, b"\x05").name == "BAD_LENGTH"
    got = h.one(p.MsgType.CONFIG_GET, 4, struct.pack("<H", 0x0041), expect=p.MsgType.CONFIG_VALUE)
    assert (got.kind, got.value) == (0, CHANNELS)


def test_infer_runs_preprocessing_model_and_scoring():
    h = Harness()
    raw = np.array([[10, -8], [3, 4], [-6, 100], [1, 1]], np.int16)
    result = h.one(p.MsgType.INFER_REQ, 7, p.pack_infer_req(raw), expect=p.MsgType.INFER_RESP)
    expected_input = preprocess_raw(raw, np.float32(A), np.float32(B), ZP)
    # by hand: 10 * 0.5 + 1 = 6 -> 6 - 1 = 5; -8 * 0.25 - 2 = -4 -> -5
    assert expected_input[0].tolist() == [5, -5]
    assert np.frombuffer(result.input, np.int8).reshape(raw.shape).tolist() == expected_input.tolist()
    assert result.output == bytes([0, 5]) and result.invoke_us == 42
    assert result.score == 2.5                                      # (5 - 0) * 0.5
    assert result.probability == pytest.approx(1 / (1 + np.exp(-2.5)), rel=1e-6)
    assert h.device.counters["windows"] == 0  # INFER does not touch the streaming state


def test_infer_errors():
    h = Harness()
    assert h.one(p.MsgType.INFER_REQ, 1, p.pack_infer_req(np.zeros((3, 2), np.int16))).name == "BAD_SHAPE"
    assert h.one(p.MsgType.INFER_REQ, 2, p.pack_infer_req(np.zeros((4, 2), np.int16))[:-1]).name == "BAD_LENGTH"
    assert h.one(p.MsgType.INFER_REQ, 3, b"\x04").name == "BAD_LENGTH"
    h.fail_invoke = True
    assert h.one(p.MsgType.INFER_REQ, 4, p.pack_infer_req(np.zeros((4, 2), np.int16))).name == "INFER_FAILED"


def test_bad_requests_get_errors_and_corrupt_frames_are_counted():
    h = Harness()
    assert h.one(0x55, 1).name == "UNKNOWN_TYPE"
    assert h.one(p.MsgType.STATUS, 2, bytes(60)).name == "NOT_A_REQUEST"
    assert h.one(p.MsgType.HELLO, 3, b"x").name == "BAD_LENGTH"
    h.device.on_rx(p.cobs_encode(p.encode_body(p.MsgType.HELLO, 4, version=p.PROTOCOL_VERSION + 1)) + b"\x00")
    assert p.parse_payload(h.replies()[0]).name == "BAD_VERSION"
    broken = bytearray(p.encode_frame(p.MsgType.HELLO, 5))
    broken[3] ^= 0x40
    h.device.on_rx(b"\x00garbage\x00" + bytes(broken) + b"\x02" * 2000 + b"\x00")
    assert h.replies() == []  # corrupt frames: no reply
    status = h.one(p.MsgType.STATUS_REQ, 6, expect=p.MsgType.STATUS)
    assert (status.frames_bad_cobs, status.frames_bad_crc, status.frames_oversize) == (1, 1, 1)
    assert status.requests_rejected == 4 and status.frames_ok == 5  # 4 rejected + this STATUS_REQ
    assert status.uptime_us == 777


def _samples_for_scores(first_values: list[int]) -> list[list[int]]:
    """Raw samples whose windows (hop 2) start with channel-0 raw values giving the wanted first input values."""
    rows = []
    for v in first_values:          # input = raw * 0.5 + 1 - 1 = raw / 2  ->  raw = 2 v
        rows += [[2 * v, 0], [0, 0]]
    return rows + [[0, 0], [0, 0]]  # completes the last window


def test_streaming_samples_scores_and_alerts_match_the_references():
    h = Harness()
    assert h.one(p.MsgType.STREAM_START, 1, struct.pack("<H", 2), expect=p.MsgType.ACK) == p.MsgType.STREAM_START
    first_values = [0, 2, 6, 6, 6, 0, 0, 0, 6, 6]
    rows = _samples_for_scores(first_values)
    for i, row in enumerate(rows):
        h.device.on_sample(row, 1000 * i)
    h.device.on_rx(p.encode_frame(p.MsgType.STREAM_STOP, 2))   # flushes the partial SAMPLES batch, then ACK
    frames = h.replies()
    assert frames[-1].type == p.MsgType.ACK and frames[-1].seq == 2
    frames = frames[:-1]
    samples = [p.parse_samples(f.payload) for f in frames if f.type == p.MsgType.SAMPLES]
    scores = [p.parse_score(f.payload) for f in frames if f.type == p.MsgType.SCORE]
    # decimation 2: every other sample, 8 per frame; the first frame starts at sample 0, t = 0
    assert samples[0].first_sample_seq == 0 and samples[0].decimation == 2 and samples[0].n == 8
    assert samples[1].first_sample_seq == 16 and samples[1].timestamp_us == 16000 and samples[1].n == 3
    assert samples[0].values[:4] == [0, 0, 4, 0]  # samples 0 and 2: the window starts
    # windows start every HOP = 2 samples: one SCORE per window, in order, seq numbers consecutive
    n_windows = (len(rows) - WINDOW) // HOP + 1
    assert [s.window_index for s in scores] == list(range(n_windows))
    assert [s.last_sample_seq for s in scores] == [WINDOW - 1 + HOP * k for k in range(n_windows)]
    assert [f.seq for f in frames] == list(range(len(frames)))  # unsolicited counter
    raw_scores = [np.float32(v * 0.5) for v in first_values] + [np.float32(0.0)]
    assert [s.score for s in scores] == [float(v) for v in raw_scores[:n_windows]]
    smoothed = ewma(raw_scores[:n_windows], 0.5)
    assert [np.float32(s.smoothed) for s in scores] == list(smoothed)
    states = alert_trace(smoothed, AlertConfig(2.0, 1.0, 2, 1))
    assert [s.alert_state for s in scores] == [int(x) for x in states]
    assert 2 in [s.alert_state for s in scores]  # the trace really reaches ALERT
    status = h.one(p.MsgType.STATUS_REQ, 3)
    assert status.windows_scored == n_windows and status.alerts_raised == h.device.alerts_raised >= 1


def test_stream_stop_flushes_and_fifo_overflow_restarts_the_window():
    h = Harness()
    h.one(p.MsgType.STREAM_START, 1, expect=p.MsgType.ACK)
    for i in range(3):
        h.device.on_sample([i, -i], i)
    h.device.note_fifo_overflow(5)
    frames = h.replies()
    assert [f.type for f in frames] == [p.MsgType.SAMPLES]   # flushed at the gap
    assert p.parse_samples(frames[0].payload).values == [0, 0, 1, -1, 2, -2]
    for i in range(3):
        h.device.on_sample([1, 1], 100 + i)
    assert h.device.counters["windows"] == 0                # 3 contiguous samples < window 4
    h.device.on_sample([1, 1], 103)
    assert h.device.counters["windows"] == 1
    frames = [f for f in h.request(p.MsgType.STREAM_STOP, 2)]
    samples = [p.parse_samples(f.payload) for f in frames if f.type == p.MsgType.SAMPLES]
    assert samples[0].first_sample_seq == 3 + 5               # the lost samples advance the sequence
    status = h.one(p.MsgType.STATUS_REQ, 3)
    assert (status.dropped_samples, status.fifo_overflows, status.sensor_error_flags & 2) == (5, 1, 2)
    assert not status.streaming


def test_sensor_error_on_stream_start_and_adv():
    h = Harness(stream_control=lambda start: False)
    assert h.one(p.MsgType.STREAM_START, 1).name == "SENSOR_ERROR"
    assert h.one(p.MsgType.ADV_GET, 2).name == "UNSUPPORTED"
    h = Harness(advertisement=lambda: bytes(range(40)))
    assert h.one(p.MsgType.ADV_GET, 3, expect=p.MsgType.ADV) == bytes(range(31))  # clamped to 31 bytes


def test_python_exception_in_a_hook_propagates_and_the_device_survives():
    h = Harness()
    h.raise_in_invoke = True
    with pytest.raises(RuntimeError, match="model exploded"):
        h.device.on_rx(p.encode_frame(p.MsgType.INFER_REQ, 1, p.pack_infer_req(np.zeros((4, 2), np.int16))))
    h.replies()
    h.raise_in_invoke = False
    result = h.one(p.MsgType.INFER_REQ, 2, p.pack_infer_req(np.zeros((4, 2), np.int16)),
                   expect=p.MsgType.INFER_RESP)
    # raw 0: channel 0 -> 0 * 0.5 + 1 = 1, + zp -1 = 0; channel 1 -> 0 * 0.25 - 2 = -2, + zp = -3
    assert np.frombuffer(result.input, np.int8)[:2].tolist() == [0, -3]
    assert result.output == bytes([0, 0])


def test_identity_outside_the_core_limits_is_refused():
    with pytest.raises(ValueError, match="limits"):
        Harness(window=200)   # > RING_SAMPLES
    with pytest.raises(ValueError, match="limits"):
        Harness(n_classes=1)
    with pytest.raises(ValueError):
        Harness(affine_scale=[1.0])


def test_score_kind_probability_makes_the_probability_the_alert_input():
    h = Harness()
    h.one(p.MsgType.CONFIG_SET, 1, p.pack_config_set("SCORE_KIND", 1), expect=p.MsgType.CONFIG_VALUE)
    raw = np.array([[10, 0], [0, 0], [0, 0], [0, 0]], np.int16)
    result = h.one(p.MsgType.INFER_REQ, 2, p.pack_infer_req(raw), expect=p.MsgType.INFER_RESP)
    assert result.output == bytes([0, 5])
    assert result.score == result.probability == pytest.approx(1 / (1 + np.exp(-2.5)), rel=1e-6)
    assert h.one(p.MsgType.CONFIG_SET, 3, p.pack_config_set("SCORE_KIND", 2)).name == "OUT_OF_RANGE"
