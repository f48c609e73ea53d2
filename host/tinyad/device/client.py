"""A typed client for the device protocol (docs/protocol.md): the same calls work against a board and the SIL.

    with DeviceClient("/dev/ttyUSB0") as dev:
        info = dev.info()
        result = dev.infer(raw_window)       # InferResult: the device's int8 input and output tensors
        for frame in dev.stream(seconds=10): # SamplesFrame / ScoreFrame while streaming
            ...

Every request has a deadline and is retried on silence (a corrupt frame gets no reply by design); a port that
vanishes raises DeviceError naming the port.
"""

from __future__ import annotations

import time
from typing import Iterator

import numpy as np

from tinyad.device import codec, messages
from tinyad.device.messages import DeviceInfo, DeviceStatus, InferResult, SamplesFrame, ScoreFrame
from tinyad.device.transport import SerialTransport
from tinyad.errors import DeviceError

REQUEST_TIMEOUT_S = 0.5
REQUEST_TRIES = 3
# Model invoke on an ESP32 without ESP-NN can take hundreds of ms: INFER gets a longer deadline.
INFER_TIMEOUT_S = 3.0


class DeviceRequestError(DeviceError):
    """The device answered a request with ERROR (code and text are kept)."""

    def __init__(self, message: str, code: int, code_name: str, text: str, hint: str | None = None):
        super().__init__(message, hint)
        self.code = code
        self.code_name = code_name
        self.text = text


class DeviceClient:
    """Requests and replies over a SerialTransport. Use as a context manager, or call close()."""

    def __init__(self, port: str, timeout_s: float = REQUEST_TIMEOUT_S, tries: int = REQUEST_TRIES,
                 transport: SerialTransport | None = None):
        self.port = port
        self.timeout_s = timeout_s
        self.tries = tries
        self.transport = transport or SerialTransport(port)
        self._seq = 0
        self._info: DeviceInfo | None = None
        # Unsolicited frames (SAMPLES/SCORE) that arrived while waiting for a reply, kept for stream().
        self.stashed: list = []
        self.stale_replies = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- requests --------------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def request(self, msg_type: int, payload: bytes = b"", expect: int | None = None,
                timeout_s: float | None = None, tries: int | None = None) -> bytes:
        """Send one request and return the payload of its reply (matched by seq); retries on silence.

        Raises DeviceRequestError for an ERROR reply, DeviceError when no reply comes in time."""
        timeout_s = timeout_s or self.timeout_s
        tries = tries or self.tries
        name = codec.message_name(msg_type)
        for _attempt in range(tries):
            seq = self._next_seq()
            self.transport.send(codec.encode_frame(msg_type, seq, payload))
            deadline = time.monotonic() + timeout_s
            # While streamed frames keep coming the link is alive and the reply may be queued behind them:
            # wait longer, but never more than this.
            hard_deadline = time.monotonic() + max(4 * timeout_s, 2.0)
            while True:
                frame = self.transport.next_frame(deadline)
                if frame is None:
                    break  # silence: retry with a new seq
                if frame.type in codec.UNSOLICITED:
                    self.stashed.append(frame)
                    deadline = min(hard_deadline, max(deadline, time.monotonic() + timeout_s))
                    continue
                if frame.seq != seq:
                    self.stale_replies += 1  # a late reply to an earlier, retried request
                    continue
                if frame.version != codec.PROTOCOL_VERSION:
                    raise DeviceError(f"{self.port}: the device speaks protocol version {frame.version}, this "
                                      f"tinyad speaks {codec.PROTOCOL_VERSION}",
                                      hint="update the board's firmware or tinyad so that both match")
                if frame.type == codec.MSG["ERROR"]:
                    code, offending, text = messages.decode_error(frame.payload)
                    code_name = codec.error_name(code)
                    raise DeviceRequestError(
                        f"{self.port}: the device rejected {name}: {code_name} ({text})", code, code_name, text,
                        hint=_error_hint(code_name))
                if expect is not None and frame.type != expect:
                    raise DeviceError(f"{self.port}: {name} answered with {codec.message_name(frame.type)}, "
                                      f"expected {codec.message_name(expect)}")
                return frame.payload
        note = self.transport.unframed_note()
        if note:  # something talks on this port, just not tinyad frames: say so rather than "silence"
            raise DeviceError(f"{self.port}: no reply to {name} after {tries} tries of {timeout_s:g} s; {note}",
                              hint="wrong firmware, or a baud rate other than the board's? (flash the tinyad "
                                   "firmware; set $TINYAD_BAUD to the board's rate)")
        raise DeviceError(
            f"{self.port}: no reply to {name} after {tries} tries of {timeout_s:g} s",
            hint="is a tinyad board (or `tinyad sim`) on this port, and no other program reading it?")

    def info(self, refresh: bool = False) -> DeviceInfo:
        """HELLO -> INFO: firmware, sensor, full scale, sample rate, model hash and quantization."""
        if self._info is None or refresh:
            self._info = DeviceInfo.decode(self.request(codec.MSG["HELLO"], expect=codec.MSG["INFO"]))
        return self._info

    def status(self) -> DeviceStatus:
        return DeviceStatus.decode(self.request(codec.MSG["STATUS_REQ"], expect=codec.MSG["STATUS"]))

    def infer(self, raw_window: np.ndarray, timeout_s: float = INFER_TIMEOUT_S) -> InferResult:
        """Run the device's preprocessing + model + scoring on one window of raw counts (window, channels)."""
        payload = messages.encode_infer_request(raw_window)  # InputError for a window that is not int16 counts
        reply = self.request(codec.MSG["INFER_REQ"], payload, expect=codec.MSG["INFER_RESP"], timeout_s=timeout_s)
        return InferResult.decode(reply)

    def config_get(self, key: int | str):
        key_id, _kind = codec.config_key(key)
        got_key, value = messages.decode_config_value(
            self.request(codec.MSG["CONFIG_GET"], messages.encode_config_get(key_id), expect=codec.MSG["CONFIG_VALUE"]))
        return value

    def config_set(self, key: int | str, value):
        """Set a config key; returns the value the device stored."""
        key_id, _kind = codec.config_key(key)
        got_key, stored = messages.decode_config_value(
            self.request(codec.MSG["CONFIG_SET"], messages.encode_config_set(key_id, value),
                         expect=codec.MSG["CONFIG_VALUE"]))
        return stored

    def adv(self) -> bytes:
        """The legacy BLE advertisement (AD structures) the device broadcasts now; b"" when not advertising."""
        return messages.decode_adv(self.request(codec.MSG["ADV_GET"], expect=codec.MSG["ADV"]))

    def set_bind_key(self, key: bytes | None) -> bytes:
        """BIND_KEY_SET: encrypt the BLE advertisements with this 16-byte BTHome bind key (None: switch encryption
        off). Returns the key's 4-byte check value as the device computed it (b"" when switched off); the device
        never sends the key back. InputError for a key that is not 16 bytes."""
        from tinyad import protocol

        payload = protocol.pack_bind_key_set(key)
        reply = self.request(codec.MSG["BIND_KEY_SET"], payload, expect=codec.MSG["ACK"])
        check = protocol.parse_bind_key_ack(reply)
        if payload and check != protocol.bind_key_check_value(payload):
            raise DeviceError(f"{self.port}: the device acknowledged the bind key with check value {check.hex()}, "
                              f"expected {protocol.bind_key_check_value(payload).hex()}",
                              hint="the key was corrupted on the way or the firmware computes another check value")
        return check

    def start_stream(self, decimation: int | None = None) -> None:
        """STREAM_START; what waited on the port before it is discarded. A client killed while streaming (kill -9)
        never sent STREAM_STOP: the device streams on and its frames pile up on the port, where the next stream
        would take them for its own (seconds old, under another label, at another decimation)."""
        payload = b"" if decimation is None else int(decimation).to_bytes(2, "little")
        self.transport.reset_input()
        self.stashed.clear()
        self.request(codec.MSG["STREAM_START"], payload, expect=codec.MSG["ACK"])
        self.stashed.clear()  # frames that came before the ACK belong to the stream before it

    def stop_stream(self) -> None:
        """STREAM_STOP; samples already in flight are discarded afterwards."""
        self.request(codec.MSG["STREAM_STOP"], expect=codec.MSG["ACK"])
        self.transport.drain()
        self.stashed.clear()

    # -- streaming -------------------------------------------------------------------------------------
    def frames(self, idle_timeout_s: float = 2.0) -> Iterator[SamplesFrame | ScoreFrame]:
        """Decoded unsolicited frames, forever; DeviceError when the device stays silent for idle_timeout_s."""
        while True:
            while self.stashed:
                yield self.decode_unsolicited(self.stashed.pop(0))
            frame = self.transport.next_frame(time.monotonic() + idle_timeout_s)
            if frame is None:
                raise DeviceError(f"{self.port}: no data for {idle_timeout_s:g} s while streaming",
                                  hint="the device stopped streaming or the link is broken")
            if frame.type in codec.UNSOLICITED:
                yield self.decode_unsolicited(frame)
            # replies to nothing (late retries, ACKs) are skipped

    def stream(self, seconds: float | None = None, decimation: int | None = None,
               idle_timeout_s: float = 2.0) -> Iterator[SamplesFrame | ScoreFrame]:
        """Start streaming, yield frames for `seconds` (None: until the caller stops), then stop streaming."""
        self.start_stream(decimation)
        end = None if seconds is None else time.monotonic() + seconds
        try:
            for frame in self.frames(idle_timeout_s):
                yield frame
                if end is not None and time.monotonic() >= end:
                    break
        finally:
            try:
                self.stop_stream()
            except DeviceError:
                pass  # the port may be gone; the caller already has (or will get) that error

    @staticmethod
    def decode_unsolicited(frame) -> SamplesFrame | ScoreFrame:
        """A stashed SAMPLES or SCORE frame (see `stashed`) as its typed payload."""
        if frame.type == codec.MSG["SAMPLES"]:
            return SamplesFrame.decode(frame.seq, frame.payload)
        return ScoreFrame.decode(frame.seq, frame.payload)

    _decode_unsolicited = decode_unsolicited  # older name, used by tinyad.ble.latency


def _error_hint(code_name: str) -> str | None:
    return {
        "BAD_SHAPE": "the window must have exactly the model's window length and channel count (see `tinyad info`)",
        "UNKNOWN_TYPE": "the device firmware is older than this tinyad; update it",
        "BAD_VERSION": "the device speaks another protocol version; update its firmware or tinyad",
        "SENSOR_ERROR": "check the IMU wiring (I2C SDA/SCL, power) and reset the board",
        "UNSUPPORTED": "this firmware build lacks the feature",
        "OUT_OF_RANGE": "see docs/protocol.md for the valid range of each config key",
        "CONFLICT": "THRESHOLD_OFF must stay <= THRESHOLD_ON: lower OFF first, raise ON first",
        "STORAGE_ERROR": "the device could not store the setting (NVS flash); the previous one stays in force",
    }.get(code_name)
