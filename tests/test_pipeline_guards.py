"""The pipeline commands refuse what would silently give a wrong model: one class, a stale model.tflite beside a
re-trained run, a session given twice, a run without its model, a file that is no TFLite model; and they say
what the board must match. Tiny synthetic sessions; one short training run shared by the module."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.commands.pipeline import load_sessions
from tinyad.errors import InputError
from tinyad.export import (FIRMWARE_DEFAULTS, KCONFIG_ACCEL_RANGES, KCONFIG_GYRO_RANGES,
                           board_requirements, export_model)
from tinyad.model_settings import ModelSettings
from tinyad.paths import default_model_dir, firmware_dir
from tinyad.session import Session, SessionMeta, write_session

pytestmark = pytest.mark.slow


def imu_session(label: str, session_id: str, seconds: float = 8.0, seed: int = 0,
                channels=("ax", "ay", "az")) -> Session:
    """Three channels at 100 Hz (an accelerometer-only board's by default): "normal" is noise around 1 g on the
    third, a fault adds a 7 Hz vibration to the first."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 100)) / 100.0
    vib = 0.0 if label == "normal" else 0.3 * np.sin(2 * np.pi * 7 * t)
    data = np.column_stack([vib + rng.normal(0, 0.02, len(t)), rng.normal(0, 0.02, len(t)),
                            1 + rng.normal(0, 0.02, len(t))]).astype(np.float32)
    # logged at +-8 g (`import csv --full-scale accel_g=8`), the gyro range not recorded
    return Session(t, data, SessionMeta(100.0, label, list(channels), session_id=session_id,
                                        full_scale={"accel_g": 8.0}))


def write_sessions_to(folder, specs, channels=("ax", "ay", "az")):
    folder.mkdir(parents=True, exist_ok=True)
    return [write_session(folder / f"{sid}.parquet", imu_session(label, sid, seed=i, channels=channels))
            for i, (label, sid) in enumerate(specs)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-class data set, trained for 3 epochs and quantized into the run folder through the CLI."""
    root = tmp_path_factory.mktemp("guards")
    write_sessions_to(root / "data", [("normal", "n1"), ("normal", "n2"), ("imbalance", "i1"),
                                      ("imbalance", "i2")])
    assert main(["train", str(root / "data"), "--epochs", "3", "--out", str(root / "run")]) == 0
    assert main(["quantize", str(root / "run")]) == 0
    return root


def test_train_reports_and_stores_the_epoch_early_stopping_kept(trained, capsys):
    metrics = json.loads((trained / "run" / "metrics.json").read_text())
    history = json.loads((trained / "run" / "run.json").read_text())["history"]
    assert metrics["best_epoch_monitor"] == "val_loss"
    assert metrics["best_epoch"] == int(np.argmin(history["val_loss"])) + 1
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] == 3


def test_the_sessions_low_pass_reaches_the_model_settings_and_unrecorded_ones_are_noted(tmp_path, capsys):
    from tinyad.session import read_session

    paths = write_sessions_to(tmp_path / "data", [("normal", "n1"), ("normal", "n2"), ("imbalance", "i1"),
                                                  ("imbalance", "i2")])
    for path in paths[1:]:  # n1 as imported from elsewhere: no DLPF recorded
        session = read_session(path)
        session.meta.dlpf_hz = 94.0
        write_session(path, session)
    capsys.readouterr()
    assert main(["train", str(tmp_path / "data"), "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert (f"note: 1 of 4 sessions do not record their sensor low-pass (e.g. {paths[0]}); the model takes the "
            "others' 94 Hz, which the board is then built with") in capsys.readouterr().err  # a file, not an id
    assert json.loads((tmp_path / "run" / "run.json").read_text())["dlpf_hz"] == 94.0
    assert main(["quantize", str(tmp_path / "run")]) == 0
    assert ModelSettings.load(tmp_path / "run" / "model_settings.json").dlpf_hz == 94.0


def test_the_kept_epoch_line_names_the_epoch_and_its_loss():
    from tinyad.commands.pipeline import _best_epoch_line

    metrics = {"best_epoch": 2, "best_epoch_monitor": "val_loss", "epochs_run": 8}
    assert _best_epoch_line(metrics, {"val_loss": [0.9, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}) == \
        "kept the weights of epoch 2 of 8 run (lowest val_loss 0.2500)"


def test_training_curves_mark_the_kept_epoch_with_whole_epoch_ticks(tmp_path, monkeypatch):
    import matplotlib.figure

    from tinyad.plots import plot_training_curves

    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    history = {"loss": [1.0, 0.6, 0.5, 0.45], "val_loss": [0.9, 0.4, 0.7, 0.8],
               "accuracy": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.5, 0.8, 0.7, 0.6]}
    plot_training_curves(history, tmp_path / "curves.png", best_epoch=2)
    for axis in figures[0].axes:
        kept = [line for line in axis.lines if line.get_label() == "kept: epoch 2"]
        assert len(kept) == 1 and list(kept[0].get_xdata()) == [2, 2]
        ticks = [t for t in axis.get_xticks() if 1 <= t <= 4]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_quantize_writes_an_int8_confusion_matrix(trained):
    assert (trained / "run" / "confusion_matrix_int8.png").stat().st_size > 0


def test_train_refuses_a_folder_with_an_earlier_run_unless_overwrite(trained, capsys, tmp_path):
    run = tmp_path / "reuse"
    shutil.copytree(trained / "run", run)
    (run / "notes.txt").write_text("mine")
    args = ["train", str(trained / "data"), "--epochs", "1", "--out", str(run)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{run} already holds a run (model.keras, run.json" in err and "model.tflite" in err
    assert "--overwrite" in err
    assert main(args + ["--overwrite"]) == 0
    # The old quantized files are gone (they belonged to the old model); other files stay.
    assert not (run / "model.tflite").exists() and not (run / "quantize.json").exists()
    assert not (run / "model_settings.json").exists()
    assert (run / "notes.txt").read_text() == "mine" and (run / "model.keras").exists()


def test_export_refuses_a_tflite_older_than_the_runs_model(trained, tmp_path):
    run = tmp_path / "stale"
    shutil.copytree(trained / "run", run)
    tflite = run / "model.tflite"
    keras_mtime = (run / "model.keras").stat().st_mtime
    os.utime(tflite, (keras_mtime - 60, keras_mtime - 60))
    with pytest.raises(InputError, match="model.tflite is stale: it is older than the run's model.keras"):
        export_model(tflite, out_dir=tmp_path / "fw")
    assert not (tmp_path / "fw").exists()


@pytest.mark.parametrize("change, problems, hint", [
    ({"channels": ["ax", "az", "gz"]},
     ["input channels ax az gz: the board feeds a model ax ay az gx gy gz (6 channels) or ax ay az "
      "(accelerometer only), in that order"],
     "re-train on sessions with the channels ax ay az gx gy gz or ax ay az (`tinyad import csv --map` selects them)"),
    ({"window": 200},
     ["window 200 samples > 128 (the core's sample ring)",
      "window 200 x 3 channels = 600 values > 512 (at most 128 samples with 3 channels)"],
     "re-train with a smaller `tinyad train --window` (the core's limits: docs/protocol.md)"),
])
def test_export_refuses_a_model_the_board_cannot_run(trained, tmp_path, change, problems, hint):
    # The board's sensor task feeds ax..gz in order (or the first three); the core holds 128 samples, 512 values.
    run = tmp_path / "run"
    shutil.copytree(trained / "run", run)
    settings = ModelSettings.load(run / "model_settings.json")
    for key, value in change.items():
        setattr(settings, key, value)
    settings.save(run / "model_settings.json")
    with pytest.raises(InputError) as refused:
        export_model(run / "model.tflite", out_dir=tmp_path / "fw")
    assert str(refused.value) == f"{run / 'model.tflite'}: the board cannot run this model: {'; '.join(problems)}"
    assert refused.value.hint == hint
    assert not (tmp_path / "fw").exists()


def test_train_warns_about_channels_the_board_cannot_feed_and_refuses_a_window_the_core_cannot_hold(
        tmp_path, capsys):
    write_sessions_to(tmp_path / "d", [("normal", "a"), ("imbalance", "b")], channels=("ax", "az", "gz"))
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "d"), "--window", "171", "--hop", "50", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ("input channels ax az gz: the board feeds a model ax ay az gx gy gz (6 channels) or ax ay az "
            "(accelerometer only), in that order: `tinyad export` will refuse this model") in err
    assert ("the board and the SIL could not run this model: window 171 samples > 128 (the core's sample ring); "
            "window 171 x 3 channels = 513 values > 512 (at most 128 samples with 3 channels)") in err
    assert not out.exists()


def test_the_train_api_refuses_a_window_the_core_cannot_hold_before_training(tmp_path):
    from tinyad.datasets import DatasetConfig, build_dataset
    from tinyad.models import ModelConfig
    from tinyad.train import TrainConfig, train

    paths = write_sessions_to(tmp_path / "d", [("normal", "n1"), ("normal", "n2"), ("imbalance", "i1"),
                                               ("imbalance", "i2")])
    data = build_dataset(paths, DatasetConfig(window=130, hop=50))
    with pytest.raises(InputError, match="the board and the SIL could not run this model: window 130 samples > 128"):
        train(data, ModelConfig(), TrainConfig(epochs=1), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before a folder is made, as tinyad train refuses
    # a folder holding a run is refused as tinyad train refuses it, unless overwrite=True
    data = build_dataset(paths, DatasetConfig(window=64, hop=32))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.tflite").write_bytes(b"an earlier model")
    with pytest.raises(InputError, match=r"run already holds a run \(model.tflite\)") as refused:
        train(data, ModelConfig(), TrainConfig(epochs=1), tmp_path / "run", progress=False)
    assert refused.value.hint == "give another run_dir, or overwrite=True to replace that run's files"
    assert (tmp_path / "run" / "model.tflite").read_bytes() == b"an earlier model"


def test_train_refuses_a_single_class_and_writes_nothing(tmp_path, capsys):
    write_sessions_to(tmp_path / "only_normal", [("normal", "a"), ("normal", "b")])
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "only_normal"), "--task", "binary", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "need at least 2 classes to train a binary model; found only ['normal']" in err
    assert not out.exists()


def test_zero_epochs_is_refused_before_any_folder_is_made(tmp_path, capsys):
    write_sessions_to(tmp_path / "d", [("normal", "a"), ("imbalance", "b")])
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "d"), "--epochs", "0", "--out", str(out)]) == 2
    assert "Invalid value for '--epochs': 0 is not in the range x>=1" in capsys.readouterr().err
    assert not out.exists()


def test_a_session_given_twice_is_used_once_and_equal_ids_are_refused(tmp_path):
    files = write_sessions_to(tmp_path / "mine", [("normal", "good"), ("imbalance", "imb")])
    notes = []
    sessions = load_sessions([str(tmp_path / "mine"), str(files[0])], echo=notes.append)
    assert [s.meta.session_id for s in sessions] == ["good", "imb"]
    assert notes == [f"note: 1 session file(s) given more than once, used once: {files[0]}"]
    copy = tmp_path / "other" / "copy.parquet"
    copy.parent.mkdir()
    shutil.copy(files[0], copy)  # another file, same session id "good"
    with pytest.raises(InputError, match=f"{files[0]} and {copy} have the same session id 'good'"):
        load_sessions([str(tmp_path / "mine"), str(copy)])


def test_quantize_a_run_without_its_model_or_data_is_an_error_with_a_hint(trained, tmp_path, capsys):
    run = tmp_path / "nomodel"
    run.mkdir()
    shutil.copy(trained / "run" / "run.json", run)
    assert main(["quantize", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"error: {run}: the run has no data.npz" in err and "--overwrite" in err and "Traceback" not in err
    shutil.copy(trained / "run" / "data.npz", run)
    assert main(["quantize", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"error: {run}: the run has no model.keras" in err
    assert not (run / "model.tflite").exists()


def test_check_honours_windows_without_a_run(capsys):
    tflite = str(default_model_dir() / "model.tflite")
    for n in (10, 100):
        assert main(["check", tflite, "--windows", str(n), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["comparison"]["n_windows"] == n
    assert main(["check", tflite, "--windows", "0"]) == 2


def test_check_says_whether_the_model_fits_its_budgets(capsys):
    tflite = str(default_model_dir() / "model.tflite")
    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    assert main(["check", tflite, "--windows", "4"]) == 0
    assert (f"budget                    : flash 26,000 of 32,768 B, arena as allocated "
            f"{settings.arena_bytes_with_margin:,} of 32,768 B: fits") in capsys.readouterr().out
    # the arena the export allocates (measured plus margin) against a board with less room
    tight = ["check", tflite, "--windows", "4", "--arena-budget", "20000"]
    assert main(tight + ["--json"]) == 0  # a verdict, not a failure, unless asked
    report = json.loads(capsys.readouterr().out)
    assert report["arena_bytes_allocated"] == settings.arena_bytes_with_margin == 23552
    assert report["over_budget"] == ["arena as allocated 23,552 B > 20,000 B"]
    assert main(tight + ["--fail-over-budget"]) == 4
    err = capsys.readouterr().err
    assert "over budget: arena as allocated 23,552 B > 20,000 B" in err and "hint: a smaller model" in err
    assert main(["check", tflite, "--windows", "4", "--fail-over-budget"]) == 0


def test_check_names_files_that_are_not_or_no_longer_tflite_models(trained, tmp_path, capsys):
    assert main(["check", str(trained / "run" / "run.json")]) == 2
    err = capsys.readouterr().err
    assert "run.json: not a TFLite flatbuffer: no 'TFL3' identifier at bytes 4..8" in err
    assert "unpack_from" not in err and "hint: give the model.tflite" in err
    model = (trained / "run" / "model.tflite").read_bytes()
    cut = tmp_path / "model.tflite"
    cut.write_bytes(model[:5000])
    shutil.copy(trained / "run" / "model_settings.json", tmp_path)
    assert main(["check", str(cut)]) == 2
    assert f"{cut}: truncated: 5000 of {len(model)} bytes" in capsys.readouterr().err
    (tmp_path / "model_settings.json").unlink()  # without settings the size is unknown, the damage is not
    assert main(["check", str(cut)]) == 2
    assert f"{cut}: truncated or corrupt" in capsys.readouterr().err
    (tmp_path / "empty.tflite").write_bytes(b"")
    assert main(["check", str(tmp_path / "empty.tflite")]) == 2
    assert "empty file (0 bytes)" in capsys.readouterr().err


def test_export_says_what_the_board_must_match(trained, tmp_path, capsys):
    assert main(["export", str(trained / "run" / "model.tflite"), "--out", str(tmp_path / "fw")]) == 0
    out = capsys.readouterr().out
    assert ("the board must match this model:\n  sensor full scale : +-8 g\n"
            "  sensor low-pass   : not recorded by the training sessions (not checked; keep the one they were made "
            "with)\n  sample rate       : 100 Hz") in out
    assert "channels          : ax ay az" in out
    assert "  CONFIG_TINYAD_ACCEL_8G=y (default CONFIG_TINYAD_ACCEL_4G)" in out
    # the recorded accelerometer range, the gyro's assumed; an accelerometer-only model leaves the board's gyro
    # range free (0: the model has no such channel)
    assert ModelSettings.load(trained / "run" / "model_settings.json").full_scale == {"accel_g": 8.0,
                                                                                       "gyro_dps": 500.0}
    header = (tmp_path / "fw" / "model_settings.h").read_text()
    assert "kAccelFullScaleG = 0x1.0000000000000p+3f /* 8 */;" in header
    assert "kGyroFullScaleDps = 0x0.0p+0f /* 0 */;" in header
    assert "constexpr int kDlpfCfg = -1;" in header  # the sessions did not record their DLPF: not checked
    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    settings.full_scale, settings.sample_rate_hz = {"accel_g": 2.0, "gyro_dps": 250.0}, 200.0
    lines = board_requirements(settings)
    assert "  CONFIG_TINYAD_ACCEL_2G=y (default CONFIG_TINYAD_ACCEL_4G)" in lines
    assert "  CONFIG_TINYAD_GYRO_250DPS=y (default CONFIG_TINYAD_GYRO_500DPS)" in lines
    assert "  CONFIG_TINYAD_SAMPLE_RATE_HZ=200 (default 100)" in lines


@pytest.mark.parametrize("dlpf_hz, cfg, shown, change", [
    (44.0, 3, "44 Hz (DLPF_CFG 3)", None),                          # the firmware default
    (94.0, 2, "94 Hz (DLPF_CFG 2)", "CONFIG_TINYAD_DLPF_CFG=2 (default 3)"),
    (260.0, 0, "260 Hz (DLPF_CFG 0)", "CONFIG_TINYAD_DLPF_CFG=0 (default 3)"),  # `tinyad synth` at 1 kHz
    (50.0, -2, "50 Hz", "a sensor low-pass of 50 Hz is no MPU6050 DLPF setting: re-train on sessions recorded "
                        "with the MPU6050"),
])
def test_export_names_the_dlpf_the_board_must_be_built_with(dlpf_hz, cfg, shown, change):
    from tinyad.export import render_model_settings

    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    settings.dlpf_hz = dlpf_hz
    lines = board_requirements(settings)
    assert f"  sensor low-pass   : {shown}" in lines
    if change is None:
        assert lines[-1] == "the firmware defaults (menuconfig -> tinyad) already match"
    else:
        assert f"  {change}" in lines
    header = render_model_settings(settings, settings.ops, "model.tflite")
    assert f"constexpr int kDlpfCfg = {cfg};" in header


@pytest.mark.parametrize("rate, dlpf_hz, samples", [
    (1000.0, 260.0, True),   # `tinyad synth` at 1 kHz: DLPF_CFG 0, gyro at 8 kHz / 8
    (800.0, 260.0, True),    # 8 kHz / 10, only with the DLPF off
    (800.0, 44.0, False),    # 1000 / 800 is no integer
    (250.0, 0.0, True),      # DLPF not recorded: judged at the firmware default (1 kHz / 4)
    (20.0, 260.0, False),    # 8 kHz / 20 = 400: SMPLRT_DIV has 8 bits
])
def test_export_says_when_the_mpu6050_cannot_sample_at_the_models_rate(rate, dlpf_hz, samples):
    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    settings.sample_rate_hz, settings.dlpf_hz = rate, dlpf_hz
    line = next(line for line in board_requirements(settings) if "CONFIG_TINYAD_SAMPLE_RATE_HZ=" in line)
    assert line.startswith(f"  CONFIG_TINYAD_SAMPLE_RATE_HZ={rate:g} (default 100)")
    assert ("the MPU6050 cannot sample at it" not in line) == samples


def test_kconfig_names_and_defaults_match_the_firmware():
    from tinyad.synth import MPU6050_DLPF_BANDWIDTHS_HZ

    kconfig = (firmware_dir() / "main" / "Kconfig.projbuild").read_text()
    for name in list(KCONFIG_ACCEL_RANGES.values()) + list(KCONFIG_GYRO_RANGES.values()):
        assert f"config {name.removeprefix('CONFIG_')}\n" in kconfig
    assert "default TINYAD_ACCEL_4G" in kconfig and "default TINYAD_GYRO_500DPS" in kconfig
    rate = kconfig.split("config TINYAD_SAMPLE_RATE_HZ")[1]
    assert "default 100\n" in rate.split("help")[0]
    dlpf = kconfig.split("config TINYAD_DLPF_CFG")[1].split("help")[0]
    # every DLPF_CFG a recording can have been made with (`dlpf_cfg_of`) can be built
    assert f"range 0 {len(MPU6050_DLPF_BANDWIDTHS_HZ) - 1}\n" in dlpf
    assert f"default {FIRMWARE_DEFAULTS['dlpf_cfg']}\n" in dlpf


def test_two_synth_sets_numbered_alike_get_a_hint_about_synth(tmp_path):
    from tinyad.synth import synth_dataset

    for out, seed in (("a", 1), ("b", 2)):
        synth_dataset(tmp_path / out, sessions_per_class=1, duration_s=5.0, seed=seed, machine_seed=0,
                      classes=["normal"])
    with pytest.raises(InputError, match="have the same session id 'synth_normal_000'") as refused:
        load_sessions([str(tmp_path / "a"), str(tmp_path / "b")])
    assert refused.value.hint == ("`tinyad synth` numbers every set's sessions alike: make one set with all the "
                                  "sessions you need (--sessions-per-class, --classes), or train on one set")


def test_quantize_out_is_a_folder_not_a_tflite_name(trained, tmp_path, capsys):
    assert main(["quantize", str(trained / "run"), "--out", str(tmp_path / "mine.tflite")]) == 2
    err = capsys.readouterr().err
    assert f"error: --out {tmp_path / 'mine.tflite'}: a folder, not a file name" in err
    assert f"hint: e.g. --out {tmp_path / 'mine'}" in err and not (tmp_path / "mine.tflite").exists()
