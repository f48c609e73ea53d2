"""Python reference codec of the serial protocol (docs/protocol.md).

Independent of the C++ codec (tests compare the two), but it takes every number - message ids, config keys, error
codes, limits - from the firmware's protocol_messages.def through the extension (tinyad._core), so the two cannot
disagree about the wire format's vocabulary.

    wire = encode_frame(MsgType.HELLO, seq=1)
    decoder = FrameDecoder(); frames = decoder.feed(received_bytes)   # resynchronizes after garbage
    info = parse_payload(frames[0])                                    # -> Info dataclass
"""

from __future__ import annotations

import enum
import math
import struct
import zlib
from dataclasses import dataclass, field

from tinyad import _core
from tinyad.errors import DeviceError, InputError

PROTOCOL_VERSION: int = _core.PROTOCOL_VERSION
MAX_PAYLOAD: int = _core.MAX_PAYLOAD
HEADER_SIZE = 6
CRC_SIZE = 4
MIN_FRAME = HEADER_SIZE + CRC_SIZE
MAX_FRAME: int = _core.MAX_FRAME
assert MAX_FRAME == HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE

MsgType = enum.IntEnum("MsgType", {name: ident for name, (ident, _) in _core.MESSAGES.items()})
ErrorCode = enum.IntEnum("ErrorCode", {"OK": 0, **_core.ERROR_CODES})
REQUEST_TYPES = frozenset(ident for ident, is_request in _core.MESSAGES.values() if is_request)
ALERT_STATE_NAMES = ("OK", "PENDING", "ALERT", "COOLDOWN")
INFO_FLAG_STREAMING, INFO_FLAG_BLE, INFO_FLAG_SIL, INFO_FLAG_ENCRYPTED = 1, 2, 4, 8
BIND_KEY_BYTES = 16
BIND_KEY_CHECK_BYTES = 4


@dataclass(frozen=True)
class ConfigKeyInfo:
    name: str
    base: int
    kind: int          # 0 = int32, 1 = float32
    count: int         # per-channel keys: base + channel for channel < count
    min: float
    max: float
    writable: bool


CONFIG_KEYS: dict[str, ConfigKeyInfo] = {
    name: ConfigKeyInfo(name, *entry) for name, entry in _core.CONFIG_KEYS.items()
}


def config_key(name_or_id: str | int, channel: int = 0) -> tuple[int, ConfigKeyInfo]:
    """(key id, info) for a name ("EWMA_ALPHA", or "AFFINE_SCALE" with channel) or a numeric id."""
    if isinstance(name_or_id, str):
        info = CONFIG_KEYS.get(name_or_id.upper())
        if info is None:
            raise InputError(f"unknown config key {name_or_id!r}", hint=f"known: {', '.join(CONFIG_KEYS)}")
        if not 0 <= channel < info.count:
            raise InputError(f"{info.name} has {info.count} channel slot(s); channel {channel} is out of range")
        return info.base + channel, info
    for info in CONFIG_KEYS.values():
        if info.base <= name_or_id < info.base + info.count:
            return name_or_id, info
    raise InputError(f"unknown config key 0x{name_or_id:04x}")


class ProtocolError(DeviceError):
    """A frame or payload that does not follow docs/protocol.md."""


# --------------------------------------------------------------------------------------------- framing


def crc32(data: bytes) -> int:
    """CRC-32/IEEE (zlib)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """COBS without delimiter; canonical: a final full 254-byte block is not followed by an empty block."""
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        end = start
        while end < n and data[end] != 0 and end - start < 254:
            end += 1
        out.append(end - start + 1)
        out += data[start:end]
        if end - start == 254:
            if end == n:
                return bytes(out)
            start = end          # a full block has no implicit zero
        elif end == n:
            return bytes(out)
        else:
            start = end + 1      # skip the zero this block encodes


def cobs_decode(data: bytes) -> bytes:
    """Decodes COBS (without delimiter); raises ProtocolError on a zero byte or a block running past the end."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            raise ProtocolError("COBS block runs past the end of the frame" if code else "zero byte inside COBS")
        block = data[i + 1:i + code]
        if 0 in block:
            raise ProtocolError("zero byte inside COBS")
        out += block
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_body(msg_type: int, seq: int, payload: bytes = b"", version: int = PROTOCOL_VERSION) -> bytes:
    """The frame before COBS: header, payload, CRC."""
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise InputError(f"payload of {len(payload)} bytes exceeds the protocol limit of {MAX_PAYLOAD}")
    head = struct.pack("<BBHH", version, int(msg_type), seq & 0xFFFF, len(payload)) + payload
    return head + struct.pack("<I", crc32(head))


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """One wire frame: COBS(header | payload | crc32) followed by the 0x00 delimiter."""
    return cobs_encode(encode_body(msg_type, seq, payload)) + b"\x00"


@dataclass(frozen=True)
class Frame:
    version: int
    type: int
    seq: int
    payload: bytes

    @property
    def name(self) -> str:
        try:
            return MsgType(self.type).name
        except ValueError:
            return f"UNKNOWN(0x{self.type:02x})"


def decode_body(body: bytes) -> Frame:
    """Checks length and CRC of a decoded (un-COBSed) frame; raises ProtocolError."""
    if len(body) < MIN_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes is shorter than the {MIN_FRAME}-byte minimum")
    version, msg_type, seq, length = struct.unpack_from("<BBHH", body)
    if length + MIN_FRAME != len(body):
        raise ProtocolError(f"payload_len {length} does not match the frame size {len(body)}")
    (crc,) = struct.unpack_from("<I", body, len(body) - CRC_SIZE)
    if crc != crc32(body[:-CRC_SIZE]):
        raise ProtocolError("CRC mismatch")
    return Frame(version, msg_type, seq, bytes(body[HEADER_SIZE:-CRC_SIZE]))


# Encoded bytes beyond which the decoded frame must exceed MAX_FRAME (a code byte adds at most 1 per 254 bytes).
_MAX_ENCODED_CHUNK = MAX_FRAME + MAX_FRAME // 254 + 2


class FrameDecoder:
    """Streaming decoder with a bounded buffer: feed() any chunk, get the complete valid frames. Corrupt frames are
    counted (same counter names and rules as the C++ FrameDecoder) and dropped; garbage is skipped up to the next
    0x00, so the decoder resynchronizes on the frame after it."""

    def __init__(self):
        self._chunk = bytearray()
        self._discarding = False
        self.counters = {"frames_ok": 0, "bad_crc": 0, "bad_cobs": 0, "bad_length": 0, "oversize": 0}

    @property
    def bad_frames(self) -> int:
        return sum(v for k, v in self.counters.items() if k != "frames_ok")

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        for part_index, part in enumerate(bytes(data).split(b"\x00")):
            if part_index > 0:
                frame = self._end_of_frame()
                if frame is not None:
                    frames.append(frame)
            if not self._discarding:
                self._chunk += part[: _MAX_ENCODED_CHUNK + 1 - len(self._chunk)]  # never hold more than the bound
                if len(self._chunk) > _MAX_ENCODED_CHUNK:
                    self._discarding = True
                    self._chunk.clear()
        return frames

    def _end_of_frame(self) -> Frame | None:
        chunk, discarding = bytes(self._chunk), self._discarding
        self._chunk.clear()
        self._discarding = False
        if discarding:
            self.counters["oversize"] += 1
            return None
        if not chunk:
            return None  # back-to-back delimiters
        decoded_len, complete = _cobs_decoded_length(chunk)
        if decoded_len > MAX_FRAME:
            self.counters["oversize"] += 1
            return None
        if not complete:
            self.counters["bad_cobs"] += 1
            return None
        body = cobs_decode(chunk)
        try:
            frame = decode_body(body)
        except ProtocolError as err:
            self.counters["bad_crc" if "CRC" in str(err) else "bad_length"] += 1
            return None
        self.counters["frames_ok"] += 1
        return frame


def _cobs_decoded_length(chunk: bytes) -> tuple[int, bool]:
    """(bytes a streaming decoder would have stored, whether the last block is complete)."""
    length = 0
    i = 0
    previous_code = 0
    while i < len(chunk):
        code = chunk[i]
        if previous_code not in (0, 0xFF):
            length += 1  # the implicit zero of the previous block
        present = min(code - 1, len(chunk) - i - 1)
        length += present
        if present < code - 1:
            return length, False
        i += code
        previous_code = code
    return length, True


# --------------------------------------------------------------------------------------------- payloads


@dataclass
class Info:
    protocol_version: int
    firmware_version: tuple[int, int, int]
    board: str
    sensor: str
    accel_full_scale_g: float
    gyro_full_scale_dps: float
    sample_rate_hz: float
    model_sha256: str
    window: int
    hop: int
    channels: int
    n_classes: int
    input_zero_point: int
    output_zero_point: int
    input_scale: float
    output_scale: float
    arena_bytes: int
    max_payload: int
    flags: int
    threshold_on: float
    threshold_off: float
    dlpf_bandwidth_hz: float  # the sensor's low-pass (MPU6050 DLPF, accelerometer); 0 when unknown
    affine_scale: list[float] = field(default_factory=list)
    affine_offset: list[float] = field(default_factory=list)


_INFO_HEAD = struct.Struct("<B3B16s16s3f32sHHBBbbffIHHfff")
assert _INFO_HEAD.size == 116


def pack_info(info: Info) -> bytes:
    """INFO payload (device side; the SIL and the tests use it)."""
    c = info.channels
    if len(info.affine_scale) != c or len(info.affine_offset) != c:
        raise InputError("INFO needs one affine scale and offset per channel")
    head = _INFO_HEAD.pack(
        info.protocol_version, *info.firmware_version, info.board.encode()[:16], info.sensor.encode()[:16],
        info.accel_full_scale_g, info.gyro_full_scale_dps, info.sample_rate_hz, bytes.fromhex(info.model_sha256),
        info.window, info.hop, c, info.n_classes, info.input_zero_point, info.output_zero_point, info.input_scale,
        info.output_scale, info.arena_bytes, info.max_payload, info.flags, info.threshold_on, info.threshold_off,
        info.dlpf_bandwidth_hz)
    return head + struct.pack(f"<{2 * c}f", *info.affine_scale, *info.affine_offset)


def parse_info(payload: bytes) -> Info:
    _need(payload, _INFO_HEAD.size, "INFO")
    f = _INFO_HEAD.unpack_from(payload)
    channels = f[12]
    _need(payload, _INFO_HEAD.size + 8 * channels, "INFO", exact=True)
    affine = struct.unpack_from(f"<{2 * channels}f", payload, _INFO_HEAD.size)
    return Info(f[0], (f[1], f[2], f[3]), _cstr(f[4]), _cstr(f[5]), f[6], f[7], f[8], f[9].hex(), f[10], f[11],
                channels, f[13], f[14], f[15], f[16], f[17], f[18], f[19], f[20], f[21], f[22], f[23],
                list(affine[:channels]), list(affine[channels:]))


@dataclass
class Samples:
    first_sample_seq: int
    timestamp_us: int
    decimation: int
    channels: int
    values: list[int]   # n x channels, sample-major

    @property
    def n(self) -> int:
        return len(self.values) // self.channels if self.channels else 0


_SAMPLES_HEAD = struct.Struct("<IQHBB")


def pack_samples(s: Samples) -> bytes:
    return _SAMPLES_HEAD.pack(s.first_sample_seq, s.timestamp_us, s.decimation, s.n, s.channels) + struct.pack(
        f"<{len(s.values)}h", *s.values)


def parse_samples(payload: bytes) -> Samples:
    _need(payload, _SAMPLES_HEAD.size, "SAMPLES")
    seq, t, decimation, n, channels = _SAMPLES_HEAD.unpack_from(payload)
    _need(payload, _SAMPLES_HEAD.size + 2 * n * channels, "SAMPLES", exact=True)
    values = list(struct.unpack_from(f"<{n * channels}h", payload, _SAMPLES_HEAD.size))
    return Samples(seq, t, decimation, channels, values)


@dataclass
class Score:
    window_index: int
    last_sample_seq: int
    invoke_us: int
    score: float
    smoothed: float
    probability: float
    alert_state: int
    output: list[int]


_SCORE_HEAD = struct.Struct("<IIIfffBB")


def pack_score(s: Score) -> bytes:
    return _SCORE_HEAD.pack(s.window_index, s.last_sample_seq, s.invoke_us, s.score, s.smoothed, s.probability,
                            s.alert_state, len(s.output)) + struct.pack(f"<{len(s.output)}b", *s.output)


def parse_score(payload: bytes) -> Score:
    _need(payload, _SCORE_HEAD.size, "SCORE")
    f = _SCORE_HEAD.unpack_from(payload)
    n = f[7]
    _need(payload, _SCORE_HEAD.size + n, "SCORE", exact=True)
    return Score(*f[:7], list(struct.unpack_from(f"<{n}b", payload, _SCORE_HEAD.size)))


def pack_infer_req(raw_counts) -> bytes:
    """INFER_REQ payload from raw int16 counts of shape (n_samples, channels)."""
    import numpy as np

    raw = np.asarray(raw_counts)
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.integer):
        raise InputError(f"INFER_REQ needs integer raw counts of shape (samples, channels), got {raw.shape}")
    if raw.size and (raw.min() < -32768 or raw.max() > 32767):
        raise InputError("raw counts outside int16")
    payload = struct.pack("<HBB", raw.shape[0], raw.shape[1], 0) + raw.astype("<i2").tobytes()
    if len(payload) > MAX_PAYLOAD:
        raise InputError(f"a window of {raw.shape} does not fit one frame ({len(payload)} > {MAX_PAYLOAD} bytes)")
    return payload


@dataclass
class InferResult:
    invoke_us: int
    score: float
    probability: float
    n_samples: int
    channels: int
    input: bytes    # int8 input tensor, n_samples x channels
    output: bytes   # int8 logits


_INFER_HEAD = struct.Struct("<IffHBB")


def pack_infer_resp(r: InferResult) -> bytes:
    return _INFER_HEAD.pack(r.invoke_us, r.score, r.probability, r.n_samples, r.channels, len(r.output)) + bytes(
        r.input) + bytes(r.output)


def parse_infer_resp(payload: bytes) -> InferResult:
    _need(payload, _INFER_HEAD.size, "INFER_RESP")
    us, score, prob, n, channels, n_classes = _INFER_HEAD.unpack_from(payload)
    k = _INFER_HEAD.size + n * channels
    _need(payload, k + n_classes, "INFER_RESP", exact=True)
    return InferResult(us, score, prob, n, channels, bytes(payload[_INFER_HEAD.size:k]), bytes(payload[k:]))


def pack_config_set(key: int, value: float | int) -> bytes:
    """CONFIG_SET payload; the value is encoded by the key's kind (float32 or int32)."""
    key, info = config_key(key)
    if info.kind == 1:
        return struct.pack("<Hf", key, float(value))
    if isinstance(value, float) and not float(value).is_integer():
        raise InputError(f"{info.name} is an integer key; got {value}")
    return struct.pack("<Hi", key, int(value))


@dataclass
class ConfigValue:
    key: int
    kind: int
    value: float | int


def parse_config_value(payload: bytes) -> ConfigValue:
    _need(payload, 7, "CONFIG_VALUE", exact=True)
    key, kind = struct.unpack_from("<HB", payload)
    (value,) = struct.unpack_from("<f" if kind == 1 else "<i", payload, 3)
    return ConfigValue(key, kind, value)


def pack_config_value(key: int, value: float | int) -> bytes:
    key, info = config_key(key)
    return struct.pack("<HB", key, info.kind) + struct.pack("<f" if info.kind == 1 else "<i", value)


@dataclass
class Status:
    alert_state: int
    streaming: bool
    sensor_error_flags: int
    last_score: float
    last_smoothed: float
    uptime_us: int
    windows_scored: int
    alerts_raised: int
    frames_ok: int
    frames_bad_crc: int
    frames_bad_cobs: int
    frames_bad_length: int
    frames_oversize: int
    requests_rejected: int
    dropped_samples: int
    fifo_overflows: int

    @property
    def alert_name(self) -> str:
        return ALERT_STATE_NAMES[self.alert_state] if self.alert_state < 4 else f"?{self.alert_state}"

    @property
    def bad_frames(self) -> int:
        return self.frames_bad_crc + self.frames_bad_cobs + self.frames_bad_length + self.frames_oversize


_STATUS = struct.Struct("<BBBxffQ10I")
assert _STATUS.size == 60


def pack_status(s: Status) -> bytes:
    return _STATUS.pack(s.alert_state, int(s.streaming), s.sensor_error_flags, s.last_score, s.last_smoothed,
                        s.uptime_us, s.windows_scored, s.alerts_raised, s.frames_ok, s.frames_bad_crc,
                        s.frames_bad_cobs, s.frames_bad_length, s.frames_oversize, s.requests_rejected,
                        s.dropped_samples, s.fifo_overflows)


def parse_status(payload: bytes) -> Status:
    _need(payload, _STATUS.size, "STATUS", exact=True)
    f = list(_STATUS.unpack(payload))
    f[1] = bool(f[1])
    return Status(*f)


def parse_adv(payload: bytes) -> bytes:
    _need(payload, 1, "ADV")
    _need(payload, 1 + payload[0], "ADV", exact=True)
    return bytes(payload[1:])


@dataclass
class ErrorReply:
    code: int
    offending_type: int
    text: str

    @property
    def name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"ERROR_{self.code}"


def pack_error(code: int, offending_type: int, text: str) -> bytes:
    raw = text.encode("ascii", "replace")[:48]
    return struct.pack("<HBB", code, offending_type, len(raw)) + raw


def parse_error(payload: bytes) -> ErrorReply:
    _need(payload, 4, "ERROR")
    code, offending, n = struct.unpack_from("<HBB", payload)
    _need(payload, 4 + n, "ERROR", exact=True)
    return ErrorReply(code, offending, payload[4:4 + n].decode("ascii", "replace"))


def parse_ack(payload: bytes) -> int:
    """ACK payload: the type of the acknowledged request (an ACK of BIND_KEY_SET may carry a check value)."""
    _need(payload, 1, "ACK")
    if payload[0] == MsgType.BIND_KEY_SET and len(payload) == 1 + BIND_KEY_CHECK_BYTES:
        return payload[0]
    _need(payload, 1, "ACK", exact=True)
    return payload[0]


def pack_ack(acked_type: int, check: bytes = b"") -> bytes:
    """ACK payload (device side): the acked type, plus the 4-byte check value for a BIND_KEY_SET with a key."""
    if check and (acked_type != MsgType.BIND_KEY_SET or len(check) != BIND_KEY_CHECK_BYTES):
        raise InputError("only an ACK of BIND_KEY_SET carries a check value, of 4 bytes")
    return bytes([acked_type]) + bytes(check)


def pack_bind_key_set(key: bytes | None) -> bytes:
    """BIND_KEY_SET payload: the 16-byte bind key, or empty (None or b"") to switch encryption off."""
    key = bytes(key or b"")
    if len(key) not in (0, BIND_KEY_BYTES):
        raise InputError(f"a bind key has {BIND_KEY_BYTES} bytes (32 hex characters), got {len(key)}")
    return key


def parse_bind_key_ack(payload: bytes) -> bytes:
    """The check value an ACK of BIND_KEY_SET carries (AES-128(key, 0^16)[0..3]); b"" when encryption is off."""
    _need(payload, 1, "ACK")
    if payload[0] != MsgType.BIND_KEY_SET:
        raise ProtocolError(f"ACK of message 0x{payload[0]:02x}, expected an ACK of BIND_KEY_SET")
    if len(payload) not in (1, 1 + BIND_KEY_CHECK_BYTES):
        raise ProtocolError(f"ACK of BIND_KEY_SET of {len(payload)} bytes, expected 1 or 5")
    return bytes(payload[1:])


def bind_key_check_value(key: bytes) -> bytes:
    """The check value that identifies a bind key without revealing it: AES-128(key, 0^16)[0..3] (the usual KCV).

    Computed with the `cryptography` package, independently of the core's AES."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if len(key) != BIND_KEY_BYTES:
        raise InputError(f"a bind key has {BIND_KEY_BYTES} bytes, got {len(key)}")
    encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return (encryptor.update(bytes(16)) + encryptor.finalize())[:BIND_KEY_CHECK_BYTES]


_PARSERS = {
    MsgType.INFO: parse_info, MsgType.SAMPLES: parse_samples, MsgType.SCORE: parse_score,
    MsgType.INFER_RESP: parse_infer_resp, MsgType.CONFIG_VALUE: parse_config_value,
    MsgType.STATUS: parse_status, MsgType.ADV: parse_adv, MsgType.ERROR: parse_error,
    MsgType.ACK: parse_ack,
}


def parse_payload(frame: Frame):
    """The typed payload of a device->host frame (Info, Status, ... ; ACK gives the acked type)."""
    if frame.version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {frame.version}, expected {PROTOCOL_VERSION}",
                            hint="the device runs another firmware generation; update tinyad or the firmware")
    parser = _PARSERS.get(frame.type)
    if parser is None:
        raise ProtocolError(f"unexpected message {frame.name} from the device")
    return parser(frame.payload)


def _need(payload: bytes, n: int, what: str, exact: bool = False) -> None:
    if len(payload) < n or (exact and len(payload) != n):
        raise ProtocolError(f"{what} payload of {len(payload)} bytes, expected {'' if exact else 'at least '}{n}")


def _cstr(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace")


def is_finite_f32(value: float) -> bool:
    """True if value stays finite when rounded to float32 (what CONFIG_SET accepts)."""
    return math.isfinite(value) and abs(value) <= 3.4028234663852886e38
