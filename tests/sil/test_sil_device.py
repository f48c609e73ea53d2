"""The SIL device: the firmware core answering the protocol on a pty, the model run by the host TFLM."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import serial

from tinyad.device import codec
from tinyad.device.client import DeviceClient, DeviceRequestError
from tinyad.device.messages import SamplesFrame, ScoreFrame
from tinyad.device.reference import HostReference
from tinyad.errors import InputError
from tinyad.model_settings import sha256_file


def test_info_describes_the_model_the_sil_runs(sil, tiny_model):
    model_path, settings = tiny_model
    with DeviceClient(sil.port) as client:
        info = client.info()
    assert info.model_sha256 == sha256_file(model_path)
    assert (info.window, info.hop, info.channels, info.n_classes) == (32, 16, 6, 2)
    assert info.is_sil
    assert info.accel_full_scale_g == 4.0 and info.gyro_full_scale_dps == 500.0
    assert info.dlpf_bandwidth_hz == 44.0  # the synthetic motor's (100 Hz: DLPF_CFG 3); the model records none
    assert np.float32(info.input_scale) == np.float32(settings.input_scale)
    assert info.input_zero_point == settings.input_zero_point
    # a[c] = units_per_count / (std * input_scale), folded in float64 and rounded once to float32.
    expected_a = np.float32(4.0 / 32768 / (0.1 * settings.input_scale))
    assert np.float32(info.affine_scale[0]) == expected_a


def test_infer_matches_host_preprocessing_and_tflm(sil, tiny_model, normal_source):
    model_path, settings = tiny_model
    ref = HostReference(model_path, settings)
    with DeviceClient(sil.port) as client:
        for start in (0, 100, 555):
            raw = normal_source.counts[start: start + 32]
            result = client.infer(raw)
            host_input = ref.input_for(raw)
            np.testing.assert_array_equal(result.input, host_input)
            np.testing.assert_array_equal(result.output, ref.output_for(host_input))
            q = result.output.astype(int)
            assert result.score == np.float32(q[1] - q[0]) * np.float32(settings.output_scale)


def test_infer_with_the_wrong_window_is_rejected_with_bad_shape(sil):
    with DeviceClient(sil.port) as client:
        with pytest.raises(DeviceRequestError) as err:
            client.infer(np.zeros((31, 6), np.int16))
        assert err.value.code_name == "BAD_SHAPE"
        assert client.status().requests_rejected == 1


def test_garbage_on_the_line_is_skipped_and_counted(sil):
    port = serial.Serial(sil.port, timeout=0.05)
    try:
        hello = codec.encode_frame(codec.MSG["HELLO"], 7)
        bad_crc = bytearray(codec.encode_frame(codec.MSG["STATUS_REQ"], 8))
        bad_crc[-3] ^= 0x55  # a CRC byte (never 0 after the flip here: COBS keeps the frame intact)
        assert 0 not in bad_crc[:-1]
        # noise without a delimiter, then a valid HELLO; a frame with a bad CRC; a too-short frame.
        port.write(b"\x13\x37\xff" + hello + bytes(bad_crc) + codec.cobs_encode(b"\x01\x0c") + b"\x00" + hello)
        decoder = codec.new_decoder()
        frames = []
        deadline = time.monotonic() + 2
        while len(frames) < 1 and time.monotonic() < deadline:
            frames += decoder.feed(port.read(4096))
        # The first HELLO was glued to the noise (no delimiter in between): lost; only the last one answers.
        assert [(f.type, f.seq) for f in frames] == [(codec.MSG["INFO"], 7)]
    finally:
        port.close()
    with DeviceClient(sil.port) as client:
        status = client.status()
    # The noise's first byte 0x13 claims a 19-byte COBS block in a 14-byte chunk: a COBS error.
    assert (status.frames_bad_cobs, status.frames_bad_crc, status.frames_bad_length) == (1, 1, 1)
    assert status.frames_ok == 2  # the last HELLO and this STATUS_REQ


def test_stream_delivers_the_source_samples_in_order_and_scores_every_hop(start_sil, normal_source):
    sil = start_sil(speed=0)
    samples, scores = [], []
    with DeviceClient(sil.port) as client:
        for frame in client.stream(seconds=0.5):
            (samples if isinstance(frame, SamplesFrame) else scores).append(frame)
    assert len(samples) > 20 and len(scores) > 5
    first = samples[0].first_sample_seq
    raw = np.concatenate([f.raw for f in samples])
    seqs = [f.first_sample_seq for f in samples]
    assert seqs == list(range(first, first + 8 * len(samples), 8))
    np.testing.assert_array_equal(raw, normal_source.take(first, len(raw)))
    assert all(isinstance(f, ScoreFrame) for f in scores)
    ends = np.diff([f.last_sample_seq for f in scores])
    assert set(ends.tolist()) == {16}  # one window per hop
    assert np.diff([f.window_index for f in scores]).tolist() == [1] * (len(scores) - 1)


def test_corrupted_invokes_flip_one_bit_of_the_first_logit(start_sil, tiny_model, normal_source):
    model_path, settings = tiny_model
    sil = start_sil(corrupt_invokes={1})
    ref = HostReference(model_path, settings)
    raw = normal_source.counts[:32]
    expected = ref.output_for(ref.input_for(raw))
    with DeviceClient(sil.port) as client:
        outputs = [client.infer(raw).output for _ in range(3)]
    np.testing.assert_array_equal(outputs[0], expected)
    assert outputs[1][0] == expected[0] ^ 1 and outputs[1][1] == expected[1]
    np.testing.assert_array_equal(outputs[2], expected)


def test_adv_returns_the_bthome_advertisement(sil):
    with DeviceClient(sil.port) as client:
        client.infer(np.zeros((32, 6), np.int16))  # INFER does not touch the alert state: nothing scored yet
        adv = client.adv()
        for _ in client.stream(seconds=0.3):
            pass
        adv_after = client.adv()
    assert adv == b""
    # Flags AD 02 01 06, then service data for UUID 0xFCD2 (little-endian d2 fc), BTHome v2 unencrypted (0x40).
    assert adv_after[:3] == bytes([2, 1, 6])
    assert adv_after[5:8] == bytes([0xD2, 0xFC, 0x40])


def test_settings_of_another_model_are_refused(tmp_path, tiny_model):
    from tinyad.sil.device import SilDevice

    model_path, settings = tiny_model
    other = tmp_path / "model.tflite"
    shutil.copy(model_path, other)
    with open(other, "ab") as f:
        f.write(b"\0" * 16)  # same model, other bytes: another hash
    settings.save(tmp_path / "model_settings.json")
    with pytest.raises(InputError, match="differs from the one in its model settings"):
        SilDevice(other)


def test_a_model_beyond_the_cores_limits_is_refused_naming_the_limit(tmp_path, tiny_model):
    from dataclasses import replace

    from tinyad.sil.device import SilDevice

    model_path, settings = tiny_model
    too_long = replace(settings, window=100)  # 100 x 6 channels: over the core's 512 values per window
    with pytest.raises(InputError) as refused:
        SilDevice(model_path, settings=too_long)
    assert str(refused.value) == ("the firmware core rejects this model for the SIL: window 100 x 6 channels = "
                                  "600 values > 512 (at most 85 samples with 6 channels)")
    assert refused.value.hint == "re-train with a smaller `tinyad train --window` (the core's limits: docs/protocol.md)"


def test_config_round_trip_and_range_check(sil):
    with DeviceClient(sil.port) as client:
        assert client.config_set("EWMA_ALPHA", 0.25) == 0.25
        assert client.config_get("EWMA_ALPHA") == 0.25
        with pytest.raises(DeviceRequestError) as err:
            client.config_set("EWMA_ALPHA", 2.0)
        assert err.value.code_name == "OUT_OF_RANGE"
        assert client.config_get("EWMA_ALPHA") == 0.25
        assert client.config_get("WINDOW") == 32


def test_running_sil_yields_a_port_and_the_port_vanishes_on_exit(tiny_model, normal_source):
    from tinyad.errors import DeviceError
    from tinyad.sil.device import running_sil

    model_path, _ = tiny_model
    with running_sil(model_path, source=normal_source, speed=0) as port:
        client = DeviceClient(port, timeout_s=0.3, tries=1)
        assert client.info().model_sha256 == sha256_file(model_path)
    with pytest.raises(DeviceError, match="vanished"):
        client.status()
    client.close()


def test_the_models_alert_defaults_reach_the_core(start_sil, tiny_model):
    import dataclasses

    _, settings = tiny_model
    custom = dataclasses.replace(settings, threshold_on=2.5, threshold_off=0.25, min_windows=7, ewma_alpha=0.125)
    sil = start_sil(settings=custom)
    with DeviceClient(sil.port) as client:
        info = client.info()
        assert (info.threshold_on, info.threshold_off) == (2.5, 0.25)
        assert client.config_get("MIN_WINDOWS") == 7 and client.config_get("EWMA_ALPHA") == 0.125
