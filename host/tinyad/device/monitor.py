"""`tinyad monitor`: live scores and alert state of the device in the terminal."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from tinyad.device.client import DeviceClient
from tinyad.device.messages import SamplesFrame, ScoreFrame
from tinyad.errors import DeviceError

BAR_WIDTH = 30


@dataclass
class MonitorStats:
    """What a monitoring session saw."""

    scores: int = 0
    samples: int = 0
    alerts_entered: int = 0
    lost_frames: int = 0
    last: ScoreFrame | None = None
    states: dict = field(default_factory=dict)  # alert state name -> windows


def score_line(frame: ScoreFrame, threshold_on: float, threshold_off: float) -> str:
    """One terminal line: window, score, smoothed score as a bar against the thresholds, alert state."""
    span = max(abs(threshold_on) * 2, 1e-6)
    filled = int(round(min(max(frame.smoothed / span, 0.0), 1.0) * BAR_WIDTH))
    on_mark = int(round(min(max(threshold_on / span, 0.0), 1.0) * BAR_WIDTH))
    bar = ["#" if i < filled else "." for i in range(BAR_WIDTH)]
    if 0 <= on_mark < BAR_WIDTH:
        bar[on_mark] = "|"
    return (f"window {frame.window_index:7d}  score {frame.score:+8.3f}  smoothed {frame.smoothed:+8.3f} "
            f"[{''.join(bar)}]  p={frame.probability:5.3f}  {frame.alert_name:8s}  invoke {frame.invoke_us} us")


def monitor(port: str, seconds: float | None = None, echo: Callable[[str], None] = print,
            client: DeviceClient | None = None, idle_timeout_s: float = 3.0) -> MonitorStats:
    """Stream from the device and print one line per scored window until `seconds` pass (None: until Ctrl-C).

    Alert transitions are announced on their own line. Returns what was seen."""
    own_client = client is None
    client = client or DeviceClient(port)
    stats = MonitorStats()
    try:
        info = client.info()
        echo(f"{info.board} ({'SIL' if info.is_sil else 'board'}) on {port}: model {info.model_sha256[:12]}, "
             f"window {info.window} hop {info.hop} at {info.sample_rate_hz:g} Hz, alert on >= "
             f"{info.threshold_on:g}, off < {info.threshold_off:g}")
        previous_state = None
        last_seq = None
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
                if previous_state is not None and frame.alert_name != previous_state:
                    echo(f"-- alert state {previous_state} -> {frame.alert_name} at window {frame.window_index}")
                    if frame.alert_name == "ALERT":
                        stats.alerts_entered += 1
                previous_state = frame.alert_name
                echo(score_line(frame, info.threshold_on, info.threshold_off))
        except KeyboardInterrupt:
            pass
        finally:
            try:
                stream.close()
            except DeviceError:
                pass
        t = time.strftime("%H:%M:%S")
        # Windows in ALERT as well as alerts raised: a monitor that joins during an alert sees none raised.
        echo(f"[{t}] {stats.scores} windows, {stats.samples} samples, {stats.alerts_entered} alert(s) raised, "
             f"{stats.states.get('ALERT', 0)} window(s) in ALERT, {stats.lost_frames} lost frame(s)")
    finally:
        if own_client:
            client.close()
    return stats
