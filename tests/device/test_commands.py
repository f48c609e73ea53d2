"""The device commands end to end: `tinyad sim` in a subprocess, `info`, `monitor` and `record` against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.device.messages import ScoreFrame
from tinyad.device.monitor import monitor, score_line
from tinyad.model_settings import sha256_file
from tinyad.session import read_session


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


def test_a_monitor_that_joins_during_an_alert_says_so(start_sil):
    sil = start_sil(alert={"threshold_on": -1000.0, "threshold_off": -1000.0, "min_windows": 2})
    first = monitor(sil.port, seconds=0.5, echo=lambda line: None)
    assert first.alerts_entered == 1 and first.joined_in == "PENDING"
    lines = []
    second = monitor(sil.port, seconds=0.5, echo=lines.append)  # the device is still in ALERT
    assert second.joined_in == "ALERT" and second.alerts_entered == 0 and second.states["ALERT"] == second.scores
    assert lines[-1].endswith("0 alert(s) raised, "
                              f"{second.scores} window(s) in ALERT, 0 lost frame(s); the device was already in ALERT "
                              "when the monitor joined")


def _frame(smoothed, output=(0, 0), score=1.5):
    return ScoreFrame(seq=1, window_index=42, last_sample_seq=700, invoke_us=120, score=score, smoothed=smoothed,
                      probability=0.8, alert_state=1, output=np.asarray(output, np.int8))


def test_score_line_draws_the_smoothed_score_against_the_thresholds():
    line = score_line(_frame(0.5, output=(-20, 40)), threshold_on=2.0, threshold_off=1.0,
                      class_names=["normal", "imbalance"])
    # -8 .. +8 over 41 cells (0.4 per cell): 0 at cell 20, +0.5 at cell 21, OFF (1) at 22.5 -> 23 (':'),
    # ON (2) at cell 25 ('|'); '#' from 0 to the smoothed score.
    assert "[" + "." * 20 + "##.:.|" + "." * 15 + "]" in line
    assert line.startswith("window      42  score   +1.500  smoothed   +0.500")
    assert "p=0.800  imbalance  PENDING " in line  # the class with the largest output, by name


def test_a_score_that_is_not_a_number_is_drawn_as_question_marks():
    from tinyad.device.monitor import bar_scale, score_bar

    bar = score_bar(float("nan"), 1.0, 0.5, bar_scale(1.0, 0.5))
    assert len(bar) == 41 and set(bar) == {"?", "|", ":"}


@pytest.mark.parametrize("smoothed, bar", [
    (3.0, "." * 20 + "###:#|###" + "." * 12),       # a fault window: past ON
    (4.7, "." * 20 + "###:#|#######" + "." * 8),    # a clearer one: longer
    (-2.5, "." * 14 + "#######..:.|" + "." * 15),   # a normal window: left of 0
    (-8.0, "#" * 21 + "..:.|" + "." * 15),          # a very normal one: to the left edge
    (-30.0, "<" + "#" * 20 + "..:.|" + "." * 15),   # beyond the scale: clipped, marked at the edge
    (1e6, "." * 20 + "###:#|" + "#" * 14 + ">"),
])
def test_score_bar_tells_scores_apart_on_a_fixed_scale(smoothed, bar):
    from tinyad.device.monitor import bar_scale, score_bar

    assert bar_scale(2.0, 1.0) == (-8.0, 8.0)
    assert score_bar(smoothed, 2.0, 1.0, (-8.0, 8.0)) == bar


def test_score_bar_scales_widen_for_far_thresholds_and_survive_a_zero_threshold():
    from tinyad.device.monitor import bar_scale, score_bar

    assert bar_scale(0.0, 0.0) == (-8.0, 8.0)  # THRESHOLD_ON 0 used to give a 0-wide bar
    assert score_bar(0.4, 0.0, 0.0, (-8.0, 8.0)) == "." * 20 + "|#" + "." * 19
    assert bar_scale(20.0, -4.0) == (-25.0, 25.0)  # both thresholds inside, with a margin
    assert bar_scale(0.9, 0.5, score_kind=1) == (0.0, 1.0)  # probabilities
    assert score_bar(0.7, 0.9, 0.5, (0.0, 1.0)) == "#" * 20 + ":" + "#" * 8 + "." * 7 + "|" + "." * 4


def test_score_line_without_class_names_shows_the_class_number():
    line = score_line(_frame(0.0, output=(5, -3, 9)), 2.0, 1.0)
    assert "p=0.800  class 2  PENDING" in line


def test_monitor_names_the_predicted_class_from_the_model(start_sil, tiny_model, capsys):
    model_path, settings = tiny_model
    sil = start_sil()
    assert main(["monitor", "-p", sil.port, "--seconds", "0.5", "--model", str(model_path)]) == 0
    out = capsys.readouterr().out
    score_lines = [line for line in out.splitlines() if line.startswith("window")]
    assert score_lines and all(any(f"  {name}  " in line for name in settings.class_names) for line in score_lines)
    assert "bar: smoothed score -8 .. +8 ('#' from 0), '|' on " in out


def test_monitor_refuses_a_model_the_device_does_not_run(sil, tmp_path, tiny_model, capsys):
    import shutil

    model_path, _ = tiny_model
    other = tmp_path / "model.tflite"
    other.write_bytes(model_path.read_bytes() + b"\0")  # another file, another hash
    shutil.copy(model_path.with_name("model_settings.json"), tmp_path / "model_settings.json")
    assert main(["monitor", "-p", sil.port, "--seconds", "0.5", "--model", str(other)]) == 4
    assert "runs model sha256" in capsys.readouterr().err


@pytest.mark.parametrize("seconds", ["-1", "0", "nan"])
def test_monitor_refuses_seconds_that_are_not_positive(seconds, capsys):
    assert main(["monitor", "-p", "/dev/tinyad-no-such-port", "--seconds", seconds]) == 2
    err = capsys.readouterr().err
    assert f"--seconds {seconds} must be a positive number of seconds" in err and "cannot open" not in err


def test_monitor_prints_its_summary_when_the_device_vanishes(start_sil):
    from tinyad.errors import DeviceError

    sil = start_sil(speed=0)
    lines = []

    def echo(line):
        lines.append(line)
        if sum(line.startswith("window") for line in lines) == 5:
            sil.stop()  # the device is killed mid-stream

    with pytest.raises(DeviceError, match="vanished"):
        monitor(sil.port, echo=echo, idle_timeout_s=1.0)
    summary = lines[-1]
    assert "windows" in summary and summary.endswith("lost frame(s)")
    windows = int(summary.split("] ")[1].split(" windows")[0])
    assert windows >= 5 and windows == sum(line.startswith("window") for line in lines)


def test_record_command_names_the_file_after_the_label(sil, tmp_path, capsys):
    assert main(["record", "--port", sil.port, "--label", "bearing_fault", "--duration", "0.3",
                 "--out", str(tmp_path)]) == 0
    files = list(tmp_path.glob("bearing_fault-*.parquet"))
    assert len(files) == 1
    assert f"wrote {files[0]}" in capsys.readouterr().out
    session = read_session(files[0])  # the label is in the file too, and 0.3 s of device time at 100 Hz
    assert (session.meta.label, session.n_samples, session.t[-1]) == ("bearing_fault", 30, pytest.approx(0.29))


# -- tinyad sim: options checked, the replayed data described ---------------------------------------------


def _session(tmp_path, n=100, rate=100.0, t=None, data=None):
    from tinyad.session import Session, SessionMeta, write_session

    if data is None:
        data = np.zeros((n, 6))
        data[:, 2] = 1.0
    t = np.arange(len(data)) / rate if t is None else t
    return write_session(tmp_path / "s.parquet", Session(t, np.asarray(data, np.float32), SessionMeta(
        rate, "normal", ["ax", "ay", "az", "gx", "gy", "gz"])))


@pytest.fixture
def no_serving(monkeypatch):
    """`tinyad sim` in-process: the device is built and announced, serve_forever returns at once."""
    from tinyad.sil.device import SilDevice

    monkeypatch.setattr(SilDevice, "serve_forever", lambda self: self.close())


def test_sim_refuses_a_rate_other_than_the_sessions_own(tiny_model, tmp_path, capsys, no_serving):
    model_path, _ = tiny_model
    session = _session(tmp_path, rate=50.0)
    assert main(["sim", "--model", str(model_path), "--session", str(session), "--rate", "100"]) == 2
    err = capsys.readouterr().err
    assert "error: --rate 100 Hz differs from the session's own sample rate 50 Hz" in err
    assert "hint: a session replays at its own rate; --rate applies to --synth" in err
    # Its own rate is fine (and still warned about: the model was trained at 100 Hz).
    assert main(["sim", "--model", str(model_path), "--session", str(session), "--rate", "50"]) == 0
    err = capsys.readouterr().err
    assert "warning: replaying at 50 Hz, the model was trained at 100 Hz" in err and ", 50 Hz x 1;" in err


def test_sim_notes_synth_options_given_with_a_session(tiny_model, tmp_path, capsys, no_serving):
    model_path, _ = tiny_model
    args = ["sim", "--model", str(model_path), "--session", str(_session(tmp_path))]
    assert main(args) == 0
    assert "note:" not in capsys.readouterr().err
    assert main(args + ["--seconds", "5"]) == 0
    assert "note: --seconds applies to --synth only; ignored with --session" in capsys.readouterr().err
    assert main(args + ["--machine-seed", "0", "--seconds", "60"]) == 0  # explicit, even if equal to the default
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "note: --seconds, --machine-seed apply to --synth only" in err


def test_sim_warns_about_clipped_values_and_gaps_of_the_session(tiny_model, tmp_path, capsys, no_serving):
    model_path, _ = tiny_model
    data = np.zeros((100, 6))
    data[:, 2] = 1.0
    data[:10, 3] = 800.0  # 10 of 100 gx values beyond +-500 dps
    t = np.arange(100) / 100.0
    t[60:] += 2.0
    assert main(["sim", "--model", str(model_path), "--session", str(_session(tmp_path, t=t, data=data))]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "channel gx: 10 % of the values exceed the model's full scale +-500 dps " \
                                  "(max |gx| 800 dps)" in err
    assert not any(f"channel {c}:" in err for c in ("ax", "ay", "az"))  # az at 1 g is within +-4 g
    assert "the time column has 1 gap(s) longer than 1.5 sample periods, the largest 2.01 s" in err


def test_sim_refuses_less_than_one_window_of_data(tiny_model, tmp_path, capsys, no_serving):
    model_path, _ = tiny_model  # window 32 at 100 Hz
    assert main(["sim", "--model", str(model_path), "--session", str(_session(tmp_path, n=10))]) == 2
    err = capsys.readouterr().err
    assert "10 samples, shorter than one window of the model (32)" in err and "hint: replay a session of at " \
                                                                              "least one window" in err
    assert main(["sim", "--model", str(model_path), "--seconds", "0.3"]) == 2
    err = capsys.readouterr().err
    assert "--seconds 0.3 at 100 Hz gives 30 samples, fewer than one window of the model (32)" in err
    assert "hint: give at least one window: --seconds 0.32 or more" in err
    assert main(["sim", "--model", str(model_path), "--seconds", "0.32"]) == 0


def test_sim_warns_when_synthetic_data_runs_at_another_rate_than_the_model(tiny_model, capsys, no_serving):
    model_path, _ = tiny_model
    assert main(["sim", "--model", str(model_path), "--rate", "200", "--seconds", "1"]) == 0
    assert "warning: replaying at 200 Hz, the model was trained at 100 Hz" in capsys.readouterr().err
    assert main(["sim", "--model", str(model_path), "--seconds", "1"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["sim", "--model", str(model_path), "--rate", "101", "--seconds", "1"]) == 0  # within 2 %
    assert "warning" not in capsys.readouterr().err


def test_sim_warns_when_the_replayed_data_were_filtered_otherwise_than_the_models(tiny_model, tmp_path, capsys,
                                                                                  no_serving):
    import shutil
    from dataclasses import replace

    model_path, settings = tiny_model
    shutil.copy(model_path, tmp_path / "model.tflite")
    for dlpf_hz, warned in ((94.0, True), (44.0, False), (0.0, False)):  # the synthetic motor at 100 Hz: 44 Hz
        replace(settings, dlpf_hz=dlpf_hz).save(tmp_path / "model_settings.json")
        assert main(["sim", "--model", str(tmp_path / "model.tflite"), "--seconds", "1"]) == 0
        err = capsys.readouterr().err
        assert ("warning: the replayed data were low-pass filtered at 44 Hz (DLPF), the model's training recordings "
                "at 94 Hz" in err) == warned


def test_sim_seed_picks_another_recording_of_the_machine_and_says_it_loops(tiny_model, capsys, no_serving):
    model_path, _ = tiny_model
    described = []
    for seed in ("10000", "10000", "3"):
        assert main(["sim", "--model", str(model_path), "--synth", "imbalance", "--seconds", "2", "--seed", seed]) == 0
        err = capsys.readouterr().err
        assert "note: --synth replays one 2-s recording in a loop" in err
        described.append(err.split("synthetic imbalance, machine 0, ")[1].split(" Hz")[0])
    # the same seed is the same stretch of the machine; another seed another shaft speed and severity
    assert described[0] == described[1] and described[0] != described[2]
    assert described[0].endswith("recording 10000, 100") and " rpm, severity " in described[2]


@pytest.mark.parametrize("args, message", [
    (["--speed", "nan"], "--speed nan is not a finite number"),
    (["--speed", "inf"], "--speed inf is not a finite number"),
    (["--seconds", "nan"], "--seconds nan is not a finite number"),
    (["--seconds", "inf"], "--seconds inf is not a finite number"),
    (["--rate", "nan"], "--rate nan is not a number"),
    (["--machine-seed", "-1"], "'--machine-seed': -1 is not in the range x>=0"),
])
def test_sim_bad_values_are_errors_not_tracebacks(tiny_model, capsys, no_serving, args, message):
    model_path, _ = tiny_model
    assert main(["sim", "--model", str(model_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "port:" not in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_model_invoke_stops_sim_without_an_invoke_failure(tiny_model, capsys, monkeypatch,
                                                                            signum):
    import os

    from tinyad.sil.device import SilDevice

    original = SilDevice._invoke

    def invoke(self, input_bytes):
        if self.invokes == 2:
            os.kill(os.getpid(), signum)  # its Python handler runs right here, inside the hook the core called
        elif self.invokes > 2000:
            self._stop.set()  # never hang the test run
        return original(self, input_bytes)

    monkeypatch.setattr(SilDevice, "_invoke", invoke)
    model_path, _ = tiny_model
    before = signal.getsignal(signum)
    assert main(["sim", "--model", str(model_path), "--speed", "100", "--seconds", "2"]) == 0
    err = capsys.readouterr().err
    stats = json.loads(err.split("stopped: ", 1)[1])
    assert stats["invoke_failures"] == 0 and 3 <= stats["invokes"] < 100, stats
    assert signal.getsignal(signum) is before  # the handler is the sim's only while it serves


def test_record_warns_of_labels_train_would_refuse_or_split_off():
    from tinyad.commands.device import label_warning

    assert label_warning("normal") is None and label_warning("bearing_fault") is None
    assert label_warning("Normal ") == ("label 'Normal ': train takes labels as written, so 'Normal ' and 'normal' are "
                                        "two classes; use --label normal unless you mean another class")
    for no_class in ("unknown", " ", "Unknown"):
        assert label_warning(no_class).startswith(f"label {no_class!r} names no class: `tinyad train` refuses")
