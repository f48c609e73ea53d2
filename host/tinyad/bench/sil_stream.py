"""Streaming through the SIL device: 6 channels at 1 kHz for 10 simulated minutes recorded by `tinyad record`'s
code path, at real time (x1, as a board streams). Target: zero lost or corrupted frames. Also: a stress run at x10
(losses there are reported, never hidden), the recorder's maximum throughput (unpaced: the pty's back pressure paces
the SIL) and the INFER round-trip time (idle and while streaming).

The SIL runs as `tinyad sim` in its own process, as a user would run it, so device and host do not share a GIL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyad.bench import BenchResult, markdown_table

RATE_HZ = 1000.0
SIMULATED_S = 600.0   # the target run, at real time
STRESS_SPEED = 10.0
STRESS_SIMULATED_S = 120.0
QUICK_SIMULATED_S = 10.0
SOURCE_S = 30.0       # the synthetic recording the SIL loops over
UNPACED_WALL_S = 10.0
RTT_WINDOWS = 300


class SimProcess:
    """`tinyad sim` in a subprocess: start, read its port, stop with Ctrl-C and parse its final counters."""

    def __init__(self, model_path: Path, speed: float):
        from tinyad.demo_sil import DEFAULT_MODEL_MACHINE_SEED

        # Its own session: a Ctrl-C in the terminal reaches the benchmark, which then stops the SIL itself
        # (rather than finding its port gone and calling that a device error).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tinyad", "sim", "--model", str(model_path), "--rate", str(RATE_HZ),
             "--speed", str(speed), "--synth", "normal", "--seconds", str(SOURCE_S),
             "--machine-seed", str(DEFAULT_MODEL_MACHINE_SEED)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port: "):
            self.proc.kill()
            raise RuntimeError(f"tinyad sim did not start: {line!r} {self.proc.stderr.read()[-2000:]}")
        self.port = line.split()[1]

    def stop(self) -> dict:
        # Its own session shields it from the terminal, so it must never outlive the benchmark: killed if it does
        # not stop in time, or if the benchmark is interrupted while waiting for it.
        self.proc.send_signal(signal.SIGINT)
        try:
            _, stderr = self.proc.communicate(timeout=60)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise
        for line in stderr.splitlines():
            if line.startswith("stopped: "):
                return json.loads(line[len("stopped: "):])
        raise RuntimeError(f"tinyad sim printed no counters: {stderr[-2000:]}")


def _infer_rtts(client, windows: np.ndarray, drain_stream: bool = False) -> list[float]:
    out = []
    for w in windows:
        t0 = time.perf_counter()
        client.infer(w)
        out.append((time.perf_counter() - t0) * 1e3)
        if drain_stream:
            client.stashed.clear()  # frames that arrived meanwhile, consumed as a recorder would
    return out


def _content_mismatches(session, source, upc) -> int:
    """Recorded samples whose values differ from the source at their own sample numbers (gaps allowed)."""
    numbers = np.rint(session.t * session.meta.sample_rate_hz).astype(np.int64) + session.meta.extra["first_sample_seq"]
    expected = (source.counts[numbers % len(source.counts)].astype(np.float64) * upc).astype(np.float32)
    return int((session.data != expected).any(axis=1).sum())


def _paced_run(model_path, speed: float, simulated_s: float, out: Path, source, upc, rtt_windows=None):
    """Record `simulated_s` of stream from a `tinyad sim` at `speed`; returns a dict of what happened."""
    from tinyad.device.client import DeviceClient
    from tinyad.device.recorder import record
    from tinyad.session import read_session

    sim = SimProcess(model_path, speed)
    result = {}
    try:
        if rtt_windows is not None:
            with DeviceClient(sim.port) as client:
                result["rtt_idle"] = _infer_rtts(client, rtt_windows)
        t0 = time.monotonic()
        rec = record(sim.port, "normal", simulated_s / speed * 3 + 30, out, progress=True,
                     max_samples=int(simulated_s * RATE_HZ))
        if rec.interrupted:  # the recorder keeps what arrived on Ctrl-C; a benchmark stops instead
            raise KeyboardInterrupt
        result["wall_s"] = time.monotonic() - t0
        with DeviceClient(sim.port) as client:
            if rtt_windows is not None:
                client.start_stream()
                result["rtt_streaming"] = _infer_rtts(client, rtt_windows[:100], drain_stream=True)
                client.stop_stream()
            result["status"] = client.status()
    finally:
        result["sil"] = sim.stop()
    session = read_session(rec.path)
    result.update(rec=rec, samples=session.n_samples, content_errors=_content_mismatches(session, source, upc),
                  simulated_s=(session.t[-1] - session.t[0]) + 1 / RATE_HZ)
    status = result["status"]
    result["lossless"] = bool(session.n_samples >= int(simulated_s * RATE_HZ) and not rec.gaps
                              and rec.lost_frames == 0 and rec.bad_frames == 0 and result["content_errors"] == 0
                              and result["sil"]["pty_dropped_bytes"] == 0 and status.dropped_samples == 0)
    return result


def reference_source(settings):
    """What the `tinyad sim` of SimProcess replays (`--synth normal` at 1 kHz: the demo machine's held-out
    recording, looped), generated here the same way so that every recorded sample can be checked."""
    from tinyad.demo_sil import DEFAULT_MODEL_MACHINE_SEED, HELD_OUT_SESSION_SEED
    from tinyad.sil.sources import synth_source

    return synth_source("normal", settings.channels, settings.units_per_count, RATE_HZ, seconds=SOURCE_S,
                        seed=HELD_OUT_SESSION_SEED, machine_seed=DEFAULT_MODEL_MACHINE_SEED)


def run(quick: bool = False) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="tinyad-bench-sil-stream-") as work:
        return _run(Path(work), quick)


def _run(work: Path, quick: bool) -> BenchResult:
    from tinyad.device.recorder import record
    from tinyad.device.reference import load_settings_for
    from tinyad.session import read_session
    from tinyad.sil.standin import resolve_model

    model_path, model_description = resolve_model(work)
    settings = load_settings_for(model_path)
    simulated_s = QUICK_SIMULATED_S if quick else SIMULATED_S
    source = reference_source(settings)
    upc = np.asarray(settings.units_per_count, np.float64)
    rtt_windows = np.stack([source.take(i * 97, settings.window) for i in range(RTT_WINDOWS)])

    # 1) The target: real time, 10 simulated minutes. 2) Stress: x10.
    target = _paced_run(model_path, 1.0, simulated_s, work / "x1.parquet", source, upc, rtt_windows)
    stress = _paced_run(model_path, STRESS_SPEED, QUICK_SIMULATED_S if quick else STRESS_SIMULATED_S,
                        work / "x10.parquet", source, upc)

    # 3) Unpaced: the SIL produces samples as fast as the reader takes them (pty back pressure).
    fast = SimProcess(model_path, 0)
    try:
        unpaced = record(fast.port, "normal", 3.0 if quick else UNPACED_WALL_S, work / "unpaced.parquet")
        if unpaced.interrupted:
            raise KeyboardInterrupt
    finally:
        fast.stop()
    unpaced_errors = _content_mismatches(read_session(unpaced.path), source, upc)

    def run_rows(name, r, speed):
        rec, status, sil = r["rec"], r["status"], r["sil"]
        return [
            [f"{name}: simulated time / samples / SAMPLES frames",
             f"{r['simulated_s']:.1f} s / {r['samples']:,} / {rec.frames:,} (wall {r['wall_s']:.1f} s, "
             f"x{r['simulated_s'] / r['wall_s']:.1f} achieved of x{speed:g})"],
            [f"{name}: sequence gaps / lost samples / lost frames",
             f"{len(rec.gaps)} / {rec.lost_samples:,} / {rec.lost_frames:,}"],
            [f"{name}: corrupt frames host / device; samples differing from the source",
             f"{rec.bad_frames} / {status.frames_bad_crc + status.frames_bad_cobs + status.frames_bad_length}; "
             f"{r['content_errors']}"],
            [f"{name}: SIL bytes dropped at the pty / samples dropped in the ring",
             f"{sil['pty_dropped_bytes']:,} / {status.dropped_samples}"],
        ]

    figures = {
        "model": model_description, "rate_hz": RATE_HZ, "channels": settings.n_channels,
        "x1_simulated_s": target["simulated_s"], "x1_samples": target["samples"],
        "x1_frames": target["rec"].frames, "x1_gaps": len(target["rec"].gaps),
        "x1_lost_samples": target["rec"].lost_samples, "x1_lost_frames": target["rec"].lost_frames,
        "x1_corrupt_frames": target["rec"].bad_frames, "x1_content_mismatches": target["content_errors"],
        "x1_pty_dropped_bytes": target["sil"]["pty_dropped_bytes"],
        "x10_simulated_s": stress["simulated_s"], "x10_speed_achieved": stress["simulated_s"] / stress["wall_s"],
        "x10_gaps": len(stress["rec"].gaps), "x10_lost_samples": stress["rec"].lost_samples,
        "x10_corrupt_frames": stress["rec"].bad_frames, "x10_content_mismatches": stress["content_errors"],
        "x10_pty_dropped_bytes": stress["sil"]["pty_dropped_bytes"],
        "recorder_samples_per_s_x1": target["samples"] / target["wall_s"],
        "recorder_samples_per_s_x10": stress["samples"] / stress["wall_s"],
        "recorder_samples_per_s_unpaced": unpaced.samples_per_s,
        "unpaced_gaps": len(unpaced.gaps), "unpaced_content_mismatches": unpaced_errors,
        "infer_rtt_idle_median_ms": float(np.median(target["rtt_idle"])),
        "infer_rtt_idle_p95_ms": float(np.percentile(target["rtt_idle"], 95)),
        "infer_rtt_streaming_median_ms": float(np.median(target["rtt_streaming"])),
        "infer_rtt_streaming_p95_ms": float(np.percentile(target["rtt_streaming"], 95)),
        "windows_scored_x1": target["status"].windows_scored,
        "target_met": bool(target["lossless"] and target["simulated_s"] >= SIMULATED_S - 1e-6),
    }
    rows = [["stream", f"{settings.n_channels} channels at {RATE_HZ:g} Hz (int16 counts; SAMPLES frame every 8 "
                       f"samples, SCORE every hop of {settings.hop})"]]
    rows += run_rows("x1", target, 1.0)
    rows.append(["target (zero lost or corrupted frames over 10 simulated min at x1)",
                 "met" if figures["target_met"] else f"not judged (a quick run of {simulated_s:g} s)" if quick
                 else "NOT met (see the x1 rows)"])
    rows += run_rows(f"x{STRESS_SPEED:g} stress", stress, STRESS_SPEED)
    rows += [
        ["recorder throughput: x1 / x10 / unpaced maximum",
         f"{figures['recorder_samples_per_s_x1']:,.0f} / {figures['recorder_samples_per_s_x10']:,.0f} / "
         f"{unpaced.samples_per_s:,.0f} samples/s (unpaced: {unpaced.n_samples:,} samples, {len(unpaced.gaps)} gaps, "
         f"{unpaced_errors} differing)"],
        ["INFER round trip, idle: median / p95",
         f"{figures['infer_rtt_idle_median_ms']:.3f} / {figures['infer_rtt_idle_p95_ms']:.3f} ms"],
        ["INFER round trip, while streaming at x1: median / p95",
         f"{figures['infer_rtt_streaming_median_ms']:.3f} / {figures['infer_rtt_streaming_p95_ms']:.3f} ms"],
    ]
    markdown = (
        f"Model: {model_description}. Source: the synthetic motor `tinyad sim --synth normal` replays (the demo "
        f"machine's held-out recording) at 1 kHz, "
        f"{SOURCE_S:g} s looped. `tinyad sim` runs in its own process: the firmware core's streaming path (ring, "
        f"SAMPLES, SCORE) on a pty, with a bounded output queue that drops whole streamed frames when the host "
        f"does not keep up (like the board's TX ring). The host side is `tinyad record`'s code (Python codec, "
        f"sequence tracking, Parquet). Every recorded sample is compared with the source at its own sample "
        f"number. No labels or thresholds are involved. Run on {os.cpu_count()} cores.\n\n"
        + markdown_table(["measure", "value"], rows))
    return BenchResult("SIL streaming at 1 kHz (loss, INFER round trip, recorder throughput)", markdown, figures)
