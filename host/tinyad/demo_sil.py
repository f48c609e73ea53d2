"""The last stage of `tinyad demo`: the freshly exported model on the software-in-the-loop device.

The SIL device runs the firmware's own C++ core (tinyad._core) on a pseudo-terminal with the model under TFLM.
The demo talks to it exactly as to a board: INFO, a parity check over serial (device tensors vs host TFLM, bit
for bit), then a live stream of a machine that is healthy and then develops a bearing fault, watching the alert
state and the BTHome advertisement the board would broadcast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

ALERT = 2  # alert state machine: 0 OK, 1 PENDING, 2 ALERT, 3 COOLDOWN (docs/protocol.md)
# `tinyad demo` trains on one synthetic machine whose seed is the demo's --seed (default 0); models/default came
# from that default run. New recordings of that machine (never in training) use session seeds from here on.
DEFAULT_MODEL_MACHINE_SEED = 0
HELD_OUT_SESSION_SEED = 10_000


def fault_replay(settings, machine_seed: int, seconds_normal: float, seconds_fault: float,
                 seed: int = HELD_OUT_SESSION_SEED):
    """Raw counts of one new healthy session followed by a bearing fault of the same machine (never seen in
    training), and the sample where the fault starts."""
    from tinyad.preprocess import physical_to_counts
    from tinyad.synth import synth_session

    parts = [synth_session("normal", duration_s=seconds_normal, seed=seed, machine_seed=machine_seed),
             synth_session("bearing_fault", duration_s=seconds_fault, seed=seed + 1, machine_seed=machine_seed,
                           severity=0.8)]
    counts = [physical_to_counts(p.data[:, [p.meta.channels.index(c) for c in settings.channels]],
                                 settings.units_per_count) for p in parts]
    return np.concatenate(counts), len(counts[0])


def sil_demo(tflite_path: Path, run, machine_seed: int, echo: Callable[[str], None] = print,
             parity_windows: int = 300, seconds_normal: float = 20.0, seconds_fault: float = 20.0,
             speed: float = 10.0) -> list[tuple[str, str]]:
    """Run the SIL stage; returns rows for the demo's summary table."""
    from tinyad.ble.bthome import decode_advertisement
    from tinyad.device.client import DeviceClient
    from tinyad.device.messages import ScoreFrame
    from tinyad.device.parity import run_parity
    from tinyad.model_settings import ModelSettings
    from tinyad.preprocess import physical_to_counts
    from tinyad.sil.device import SilDevice
    from tinyad.sil.sources import SampleSource

    settings = ModelSettings.load(Path(tflite_path).with_name("model_settings.json"))
    counts, fault_start = fault_replay(settings, machine_seed, seconds_normal, seconds_fault)
    source = SampleSource(counts, settings.sample_rate_hz,
                          f"{seconds_normal:g} s healthy, then {seconds_fault:g} s bearing fault")
    test_x = run.data["test"].x[:parity_windows]
    windows = np.stack([physical_to_counts(w, settings.units_per_count) for w in test_x])

    rows: list[tuple[str, str]] = []
    with SilDevice(tflite_path, settings=settings, source=source, speed=speed, stream_when_idle=False).running() \
            as sil, DeviceClient(sil.port) as client:
        info = client.info()
        echo(f"SIL device on {sil.port}: {info.board}, firmware {info.firmware_version}, "
             f"model sha256 {info.model_sha256[:16]}...")
        report = run_parity(sil.port, tflite_path, windows, client=client, compare_tflite=False, progress=True)
        echo(report.summary())
        exact = report.n_windows - len(report.mismatching_windows)
        rows.append(("SIL parity over serial (vs host TFLM)",
                     f"{exact}/{report.n_windows} windows bit-exact (input, output, score, probability)"))

        echo(f"streaming at {speed:g}x real time: {source.description}")
        frames: list[tuple[int, int]] = []  # (end sample, alert state) per scored window
        problem = None
        duration = (seconds_normal + seconds_fault) / speed + 1.0
        for frame in client.stream(seconds=duration):
            if not isinstance(frame, ScoreFrame):
                continue
            end_sample = frame.window_index * settings.hop + settings.window
            onset = frame.alert_state == ALERT and (not frames or frames[-1][1] != ALERT)
            first_after_fault = frame.alert_state == ALERT and end_sample > fault_start and problem is None
            frames.append((end_sample, frame.alert_state))
            if first_after_fault:
                advert = decode_advertisement(client.adv())
                problem = int(bool(advert.alert))
                echo(f"  t = {end_sample / settings.sample_rate_hz:5.1f} s  ALERT (smoothed score "
                     f"{frame.smoothed:.2f}); BTHome advertisement: problem={problem}, "
                     f"score={advert.score}, packet id {advert.packet_id}")
            elif onset and end_sample <= fault_start:
                echo(f"  t = {end_sample / settings.sample_rate_hz:5.1f} s  ALERT before the fault starts "
                     f"(false alarm; smoothed score {frame.smoothed:.2f})")
        rows.extend(alert_rows(frames, fault_start, settings.sample_rate_hz, problem))
        stats = sil.stats()
        bad = sum(stats.get(k, 0) for k in ("bad_crc", "bad_cobs", "bad_length", "oversize"))
        rows.append(("SIL counters", f"{stats.get('frames_ok', 0)} frames ok, {bad} bad, dropped samples "
                     f"{stats.get('dropped_samples', 0)}, windows scored {stats.get('windows', 0)}"))
    return rows


def split_alerts(frames: list[tuple[int, int]], fault_start: int) -> tuple[list[int], int | None]:
    """From (end sample, alert state) per scored window: the end samples where an alert began on the healthy
    machine (windows ending at or before the fault start: false alarms), and the end sample of the first window
    in ALERT that holds fault samples (None: the fault was missed)."""
    false_alarms, detection, previous = [], None, None
    for end, state in frames:
        if state == ALERT and end <= fault_start and previous != ALERT:
            false_alarms.append(end)
        if state == ALERT and end > fault_start and detection is None:
            detection = end
        previous = state
    return false_alarms, detection


def alert_rows(frames: list[tuple[int, int]], fault_start: int, sample_rate_hz: float,
               problem: int | None) -> list[tuple[str, str]]:
    """Summary rows: false alarms before the fault (if any) and the delay of the first alert after its start.
    problem: the BTHome problem flag read at that alert."""
    false_alarms, detection = split_alerts(frames, fault_start)
    rows = []
    if false_alarms:
        first = (fault_start - false_alarms[0]) / sample_rate_hz
        rows.append(("false alarms on the healthy machine",
                     f"{len(false_alarms)}, the first {first:.1f} s before the fault starts"))
    if detection is None:
        rows.append(("alert on the bearing fault", f"none in {len(frames)} windows (MISSED)"))
    else:
        delay = (detection - fault_start) / sample_rate_hz
        rows.append(("alert on the bearing fault", f"{delay:+.1f} s after the fault starts; BTHome problem={problem}"))
    return rows
