"""`tinyad monitor`: live scores, predicted class and alert state of the device in the terminal."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyad.device.client import DeviceClient
from tinyad.device.configure import alert_input_check, score_kind_text
from tinyad.device.messages import SamplesFrame, ScoreFrame
from tinyad.errors import DeviceError
from tinyad.scoring import SCORE_KIND_PROBABILITY

BAR_WIDTH = 41  # odd: 0 sits on the middle cell of a symmetric scale
# Logit margins of a trained model are a few units either side of 0 (a clear fault +2 .. +5, a clear normal
# window -2 .. -8): a fixed scale shows how far a window is from the thresholds, whatever they are.
LOGIT_SPAN = 8.0


@dataclass
class MonitorStats:
    """What a monitoring session saw."""

    scores: int = 0
    samples: int = 0
    alerts_entered: int = 0
    lost_frames: int = 0
    last: ScoreFrame | None = None
    states: dict = field(default_factory=dict)  # alert state name -> windows
    joined_in: str | None = None  # the alert state of the first scored window (an alert already raised is not new)


def bar_scale(threshold_on: float, threshold_off: float, score_kind: int = 0) -> tuple[float, float]:
    """(low, high) of the score bar: 0..1 for probabilities (SCORE_KIND 1), else -8..+8 widened symmetrically
    so that both thresholds lie inside with a margin."""
    if score_kind == SCORE_KIND_PROBABILITY:
        return 0.0, 1.0
    span = max(LOGIT_SPAN, 1.25 * max(abs(threshold_on), abs(threshold_off)))
    return -span, span


def score_bar(value: float, threshold_on: float, threshold_off: float, scale: tuple[float, float],
              width: int = BAR_WIDTH) -> str:
    """The bar: '#' from 0 (or the scale's low end) to `value`, '|' at THRESHOLD_ON, ':' at THRESHOLD_OFF, and
    '<' / '>' at the edge for a value beyond the scale (which is clipped there). A threshold beyond the scale
    (THRESHOLD_ON 2 on the 0..1 bar of a probability) is not drawn: clipped to the edge it would look reachable."""
    low, high = scale

    def cell(v: float) -> int:
        return int(np.floor((min(max(v, low), high) - low) / (high - low) * (width - 1) + 0.5))  # half up

    def mark(bar: list[str]) -> None:
        if low <= threshold_off <= high:
            bar[cell(threshold_off)] = ":"
        if low <= threshold_on <= high:
            bar[cell(threshold_on)] = "|"  # drawn last: ON wins where the two coincide

    if not np.isfinite(value):  # a device that sends NaN: say so rather than end the monitor
        bar = ["?"] * width
        mark(bar)
        return "".join(bar)
    origin, end = cell(0.0), cell(value)
    bar = ["#" if min(origin, end) <= i <= max(origin, end) else "." for i in range(width)]
    mark(bar)
    if value < low:
        bar[0] = "<"
    elif value > high:
        bar[-1] = ">"
    return "".join(bar)


def predicted_class(frame: ScoreFrame, class_names: list[str] | None = None) -> str:
    """The class with the largest int8 output (the same as the largest logit: dequantizing keeps the order)."""
    k = int(np.argmax(frame.output))
    return class_names[k] if class_names and k < len(class_names) else f"class {k}"


def score_line(frame: ScoreFrame, threshold_on: float, threshold_off: float, class_names: list[str] | None = None,
               scale: tuple[float, float] | None = None) -> str:
    """One terminal line: window, score, smoothed score as a bar against the thresholds, predicted class, alert
    state."""
    scale = scale or bar_scale(threshold_on, threshold_off)
    bar = score_bar(frame.smoothed, threshold_on, threshold_off, scale)
    width = max((len(n) for n in class_names), default=7) if class_names else 7
    return (f"window {frame.window_index:7d}  score {frame.score:+8.3f}  smoothed {frame.smoothed:+8.3f} "
            f"[{bar}]  p={frame.probability:5.3f}  {predicted_class(frame, class_names):{width}s}  "
            f"{frame.alert_name:8s}  invoke {frame.invoke_us} us")


def bar_legend(threshold_on: float, threshold_off: float, scale: tuple[float, float]) -> str:
    low, high = scale

    def where(v: float) -> str:
        return f"{v:g}" if low <= v <= high else f"{v:g} (off the bar)"

    return (f"bar: smoothed score {low:+g} .. {high:+g} ('#' from {max(low, 0.0):g}), '|' on {where(threshold_on)}, "
            f"':' off {where(threshold_off)}, '<' '>' beyond; then the predicted class")


def class_names_for(info, model_path: str | Path | None = None) -> list[str] | None:
    """The class names of the device's model: from `model_path`'s model_settings.json (refused with
    ModelMismatchError when the device runs another model), else from models/default when the device runs
    that one, else None (lines then say "class k")."""
    from tinyad.device.reference import load_settings_for
    from tinyad.model_settings import sha256_file

    if model_path is not None:
        from tinyad.device.parity import check_model_hash

        settings = load_settings_for(model_path)
        check_model_hash(info, model_path, sha256_file(model_path))
        return list(settings.class_names)
    from tinyad.paths import default_model_dir

    default = default_model_dir() / "model.tflite"
    try:
        if default.is_file() and sha256_file(default).lower() == info.model_sha256.lower():
            return list(load_settings_for(default).class_names)
    except Exception:  # only a convenience: without names the lines show class numbers
        return None
    return None


def monitor(port: str, seconds: float | None = None, echo: Callable[[str], None] = print,
            client: DeviceClient | None = None, idle_timeout_s: float = 3.0,
            model_path: str | Path | None = None) -> MonitorStats:
    """Stream from the device and print one line per scored window until `seconds` pass (None: until Ctrl-C).

    Alert transitions are announced on their own line. The summary line is printed however the stream ends,
    also when the device vanishes (the DeviceError is raised after it). Returns what was seen."""
    own_client = client is None
    client = client or DeviceClient(port)
    stats = MonitorStats()
    try:
        info = client.info()
        class_names = class_names_for(info, model_path)
        try:
            score_kind, unread = int(client.config_get("SCORE_KIND")), None
        except DeviceError as err:  # only for the bar and the threshold warning: the stream may still work
            score_kind, unread = None, f"could not read SCORE_KIND: {err}"
        scale = bar_scale(info.threshold_on, info.threshold_off, score_kind if score_kind is not None else 0)
        echo(f"{info.board} ({'SIL' if info.is_sil else 'board'}) on {port}: model {info.model_sha256[:12]}, "
             f"window {info.window} hop {info.hop} at {info.sample_rate_hz:g} Hz, alert on "
             f"{score_kind_text(score_kind)} >= {info.threshold_on:g}, off < {info.threshold_off:g}")
        echo(bar_legend(info.threshold_on, info.threshold_off, scale)
             + ("" if class_names else " (class numbers: give --model for their names)"))
        # A threshold the score cannot reach (a logit threshold on a probability) is said, not just drawn.
        problems, hint = [unread], None
        if score_kind is not None:
            problems, hint = alert_input_check(score_kind, info.threshold_on, info.threshold_off, info.output_scale,
                                               info.n_classes, port)
        for problem in problems:
            echo(f"warning: {problem}")
        if hint:
            echo(f"hint: {hint}")
        previous_state = None
        last_seq = None
        failure: DeviceError | None = None
        stream = client.stream(seconds=seconds, idle_timeout_s=idle_timeout_s)
        try:
            for frame in stream:
                if last_seq is not None:
                    stats.lost_frames += (frame.seq - last_seq - 1) & 0xFFFF
                last_seq = frame.seq
                if isinstance(frame, SamplesFrame):
                    stats.samples += frame.raw.shape[0]
                    continue
                stats.scores += 1
                stats.last = frame
                stats.states[frame.alert_name] = stats.states.get(frame.alert_name, 0) + 1
                if stats.joined_in is None:
                    stats.joined_in = frame.alert_name
                if previous_state is not None and frame.alert_name != previous_state:
                    echo(f"-- alert state {previous_state} -> {frame.alert_name} at window {frame.window_index}")
                    if frame.alert_name == "ALERT":
                        stats.alerts_entered += 1
                previous_state = frame.alert_name
                echo(score_line(frame, info.threshold_on, info.threshold_off, class_names, scale))
        except KeyboardInterrupt:
            pass
        except DeviceError as err:  # the port vanished: what was seen so far still gets its summary
            failure = err
        finally:
            try:
                stream.close()
            except DeviceError:
                pass
        t = time.strftime("%H:%M:%S")
        # Windows in ALERT as well as alerts raised: a monitor that joins during an alert sees none raised.
        echo(f"[{t}] {stats.scores} windows, {stats.samples} samples, {stats.alerts_entered} alert(s) raised, "
             f"{stats.states.get('ALERT', 0)} window(s) in ALERT, {stats.lost_frames} lost frame(s)"
             + ("; the device was already in ALERT when the monitor joined" if stats.joined_in == "ALERT" else ""))
        if failure is not None:
            raise failure
    finally:
        if own_client:
            client.close()
    return stats
