"""The committed default model across shaft speed: for each condition of the demo machine (its seed is in run.json), the
share of windows the int8 model under TFLM assigns to that condition, on new recordings at 240-480 rpm.

Why: the demo trains on three runs per condition at the speeds the generator happened to draw, and its summary
scores two held-out runs per condition, again at drawn speeds. A machine also runs at other speeds. At a low speed misalignment's 2x
component sits where a healthy machine's 1x sits at a high speed, so a model that never saw a condition at low
speed can take it for another one (the demo's own validation run, misalignment at 243 rpm, is classified as
normal, which is why early stopping keeps epoch 1). This sweep says where the committed model can be trusted.
New recordings: session seeds 20,000 + rpm, fixed severity; no training run is replayed. No threshold is
involved (the class is the argmax of the int8 logits, as the core reports it).
"""

from __future__ import annotations

import numpy as np

from tinyad.bench import BenchResult, markdown_table

SWEEP_RPM = (240, 280, 320, 360, 400, 440, 480)
QUICK_RPM = (240, 360, 480)
SEVERITY = 0.6
RECORDING_SEED = 20_000  # + rpm; the demo's sessions use SeedSequence-derived seeds, the SIL replay 10,000


def training_speeds(run_info: dict, seed: int) -> dict[str, dict[str, list]]:
    """Shaft speed (rpm) of every session the committed model was trained, validated and tested on, by
    condition and split, recovered by drawing each demo session's parameters again (a 0.1-s synth: the speed
    is the session's first draw, independent of the duration). `seed`: the demo's, which is both its dataset
    seed and its machine seed."""
    from tinyad.synth import session_seed, synth_session

    speeds: dict[str, dict[str, list]] = {}
    for segment in run_info["segments"]:
        session_id = run_info["session_ids"][segment["session"]]  # synth_<condition>_<index>
        condition, index = session_id.removeprefix("synth_").rsplit("_", 1)
        session = synth_session(condition, duration_s=0.1, seed=session_seed(seed, condition, int(index)),
                                machine_seed=seed)
        speeds.setdefault(condition, {}).setdefault(segment["split"], []).append(round(session.meta.extra["rpm"]))
    return speeds


def class_shares(model, settings, condition: str, rpm: float, seconds: float, machine_seed: int) -> float:
    """Share of a new recording's windows (condition at `rpm`) that the int8 model assigns to `condition`."""
    from tinyad.datasets import make_windows
    from tinyad.quantize import board_inputs
    from tinyad.synth import synth_session

    session = synth_session(condition, duration_s=seconds, rpm=rpm, seed=RECORDING_SEED + int(rpm),
                            severity=SEVERITY, machine_seed=machine_seed)
    windows = board_inputs(make_windows(session.data.astype(np.float32), settings.window, settings.hop), settings)
    predicted = np.array([int(np.argmax(model.invoke(w))) for w in windows])
    return float(np.mean(predicted == settings.class_names.index(condition)))


def run(quick: bool = False) -> BenchResult:
    import json

    from tinyad.errors import InputError
    from tinyad.model_settings import ModelSettings
    from tinyad.paths import default_model_dir
    from tinyad.tflm import TflmModel

    model_dir = default_model_dir()
    run_info = json.loads((model_dir / "run.json").read_text())
    if not all(s.startswith("synth_") for s in run_info["session_ids"]):
        raise InputError(f"{model_dir} was not trained on the demo's synthetic machine",
                         hint="the sweep describes the model `tinyad demo --update-default` writes")
    settings = ModelSettings.load(model_dir / "model_settings.json")
    model = TflmModel.from_file(model_dir / "model.tflite")
    machine_seed = int(run_info["train"]["seed"])  # `tinyad demo --seed` seeds the machine and the training
    speeds = training_speeds(run_info, machine_seed)
    rpms = QUICK_RPM if quick else SWEEP_RPM
    seconds = 8.0 if quick else 20.0
    shares = {c: [class_shares(model, settings, c, rpm, seconds, machine_seed) for rpm in rpms]
              for c in settings.class_names}

    def runs(condition, split):
        return ", ".join(str(v) for v in sorted(speeds.get(condition, {}).get(split, []))) or "-"

    rows = [[c, runs(c, "train"), runs(c, "val"), runs(c, "test")] + [f"{v:.2f}" for v in shares[c]]
            for c in settings.class_names]
    table = markdown_table(["condition", "train runs (rpm)", "validation run", "test runs"]
                           + [f"{rpm} rpm" for rpm in rpms], rows)
    weakest = {c: (rpms[int(np.argmin(v))], min(v)) for c, v in shares.items()}
    notes = (
        f"\n\nShare of windows assigned to the recording's own condition by models/default (int8, TFLM), on new "
        f"recordings of the demo machine (machine seed {machine_seed}), {seconds:g} s each at "
        f"severity {SEVERITY:g}, {settings.window}-sample windows, hop {settings.hop}. Speeds of the model's own "
        "runs from models/default/run.json. No threshold is involved: the class is the argmax of the int8 "
        "logits, and the recordings are new (no training, validation or test run is replayed). "
        "Lowest share per condition: "
        + "; ".join(f"{c} {share:.2f} at {rpm} rpm" for c, (rpm, share) in weakest.items())
        + ". Record every condition across the machine's speed range before trusting a model outside the "
        "speeds it was trained at."
    )
    figures = {
        "rpm": list(rpms),
        "share_by_condition": {c: [round(v, 4) for v in shares[c]] for c in shares},
        "lowest": {c: {"rpm": rpm, "share": round(share, 4)} for c, (rpm, share) in weakest.items()},
        "training_rpm": speeds,
        "machine_seed": machine_seed,
        "seconds_per_recording": seconds,
        "severity": SEVERITY,
    }
    return BenchResult("Default model across shaft speed (demo machine)", table + notes, figures)
