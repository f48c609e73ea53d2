"""`tinyad evaluate`: the board's scoring and alerts replayed on recordings. The alert helpers on tiny hand-made
state series; the whole replay against the SIL device (the firmware core) streaming the same samples."""

import numpy as np
import pytest

from tinyad.alert import AlertState
from tinyad.cli import main
from tinyad.errors import InputError
from tinyad.evaluate import (alert_config_for, alert_onsets, class_of, evaluate_model, evaluate_session,
                             first_alert_time)
from tinyad.paths import default_model_dir

OK, PENDING, ALERT, COOLDOWN = (AlertState.OK, AlertState.PENDING, AlertState.ALERT, AlertState.COOLDOWN)


def test_alert_onsets_count_runs_of_alert_and_the_first_alert_is_its_window_end():
    states = [OK, PENDING, ALERT, ALERT, COOLDOWN, OK, PENDING, ALERT]
    assert alert_onsets(states) == 2
    assert alert_onsets([ALERT, ALERT, OK]) == 1 and alert_onsets([]) == 0 and alert_onsets([OK, PENDING]) == 0
    end_s = np.array([0.64, 0.96, 1.28, 1.6, 1.92, 2.24, 2.56, 2.88])
    assert first_alert_time(end_s, states) == pytest.approx(1.28)
    assert first_alert_time(end_s[:2], states[:2]) is None


def test_session_labels_map_to_the_models_classes():
    names = ["normal", "bearing_fault", "imbalance"]
    assert class_of("imbalance", names) == 2 and class_of("looseness", names) is None
    assert class_of("looseness", ["normal", "anomaly"]) == 1 and class_of("normal", ["normal", "anomaly"]) == 0


def _session_of(counts, settings, label):
    from tinyad.session import Session, SessionMeta

    data = (counts.astype(np.float64) * np.asarray(settings.units_per_count)).astype(np.float32)
    t = np.arange(len(counts)) / settings.sample_rate_hz
    return Session(t, data, SessionMeta(settings.sample_rate_hz, label, list(settings.channels), session_id=label))


def _sil_frames(model, settings, n_frames: int, config: dict):
    """The first `n_frames` SCORE frames of the SIL device (the firmware core) streaming a bearing fault, with
    `config` set over the protocol first, and the samples they were computed from."""
    from tinyad.device.client import DeviceClient
    from tinyad.device.messages import ScoreFrame
    from tinyad.sil.device import SilDevice
    from tinyad.sil.sources import synth_source

    s = settings
    source = synth_source("bearing_fault", s.channels, s.units_per_count, s.sample_rate_hz, seconds=40.0,
                          seed=10_000, machine_seed=0)
    frames = []
    with SilDevice(model, settings=s, source=source, speed=0, stream_when_idle=False).running() as sil:
        with DeviceClient(sil.port) as client:
            for key, value in config.items():
                client.config_set(key, value)
            for frame in client.stream(seconds=None):
                if isinstance(frame, ScoreFrame):
                    frames.append(frame)
                    if len(frames) == n_frames:
                        break
    first = frames[0].last_sample_seq - s.window + 1
    return frames, source.take(first, frames[-1].last_sample_seq - first + 1)


@pytest.mark.parametrize("score_kind, config", [
    ("margin", {}),
    ("probability", {"SCORE_KIND": 1, "THRESHOLD_ON": 0.9, "THRESHOLD_OFF": 0.7}),
])
def test_evaluate_replays_what_the_sil_device_computes_window_by_window(score_kind, config):
    from tinyad.alert import AlertConfig
    from tinyad.device.reference import HostReference

    model = default_model_dir() / "model.tflite"
    reference = HostReference(model)
    s = reference.settings
    frames, counts = _sil_frames(model, s, 60, config)
    alert = AlertConfig(config.get("THRESHOLD_ON", s.threshold_on), config.get("THRESHOLD_OFF", s.threshold_off),
                        s.min_windows, s.cooldown_windows)
    replay = evaluate_session(reference, _session_of(counts, s, "bearing_fault"), alert, s.ewma_alpha, score_kind)
    assert replay.windows == 60
    np.testing.assert_array_equal(replay.outputs, np.stack([f.output for f in frames]))
    np.testing.assert_array_equal(replay.smoothed, np.array([f.smoothed for f in frames], np.float32))
    assert replay.states.tolist() == [f.alert_state for f in frames]
    assert replay.alert_onsets >= 1  # the demo machine's bearing fault raises an alert, as on the device
    if score_kind == "probability":  # the smoothed probability, not the margin, drove the alert
        assert 0.0 <= replay.smoothed.min() and replay.smoothed.max() <= 1.0


def test_the_probability_needs_thresholds_that_are_probabilities(tmp_path, capsys):
    from tinyad.synth import synth_dataset

    model = str(default_model_dir() / "model.tflite")
    sessions = str(tmp_path / "not-read")  # refused before any session is read
    assert main(["evaluate", model, sessions, "--score-kind", "probability"]) == 2
    assert "the probability needs --threshold-on and --threshold-off" in capsys.readouterr().err
    assert main(["evaluate", model, sessions, "--score-kind", "probability", "--threshold-on", "2",
                 "--threshold-off", "0.5"]) == 2
    assert "--threshold-on 2 is not a probability" in capsys.readouterr().err
    synth_dataset(tmp_path / "s", sessions_per_class=1, duration_s=30.0, seed=77, machine_seed=0,
                  classes=["normal", "bearing_fault"])
    assert main(["evaluate", model, str(tmp_path / "s"), "--score-kind", "probability", "--threshold-on", "0.9",
                 "--threshold-off", "0.7", "--json"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["score_kind"] == "probability" and result["alert"]["threshold_on"] == 0.9
    assert result["alerts"]["fault_sessions_alerted"] == 1 and result["alerts"]["false_alert_onsets"] == 0


def test_cli_reports_alerts_per_session_and_the_false_alarm_rate(tmp_path, capsys):
    from tinyad.synth import synth_dataset

    synth_dataset(tmp_path / "s", sessions_per_class=1, duration_s=30.0, seed=77, machine_seed=0,
                  classes=["normal", "bearing_fault", "looseness"])
    assert main(["evaluate", str(default_model_dir() / "model.tflite"), str(tmp_path / "s"), "--plot",
                 str(tmp_path / "e.png")]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("normal_", "bearing_", "loose"))}
    assert "(not a class)" in rows["looseness_000"]  # a fault the model never learned (rows named by file)
    assert "windows left out: their sessions' labels are not model classes" in out  # looseness's windows
    assert "normal sessions: 0 alert onset(s) in 0.5 min (0.0 per hour)" in out
    assert "alert settings: SCORE_KIND 0 (margin), THRESHOLD_ON" in out
    assert "fault sessions: " in out and (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    # a threshold no smoothed score reaches: no alerts at all
    assert main(["evaluate", str(default_model_dir() / "model.tflite"), str(tmp_path / "s"), "--threshold-on",
                 "1000", "--json"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["alert"]["threshold_on"] == 1000 and result["alerts"]["fault_sessions_alerted"] == 0
    assert all(s["alert_onsets"] == 0 for s in result["sessions"])


def test_a_recording_in_m_s2_is_named_as_such_not_only_scored_badly(tmp_path, capsys):
    # Read as g, m/s^2 put gravity at 9.8 "g": beyond the model's +-4 g, clipped, and every window looks wrong.
    import json
    from dataclasses import replace

    from tinyad.session import read_session, write_session
    from tinyad.synth import synth_dataset

    synth_dataset(tmp_path / "s", sessions_per_class=1, duration_s=10.0, seed=5, machine_seed=0, classes=["normal"])
    good = read_session(tmp_path / "s" / "normal_000.parquet")
    data = good.data.copy()
    data[:, :3] *= 9.80665
    write_session(tmp_path / "s" / "in_ms2.parquet", replace(good, data=data, meta=replace(
        good.meta, session_id="in_ms2")))
    assert main(["evaluate", str(MODEL), str(tmp_path / "s"), "--json"]) == 0
    captured = capsys.readouterr()
    warnings = {s["name"]: s["warnings"] for s in json.loads(captured.out)["sessions"]}
    assert warnings["normal_000"] == []
    where = str(tmp_path / "s" / "in_ms2.parquet")
    magnitude = np.median(np.linalg.norm(data[:, :3].astype(np.float64), axis=1))  # the clamp's tilt: ~1.03 g
    assert warnings["in_ms2"][0] == (f"{where}: the median accelerometer magnitude is {magnitude:.3g} \"g\", close "
                                     "to 9.81: the data look like m/s^2 (hint: import with --units "
                                     "ax=m/s^2,ay=m/s^2,az=m/s^2)")
    assert warnings["in_ms2"][1].startswith(f"{where}: channel az: 100 % of the values exceed the model's full "
                                            "scale +-4 g")
    assert all(f"warning: {line}" in captured.err for line in warnings["in_ms2"])


def test_a_recording_filtered_otherwise_than_the_model_is_named(tmp_path):
    from dataclasses import replace

    from tinyad.device.reference import load_settings_for
    from tinyad.evaluate import input_warnings
    from tinyad.synth import synth_session

    settings = load_settings_for(MODEL)  # trained on 100 Hz synthetic recordings: 44 Hz
    session = synth_session("normal", duration_s=2.0, sample_rate_hz=100.0, seed=1)
    assert settings.dlpf_hz == session.meta.dlpf_hz == 44.0 and input_warnings(session, settings, "s") == []
    wider = replace(session, meta=replace(session.meta, dlpf_hz=94.0))
    assert input_warnings(wider, settings, "s") == [
        "s: recorded with a sensor low-pass (DLPF) of 94 Hz, the model's training recordings with 44 Hz: the board "
        "is built with the model's, so its scores on this recording say little about the board's"]
    unknown = replace(session, meta=replace(session.meta, dlpf_hz=0.0))  # imported: not recorded, not judged
    assert input_warnings(unknown, settings, "s") == []


def test_sessions_the_model_cannot_read_are_refused(tmp_path, capsys):
    from tinyad.session import Session, SessionMeta, write_session

    settings_channels = ["ax", "ay", "az"]
    session = Session(np.arange(200) / 100.0, np.zeros((200, 3), np.float32),
                      SessionMeta(100.0, "normal", settings_channels, session_id="three"))
    write_session(tmp_path / "three.parquet", session)
    assert main(["evaluate", str(default_model_dir() / "model.tflite"), str(tmp_path / "three.parquet")]) == 2
    assert "the model needs channels" in capsys.readouterr().err
    fast = Session(np.arange(400) / 200.0, np.zeros((400, 6), np.float32),
                   SessionMeta(200.0, "normal", ["ax", "ay", "az", "gx", "gy", "gz"], session_id="fast"))
    write_session(tmp_path / "fast.parquet", fast)
    with pytest.raises(InputError, match="sampled at 200 Hz, the model at 100 Hz"):
        evaluate_model(default_model_dir() / "model.tflite", [fast])


def test_after_a_gap_the_windows_restart_as_on_the_board_and_gap_time_is_not_counted():
    from tinyad.alert import AlertConfig
    from tinyad.device.reference import HostReference
    from tinyad.sil.sources import synth_source

    reference = HostReference(default_model_dir() / "model.tflite")
    s = reference.settings
    counts = synth_source("normal", s.channels, s.units_per_count, s.sample_rate_hz, seconds=3.0,
                          seed=10_000, machine_seed=0).counts
    session = _session_of(counts, s, "normal")
    session.t[100:] += 60.0  # one minute missing after sample 99
    alert = AlertConfig(s.threshold_on, s.threshold_off, s.min_windows, s.cooldown_windows)
    replay = evaluate_session(reference, session, alert, s.ewma_alpha)
    # [0, 100): windows at 0 and 32; [100, 300): at 100, 132, 164, 196, 228 (the grid restarts at the gap)
    assert replay.windows == 7 and replay.gaps == 1
    np.testing.assert_allclose(replay.end_s, session.t[np.array([0, 32, 100, 132, 164, 196, 228]) + 63])
    assert replay.hours * 3600 == pytest.approx(3.0)  # 300 samples at 100 Hz; the missing minute is not counted
    direct = reference.output_for(reference.input_for(counts[100:164]))
    np.testing.assert_array_equal(replay.outputs[2], direct)


def test_unlabelled_sessions_are_neither_normal_nor_fault():
    from tinyad.alert import AlertConfig
    from tinyad.evaluate import Evaluation, SessionEvaluation

    def result(label, onsets, first):
        return SessionEvaluation(label, label, 10, 0, {}, onsets, 0.1, first, 0.5)

    ev = Evaluation("m", ["normal", "imbalance"], AlertConfig(1.0, 0.5), 0.5,
                    [result("normal", 1, 3.0), result("imbalance", 1, 4.0), result("unknown", 0, None)])
    summary = ev.alert_summary()
    assert summary["normal_sessions"] == 1 and summary["fault_sessions"] == 1
    assert summary["fault_sessions_alerted"] == 1 and summary["false_alerts_per_hour"] == pytest.approx(2.0)


def test_the_binary_f1_of_normal_sessions_alone_is_not_a_number_but_said_so():
    from tinyad.alert import AlertConfig
    from tinyad.evaluate import Evaluation, SessionEvaluation, format_evaluation
    from tinyad.metrics import classification_report

    logits = np.array([[2.0, 0.0]] * 10)  # ten normal windows, every one right
    metrics = classification_report(np.zeros(10, int), logits, ["normal", "imbalance"])
    ev = Evaluation("m", ["normal", "imbalance"], AlertConfig(1.0, 0.5), 0.5,
                    [SessionEvaluation("a", "normal", 10, 0, {"normal": 10}, 0, 0.0, None, 0.5)], metrics)
    assert "binary F1 (normal vs fault) n/a (no fault windows), accuracy 1.000" in format_evaluation(ev)


MODEL = default_model_dir() / "model.tflite"


def _write_session(path, n_samples=200, channels=None, rate=None, label="normal", session_id=None):
    """A hand-made session file for the committed model (zeros: the sensor at rest, ignoring gravity)."""
    from tinyad.device.reference import load_settings_for
    from tinyad.session import Session, SessionMeta, write_session

    settings = load_settings_for(MODEL)
    channels = list(settings.channels if channels is None else channels)
    rate = settings.sample_rate_hz if rate is None else rate
    meta = SessionMeta(rate, label, channels, **({"session_id": session_id} if session_id else {}))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_session(path, Session(np.arange(n_samples) / rate, np.zeros((n_samples, len(channels)),
                                                                               np.float32), meta))


def test_a_session_the_model_cannot_take_is_named_by_its_file(tmp_path):
    short = _write_session(tmp_path / "short.parquet", n_samples=56, session_id="df364fe77b7e")
    from tinyad.session import read_session

    with pytest.raises(InputError, match=f"^{short}: 56 samples, no whole window of 64"):
        evaluate_model(MODEL, [read_session(short)], files=[short])
    kept = evaluate_model(MODEL, [read_session(short)], files=[short], skip_unusable=True)
    assert kept.sessions == [] and [s.file for s in kept.skipped] == [str(short)]
    assert kept.to_dict()["skipped"][0]["reason"].startswith(f"{short}: 56 samples")


def test_cli_skips_the_sessions_the_model_cannot_take_evaluates_the_rest_and_exits_2(tmp_path, capsys):
    import json

    folder = tmp_path / "s"
    good = _write_session(folder / "good.parquet", session_id="90498309b809")
    short = _write_session(folder / "short.parquet", n_samples=56)
    three = _write_session(folder / "three.parquet", channels=["ax", "ay", "az"])
    fast = _write_session(folder / "fast.parquet", rate=200.0)
    text = tmp_path / "data.csv"
    text.write_text("t,ax\n0,1\n")
    assert main(["evaluate", str(MODEL), str(folder), str(text), "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [(s["name"], s["session_id"], s["file"]) for s in result["sessions"]] == [("good", "90498309b809",
                                                                                       str(good))]
    assert [s["file"] for s in result["skipped"]] == [str(fast), str(short), str(three), str(text)]
    err = captured.err
    for reason in (f"{fast}: sampled at 200 Hz", f"{short}: 56 samples, no whole window of 64",
                   f"{three}: lacks the model's channels", f"{text}: not a readable Parquet session"):
        assert f"skipped {reason}" in err
    assert "error: 4 of 5 session file(s) skipped (see the warnings), the others evaluated:" in err
    assert "tinyad import csv" in err  # the CSV's hint
    # the table shows the file's stem, not the recorder's random id
    assert main(["evaluate", str(MODEL), str(folder)]) == 2
    out = capsys.readouterr().out
    assert any(line.startswith("good ") for line in out.splitlines()) and "90498309b809" not in out


def test_cli_with_no_session_left_to_evaluate_is_an_error_naming_each_file(tmp_path, capsys):
    short = _write_session(tmp_path / "short.parquet", n_samples=56)
    three = _write_session(tmp_path / "three.parquet", channels=["ax", "ay", "az"])
    assert main(["evaluate", str(MODEL), str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "none of the 2 session files could be evaluated" in captured.err
    assert f"{short}: 56 samples" in captured.err and f"{three}: lacks the model's channels" in captured.err


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    _write_session(tmp_path / "good.parquet")
    _write_session(tmp_path / "short.parquet", n_samples=56)
    assert main(["evaluate", str(MODEL), str(tmp_path)]) == 2
    err = capsys.readouterr().err  # captured: not a terminal
    assert "session/s" not in err and "\r" not in err
    assert err.splitlines()[-2].startswith("error: 1 of 2 session file(s) skipped")


def test_repeated_file_names_are_told_apart_by_their_folder_in_table_json_and_plot(tmp_path, capsys,
                                                                                    monkeypatch):
    import json

    from matplotlib.axes import Axes

    for folder in ("a", "b"):  # the same session id, as two synth or import folders give
        _write_session(tmp_path / folder / "normal.parquet", session_id="normal_000")
    titles = []
    set_title = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda axis, text, *a, **k: titles.append(text) or set_title(
        axis, text, *a, **k))
    assert main(["evaluate", str(MODEL), str(tmp_path / "a"), str(tmp_path / "b"), "--plot",
                 str(tmp_path / "e.png")]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:4]]
    assert rows == ["a_normal", "b_normal"]
    assert [t.split()[0] for t in titles] == rows
    assert main(["evaluate", str(MODEL), str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)["sessions"]
    assert [s["name"] for s in sessions] == rows and {s["session_id"] for s in sessions} == {"normal_000"}


@pytest.mark.parametrize("plot", ["eval.txt", "evalplot", "eval.pdf"])
def test_a_plot_name_not_ending_in_png_is_refused_before_any_session_is_read(tmp_path, capsys, plot):
    assert main(["evaluate", str(MODEL), str(tmp_path / "not-read"), "--plot", str(tmp_path / plot)]) == 2
    err = capsys.readouterr().err
    assert "the name must end in .png" in err and "no such file" not in err
    assert f"hint: use --plot {tmp_path / (plot.split('.')[0] + '.png')}" in err
    assert list(tmp_path.iterdir()) == []


def test_threshold_errors_name_the_options(tmp_path, capsys):
    from types import SimpleNamespace

    not_read = str(tmp_path / "not-read")  # refused before any session is read
    assert main(["evaluate", str(MODEL), not_read, "--threshold-on", "2", "--threshold-off", "3"]) == 2
    err = capsys.readouterr().err
    assert "--threshold-off 3 is above --threshold-on 2" in err and "threshold_off" not in err
    assert main(["evaluate", str(MODEL), not_read, "--threshold-off", "1000"]) == 2
    assert "--threshold-off 1000 is above the model's THRESHOLD_ON" in capsys.readouterr().err
    assert main(["evaluate", str(MODEL), not_read, "--threshold-on", "nan"]) == 2
    assert "--threshold-on nan is not a finite number" in capsys.readouterr().err
    model = SimpleNamespace(threshold_on=1.0, threshold_off=0.5, min_windows=3, cooldown_windows=10)
    assert alert_config_for(model, threshold_on=0.2).threshold_off == 0.2  # the model's off follows a lower on
    assert alert_config_for(model, threshold_off=0.8, min_windows=1).threshold_on == 1.0


def _evaluation_of(smoothed_by_label: dict, alert):
    """An Evaluation of hand-made smoothed scores, one session per label, windows 1 s apart, 1 h recorded each."""
    from tinyad.evaluate import Evaluation, SessionEvaluation, alert_fields

    sessions = []
    for label, smoothed in smoothed_by_label.items():
        smoothed = np.asarray(smoothed, np.float32)
        end_s = np.arange(1, len(smoothed) + 1, dtype=float)
        sessions.append(SessionEvaluation(session_id=label, label=label, windows=len(smoothed), gaps=0,
                                          predicted={}, hours=1.0, end_s=end_s, smoothed=smoothed,
                                          **alert_fields(smoothed, end_s, alert)))
    return Evaluation("m.tflite", ["normal", "anomaly"], alert, 1.0, sessions)


def test_the_sweep_replays_the_same_scores_at_each_threshold_on():
    from tinyad.alert import AlertConfig
    from tinyad.evaluate import format_sweep, threshold_sweep

    alert = AlertConfig(1.0, 0.5, min_windows=1, cooldown_windows=0)
    evaluation = _evaluation_of({"normal": [0, 2, 0, 0, 1.5, 0], "anomaly": [0, 0, 3, 3, 3, 3]}, alert)
    rows = threshold_sweep(evaluation, [4, 1, 2.5, 1])  # sorted, once each
    assert [a.threshold_on for a, _ in rows] == [1.0, 2.5, 4.0]
    assert [a.threshold_off for a, _ in rows] == [0.5, 0.5, 0.5]
    assert [s["false_alert_onsets"] for _, s in rows] == [2, 0, 0]  # the normal session crosses 1 twice
    assert [s["fault_sessions_alerted"] for _, s in rows] == [1, 1, 0]
    assert [s["median_first_alert_s"] for _, s in rows] == [3.0, 3.0, None]
    assert rows[0][1] == evaluation.alert_summary()  # at the evaluation's own settings: its own summary
    assert threshold_sweep(evaluation, [0.25])[0][0].threshold_off == 0.25  # OFF never above ON
    table = format_sweep(evaluation, rows)
    assert "THRESHOLD_OFF 0.5, or ON where lower; MIN_WINDOWS 1, COOLDOWN_WINDOWS 0" in table
    assert table.splitlines()[2].split() == ["1", "0.5", "2", "(2.0)", "1", "of", "1", "3.0", "s"]
    assert table.splitlines()[4].split() == ["4", "0.5", "0", "(0.0)", "0", "of", "1", "-"]
    assert "has seen them" in table


def test_sweep_values_are_checked_before_any_session_is_read(tmp_path, capsys):
    from tinyad.evaluate import parse_sweep

    assert parse_sweep("0.5, 1,2") == [0.5, 1.0, 2.0]
    for text in ("1,,2", "1,x", "nan", "1,inf"):
        with pytest.raises(InputError, match="is not a finite number"):
            parse_sweep(text)
    with pytest.raises(InputError, match="1.5 is not a probability"):
        parse_sweep("0.5,1.5", "probability")
    model = str(default_model_dir() / "model.tflite")
    assert main(["evaluate", model, str(tmp_path / "not-read"), "--sweep", "1,two"]) == 2
    assert "'two' is not a finite number" in capsys.readouterr().err


def test_cli_sweep_row_at_the_models_threshold_matches_the_evaluation(tmp_path, capsys):
    import json

    from tinyad.device.reference import load_settings_for
    from tinyad.synth import synth_dataset

    model = default_model_dir() / "model.tflite"
    on = load_settings_for(model).threshold_on
    synth_dataset(tmp_path / "s", sessions_per_class=1, duration_s=30.0, seed=77, machine_seed=0,
                  classes=["normal", "bearing_fault"])
    assert main(["evaluate", str(model), str(tmp_path / "s"), "--sweep", f"{on!r},1000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {row["threshold_on"]: row for row in result["sweep"]}
    assert {k: rows[on][k] for k in result["alerts"]} == result["alerts"]
    assert rows[1000.0]["fault_sessions_alerted"] == 0 and result["alerts"]["fault_sessions_alerted"] == 1
    assert main(["evaluate", str(model), str(tmp_path / "s"), "--sweep", f"{on!r},1000"]) == 0
    assert "THRESHOLD_ON sweep over the same smoothed scores" in capsys.readouterr().out
