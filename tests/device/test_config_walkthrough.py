"""`tinyad config`, `monitor` and `info` as a first-time user meets them (walk-through fixes): a score kind and
thresholds that cannot work together are named with a fix that the device accepts; a rejected setting says the bind
key was already set; the cleared key reads the same everywhere; info shows what the thresholds compare."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tinyad.cli import main
from tinyad.device.client import DeviceClient
from tinyad.device.monitor import monitor
from tinyad.scoring import anomaly_probability

KEY = "231d39c1d7cc1ab1aee224cd096db932"
KEY_CHECK = "1838858c"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def _hint_sets(err: str) -> list[str]:
    """The --set KEY=VALUE options of the hint, in order."""
    (hint,) = [line for line in err.splitlines() if line.startswith("hint: ")]
    return re.findall(r"--set (\S+=\S+)", hint)


def _values(port: str, *names: str) -> list:
    with DeviceClient(port) as client:
        return [client.config_get(name) for name in names]


# -- SCORE_KIND 1 with a logit threshold: warned about, with a fix the device takes ---------------------------

def test_score_kind_1_with_the_default_threshold_warns_and_the_hint_fixes_it(sil, capsys):
    assert _values(sil.port, "THRESHOLD_ON", "THRESHOLD_OFF") == [1.0, 0.5]  # the model's logit thresholds
    assert main(["config", "-p", sil.port, "--set", "SCORE_KIND=1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "SCORE_KIND = 1\n"
    (warning,) = _warnings(captured.err)
    assert "THRESHOLD_ON 1.0 can never be reached" in warning and "probability (SCORE_KIND 1)" in warning
    assert "never alerts" in warning
    sets = _hint_sets(captured.err)
    assert sets == ["THRESHOLD_ON=0.9", "THRESHOLD_OFF=0.7"]
    assert f"tinyad config -p {sil.port} --set THRESHOLD_ON=0.9" in captured.err

    # Applying the hint as given works and leaves nothing to warn about.
    assert main(["config", "-p", sil.port, *[a for s in sets for a in ("--set", s)]]) == 0
    assert capsys.readouterr().err == ""
    assert _values(sil.port, "SCORE_KIND", "THRESHOLD_ON", "THRESHOLD_OFF") == [1, pytest.approx(0.9),
                                                                                pytest.approx(0.7)]


def test_the_hint_lowers_threshold_off_first_when_it_must(sil, capsys):
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=4", "--set", "THRESHOLD_OFF=3"]) == 0
    assert capsys.readouterr().err == ""  # a logit margin of the tiny model reaches 4.9
    assert main(["config", "-p", sil.port, "--set", "SCORE_KIND=1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"values": {"SCORE_KIND": 1}}  # stdout stays JSON
    assert "THRESHOLD_ON 4.0 can never be reached" in captured.err
    sets = _hint_sets(captured.err)
    assert sets == ["THRESHOLD_OFF=0.7", "THRESHOLD_ON=0.9"]  # ON=0.9 first would be a CONFLICT with OFF 3
    assert main(["config", "-p", sil.port, *[a for s in sets for a in ("--set", s)]]) == 0
    assert _values(sil.port, "THRESHOLD_ON", "THRESHOLD_OFF") == [pytest.approx(0.9), pytest.approx(0.7)]


def test_thresholds_every_window_reaches_or_no_window_clears_are_named(sil, capsys):
    assert main(["config", "-p", sil.port, "--set", "SCORE_KIND=1", "--set", "THRESHOLD_OFF=-1",
                 "--set", "THRESHOLD_ON=0"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "THRESHOLD_ON 0.0 is reached by every window" in warning and "always in ALERT" in warning
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=0.9"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "THRESHOLD_OFF -1.0 is above no score" in warning and "an alert never clears" in warning
    # Reading them back (no --set) warns too; a consistent setting does not.
    assert main(["config", "-p", sil.port, "--get", "THRESHOLD_OFF"]) == 0
    assert "an alert never clears" in capsys.readouterr().err
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_OFF=0.5"]) == 0
    assert capsys.readouterr().err == ""


def test_unreachable_means_beyond_what_the_model_can_output(tiny_model):
    from tinyad.device.configure import score_range, threshold_fix_hint, threshold_problems

    _, settings = tiny_model
    scale = settings.output_scale
    low, high = score_range(1, scale, 2)
    # The extremes are the probabilities of the two extreme int8 outputs, as the device computes them.
    assert high == float(anomaly_probability(np.array([-128, 127], np.int8), scale)) < 1.0
    assert threshold_problems(1, high, 0.5, scale, 2) == []            # reachable, just
    assert threshold_problems(1, 0.9, 0.7, scale, 2) == []
    assert "never alerts" in threshold_problems(1, 1.0, 0.5, scale, 2)[0]
    # A logit margin lies within +-255 x OUTPUT_SCALE: THRESHOLD_ON 6 is out of reach of this model's.
    assert score_range(0, scale, 2) == pytest.approx((-255 * scale, 255 * scale))
    assert threshold_problems(0, 1.0, 0.5, scale, 2) == []
    assert "never alerts" in threshold_problems(0, 6.0, 0.5, scale, 2)[0]
    assert "--set THRESHOLD_ON=0.9 --set THRESHOLD_OFF=0.7" in threshold_fix_hint(1, 0.5, scale, 2)


def _suggested(hint: str) -> tuple[float, float]:
    """(ON, OFF) of a fix hint, as the device would store them (float32)."""
    values = dict(s.split("=") for s in re.findall(r"--set (\S+=\S+)", hint))
    return tuple(float(np.float32(values[k])) for k in ("THRESHOLD_ON", "THRESHOLD_OFF"))


@pytest.mark.parametrize("n_classes, scale, highest, on", [
    (2, 1.33e-4, 0.5085, 0.505),   # two digits gave ON 0.51, above the highest score
    (3, 5e-5, 0.6695, 0.6683),     # 0.67 (and OFF 0.67 as well)
    (4, 2e-4, 0.7594, 0.755),      # 0.76
])
def test_the_probability_hint_never_rounds_past_the_highest_score(n_classes, scale, highest, on):
    from tinyad.device.configure import score_range, threshold_fix_hint, threshold_problems

    low, high = score_range(1, scale, n_classes)
    assert high == pytest.approx(highest, abs=5e-5)
    hint = threshold_fix_hint(1, 0.5, scale, n_classes)
    suggested_on, off = _suggested(hint)
    assert suggested_on == pytest.approx(on) and low < off < suggested_on <= high
    assert threshold_problems(1, suggested_on, off, scale, n_classes) == []


@pytest.mark.parametrize("score_kind", [0, 1])
@pytest.mark.parametrize("n_classes, scale", [(2, 1e-5), (3, 1e-6), (4, 3e-7), (2, 1e-9)])
def test_the_hint_takes_more_digits_when_two_leave_no_room(score_kind, n_classes, scale):
    from tinyad.device.configure import score_range, threshold_fix_hint, threshold_problems

    low, high = score_range(score_kind, scale, n_classes)
    on, off = _suggested(threshold_fix_hint(score_kind, 0.5, scale, n_classes))
    assert threshold_problems(score_kind, on, off, scale, n_classes) == []
    assert low < off < on <= high


# -- monitor: says when THRESHOLD_ON cannot be reached, draws no threshold off the bar -------------------

def test_monitor_warns_when_threshold_on_cannot_be_reached(sil):
    with DeviceClient(sil.port) as client:
        client.config_set("SCORE_KIND", 1)
        client.config_set("THRESHOLD_ON", 2.0)
    lines = []
    monitor(sil.port, seconds=0.3, echo=lines.append)
    assert "alert on probability (SCORE_KIND 1) >= 2, off < 0.5" in lines[0]
    assert "'|' on 2 (off the bar)" in lines[1]
    assert lines[2].startswith("warning: THRESHOLD_ON 2.0 can never be reached")
    assert lines[3].startswith(f"hint: e.g. tinyad config -p {sil.port} --set THRESHOLD_ON=0.9")
    bars = [line.split("[", 1)[1].split("]", 1)[0] for line in lines if line.startswith("window")]
    assert bars and all("|" not in bar and ":" in bar for bar in bars)  # no '|' clipped onto the edge


def test_monitor_goes_on_without_the_score_kind(sil, monkeypatch):
    from tinyad.device.client import DeviceRequestError

    _failing_config_get(monkeypatch, {"SCORE_KIND": DeviceRequestError("SCORE_KIND refused", 3, "UNKNOWN_KEY", "")})
    lines = []
    stats = monitor(sil.port, seconds=0.3, echo=lines.append)
    assert "alert on score (SCORE_KIND ?) >= 1, off < 0.5" in lines[0] and "-8 .. +8" in lines[1]
    assert lines[2] == "warning: could not read SCORE_KIND: SCORE_KIND refused"
    assert stats.scores > 0 and not any(line.startswith("hint:") for line in lines)


def test_monitor_is_quiet_about_reachable_thresholds(sil):
    lines = []
    monitor(sil.port, seconds=0.3, echo=lines.append)
    assert "alert on logit margin (SCORE_KIND 0) >= 1, off < 0.5" in lines[0]
    assert not any(line.startswith(("warning:", "hint:")) for line in lines)


# -- the bind key and a rejected setting; the cleared key's check value -----------------------------------

@pytest.mark.parametrize("key_option, applied", [
    (["--bind-key", KEY], f"bind key set (check value {KEY_CHECK})"),
    (["--clear-bind-key"], "bind key cleared"),
])
def test_a_rejected_setting_says_the_bind_key_was_already_applied(sil, capsys, key_option, applied):
    assert main(["config", "-p", sil.port, *key_option, "--set", "THRESHOLD_OFF=5"]) == 3
    err = capsys.readouterr().err
    assert f"already applied (and still in force): {applied}" in err
    assert "nothing was applied" not in err
    with DeviceClient(sil.port) as client:  # and it was
        assert client.info(refresh=True).encrypted is (key_option[0] == "--bind-key")


def test_a_threshold_conflict_shows_the_values_in_force_and_the_order_that_works(sil, capsys):
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_OFF=5"]) == 3
    err = capsys.readouterr().err
    assert ("THRESHOLD_OFF would exceed THRESHOLD_ON (now THRESHOLD_ON 1.0, THRESHOLD_OFF 0.5); nothing was "
            "applied before it") in err
    assert "raise ON first; here: --set THRESHOLD_ON=<at least 5.0> --set THRESHOLD_OFF=5.0" in err
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=0.2"]) == 3
    assert "here: --set THRESHOLD_OFF=<at most 0.2> --set THRESHOLD_ON=0.2" in capsys.readouterr().err


def test_a_conflict_hint_never_suggests_a_threshold_no_score_reaches(start_sil, capsys):
    port = start_sil().port
    assert main(["config", "-p", port, "--set", "SCORE_KIND=1"]) == 0  # a probability: at most 1
    capsys.readouterr()
    assert main(["config", "-p", port, "--set", "THRESHOLD_OFF=1.5"]) == 3
    err = capsys.readouterr().err
    assert "THRESHOLD_OFF would exceed THRESHOLD_ON" in err
    assert ("here: --set THRESHOLD_ON=<at least 1.5> --set THRESHOLD_OFF=1.5 would be accepted, but THRESHOLD_ON 1.5 "
            "can never be reached: a probability (SCORE_KIND 1) of this model is at most") in err
    # values a probability reaches, in an order the device takes with the OFF in force (0.5)
    assert f"e.g. tinyad config -p {port} --set THRESHOLD_ON=0.9 --set THRESHOLD_OFF=0.7 (alert at a probability" in err


def test_the_cleared_key_reads_the_same_in_json_and_with_get(sil, capsys):
    assert main(["config", "-p", sil.port, "--bind-key", KEY, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bind_key_check"] == KEY_CHECK
    assert main(["config", "-p", sil.port, "--clear-bind-key", "--get", "BIND_KEY_CHECK", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bind_key_check"] == report["values"]["BIND_KEY_CHECK"] == "00000000"
    assert report["encrypted"] is False


# -- info: what the thresholds compare, and for how long ------------------------------------------------

def test_info_shows_the_score_kind_min_windows_and_cooldown(start_sil, capsys):
    sil = start_sil(alert={"min_windows": 4, "cooldown_windows": 7})
    assert main(["info", "-p", sil.port]) == 0
    out = capsys.readouterr().out
    assert "on smoothed logit margin (SCORE_KIND 0) >= 1 for 4 window(s) in a row, off < 0.5" in out
    assert "then 7 window(s) of cooldown; EWMA alpha 0.5" in out and "BLE BTHome, plain" in out
    with DeviceClient(sil.port) as client:
        client.config_set("SCORE_KIND", 1)
    assert main(["info", "-p", sil.port, "--json"]) == 0
    alert = json.loads(capsys.readouterr().out)["alert"]
    assert alert == {"score_kind": 1, "min_windows": 4, "cooldown_windows": 7, "ewma_alpha": 0.5,
                     "threshold_on": 1.0, "threshold_off": 0.5, "problems": alert["problems"], "hint": alert["hint"]}
    (problem,) = alert["problems"]
    assert problem.startswith("THRESHOLD_ON 1.0 can never be reached")
    fix = f"e.g. tinyad config -p {sil.port} --set THRESHOLD_ON=0.9 --set THRESHOLD_OFF=0.7"
    assert alert["hint"].startswith(fix)
    assert main(["info", "-p", sil.port]) == 0
    out = capsys.readouterr().out
    assert "probability (SCORE_KIND 1) >= 1" in out and "warning       THRESHOLD_ON 1.0 can never be" in out
    assert f"hint          {fix}" in out  # the hint config and monitor give, not the warning alone


def _failing_config_get(monkeypatch, errors: dict):
    """Make DeviceClient.config_get raise errors[key] for those keys (a device that does not answer them)."""
    real = DeviceClient.config_get

    def config_get(self, key):
        if key in errors:
            raise errors[key]
        return real(self, key)

    monkeypatch.setattr(DeviceClient, "config_get", config_get)


def test_info_survives_alert_settings_it_cannot_read(sil, capsys, monkeypatch):
    from tinyad.device.client import DeviceRequestError
    from tinyad.errors import DeviceError

    _failing_config_get(monkeypatch, {"MIN_WINDOWS": DeviceRequestError("MIN_WINDOWS refused", 3, "UNKNOWN_KEY",
                                                                        "no such key")})
    assert main(["info", "-p", sil.port]) == 0
    captured = capsys.readouterr()
    assert "logit margin (SCORE_KIND 0) >= 1 for ? window(s) in a row" in captured.out
    assert "of cooldown; EWMA alpha 0.5" in captured.out and "status        " in captured.out
    assert _warnings(captured.err) == ["warning: could not read MIN_WINDOWS: MIN_WINDOWS refused"]

    _failing_config_get(monkeypatch, {"SCORE_KIND": DeviceError("no reply to CONFIG_GET")})  # the link: stop asking
    assert main(["info", "-p", sil.port, "--json"]) == 0
    captured = capsys.readouterr()
    alert = json.loads(captured.out)["alert"]
    assert [alert[k] for k in ("score_kind", "min_windows", "cooldown_windows", "ewma_alpha")] == [None] * 4
    assert alert["problems"] == [] and alert["hint"] is None
    assert _warnings(captured.err) == ["warning: could not read SCORE_KIND, MIN_WINDOWS, COOLDOWN_WINDOWS, "
                                       "EWMA_ALPHA: no reply to CONFIG_GET"]
    assert main(["info", "-p", sil.port]) == 0
    assert "on smoothed score (SCORE_KIND ?) >= 1 for ? window(s)" in capsys.readouterr().out


def test_a_threshold_check_that_cannot_read_warns_and_keeps_the_report(sil, capsys, monkeypatch):
    from tinyad.errors import DeviceError

    _failing_config_get(monkeypatch, {"OUTPUT_SCALE": DeviceError(f"{sil.port}: no reply to CONFIG_GET")})
    assert main(["config", "-p", sil.port, "--set", "SCORE_KIND=1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"values": {"SCORE_KIND": 1}}  # the --set went through: it is reported
    assert _warnings(captured.err) == [f"warning: could not check the thresholds: {sil.port}: no reply to CONFIG_GET"]
    assert main(["config", "-p", sil.port, "--set", "THRESHOLD_ON=0.9"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "THRESHOLD_ON = 0.9\n" and "could not check the thresholds" in captured.err
    assert _values(sil.port, "SCORE_KIND") == [1]
