"""Alert latency in the SIL: hops from the window whose smoothed score crosses THRESHOLD_ON (state -> ALERT,
MIN_WINDOWS = 1) to the first advertisement (ADV_GET) with the BTHome problem flag set. Target: <= 1 hop.

The SIL runs the firmware core (tinyad._core.Device) with the same window_scored hook the board uses to
update its BLE advertisement; polling ADV_GET between SCORE frames pins every advertisement to its window
through the BTHome packet id. Thresholds are set from the scores of this very replay (quantiles): this is a
plumbing measurement, not a detection-quality one.
"""

from __future__ import annotations

import numpy as np

from tinyad.bench import BenchResult, markdown_table


def _model_path():
    """models/default if the lead exported one, else the tiny test model (untrained; fine for plumbing)."""
    from tinyad.paths import default_model_dir

    candidate = default_model_dir() / "model.tflite"
    if candidate.exists():
        return candidate, "models/default"
    import importlib.util

    from tinyad.paths import REPO_ROOT

    # Repository checkout only: load the test helper by path (the `tests` package is not installed).
    spec = importlib.util.spec_from_file_location("tinyad_tiny_model", REPO_ROOT / "tests" / "sil" / "tiny_model.py")
    if spec is None or spec.loader is None:
        from tinyad.errors import InputError

        raise InputError("no models/default/model.tflite and no tests/sil/tiny_model.py",
                         hint="export a model with `tinyad demo` or `tinyad export` first")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    path, _ = helper.build_tiny_model()
    return path, "tiny test model (tests/sil/tiny_model.py)"


def run(quick: bool = False) -> BenchResult:
    from tinyad.ble.latency import analyse, measure
    from tinyad.device.client import DeviceClient
    from tinyad.device.reference import load_settings_for
    from tinyad.sil.device import SilDevice
    from tinyad.sil.sources import SampleSource, synth_source

    model_path, model_name = _model_path()
    settings = load_settings_for(model_path)
    seconds = 6.0 if quick else 20.0
    parts = [synth_source(condition, settings.channels, settings.units_per_count, settings.sample_rate_hz,
                          seconds=8.0) for condition in ("normal", "imbalance")]
    source = SampleSource(np.concatenate([p.counts for p in parts]), settings.sample_rate_hz,
                          "synthetic normal 8 s then imbalance 8 s, looped")
    speed = 4.0
    with SilDevice(model_path, settings=settings, source=source, speed=speed).running() as sil:
        with DeviceClient(sil.port) as client:
            # Calibration pass: smoothed scores of this replay -> thresholds that produce several onsets.
            smoothed = []
            for frame in client.stream(seconds=2.0 if quick else 4.0):
                if hasattr(frame, "smoothed"):
                    smoothed.append(frame.smoothed)
            on, off = (float(np.quantile(smoothed, 0.7)), float(np.quantile(smoothed, 0.5))) if smoothed else (0.0, 0.0)
            client.config_set("THRESHOLD_OFF", -1000.0)  # keep OFF <= ON at every step
            client.config_set("THRESHOLD_ON", on)
            client.config_set("THRESHOLD_OFF", off)
            client.config_set("MIN_WINDOWS", 1)
            client.config_set("COOLDOWN_WINDOWS", 2)
            states, observations = measure(client, seconds)
    report = analyse(states, observations)
    windows = len(states)
    figures = {
        "model": model_name,
        "windows": windows,
        "adv_polls_pinned": report.observations,
        "onsets": len(report.onsets),
        "onsets_measured": len(report.latencies),
        "latency_hops_median": report.median_hops,
        "latency_hops_max": report.max_hops,
        "adv_state_mismatches": report.mismatches,
        "target_hops": 1,
        "target_met": report.max_hops is not None and report.max_hops <= 1 and report.mismatches == 0,
        "replay_speed": speed,
    }
    rows = [[model_name, windows, len(report.onsets), len(report.latencies),
             "-" if report.median_hops is None else report.median_hops,
             "-" if report.max_hops is None else report.max_hops, report.mismatches,
             "met" if figures["target_met"] else "NOT met"]]
    table = markdown_table(["model", "windows", "alert onsets", "measured", "median hops", "max hops",
                            "ADV/state mismatches", "target <= 1 hop"], rows)
    notes = (
        f"\n\nSIL replay of synthetic normal then imbalance data at {speed:g}x real time; THRESHOLD_ON/OFF = "
        f"{on:.3f}/{off:.3f} (70th/50th percentile of the smoothed scores of this same replay: the thresholds "
        "saw the data, which is fine for a latency measurement and meaningless for detection quality), "
        "MIN_WINDOWS 1, COOLDOWN 2. Latency counts hops between the window whose state became ALERT and the "
        "window of the first advertisement with the problem flag set; a mismatch is an advertisement whose "
        "flag differs from the state of its own window. On a board the same hook runs; the extra delay is "
        "the NimBLE task hand-off plus up to one advertising interval (100 ms default) until the next packet "
        "goes on air, which the SIL cannot measure. The replay is paced by the wall clock, so the numbers of "
        "windows and onsets differ a little from run to run; the hops do not depend on them."
    )
    return BenchResult("BLE alert latency (SIL)", table + notes, figures)
