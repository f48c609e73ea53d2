"""Device commands: `tinyad sim`, `info`, `record`, `monitor`, `parity`. Thin click wrappers over
tinyad.sil and tinyad.device; they work identically against a board and the SIL device."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import click
from click.core import ParameterSource

from tinyad.demo_sil import DEFAULT_MODEL_MACHINE_SEED, HELD_OUT_SESSION_SEED
from tinyad.device.recorder import MAX_DECIMATION
from tinyad.errors import InputError, ParityError

port_option = click.option("--port", "-p", required=True, envvar="TINYAD_PORT", show_envvar=True,
                           help="Serial port of the board, or the pty printed by `tinyad sim` "
                                "(baud rate: 921600, or $TINYAD_BAUD).")


def _default_model() -> Path:
    from tinyad.paths import default_model_dir

    return default_model_dir() / "model.tflite"


@click.command()
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .tflite to run (model_settings.json beside it). Default: models/default/model.tflite.")
@click.option("--session", "session_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay this session file (in a loop).")
@click.option("--synth", "condition", default=None,
              help="Replay a synthetic motor in this condition (normal, imbalance, misalignment, bearing_fault, "
                   "looseness). Default: normal.")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Replay speed: 1 = real time, 10 = ten times faster, 0 = as fast as the reader takes samples.")
@click.option("--rate", "rate_hz", type=float, default=None,
              help="Sample rate in Hz of --synth data (default: the model's). A --session replays at its own rate.")
@click.option("--seconds", type=float, default=60.0, show_default=True,
              help="Length of the synthetic recording (looped).")
@click.option("--machine-seed", type=click.IntRange(min=0), default=DEFAULT_MODEL_MACHINE_SEED, show_default=True,
              help="Which synthetic machine (motor and clamp) --synth replays. The default is the machine "
                   "`tinyad demo` and models/default were trained on; a model knows only the machine it learned.")
@click.option("--seed", type=click.IntRange(min=0), default=HELD_OUT_SESSION_SEED, show_default=True,
              help="Which recording of that machine --synth replays: another seed is another stretch of it, at "
                   "another shaft speed and fault severity. The default is one the demo never trained on.")
@click.pass_context
def sim(ctx, model_path, session_path, condition, speed, rate_hz, seconds, machine_seed, seed):
    """Run the software-in-the-loop device on a pseudo-terminal until Ctrl-C.

    The firmware core (framing, dispatcher, preprocessing, scoring, alerts) answers the protocol; the host TFLM
    runs the model. Connect any tinyad command to the printed port."""
    from tinyad.device.reference import load_settings_for
    from tinyad.session import SAME_RATE_TOLERANCE, low_pass_differs, rate_matches
    from tinyad.sil.device import SilDevice
    from tinyad.sil.sources import session_source, synth_source

    if session_path and condition:
        raise click.UsageError("give --session or --synth, not both")
    if not math.isfinite(speed):
        raise InputError(f"--speed {speed} is not a finite number",
                         hint="1 = real time, 10 = ten times faster, 0 = as fast as the reader takes samples")
    if rate_hz is not None and math.isnan(rate_hz):
        raise InputError("--rate nan is not a number", hint="give the sample rate in Hz, e.g. --rate 100")
    if not math.isfinite(seconds):
        raise InputError(f"--seconds {seconds} is not a finite number", hint="e.g. --seconds 60 (it loops)")
    if speed < 0 or (rate_hz is not None and rate_hz <= 0):
        raise click.UsageError("--speed must be >= 0 and --rate > 0")
    model_path = model_path or _default_model()
    if not model_path.exists():
        raise InputError(f"{model_path}: no such model file", hint="export one with `tinyad export`, or pass --model")
    settings = load_settings_for(model_path)
    if session_path:
        source = session_source(session_path, settings.channels, settings.units_per_count, window=settings.window)
        # The samples are what the sensor delivered at the session's rate; another --rate would only relabel them
        # (every frequency scaled), so it is refused rather than applied.
        if rate_hz is not None and not rate_matches(rate_hz, source.sample_rate_hz, SAME_RATE_TOLERANCE):
            raise InputError(f"--rate {rate_hz:g} Hz differs from the session's own sample rate "
                             f"{source.sample_rate_hz:g} Hz",
                             hint="a session replays at its own rate; --rate applies to --synth")
        rate = source.sample_rate_hz
        ignored = [f"--{name.replace('_', '-')}" for name in ("seconds", "machine_seed", "seed")
                   if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)]
        if ignored:
            verb = "apply" if len(ignored) > 1 else "applies"
            click.echo(f"note: {', '.join(ignored)} {verb} to --synth only; ignored with --session", err=True)
    else:
        rate = rate_hz or settings.sample_rate_hz
        if round(seconds * rate) < settings.window:
            raise InputError(f"--seconds {seconds:g} at {rate:g} Hz gives {round(seconds * rate)} samples, fewer than "
                             f"one window of the model ({settings.window})",
                             hint=f"give at least one window: --seconds {settings.window / rate:g} or more")
        # A new recording of that machine (the demo's held-out seed), not one of its training sessions.
        source = synth_source(condition or "normal", settings.channels, settings.units_per_count, rate,
                              seconds=seconds, seed=seed, machine_seed=machine_seed)
        # A board records a machine that never repeats itself; this stand-in loops one clip.
        click.echo(f"note: --synth replays one {seconds:g}-s recording in a loop, so recordings longer than that, "
                   "or made one after another, repeat it; for training data record each condition at several "
                   "--seed values (other speeds and severities)", err=True)
    if not rate_matches(rate, settings.sample_rate_hz):  # a session's rate may be measured: a recording's tolerance
        click.secho(f"warning: replaying at {rate:g} Hz, the model was trained at {settings.sample_rate_hz:g} Hz",
                    fg="yellow", err=True)
    if low_pass_differs(source.dlpf_hz, settings.dlpf_hz):
        click.secho(f"warning: the replayed data were low-pass filtered at {source.dlpf_hz:g} Hz (DLPF), the model's "
                    f"training recordings at {settings.dlpf_hz:g} Hz: its scores on them mean little, and `tinyad "
                    "parity` refuses this device", fg="yellow", err=True)
    for line in source.warnings:
        click.secho(f"warning: {line}", fg="yellow", err=True)

    device = SilDevice(model_path, settings=settings, source=source, speed=speed, sample_rate_hz=rate)
    # Ctrl-C and `kill` stop it cleanly, counters included: the handlers only set a stop flag (a
    # KeyboardInterrupt inside the model invoke would count as an inference failure). Installed before the port
    # is announced, so a caller that signals as soon as it read the port cannot be too early.
    with device.stop_on_signals():
        try:
            click.echo(f"port: {device.port}", nl=True)
            click.echo(f"tinyad SIL device: model {model_path} ({device.model_sha256[:12]}), "
                       f"{source.description}, {rate:g} Hz x {speed:g}; Ctrl-C stops", err=True)
            device.serve_forever()  # returns once a signal set the stop flag
        finally:
            device.close()  # idempotent; also when the announcement failed (a closed stdout)
    click.echo(f"stopped: {json.dumps(device.stats(), sort_keys=True)}", err=True)


@click.command()
@port_option
@click.option("--json", "as_json", is_flag=True, help="Print INFO and STATUS as JSON.")
def info(port, as_json):
    """Show what the device is: firmware, sensor, full scale, model hash and quantization, and its status."""
    from tinyad.device.client import DeviceClient
    from tinyad.device.configure import alert_input_check, json_value, score_kind_text
    from tinyad.device.client import DeviceRequestError
    from tinyad.errors import DeviceError

    unread = []  # the alert settings are read for display only: one that fails is named, not the end of `info`
    with DeviceClient(port) as client:
        device_info = client.info()
        status = client.status()
        # INFO has the thresholds but not what they compare or for how long: without these "on >= 1" has no units.
        names = ["SCORE_KIND", "MIN_WINDOWS", "COOLDOWN_WINDOWS", "EWMA_ALPHA"]
        alert = dict.fromkeys((name.lower() for name in names), None)
        while names:
            name = names.pop(0)
            try:
                alert[name.lower()] = json_value(name, client.config_get(name))
            except DeviceRequestError as err:  # refused (an older firmware?): the other keys may still answer
                unread.append(f"could not read {name}: {err}")
            except DeviceError as err:  # the link failed: the rest would only wait for their timeouts
                unread.append(f"could not read {', '.join([name] + names)}: {err}")
                break
    d = device_info
    problems, hint = [], None
    if alert["score_kind"] is not None:
        problems, hint = alert_input_check(alert["score_kind"], d.threshold_on, d.threshold_off, d.output_scale,
                                           d.n_classes, port)
    for line in unread:
        click.secho(f"warning: {line}", fg="yellow", err=True)
    if as_json:
        alert.update(threshold_on=json_value("THRESHOLD_ON", d.threshold_on),
                     threshold_off=json_value("THRESHOLD_OFF", d.threshold_off), problems=problems, hint=hint)
        click.echo(json.dumps({"info": asdict(device_info), "status": asdict(status), "alert": alert}, indent=2))
        return

    def shown(name: str) -> str:
        return "?" if alert[name] is None else f"{alert[name]:g}"

    click.echo(f"port          {port}")
    click.echo(f"board         {d.board} ({'software-in-the-loop' if d.is_sil else 'hardware'}), firmware "
               f"{d.firmware_version}, protocol {d.protocol_version}")
    low_pass = f"low-pass {d.dlpf_bandwidth_hz:g} Hz" if d.dlpf_bandwidth_hz else "low-pass not reported"
    click.echo(f"sensor        {d.sensor}: +-{d.accel_full_scale_g:g} g, +-{d.gyro_full_scale_dps:g} dps at "
               f"{d.sample_rate_hz:g} Hz, {low_pass}")
    click.echo(f"model         sha256 {d.model_sha256}")
    click.echo(f"              window {d.window}, hop {d.hop}, {d.channels} channels, {d.n_classes} classes, "
               f"arena {d.arena_bytes} B")
    click.echo(f"quantization  input scale {d.input_scale:.6g} zp {d.input_zero_point}, output scale "
               f"{d.output_scale:.6g} zp {d.output_zero_point}")
    ble = ("no" if not d.ble_available else "BTHome, encrypted (tinyad config --get BIND_KEY_CHECK)"
           if d.encrypted else "BTHome, plain")
    click.echo(f"alert         on smoothed {score_kind_text(alert['score_kind'])} >= {d.threshold_on:g} for "
               f"{shown('min_windows')} window(s) in a row, off < {d.threshold_off:g}")
    click.echo(f"              then {shown('cooldown_windows')} window(s) of cooldown; EWMA alpha "
               f"{shown('ewma_alpha')}; BLE {ble}")
    for problem in problems:
        click.secho(f"warning       {problem}", fg="yellow")
    if hint:
        click.echo(f"hint          {hint}")
    click.echo(f"status        {status.alert_name}, {'streaming' if status.streaming else 'idle'}, "
               f"{status.windows_scored} windows scored, {status.alerts_raised} alerts, uptime "
               f"{status.uptime_us / 1e6:.1f} s")
    click.echo(f"link          frames ok {status.frames_ok}, bad crc {status.frames_bad_crc}, bad cobs "
               f"{status.frames_bad_cobs}, bad length {status.frames_bad_length}, oversize "
               f"{status.frames_oversize}, rejected {status.requests_rejected}; dropped samples "
               f"{status.dropped_samples}, sensor errors 0x{status.sensor_error_flags:02x}")


def label_warning(label: str) -> str | None:
    """A warning for a recording's label that `tinyad train` would not take as the user likely means: one naming no
    class ("unknown", blank), which train refuses, or one with capitals or surrounding blanks, which train keeps as
    written, a class apart from its plain spelling ("Normal " beside "normal"). None for a plain label."""
    from tinyad.datasets import UNLABELLED

    if label.strip().lower() in UNLABELLED:
        return (f"label {label!r} names no class: `tinyad train` refuses such sessions and `tinyad evaluate` counts "
                "them neither normal nor fault; give the machine's state, e.g. --label normal")
    plain = label.strip().lower()
    if label != plain:
        return (f"label {label!r}: train takes labels as written, so {label!r} and {plain!r} are two classes; "
                f"use --label {plain} unless you mean another class")
    return None


@click.command()
@port_option
@click.option("--label", "-l", required=True, help="Session label, e.g. normal or imbalance.")
@click.option("--duration", "-d", type=float, required=True, help="Seconds to record (Ctrl-C stops early).")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=Path("sessions"), show_default=True,
              help="Output .parquet file, or a folder for <label>-<UTC time>.parquet.")
@click.option("--decimation", type=click.IntRange(1, MAX_DECIMATION), default=1, show_default=True,
              help=f"Keep every n-th sample (1..{MAX_DECIMATION}, the device's limit).")
def record(port, label, duration, out, decimation):
    """Record a labeled session from the device's sample stream (Parquet, written atomically).

    --duration is session time, counted in the device's sample numbers: a `tinyad sim --speed 0` records
    that many seconds of samples as fast as it can, a board at real time takes that long."""
    from tinyad.device.journal import unfinished_journals
    from tinyad.device.recorder import record as record_session, session_path_for
    from tinyad.device.signals import sigterm_as_interrupt

    if warning := label_warning(label):  # before recording: a label cannot be changed afterwards
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    path = session_path_for(out, label)
    for journal in unfinished_journals(path.parent):
        click.secho(f"note: {journal} is a recording whose recorder was killed before writing it; "
                    f"`tinyad recover {journal}` makes it a session", fg="yellow", err=True)
    with sigterm_as_interrupt():  # `kill` ends it like Ctrl-C: STREAM_STOP sent, samples so far written
        result = record_session(port, label, duration, path, decimation=decimation, progress=True,
                                on_warning=lambda text: click.secho(f"warning: {text}", fg="yellow", err=True))
    click.echo(f"wrote {result.path}: {result.n_samples} samples ({result.duration_s:.1f} s), "
               f"{result.frames} frames, {result.samples_per_s:.0f} samples/s")
    if result.requested_path is not None and result.path != result.requested_path:
        click.secho(f"note: {result.requested_path} was written by another recording meanwhile: this one is "
                    f"{result.path.name}", fg="yellow")
    if result.gaps or result.lost_frames:
        click.secho(f"{len(result.gaps)} sequence gap(s), {result.lost_samples} samples and {result.lost_frames} "
                    f"frames lost (recorded in the session's meta.extra.sequence_gaps)", fg="yellow")
    if result.bad_frames:
        # bytes between two 0x00 that are no frame: a damaged frame, or text on a classic ESP32's shared UART0
        # (boot log, TFLM errors); samples were lost only where sequence gaps are reported
        click.secho(f"{result.bad_frames} corrupt frame(s) or stray text dropped"
                    + ("" if result.gaps or result.lost_frames else " (no sequence gap seen)"),
                    fg="yellow")
    if result.interrupted:
        click.secho(f"recording {result.interrupted}; everything received until then was written", fg="yellow")
    if result.journal_note:
        click.secho(f"note: {result.journal_note}", fg="yellow", err=True)


@click.command()
@click.argument("journals", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Session file to write (one journal only). Default: the name the recorder meant, beside the "
                   "journal (a -2, -3, ... variant if taken).")
@click.option("--force", is_flag=True, help="Recover even though the process that wrote the journal still runs "
                                            "(when that process number now belongs to another program).")
def recover(journals, out, force):
    """Make sessions of recordings whose recorder was killed (kill -9, a crash, a power cut).

    `tinyad record` appends every frame to <session>.parquet.partial while it records and removes it once the
    session is written; a recorder that died leaves it. Give those files (a folder: every journal in it)."""
    from tinyad.device.journal import SUFFIX
    from tinyad.device.recorder import recover as recover_session

    paths = []
    for given in journals:
        found = sorted(given.glob(f"*.parquet{SUFFIX}")) if given.is_dir() else [given]
        if given.is_dir() and not found:
            raise InputError(f"{given} holds no recording journal (*.parquet{SUFFIX})",
                             hint="give the .partial file a killed `tinyad record` left")
        paths += found
    if out is not None and len(paths) > 1:
        raise click.UsageError(f"--out names one session; {len(paths)} journals were given")
    failures = []
    for journal in paths:
        try:
            result = recover_session(journal, out=out, force=force)
        except InputError as err:  # the others are still recovered
            if len(paths) == 1:
                raise
            click.secho(f"error: {err}", fg="red", err=True)
            failures.append(err)
            continue
        click.echo(f"wrote {result.path}: {result.n_samples} samples ({result.duration_s:.1f} s) from {journal} "
                   f"(removed)")
        if result.path != result.requested_path:
            click.secho(f"note: {result.requested_path} exists: this session is {result.path.name}", fg="yellow")
        if result.gaps:
            click.secho(f"{len(result.gaps)} sequence gap(s), {result.lost_samples} samples lost (recorded in the "
                        f"session's meta.extra.sequence_gaps)", fg="yellow")
        if result.cut_bytes:
            click.secho(f"note: the last {result.cut_bytes} byte(s) were a sample cut short when the recorder "
                        f"stopped: dropped", fg="yellow")
        if result.dropped_records:
            click.secho(f"note: the last {result.dropped_records} record(s) do not continue the sample numbers "
                        "(what a power cut leaves at a file's end): dropped", fg="yellow")
        if result.other_host:
            click.secho(f"note: recorded on {result.other_host}; whether its recorder still ran there could not "
                        f"be checked", fg="yellow")
    if failures:
        raise InputError(f"{len(failures)} of {len(paths)} journal(s) could not be recovered (named above)",
                         hint=failures[0].hint)


@click.command()
@port_option
@click.option("--seconds", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The .tflite the device runs (model_settings.json beside it): names the predicted classes. "
                   "Default: models/default when the device runs it, else class numbers.")
def monitor(port, seconds, model_path):
    """Show live scores, the predicted class and the alert state, one line per scored window."""
    from tinyad.device.monitor import monitor as run_monitor
    from tinyad.device.signals import sigterm_as_interrupt

    if seconds is not None and not seconds > 0:  # -1, 0 or nan would stop at once
        raise InputError(f"--seconds {seconds:g} must be a positive number of seconds",
                         hint="e.g. --seconds 30, or leave it out to run until Ctrl-C")
    with sigterm_as_interrupt():  # `kill` ends it like Ctrl-C: STREAM_STOP sent, the summary printed
        run_monitor(port, seconds=seconds, echo=click.echo, model_path=model_path)


@click.command()
@port_option
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The .tflite the device should be running (model_settings.json beside it).")
@click.option("--windows", "n_windows", type=int, default=1000, show_default=True,
              help="Windows of real IMU data to send.")
@click.option("--data", "data_root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The public data sets' folder, holding imu/motor_mpu6050 (default: $TINYAD_SHARED_DATA or "
                   "../shared/data). For windows of your own recordings use --session.")
@click.option("--session", "session_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Take the windows from this session file instead.")
@click.option("--no-tflite", is_flag=True, help="Skip the TFLite-vs-TFLM comparison.")
def parity(port, model_path, n_windows, data_root, session_path, no_tflite):
    """Prove the device's int8 input and output tensors equal the host TFLM's, bit for bit.

    Exits non-zero (5) on any device-vs-TFLM mismatch, naming the windows; refuses (4) a device whose model
    hash differs from --model. TFLite-vs-TFLM differences are reported separately with the first divergent op."""
    from tinyad.device.parity import real_windows, run_parity, session_windows
    from tinyad.device.reference import load_settings_for

    if n_windows < 1:
        raise click.UsageError("--windows must be >= 1")
    settings = load_settings_for(model_path)
    if session_path:
        windows, description = session_windows(session_path, settings, n_windows)
    else:
        windows, description = real_windows(settings, n_windows, data_root)
    click.echo(f"data: {description}")
    report = run_parity(port, model_path, windows, compare_tflite=not no_tflite, progress=True, settings=settings)
    click.echo(report.summary())
    if not report.device_ok:
        hint = ("run again with ESP-NN off (CONFIG_NN_ANSI_C) to tell an ESP-NN kernel defect from a "
                "preprocessing or model mismatch")
        if report.constant_mismatches:  # the input already differs: no kernel is to blame
            hint = ("the device's preprocessing constants differ from the model's (listed above; changed with "
                    "`tinyad config --set`?): set them back to the values in model_settings.json, or restart the "
                    "device, and run parity again")
        raise ParityError(f"{len(report.mismatching_windows)} of {report.n_windows} windows differ between the "
                          f"device and the host TFLM", hint=hint)
