"""`tinyad evaluate`: the board's scoring and alerts replayed on recordings. The alert helpers on tiny hand-made
state series; the whole replay against the SIL device (the firmware core) streaming the same samples."""

import numpy as np
import pytest

from tinyad.alert import AlertState
from tinyad.cli import main
from tinyad.evaluate import alert_onsets, class_of, evaluate_model, evaluate_session, first_alert_time
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
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("synth_")}
    assert "(not a class)" in rows["synth_looseness_000"]  # a fault the model never learned
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
    with pytest.raises(Exception, match="sampled at 200 Hz, the model at 100 Hz"):
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
