"""Typed replies for the client, decoded by the reference codec (tinyad.protocol) and presented the way the host
code uses them: numpy arrays for samples and tensors, a hex model hash, a firmware version string.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from tinyad import protocol

ALERT_STATES = protocol.ALERT_STATE_NAMES


def _state_name(state: int) -> str:
    return ALERT_STATES[state] if state < len(ALERT_STATES) else f"?{state}"


@dataclass
class DeviceInfo(protocol.Info):
    """The INFO reply (protocol.Info: who the device is, which model it runs, how it preprocesses), with the
    firmware version as a string ("0.1.0")."""

    firmware_version: str

    @property
    def is_sil(self) -> bool:
        return bool(self.flags & protocol.INFO_FLAG_SIL)

    @property
    def encrypted(self) -> bool:
        """BTHome advertisements are AES-CCM encrypted with a bind key (its check value: config key
        BIND_KEY_CHECK; the key itself is never sent back)."""
        return bool(self.flags & protocol.INFO_FLAG_ENCRYPTED)

    @property
    def ble_available(self) -> bool:
        return bool(self.flags & 2)

    @property
    def streaming(self) -> bool:
        return bool(self.flags & 1)

    @classmethod
    def decode(cls, payload: bytes) -> "DeviceInfo":
        info = protocol.parse_info(payload)
        fields = dict(vars(info))
        fields["firmware_version"] = ".".join(str(v) for v in info.firmware_version)
        return cls(**fields)


@dataclass
class SamplesFrame:
    """A SAMPLES frame: n consecutive streamed samples (raw counts)."""

    seq: int
    first_sample_seq: int
    timestamp_us: int
    decimation: int
    raw: np.ndarray  # (n, channels) int16

    @classmethod
    def decode(cls, seq: int, payload: bytes) -> "SamplesFrame":
        s = protocol.parse_samples(payload)
        raw = np.asarray(s.values, dtype=np.int16).reshape(s.n, s.channels)
        return cls(seq, s.first_sample_seq, s.timestamp_us, s.decimation, raw)


@dataclass
class ScoreFrame(protocol.Score):
    """A SCORE frame (protocol.Score: one inference window scored on the device) with its frame sequence
    number and the int8 output tensor as a numpy array."""

    seq: int

    @property
    def alert_name(self) -> str:
        return _state_name(self.alert_state)

    @classmethod
    def decode(cls, seq: int, payload: bytes) -> "ScoreFrame":
        fields = dict(vars(protocol.parse_score(payload)))
        fields["output"] = np.asarray(fields["output"], dtype=np.int8)
        return cls(**fields, seq=seq)


@dataclass
class InferResult:
    """The INFER_RESP reply: the device's int8 input and output tensors for the host's window."""

    invoke_us: int
    score: float
    probability: float
    input: np.ndarray   # (n_samples, channels) int8
    output: np.ndarray  # (n_classes,) int8

    @classmethod
    def decode(cls, payload: bytes) -> "InferResult":
        r = protocol.parse_infer_resp(payload)
        tensor = np.frombuffer(r.input, dtype=np.int8).reshape(r.n_samples, r.channels).copy()
        return cls(r.invoke_us, r.score, r.probability, tensor, np.frombuffer(r.output, dtype=np.int8).copy())


@dataclass
class DeviceStatus(protocol.Status):
    """The STATUS reply: alert state, counters of the link and the sensor (protocol.Status, decoded)."""

    @classmethod
    def decode(cls, payload: bytes) -> "DeviceStatus":
        return cls(*vars(protocol.parse_status(payload)).values())


def encode_infer_request(raw) -> bytes:
    """INFER_REQ payload for one window of integer raw counts (n_samples, channels); InputError otherwise."""
    return protocol.pack_infer_req(raw)


def encode_config_get(key: int) -> bytes:
    return struct.pack("<H", key)


def encode_config_set(key: int, value) -> bytes:
    return protocol.pack_config_set(key, value)


def decode_config_value(payload: bytes) -> tuple[int, float | int]:
    value = protocol.parse_config_value(payload)
    return value.key, value.value


def decode_adv(payload: bytes) -> bytes:
    return protocol.parse_adv(payload)


def decode_error(payload: bytes) -> tuple[int, int, str]:
    """(code, offending_type, text) of an ERROR reply."""
    e = protocol.parse_error(payload)
    return e.code, e.offending_type, e.text
