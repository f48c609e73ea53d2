"""Alert latency: from the window whose score raises the alert to the first advertisement with the alert set.

Measured against a device (the SIL, or a board over serial) by streaming SCORE frames and polling ADV_GET in
between. Every ADV carries the BTHome packet id, which the device advances once per scored window, so each
observed advertisement can be pinned to the window that produced it (no reliance on poll timing).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from tinyad.ble.bthome import BTHomeError, decode_advertisement

ALERT = 2  # AlertState::kAlert (docs/protocol.md)


@dataclass(frozen=True)
class AdvObservation:
    """One ADV_GET reply: the newest window index seen on the stream when it arrived, and its content."""

    latest_window: int
    packet_id: int
    alert: bool


@dataclass
class LatencyReport:
    onsets: list[int] = field(default_factory=list)          # windows where the state became ALERT
    latencies: list[int] = field(default_factory=list)       # hops from onset to the first alert ADV
    unobserved_onsets: int = 0   # onsets whose window was never pinned by a poll (no measurement)
    observations: int = 0        # ADV replies pinned to a window
    mismatches: int = 0          # ADVs whose alert flag differs from the state of their window

    @property
    def max_hops(self) -> int | None:
        return max(self.latencies) if self.latencies else None

    @property
    def median_hops(self) -> float | None:
        return float(statistics.median(self.latencies)) if self.latencies else None


def window_of_packet(packet_id: int, latest_window: int, first_packet_id: int = 1) -> int:
    """The window index an advertisement belongs to: packet id = (window + first_packet_id) mod 256, and the
    advertisement can only reflect a window already scored (<= latest_window)."""
    return latest_window - ((latest_window + first_packet_id - packet_id) % 256)


def analyse(states: dict[int, int], observations: list[AdvObservation], first_packet_id: int = 1) -> LatencyReport:
    """Latency in hops of every alert onset, from window states and ADV observations (in arrival order)."""
    report = LatencyReport()
    pinned: list[tuple[int, bool]] = []
    for obs in observations:
        window = window_of_packet(obs.packet_id, obs.latest_window, first_packet_id)
        if window not in states:
            continue  # before the stream started
        pinned.append((window, obs.alert))
        report.observations += 1
        if obs.alert != (states[window] == ALERT):
            report.mismatches += 1
    windows = sorted(states)
    for previous, current in zip(windows, windows[1:]):
        if states[current] == ALERT and states[previous] != ALERT and current == previous + 1:
            report.onsets.append(current)
    for onset in report.onsets:
        later = [window for window, alert in pinned if alert and window >= onset]
        seen_onset_window = any(window == onset for window, _ in pinned)
        if not later or not seen_onset_window:
            report.unobserved_onsets += 1
            continue
        report.latencies.append(min(later) - onset)
    return report


def measure(client, seconds: float, max_polls: int = 100_000) -> tuple[dict[int, int], list[AdvObservation]]:
    """Stream from an open DeviceClient for `seconds`, polling ADV_GET between frames. Returns the state of
    every scored window and the pinned ADV observations (undecodable advertisements are skipped)."""
    import time

    from tinyad.device.messages import ScoreFrame

    states: dict[int, int] = {}
    observations: list[AdvObservation] = []
    latest = -1
    client.start_stream()
    deadline = time.monotonic() + seconds
    try:
        for _ in range(max_polls):
            if time.monotonic() >= deadline:
                break
            raw = client.adv()  # SCORE frames that arrive meanwhile are stashed by the client, in order
            while client.stashed:
                frame = client._decode_unsolicited(client.stashed.pop(0))
                if isinstance(frame, ScoreFrame):
                    states[frame.window_index] = frame.alert_state
                    latest = max(latest, frame.window_index)
            if latest < 0 or not raw:
                continue
            try:
                packet = decode_advertisement(raw)
            except BTHomeError:
                continue
            if packet.packet_id is None or packet.alert is None:
                continue
            observations.append(AdvObservation(latest, packet.packet_id, packet.alert))
    finally:
        client.stop_stream()
    return states, observations
