"""Framing for the host side of the link, as the client needs it: a thin adapter over the Python reference codec
tinyad.protocol (COBS + header + CRC-32, docs/protocol.md).

The host deliberately decodes with the independent Python codec while the SIL device runs the firmware's C++
decoder and encoder (tinyad._core.Device): every SIL round trip is also a cross-check of the two.
Message ids, config keys, error codes and limits are the firmware's (through tinyad._core).
"""

from __future__ import annotations

from tinyad import protocol
from tinyad.protocol import MAX_PAYLOAD, PROTOCOL_VERSION, Frame, FrameDecoder, cobs_decode, cobs_encode, encode_frame  # noqa: F401

MSG: dict[str, int] = {m.name: int(m) for m in protocol.MsgType}
UNSOLICITED = frozenset({MSG["SAMPLES"], MSG["SCORE"]})


def message_name(msg_type: int) -> str:
    try:
        return protocol.MsgType(msg_type).name
    except ValueError:
        return f"UNKNOWN(0x{msg_type:02x})"


def error_name(code: int) -> str:
    try:
        return protocol.ErrorCode(code).name
    except ValueError:
        return f"ERROR_{code}"


def config_key(key: int | str) -> tuple[int, int]:
    """(key id, kind 0 = i32 / 1 = f32) for a key name ("EWMA_ALPHA", "AFFINE_SCALE+2": channel 2) or an id."""
    if isinstance(key, str):
        name, _, channel = key.partition("+")
        key_id, info = protocol.config_key(name, int(channel or 0))
    else:
        key_id, info = protocol.config_key(int(key))
    return key_id, info.kind


def new_decoder() -> FrameDecoder:
    """A streaming decoder: feed(bytes) -> complete valid frames; `bad_frames` and `counters` count the rest."""
    return FrameDecoder()
