"""The device commands end to end: `tinyad sim` in a subprocess, `info`, `monitor` and `record` against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np

from tinyad.cli import main
from tinyad.device.messages import ScoreFrame
from tinyad.device.monitor import monitor, score_line
from tinyad.model_settings import sha256_file


def test_sim_command_prints_its_port_serves_and_stops_on_ctrl_c(tiny_model):
    model_path, _ = tiny_model
    proc = subprocess.Popen([sys.executable, "-m", "tinyad", "sim", "--model", str(model_path), "--speed", "0",
                             "--seconds", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("port: /dev/pts/"), (line, proc.stderr.read() if proc.poll() is not None else "")
        port = line.split()[1]
        out = subprocess.run([sys.executable, "-m", "tinyad", "info", "--port", port, "--json"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)["info"]
        assert info["model_sha256"] == sha256_file(model_path) and info["flags"] & 4
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped:" in stderr


def test_info_command_shows_model_and_link(sil, tiny_model, capsys):
    model_path, _ = tiny_model
    assert main(["info", "--port", sil.port]) == 0
    out = capsys.readouterr().out
    assert f"sha256 {sha256_file(model_path)}" in out
    assert "software-in-the-loop" in out and "window 32, hop 16, 6 channels, 2 classes" in out


def test_info_on_a_missing_port_exits_with_the_device_error_code(capsys):
    assert main(["info", "--port", "/dev/tinyad-no-such-port"]) == 3
    err = capsys.readouterr().err
    assert "cannot open /dev/tinyad-no-such-port" in err and "hint:" in err


def test_monitor_prints_a_line_per_window_and_announces_alerts(start_sil):
    sil = start_sil(alert={"threshold_on": -1000.0, "threshold_off": -1000.0, "min_windows": 2})
    lines = []
    stats = monitor(sil.port, seconds=0.5, echo=lines.append)
    score_lines = [l for l in lines if l.startswith("window")]
    assert stats.scores == len(score_lines) >= 3
    # Every score is >= -1000: PENDING after the first window, ALERT from the second on.
    assert "-- alert state PENDING -> ALERT" in "\n".join(lines)
    assert stats.alerts_entered == 1 and stats.lost_frames == 0
    in_alert = sum(" ALERT " in l for l in score_lines)
    assert in_alert == stats.states["ALERT"] == stats.scores - 1
    assert stats.samples > 0
    assert lines[-1].endswith(f"1 alert(s) raised, {in_alert} window(s) in ALERT, 0 lost frame(s)")


def test_score_line_draws_the_smoothed_score_against_the_threshold():
    frame = ScoreFrame(seq=1, window_index=42, last_sample_seq=700, invoke_us=120, score=1.5, smoothed=0.5,
                       probability=0.8, alert_state=1, output=np.zeros(2, np.int8))
    line = score_line(frame, threshold_on=1.0, threshold_off=0.5)
    # Bar spans 0 .. 2 * threshold_on over 30 cells: 0.5 fills 8 cells, the threshold mark sits at cell 15.
    assert "[########.......|..............]" in line
    assert line.startswith("window      42  score   +1.500  smoothed   +0.500") and "PENDING" in line


def test_record_command_names_the_file_after_the_label(sil, tmp_path, capsys):
    assert main(["record", "--port", sil.port, "--label", "bearing_fault", "--duration", "0.3",
                 "--out", str(tmp_path)]) == 0
    files = list(tmp_path.glob("bearing_fault-*.parquet"))
    assert len(files) == 1
    assert f"wrote {files[0]}" in capsys.readouterr().out
