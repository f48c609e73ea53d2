"""Framing for the host side of the link, as the client needs it: a thin adapter over the Python reference codec
tinyad.protocol (COBS + header + CRC-32, docs/protocol.md).

The host deliberately decodes with the independent Python codec while the SIL device runs the firmware's C++
decoder and encoder (tinyad._core.Device): every SIL round trip is also a cross-check of the two.
Message ids, config keys, error codes and limits are the firmware's (through tinyad._core).
"""

from __future__ import annotations

from tinyad import protocol
from tinyad.errors import InputError
from tinyad.protocol import (MAX_PAYLOAD, PROTOCOL_VERSION, Frame, FrameDecoder, cobs_decode,  # noqa: F401
                             cobs_encode, encode_frame)

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
    """(key id, kind 0 = i32 / 1 = f32) for a key name ("EWMA_ALPHA", "AFFINE_SCALE+2": channel 2) or an id.

    A per-channel key needs its channel (+c): without it, "AFFINE_SCALE" would silently mean channel 0."""
    if isinstance(key, str):
        name, plus, channel = key.partition("+")
        info = protocol.config_key(name)[1]  # InputError for an unknown name
        slots = f"{info.name}+0 .. +{info.count - 1} (one per model channel; `tinyad info` shows how many)"
        if info.count > 1 and not plus:
            raise InputError(f"{info.name} is a per-channel key: give the channel as {info.name}+c", hint=slots)
        if plus and info.count == 1:
            raise InputError(f"config key {key!r}: {info.name} has no channels", hint=f"give {info.name}")
        if plus:
            if not (channel.strip().isascii() and channel.strip().isdigit()):  # not '²': int() refuses it
                raise InputError(f"config key {key!r}: the channel after '+' must be a whole number, "
                                 f"got {channel!r}",
                                 hint=slots if info.count > 1 else f"{info.name} has no channels: give {info.name}")
            if not int(channel) < info.count:
                raise InputError(f"config key {key!r}: channel {int(channel)} is out of range",
                                 hint=slots if info.count > 1 else f"{info.name} has no channels: give {info.name}")
        key_id, info = protocol.config_key(name, int(channel or 0))
    else:
        key_id, info = protocol.config_key(int(key))
    return key_id, info.kind


def new_decoder() -> FrameDecoder:
    """A streaming decoder: feed(bytes) -> complete valid frames; `bad_frames` and `counters` count the rest."""
    return FrameDecoder()
