"""The pipeline commands as a user runs them: synth -> train -> quantize -> check -> export, and bad input."""

import json

import pytest
from click.testing import CliRunner

from tinyad.cli import cli, main

pytestmark = pytest.mark.slow


def test_train_quantize_check_export_from_the_command_line(tmp_path):
    runner = CliRunner()
    sessions, run, fw = tmp_path / "s", tmp_path / "run", tmp_path / "fw"
    r = runner.invoke(cli, ["synth", "--out", str(sessions), "--sessions-per-class", "3", "--duration", "8",
                            "--machine-seed", "2", "--classes", "normal,imbalance"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["train", str(sessions), "--task", "binary", "--epochs", "2", "--out", str(run)])
    assert r.exit_code == 0, r.output
    assert "classes ['normal', 'anomaly']" in r.output and (run / "confusion_matrix.png").exists()
    r = runner.invoke(cli, ["quantize", str(run)])
    assert r.exit_code == 0, r.output
    assert "int8" in r.output and (run / "model.tflite").exists()
    r = runner.invoke(cli, ["check", str(run / "model.tflite"), "--run", str(run), "--windows", "40", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["comparison"]["n_windows"] == 40 and report["flash_bytes"] == (run / "model.tflite").stat().st_size
    r = runner.invoke(cli, ["export", str(run / "model.tflite"), "--out", str(fw)])
    assert r.exit_code == 0, r.output
    assert (fw / "model_settings.h").read_text().count("if (resolver.Add") == len(
        json.loads((run / "model_settings.json").read_text())["ops"])


def test_train_on_missing_or_wrong_input_is_a_clear_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nothing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no session files" in err and "hint:" in err
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    assert main(["train", str(tmp_path / "bad.parquet")]) == 2
    assert "bad.parquet" in capsys.readouterr().err
