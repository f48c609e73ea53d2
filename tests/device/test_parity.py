"""`tinyad parity`: bit-exact device vs host TFLM, corrupted outputs named, another model refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.device.parity import real_windows, run_parity
from tinyad.errors import ModelMismatchError
from tinyad.model_settings import sha256_file


def _windows(source, n, window=32, stride=5):
    return np.stack([source.take(i * stride, window) for i in range(n)])


def test_parity_over_hundreds_of_windows_is_bit_exact(sil, tiny_model, normal_source):
    model_path, _ = tiny_model
    report = run_parity(sil.port, model_path, _windows(normal_source, 300))
    assert report.device_ok, report.summary()
    assert report.n_windows == 300 and len(report.round_trip_ms) == 300
    assert report.constant_mismatches == []
    assert report.tflite is not None and report.tflite.n_windows == 300
    # TFLite vs TFLM is informational: whatever it finds, the verdict on the device does not change.
    assert "PASS" in report.summary()


def test_parity_follows_the_device_score_kind(sil, tiny_model, normal_source):
    from tinyad.device.client import DeviceClient

    model_path, _ = tiny_model
    with DeviceClient(sil.port) as client:
        assert client.config_set("SCORE_KIND", 1) == 1  # the probability becomes the alert input
        report = run_parity(sil.port, model_path, _windows(normal_source, 60), client=client, compare_tflite=False)
        client.config_set("SCORE_KIND", 0)
    # the host computes the probability with the core's own exp, so it is compared bit for bit
    assert report.score_kind == 1 and report.device_ok, report.summary()
    assert "score = probability" in report.summary()


def test_a_corrupted_device_output_is_detected_and_named(start_sil, tiny_model, normal_source):
    model_path, _ = tiny_model
    sil = start_sil(corrupt_invokes={3, 17})
    report = run_parity(sil.port, model_path, _windows(normal_source, 40), compare_tflite=False)
    assert not report.device_ok
    assert report.output_mismatches == [3, 17] and report.input_mismatches == []
    assert report.score_mismatches == [3, 17]  # the score follows the corrupted logit
    first = report.details[0]
    assert (first.window, first.tensor, first.n_different, first.first_index) == (3, "output", 1, 0)
    assert abs(first.device_value - first.host_value) == 1  # one flipped low bit
    summary = report.summary()
    assert "window 3: output differs" in summary and "window 17: output differs" in summary
    assert "FAIL: 2 window(s) differ: 3, 17" in summary


def test_parity_refuses_a_device_running_another_model(sil, tiny_model, tmp_path, normal_source):
    model_path, settings = tiny_model
    other = tmp_path / "model.tflite"
    shutil.copy(model_path, other)
    with open(other, "ab") as f:
        f.write(b"\0" * 16)
    with pytest.raises(ModelMismatchError) as err:
        run_parity(sil.port, other, _windows(normal_source, 3))
    message = str(err.value)
    assert sha256_file(model_path) in message and sha256_file(other) in message
    assert sil.invokes == 0  # refused before any window was sent


def test_parity_cli_exit_codes(start_sil, tiny_model, normal_source, tmp_path, capsys):
    from tinyad.session import Session, SessionMeta, write_session

    model_path, settings = tiny_model
    counts = normal_source.counts[:400]
    data = (counts.astype(np.float64) * np.asarray(settings.units_per_count)).astype(np.float32)
    session = write_session(tmp_path / "s.parquet",
                            Session(np.arange(400) / 100.0, data, SessionMeta(100.0, "normal", settings.channels)))
    good = start_sil()
    args = ["parity", "--model", str(model_path), "--session", str(session), "--windows", "50", "--no-tflite"]
    assert main(args + ["--port", good.port]) == 0
    assert "50/50 windows bit-exact" in capsys.readouterr().out
    bad = start_sil(corrupt_invokes={7})
    assert main(args + ["--port", bad.port]) == 5
    captured = capsys.readouterr()
    assert "window 7: output differs" in captured.out and "1 of 50 windows differ" in captured.err
    assert "ESP-NN off" in captured.err  # outputs differ, inputs agree: a kernel may be to blame
    from tinyad.device.client import DeviceClient

    with DeviceClient(good.port) as client:  # a constant of the model changed on the device
        client.config_set("INPUT_ZERO_POINT", settings.input_zero_point + 1)
    assert main(args + ["--port", good.port]) == 5
    captured = capsys.readouterr()
    assert "device constant differs from the model settings: input zero point" in captured.out
    assert "preprocessing constants differ" in captured.err and "ESP-NN" not in captured.err
    good = start_sil()
    assert main(["parity", "--model", str(model_path), "--windows", "5", "--port", good.port, "--data",
                 str(tmp_path)]) == 2
    assert "with --session FILE" in capsys.readouterr().err  # no public data: your own recordings will do
    other = tmp_path / "other" / "model.tflite"
    other.parent.mkdir()
    shutil.copy(model_path, other)
    settings.save(other.parent / "model_settings.json")
    with open(other, "ab") as f:
        f.write(b"\0")
    assert main(["parity", "--model", str(other), "--session", str(session), "--windows", "5",
                 "--port", good.port]) == 4
    assert sha256_file(other) in capsys.readouterr().err


def test_parity_on_real_imu_windows(sil, tiny_model, shared_data):
    model_path, settings = tiny_model
    windows, description = real_windows(settings, 200, shared_data)
    assert windows.shape == (200, 32, 6) and "motor_mpu6050" in description
    report = run_parity(sil.port, model_path, windows, compare_tflite=False)
    assert report.device_ok, report.summary()


def test_session_windows_cover_the_session_and_refuse_bad_sessions(tiny_model, tmp_path):
    from tinyad.device.parity import session_windows
    from tinyad.errors import InputError
    from tinyad.session import Session, SessionMeta, write_session

    _, settings = tiny_model
    n = 100
    data = np.tile(np.arange(n, dtype=np.float32)[:, None] * np.float32(4.0 / 32768), (1, 6))
    data[:, 3:] = np.arange(n, dtype=np.float32)[:, None] * np.float32(500.0 / 32768)
    path = write_session(tmp_path / "ramp.parquet",
                         Session(np.arange(n) / 100.0, data, SessionMeta(100.0, "normal", settings.channels)))
    windows, description = session_windows(path, settings, 10)
    # 69 possible starts / 10 windows -> stride 6; a ramp of counts makes every window start visible.
    assert windows.shape == (10, 32, 6) and "stride 6" in description
    np.testing.assert_array_equal(windows[:, 0, 0], np.arange(0, 60, 6))
    np.testing.assert_array_equal(windows[3, :, 5], np.arange(18, 50))
    windows, description = session_windows(path, settings, 1000)  # more than the 69 starts: every one, said so
    assert len(windows) == 69 and description.endswith(
        "69 windows (of the 1000 asked: a 100-sample session holds no more windows of 32), stride 1 samples")
    short = write_session(tmp_path / "short.parquet",
                          Session(np.arange(20) / 100.0, data[:20], SessionMeta(100.0, "normal", settings.channels)))
    with pytest.raises(InputError, match="shorter than one window"):
        session_windows(short, settings, 10)
    accel = write_session(tmp_path / "accel.parquet",
                          Session(np.arange(n) / 100.0, data[:, :3], SessionMeta(100.0, "normal", ["ax", "ay", "az"])))
    with pytest.raises(InputError, match="lacks the model's channels"):
        session_windows(accel, settings, 10)


def test_a_model_that_is_not_tflite_is_named_as_such(tmp_path, tiny_model):
    import shutil

    from tinyad.device.reference import load_settings_for
    from tinyad.errors import InputError

    keras_file = tmp_path / "model.keras"
    keras_file.write_bytes(b"PK\x03\x04" + bytes(60))  # a .keras file is a zip archive
    model_path, _ = tiny_model
    shutil.copy(model_path.with_name("model_settings.json"), tmp_path / "model_settings.json")
    with pytest.raises(InputError, match="not a .tflite model") as err:
        load_settings_for(keras_file)
    assert "tinyad quantize" in err.value.hint
    assert load_settings_for(model_path).tflite_sha256  # the real one still loads


def test_parity_accepts_a_device_within_the_rate_tolerance_of_the_model():
    from types import SimpleNamespace

    from tinyad.device.parity import check_sample_rate

    # a SIL replaying an imported session reports its measured rate, e.g. 99.98 Hz: the model's rate
    check_sample_rate(SimpleNamespace(sample_rate_hz=99.98), "m.tflite", 100.0)
    with pytest.raises(ModelMismatchError, match="samples at 103 Hz, but m.tflite was trained at 100 Hz"):
        check_sample_rate(SimpleNamespace(sample_rate_hz=103.0), "m.tflite", 100.0)


def test_parity_checks_the_dlpf_only_where_both_sides_know_it():
    from types import SimpleNamespace

    from tinyad.device.parity import check_dlpf

    for device_hz, model_hz in ((44.0, 44.0), (0.0, 94.0), (44.0, 0.0)):  # 0: imported data, an old recording
        check_dlpf(SimpleNamespace(dlpf_bandwidth_hz=device_hz), "m.tflite", model_hz)
    with pytest.raises(ModelMismatchError, match="filters at 44 Hz .DLPF., but m.tflite was trained on recordings "
                                                 "filtered at 94 Hz") as err:
        check_dlpf(SimpleNamespace(dlpf_bandwidth_hz=44.0), "m.tflite", 94.0)
    assert "CONFIG_TINYAD_DLPF_CFG=2" in err.value.hint


def test_parity_refuses_a_sil_replaying_data_filtered_otherwise_than_the_models(start_sil, tiny_model,
                                                                                 normal_source):
    from dataclasses import replace

    model_path, settings = tiny_model
    wider = replace(settings, dlpf_hz=94.0)  # as if trained on 200 Hz recordings; the replay is 100 Hz synthetic
    sil = start_sil(settings=wider)
    with pytest.raises(ModelMismatchError, match="filters at 44 Hz"):
        run_parity(sil.port, model_path, _windows(normal_source, 3), settings=wider)
    assert sil.invokes == 0  # refused before any window was sent
    same = replace(settings, dlpf_hz=44.0)
    assert run_parity(start_sil(settings=same).port, model_path, _windows(normal_source, 3), settings=same,
                      compare_tflite=False).device_ok


def test_parity_refuses_a_device_sampling_at_another_rate_than_the_model(start_sil, tiny_model, normal_source,
                                                                          tmp_path, capsys):
    from tinyad.session import Session, SessionMeta, write_session

    model_path, settings = tiny_model  # trained at 100 Hz
    fast = start_sil(sample_rate_hz=200.0)
    with pytest.raises(ModelMismatchError) as err:
        run_parity(fast.port, model_path, _windows(normal_source, 3))
    assert "samples at 200 Hz, but" in str(err.value) and "was trained at 100 Hz" in str(err.value)
    assert fast.invokes == 0  # refused before any window was sent
    data = (normal_source.counts[:100].astype(np.float64) * np.asarray(settings.units_per_count)).astype(np.float32)
    session = write_session(tmp_path / "s.parquet",
                            Session(np.arange(100) / 100.0, data, SessionMeta(100.0, "normal", settings.channels)))
    args = ["parity", "--model", str(model_path), "--session", str(session), "--windows", "5", "--no-tflite"]
    assert main(args + ["--port", fast.port]) == 4
    assert "error: the device on this port samples at 200 Hz" in capsys.readouterr().err
    assert main(args + ["--port", start_sil().port]) == 0
