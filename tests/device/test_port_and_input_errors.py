"""What a first-time user hits: a port shared by two commands, a bad $TINYAD_BAUD, a port that talks but not
tinyad, config values rejected halfway, record's -d/-o/--decimation, SIGTERM."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.device.client import DeviceClient, DeviceRequestError
from tinyad.errors import DeviceError
from tinyad.session import read_session
from tinyad.sil.pty import PtyPort

# -- 1: one program per port -------------------------------------------------------------------------------


def test_a_second_client_on_a_busy_port_is_refused_and_the_first_keeps_working(sil, capsys):
    with DeviceClient(sil.port) as first:
        first.info()
        with pytest.raises(DeviceError, match=f"port busy: another program has {sil.port} open") as err:
            DeviceClient(sil.port)
        assert "close the other tinyad command" in err.value.hint
        assert main(["info", "-p", sil.port]) == 3
        captured = capsys.readouterr().err
        assert "port busy" in captured and "HELLO" not in captured
        # The refused command stole nothing: the first one's stream has no lost frames.
        frames = list(first.stream(seconds=0.3))
        seqs = [f.seq for f in frames]
        assert seqs and np.all(np.diff(seqs) == 1)
        assert first.status().streaming is False
    with DeviceClient(sil.port) as again:  # released on close
        again.info()


# -- 2: $TINYAD_BAUD ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("baud", ["abc", "9600.0", "12345678901", "0", "-5"])
def test_an_invalid_tinyad_baud_is_an_input_error_not_a_traceback(baud, monkeypatch, capsys):
    monkeypatch.setenv("TINYAD_BAUD", baud)
    assert main(["info", "-p", "/dev/tinyad-no-such-port"]) == 2
    err = capsys.readouterr().err
    assert f"invalid $TINYAD_BAUD '{baud}': a positive integer baud rate, e.g. 921600" in err
    assert "cable" not in err


def test_a_valid_tinyad_baud_is_used(sil, monkeypatch):
    monkeypatch.setenv("TINYAD_BAUD", "115200")
    with DeviceClient(sil.port) as client:
        assert client.transport._serial.baudrate == 115200
        client.info()


# -- 6: a port that talks, but not tinyad ------------------------------------------------------------------


def test_a_port_sending_text_is_told_apart_from_a_silent_one():
    pty = PtyPort()
    stop = threading.Event()

    def boot_log():  # an ESP-IDF app on the board: every request is answered with log text
        while not stop.is_set():
            if pty.read(0.05):
                pty.write(b"I (1234) wifi: wifi driver task: 3ffc1e4c, prio:23\r\n")

    thread = threading.Thread(target=boot_log, daemon=True)
    thread.start()
    try:
        with DeviceClient(pty.path, timeout_s=0.2, tries=2) as client:
            with pytest.raises(DeviceError, match=r"byte\(s\) that were not tinyad frames, e.g. 'I \(1234\) wifi") \
                    as err:
                client.info()
        assert "wrong firmware, or a baud rate other than the board's?" in err.value.hint
    finally:
        stop.set()
        thread.join()
        pty.close()


def test_open_errors_name_the_errno_once(capsys):
    assert main(["info", "-p", "/dev/tinyad-no-such-port"]) == 3
    err = capsys.readouterr().err
    assert "cannot open /dev/tinyad-no-such-port: No such file or directory" in err
    assert "Errno" not in err


# -- 3, 9: config ------------------------------------------------------------------------------------------


def test_config_prints_each_value_as_applied_and_names_a_rejected_one(sil, capsys):
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=1", "--set", "THRESHOLD_OFF=0.5"]) == 0
    capsys.readouterr()
    # THRESHOLD_OFF above THRESHOLD_ON: only the device knows (CONFLICT), after the first value was applied.
    assert main(["config", "-p", sil.port, "--set", "EWMA_ALPHA=0.25", "--set", "THRESHOLD_OFF=3"]) == 3
    captured = capsys.readouterr()
    assert captured.out == "EWMA_ALPHA = 0.25\n"
    assert "rejected --set THRESHOLD_OFF=3.0: THRESHOLD_OFF would exceed THRESHOLD_ON" in captured.err
    assert "already applied (and still in force): EWMA_ALPHA=0.25" in captured.err
    assert "lower OFF first" in captured.err


def test_config_values_out_of_range_are_refused_before_anything_is_sent(sil, capsys):
    with DeviceClient(sil.port) as client:
        before = client.config_get("THRESHOLD_OFF")
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_OFF=0.5", "--set", "THRESHOLD_ON=1",
                 "--set", "MIN_WINDOWS=0"]) == 2
    err = capsys.readouterr().err
    assert "MIN_WINDOWS must be in [1, 1000] (integer), got 0" in err and "nothing was sent" in err
    with DeviceClient(sil.port) as client:
        assert client.config_get("THRESHOLD_OFF") == before
    assert main(["config", "-p", sil.port, "--set", "EWMA_ALPHA=nan"]) == 2
    assert main(["config", "-p", sil.port, "--set", "WINDOW=64"]) == 2
    assert "re-export" in capsys.readouterr().err
    assert main(["config", "-p", sil.port, "--set", "NO_SUCH_KEY=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key" in err and "THRESHOLD_ON" in err and "tinyad config -p PORT" in err


def test_device_side_read_only_and_unknown_key_rejections_explain(sil):
    from tinyad.device.configure import configure

    with DeviceClient(sil.port) as client:
        with pytest.raises(DeviceRequestError, match="WINDOW is read-only; nothing was applied") as err:
            configure(client, sets=[("WINDOW", 64)])
        assert "re-export" in err.value.hint
        with pytest.raises(DeviceRequestError, match="the device has no key AFFINE_SCALE\\+7") as err:
            configure(client, sets=[("THRESHOLD_ON", 1.5), ("AFFINE_SCALE+7", 1.0)])
        assert "THRESHOLD_ON=1.5" in str(err.value) and "channels" in err.value.hint


def test_config_prints_float32_values_shortest_and_json_in_the_order_asked(sil, capsys):
    assert main(["config", "-p", sil.port, "--set", "threshold_on=1.2"]) == 0
    assert capsys.readouterr().out == "THRESHOLD_ON = 1.2\n"
    assert main(["config", "-p", sil.port, "--get", "THRESHOLD_ON", "--get", "EWMA_ALPHA", "--get", "HOP",
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert list(json.loads(out)["values"]) == ["THRESHOLD_ON", "EWMA_ALPHA", "HOP"]
    assert '"THRESHOLD_ON": 1.2,' in out
    assert np.float32(json.loads(out)["values"]["THRESHOLD_ON"]) == np.float32(1.2)


@pytest.mark.parametrize("args, message, hint", [
    (["--get", "AFFINE_SCALE+x"], "--get 'AFFINE_SCALE+X': config key 'AFFINE_SCALE+X': the channel after '+' must be "
     "a whole number, got 'X'", "hint: AFFINE_SCALE+0 .. +7"),
    (["--set", "AFFINE_SCALE+1.5=1"], "the channel after '+' must be a whole number, got '1.5'",
     "hint: AFFINE_SCALE+0 .. +7"),
    (["--set", "AFFINE_SCALE=1"], "AFFINE_SCALE is a per-channel key: give the channel as AFFINE_SCALE+c",
     "hint: AFFINE_SCALE+0 .. +7"),
    (["--get", "AFFINE_OFFSET"], "AFFINE_OFFSET is a per-channel key", "hint: AFFINE_OFFSET+0 .. +7"),
    # The table has 8 slots; the device's model has 6 channels: refused before anything is sent.
    (["--set", "THRESHOLD_ON=1.25", "--set", "AFFINE_SCALE+6=1"],
     "AFFINE_SCALE+6: the device's model has 6 channel(s); nothing was sent", "hint: AFFINE_SCALE+0 .. +5"),
])
def test_config_bad_channels_are_input_errors_not_tracebacks(sil, capsys, args, message, hint):
    with DeviceClient(sil.port) as client:
        before = client.config_get("THRESHOLD_ON"), client.config_get("AFFINE_SCALE+0")
    assert main(["config", "-p", sil.port, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and hint in err and "Traceback" not in err
    with DeviceClient(sil.port) as client:
        assert (client.config_get("THRESHOLD_ON"), client.config_get("AFFINE_SCALE+0")) == before


def test_config_warns_when_a_model_constant_is_changed(sil, capsys):
    with DeviceClient(sil.port) as client:
        original = client.config_get("AFFINE_SCALE+1")
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=1.5", "--set", "AFFINE_SCALE+1=0.5",
                 "--set", "INPUT_ZERO_POINT=3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "THRESHOLD_ON = 1.5\nAFFINE_SCALE+1 = 0.5\nINPUT_ZERO_POINT = 3\n"
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {name} comes from the exported model: `tinyad parity` will report the device as not matching "
        "its model until it is set back (to the value in model_settings.json, or restart the device)"
        for name in ("AFFINE_SCALE+1", "INPUT_ZERO_POINT")]
    # alert settings and reads are no model constants: no warning
    assert main(["config", "-p", sil.port, "--set", f"AFFINE_SCALE+1={original}", "--get", "AFFINE_SCALE+1",
                 "--set", "EWMA_ALPHA=0.5", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: ") == 1 and "AFFINE_SCALE+1 comes from the exported model" in captured.err
    assert np.float32(json.loads(captured.out)["values"]["AFFINE_SCALE+1"]) == np.float32(original)


def test_a_bind_key_of_the_wrong_length_says_what_it_counted(capsys):
    assert main(["config", "-p", "/dev/tinyad-no-such-port", "--bind-key", "1234"]) == 2
    assert "got 4 hex characters (2 bytes)" in capsys.readouterr().err


# -- 4, 7, 8, 10: record -------------------------------------------------------------------------------------


def test_record_duration_is_device_time_on_an_unpaced_sil(sil, tmp_path, capsys):
    out = tmp_path / "fast.parquet"
    assert main(["record", "-p", sil.port, "-l", "fast", "-d", "2", "-o", str(out)]) == 0
    session = read_session(out)
    assert session.n_samples == 200 and session.t[-1] == pytest.approx(1.99)
    captured = capsys.readouterr()
    assert "200 samples (2.0 s)" in captured.out
    assert "2.0/2.0 s" in captured.err  # the progress bar ends complete


def test_a_device_streaming_too_slowly_is_stopped_with_an_error(start_sil, tmp_path, monkeypatch):
    import tinyad.device.recorder as recorder

    monkeypatch.setattr(recorder, "WALL_FACTOR", 1.0)
    monkeypatch.setattr(recorder, "WALL_GRACE_S", 0.5)
    slow = start_sil(speed=0.2)  # 20 samples/s: a fifth of real time
    start = time.monotonic()
    with pytest.raises(DeviceError, match="slower than half real time.*written to") as err:
        recorder.record(slow.port, "normal", 1.0, tmp_path / "slow.parquet")
    assert time.monotonic() - start < 5
    assert "--speed" in err.value.hint
    assert 2 <= read_session(tmp_path / "slow.parquet").n_samples < 100


def test_record_out_paths(tmp_path, capsys):
    missing = "/dev/tinyad-no-such-port"
    # A file name with another suffix is refused, not made a folder.
    assert main(["record", "-p", missing, "-l", "x", "-d", "1", "-o", str(tmp_path / "x.csv")]) == 2
    assert "must end in .parquet" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    # A folder is created only when something is written.
    assert main(["record", "-p", missing, "-l", "x", "-d", "1", "-o", str(tmp_path / "bad" / "deeper")]) == 3
    assert not (tmp_path / "bad").exists()
    # A parent that is a file: said plainly.
    (tmp_path / "one.parquet").write_bytes(b"")
    assert main(["record", "-p", missing, "-l", "x", "-d", "1", "-o", str(tmp_path / "one.parquet" / "x.parquet")]) == 2
    assert "one.parquet is a file, not a folder" in capsys.readouterr().err


def test_record_writes_into_a_new_folder_once_the_device_answered(sil, tmp_path, capsys):
    assert main(["record", "-p", sil.port, "-l", "normal", "-d", "0.2", "-o", str(tmp_path / "new" / "dir")]) == 0
    (path,) = (tmp_path / "new" / "dir").glob("normal-*.parquet")
    session = read_session(path)  # 0.2 s of device time at 100 Hz, labelled as asked
    assert (session.n_samples, session.meta.label, session.meta.sample_rate_hz) == (20, "normal", 100.0)
    assert f"wrote {path}" in capsys.readouterr().out


def test_record_decimation_is_range_checked_up_front(capsys):
    assert main(["record", "-p", "/dev/tinyad-no-such-port", "-l", "x", "-d", "1", "--decimation", "5000"]) == 2
    assert "1<=x<=1000" in capsys.readouterr().err


# -- 11: SIGTERM -------------------------------------------------------------------------------------------


def test_sigterm_stops_monitor_cleanly_and_the_device_stops_streaming(start_sil):
    sil = start_sil(speed=1.0)
    proc = subprocess.Popen([sys.executable, "-m", "tinyad", "monitor", "-p", sil.port], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (sil.core is not None and sil.core.streaming):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "lost frame(s)" in stdout  # the summary line
    assert sil.core is not None and not sil.core.streaming


def test_sigterm_stops_sim_with_its_counters(tiny_model):
    model_path, _ = tiny_model
    proc = subprocess.Popen([sys.executable, "-m", "tinyad", "sim", "--model", str(model_path), "--speed", "0",
                             "--seconds", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("port: ")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped: {" in stderr


def test_sigterm_stops_alerts_with_its_summary(start_sil):
    sil = start_sil(speed=1.0)
    proc = subprocess.Popen([sys.executable, "-m", "tinyad", "alerts", "--sim", "-p", sil.port],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait for the first reading (not a fixed sleep, which a slow start outlasts): the command is then past its
        # start-up, with its SIGTERM handler in place.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        first = proc.stdout.readline() if ready else ""
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    assert " score " in first and " pkt " in first, (first, stderr)
    assert proc.returncode == 0, stderr
    (summary,) = [line for line in stderr.splitlines() if line.startswith("summary: ")]
    counts = dict(item.split() for item in summary.removeprefix("summary: ").split(", "))
    assert int(counts["accepted"]) == 1 + len(stdout.splitlines())  # one line per reading accepted
