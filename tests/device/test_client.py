"""The client's deadlines and failure modes: silence, a vanished port, a port that never existed."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tinyad.device import codec
from tinyad.device.client import DeviceClient
from tinyad.errors import DeviceError
from tinyad.sil.pty import PtyPort


def test_a_silent_device_times_out_after_the_retries():
    pty = PtyPort()  # nobody answers on the other side
    try:
        with DeviceClient(pty.path, timeout_s=0.2, tries=2) as client:
            start = time.monotonic()
            with pytest.raises(DeviceError, match="no reply to HELLO after 2 tries"):
                client.info()
            elapsed = time.monotonic() - start
        assert 0.35 < elapsed < 1.5
        # Both tries reached the line, each with its own sequence number.
        decoder = codec.new_decoder()
        frames = decoder.feed(pty.read(0.2))
        assert [(f.type, f.seq) for f in frames] == [(codec.MSG["HELLO"], 1), (codec.MSG["HELLO"], 2)]
    finally:
        pty.close()


def test_a_late_reply_to_an_earlier_try_is_not_taken_for_the_current_one():
    pty = PtyPort()
    try:
        def device():
            # Answers only the second HELLO, first with a stale reply carrying the first try's seq.
            decoder = codec.new_decoder()
            seen = []
            deadline = time.monotonic() + 3
            while len(seen) < 2 and time.monotonic() < deadline:
                seen += decoder.feed(pty.read(0.05))
            pty.write(codec.encode_frame(codec.MSG["ACK"], seen[0].seq, b"\x01"))
            pty.write(codec.encode_frame(codec.MSG["ACK"], seen[1].seq, b"\x03"))

        thread = threading.Thread(target=device)
        thread.start()
        with DeviceClient(pty.path, timeout_s=0.3, tries=3) as client:
            reply = client.request(codec.MSG["STREAM_START"], expect=codec.MSG["ACK"])
            assert reply == b"\x03"
            assert client.stale_replies == 1
        thread.join()
    finally:
        pty.close()


def test_a_port_that_does_not_exist_gives_a_clear_error():
    with pytest.raises(DeviceError, match="cannot open /dev/tinyad-no-such-port") as err:
        DeviceClient("/dev/tinyad-no-such-port")
    assert "port" in err.value.hint


def test_a_device_that_vanishes_mid_command_raises_device_error(start_sil):
    sil = start_sil()
    with DeviceClient(sil.port, timeout_s=0.3, tries=1) as client:
        client.info()
        sil.stop()
        with pytest.raises(DeviceError) as err:
            client.infer(np.zeros((32, 6), np.int16))
    assert sil.port in str(err.value)
    assert "vanished" in str(err.value)


def test_a_device_that_vanishes_while_streaming_raises_device_error(start_sil):
    sil = start_sil(speed=0)
    frames = 0
    with DeviceClient(sil.port) as client:
        with pytest.raises(DeviceError, match="vanished"):
            for _ in client.stream(seconds=5, idle_timeout_s=1.0):
                frames += 1
                if frames == 20:
                    sil.stop()
    assert frames >= 20


def first_request(pty: PtyPort, within_s: float = 3.0):
    """The first frame a client sends to a stand-in device on `pty` (decoded), waiting at most `within_s`."""
    decoder = codec.new_decoder()
    deadline = time.monotonic() + within_s
    seen = []
    while not seen and time.monotonic() < deadline:
        seen += decoder.feed(pty.read(0.05))
    return seen[0]


def test_a_reply_in_another_protocol_version_is_refused():
    from tinyad import protocol

    pty = PtyPort()
    try:
        def device():
            request = first_request(pty)
            body = protocol.encode_body(codec.MSG["ACK"], request.seq, b"\x03", version=codec.PROTOCOL_VERSION + 1)
            pty.write(protocol.cobs_encode(body) + b"\x00")

        thread = threading.Thread(target=device)
        thread.start()
        with DeviceClient(pty.path, timeout_s=0.5, tries=1) as client:
            with pytest.raises(DeviceError, match=f"protocol version {codec.PROTOCOL_VERSION + 1}"):
                client.request(codec.MSG["STREAM_START"], expect=codec.MSG["ACK"])
        thread.join()
    finally:
        pty.close()


def test_frames_waiting_on_the_port_are_read_after_the_host_was_paused_past_the_deadline():
    from tinyad.device.transport import SerialTransport

    frame = codec.encode_frame(codec.MSG["ACK"], 7)

    class Buffered:  # the port after a pause: the device's frames are waiting, the deadline has passed
        def __init__(self, *args, **kwargs):
            self.waiting = bytearray(frame * 3)

        @property
        def in_waiting(self):
            return len(self.waiting)

        def read(self, n):
            chunk, self.waiting[:] = bytes(self.waiting[:n]), self.waiting[n:]
            return chunk

        def close(self):
            pass

    transport = SerialTransport("paused", serial_factory=Buffered)
    passed = time.monotonic() - 1.0
    assert [transport.next_frame(passed).seq for _ in range(3)] == [7, 7, 7]
    assert transport.next_frame(passed) is None  # nothing more waiting: now the device is silent


def test_a_stream_starts_with_the_frames_after_its_start_not_those_left_on_the_port():
    """A client killed while streaming never sent STREAM_STOP: the device's frames wait on the port, and the next
    stream must not take them for its own."""
    from tinyad import protocol

    def samples(seq: int, first: int) -> bytes:
        payload = protocol.pack_samples(protocol.Samples(first, 0, 1, 3, [0] * 24))
        return protocol.cobs_encode(protocol.encode_body(codec.MSG["SAMPLES"], seq, payload)) + b"\x00"

    pty = PtyPort()
    try:
        for i in range(5):  # the frames a killed recorder left: samples 0 .. 39
            pty.write(samples(i, 8 * i))

        def device():
            request = first_request(pty)
            pty.write(samples(5, 40))  # still the old stream's, before the ACK
            pty.write(protocol.cobs_encode(protocol.encode_body(codec.MSG["ACK"], request.seq, b"")) + b"\x00")
            for i in range(6, 9):  # the new stream's: from sample 48
                pty.write(samples(i, 8 * i))

        time.sleep(0.2)  # the backlog is on the port before the client opens it
        thread = threading.Thread(target=device)
        thread.start()
        with DeviceClient(pty.path, timeout_s=1.0, tries=1) as client:
            client.start_stream()
            first = next(client.frames(idle_timeout_s=1.0))
        thread.join()
        assert first.first_sample_seq == 48
    finally:
        pty.close()
