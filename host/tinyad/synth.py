"""A physically plausible rotating-machine vibration generator that writes labeled tinyad sessions.

Model (one sensor clamped to the housing of a motor; axes: x = axial, y = horizontal radial, z = vertical
radial, gravity mostly on z):

* Shaft rotation f_r = rpm / 60 with a slow speed wander (about 0.5 %), integrated to a shaft phase.
* Every machine has a small residual imbalance (1x) and small 2x/3x harmonics, plus broadband forcing that
  rings the housing's structural mode ("resonance"), plus a flat vibration floor.
* imbalance: a rotating force at 1x, i.e. the two radial axes in quadrature (y ~ cos, z ~ sin), its amplitude
  growing with the square of the speed (centrifugal force m r w^2).
* misalignment: strong 2x on the radial axes plus 1x and 2x on the axial axis.
* bearing_fault (outer race): an impulse train at BPFO = (n/2) f_r (1 - d/D cos a), with 1-2 % slip jitter,
  each impulse ringing the structural mode (a damped resonance).
* looseness (optional class): a rich series of harmonics 1x..6x plus a 0.5x sub-harmonic.
* Gyro coupling: the mount rocks, so each gyro axis sees radial/axial vibration *velocity* divided by a lever
  arm (a random per-session mixing), plus bias and noise.

Sensor model (MPU6050): the physics is simulated at the chip's internal 1 kHz rate, passed through the
digital low-pass filter (DLPF; modelled as a 2nd-order Butterworth at the largest MPU6050 DLPF bandwidth
below the output Nyquist: 44 Hz for 100 Hz) and decimated by SMPLRT_DIV + 1, like the chip does. Then bias,
white noise (datasheet densities: 400 ug/sqrt(Hz), 0.005 dps/sqrt(Hz)) and quantization to 16-bit counts at
the chosen full scale (clipping at the rails) are applied.

Why the "bearing resonance" is low: real bearing/housing resonances sit at 1.5-3 kHz, far above what a
100 Hz IMU stream can see (the DLPF removes them entirely). We place the excited structural mode below the
output Nyquist (drawn per session in 0.28-0.34 x rate, 28-34 Hz at 100 Hz) so that the fault is observable at
all, and keep the default speed range low (240-480 rpm): BPFO is then at most 0.21 x 100 Hz. Measured: with
BPFO above ~0.22 x rate its harmonics fold around the output Nyquist onto the mode and the envelope spectrum no
longer shows BPFO (a real 100 Hz IMU has the same limit).

The output rate changes the sampling, not the machine: from 100 Hz up to the MPU6050's 1 kHz the same machine
(240-480 rpm, mode at 28-34 Hz, same amplitudes) is sampled faster. Only below 100 Hz are the speed range and the
mode scaled down with the rate (x rate / 100 Hz), because there the 100 Hz machine's BPFO and mode would lie
above the output Nyquist and the fault would be invisible.

Classes are separable but not trivially: severity is drawn per session, rpm varies across sessions and the
1x/2x amplitudes scale with rpm^2, a per-session machine gain (0.5-2x, log-uniform) scales all vibration,
healthy machines have a random amount of residual imbalance, the clamp's yaw about the vertical axis is random
(axial and horizontal motion land on varying x/y channels), and noise, tilt, biases and coupling are randomized,
so a detector must learn spectral shape, not a single amplitude or a channel pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyad.atomic import remove_outputs
from tinyad.errors import InputError
from tinyad.session import CANONICAL_UNITS, KNOWN_CHANNELS, STANDARD_GRAVITY, Session, SessionMeta, write_session

GENERATOR_VERSION = 1
CONDITIONS = ("normal", "imbalance", "misalignment", "bearing_fault", "looseness")
# The default demo classes: the four conditions of the real motor_mpu6050 data set.
DEFAULT_CLASSES = ("normal", "imbalance", "misalignment", "bearing_fault")
DEFAULT_RATE_HZ = 100.0
# The machine (speed range, structural mode) is the one seen at 100 Hz for every rate from 100 Hz up; below it
# is scaled down with the rate, which keeps 2x, BPFO and the mode below the output Nyquist (see machine_rate_hz).
MACHINE_RATE_HZ = 100.0
DEFAULT_RPM_RANGE_AT_100HZ = (240.0, 480.0)
MAX_RATE_HZ = 1000.0  # the MPU6050 accelerometer outputs at most 1 kHz
DEFAULT_FULL_SCALE = {"accel_g": 4.0, "gyro_dps": 500.0}
MPU6050_INTERNAL_RATE_HZ = 1000.0
# Accelerometer bandwidth of each DLPF_CFG 0..6 (the index); the firmware's copy: mpu6050_regs.h.
MPU6050_DLPF_BANDWIDTHS_HZ = (260.0, 184.0, 94.0, 44.0, 21.0, 10.0, 5.0)
ACCEL_NOISE_G_PER_RTHZ = 400e-6
GYRO_NOISE_DPS_PER_RTHZ = 0.005
# Reference shaft frequency for amplitudes: a 1x amplitude `a` at 10 Hz becomes a * (f_r / 10)^2.
REFERENCE_SHAFT_HZ = 10.0
WARMUP_S = 1.0  # simulated and dropped, so filters and the resonance start in steady state
OVERVIEW_PNG = "overview.png"
_SYNTH_FILE = re.compile(rf"(?:{'|'.join(CONDITIONS)})_\d{{3,}}\.parquet")


@dataclass(frozen=True)
class BearingGeometry:
    """Rolling-element bearing geometry (defaults: a 608 skateboard/small-motor bearing)."""

    n_balls: int = 7
    ball_diameter_mm: float = 3.97
    pitch_diameter_mm: float = 15.0
    contact_angle_deg: float = 0.0

    def bpfo_ratio(self) -> float:
        """Ball-pass frequency of the outer race as a multiple of the shaft frequency."""
        ratio = self.ball_diameter_mm / self.pitch_diameter_mm
        return self.n_balls / 2.0 * (1.0 - ratio * np.cos(np.radians(self.contact_angle_deg)))


def machine_rate_hz(sample_rate_hz: float) -> float:
    """The rate the simulated machine is sized for: min(rate, 100 Hz).

    At and above 100 Hz the machine does not depend on the rate (a faster sensor samples the same motor). Below
    100 Hz the 100 Hz machine's BPFO (up to 22 Hz) and mode (28-34 Hz) would lie above the output Nyquist, so
    there the speed range and the mode scale down with the rate to keep the faults observable."""
    return min(float(sample_rate_hz), MACHINE_RATE_HZ)


def default_rpm_range(sample_rate_hz: float) -> tuple[float, float]:
    """Speed range (rpm) drawn from when no rpm is given: 240-480 rpm from 100 Hz up, scaled down below."""
    scale = machine_rate_hz(sample_rate_hz) / 100.0
    return DEFAULT_RPM_RANGE_AT_100HZ[0] * scale, DEFAULT_RPM_RANGE_AT_100HZ[1] * scale


def check_sample_rate(sample_rate_hz: float) -> None:
    """Refuse a rate that is not a number or above what the MPU6050 outputs (the low end: dlpf_bandwidth_hz)."""
    if not np.isfinite(sample_rate_hz):
        what = "is not a number" if np.isnan(sample_rate_hz) else "is infinite"
        raise InputError(f"sample rate {sample_rate_hz} Hz {what}",
                         hint="give the output rate in Hz, e.g. --rate 100 (11 to 1000)")
    if sample_rate_hz > MAX_RATE_HZ:
        raise InputError(f"sample rate {sample_rate_hz:g} Hz is above the MPU6050's {MAX_RATE_HZ:g} Hz",
                         hint="the MPU6050 accelerometer outputs at most 1 kHz; give --rate 1000 or less")


def dlpf_bandwidth_hz(sample_rate_hz: float) -> float:
    """The widest MPU6050 DLPF bandwidth below the output Nyquist frequency (44 Hz for 100 Hz)."""
    check_sample_rate(sample_rate_hz)
    for bandwidth in MPU6050_DLPF_BANDWIDTHS_HZ:
        if bandwidth < 0.5 * sample_rate_hz:
            return bandwidth
    raise InputError(f"sample rate {sample_rate_hz:g} Hz is too low for the MPU6050 model (min 11 Hz)")


def synth_session(
    condition: str,
    duration_s: float = 60.0,
    sample_rate_hz: float = DEFAULT_RATE_HZ,
    rpm: float | None = None,
    seed: int | None = 0,
    severity: float | None = None,
    device_id: str = "synth",
    session_id: str | None = None,
    full_scale: dict | None = None,
    resonance_hz: float | None = None,
    bearing: BearingGeometry = BearingGeometry(),
    mount_yaw_deg: float | None = None,
    machine_seed: int | None = None,
) -> Session:
    """Simulate one labeled session of a rotating machine seen by an MPU6050 (accel g, gyro dps).

    condition: one of CONDITIONS ("normal" is the healthy class).
    rpm: shaft speed; None draws it uniformly from `default_rpm_range(sample_rate_hz)` (240-480 rpm from 100 Hz up).
    severity: fault severity in [0, 1]; None draws it uniformly from [0.2, 1]. Ignored for "normal".
    resonance_hz: the structural mode rung by bearing impulses and broadband forcing; None draws it
        uniformly from 0.28-0.34 x machine_rate_hz(rate) (28-34 Hz from 100 Hz up).
    mount_yaw_deg: rotation of the sensor about the vertical axis (how the clamp was put on); None draws it
        uniformly from [0, 360), so the axial/horizontal directions land on varying x/y channels.
    machine_seed: draws the constants of the machine and its mounting (resonance, damping, gain, support
        anisotropy, gyro coupling, lever arm, clamp yaw, tilt, sensor offsets) from their own generator, so that
        sessions with the same machine_seed come from one machine on one clamp, as when a model is trained for
        the machine it watches; None draws them per session (a fleet of different machines).
    Deterministic for a given seed. The drawn parameters (rpm, severity, BPFO, ...) are kept in meta.extra.
    """
    if condition not in CONDITIONS:
        raise InputError(f"unknown condition {condition!r}", hint=f"choose one of {', '.join(CONDITIONS)}")
    _check_duration(duration_s)
    if severity is not None and not 0.0 <= severity <= 1.0:
        raise InputError(f"severity must be within [0, 1], got {severity}")
    if rpm is not None and rpm <= 0:
        raise InputError(f"rpm must be positive, got {rpm}")
    full_scale = dict(full_scale or DEFAULT_FULL_SCALE)
    dlpf_hz = dlpf_bandwidth_hz(sample_rate_hz)
    decimation = max(1, int(round(MPU6050_INTERNAL_RATE_HZ / sample_rate_hz)))
    fs = sample_rate_hz * decimation  # simulation rate: the chip's internal rate (1 kHz at 100 Hz output)
    if resonance_hz is not None and not 0 < resonance_hz < 0.5 * fs:
        raise InputError(f"resonance {resonance_hz:g} Hz must lie below half the simulation rate {fs / 2:g} Hz")

    rng = np.random.default_rng(seed)
    mrng = rng if machine_seed is None else np.random.default_rng([machine_seed, 0x6D616368])  # machine constants
    if resonance_hz is None:
        resonance_hz = float(mrng.uniform(0.28, 0.34) * machine_rate_hz(sample_rate_hz))
    if rpm is None:
        rpm = float(rng.uniform(*default_rpm_range(sample_rate_hz)))
    if severity is None:
        severity = float(rng.uniform(0.2, 1.0))
    if condition == "normal":
        severity = 0.0
    if mount_yaw_deg is None:
        mount_yaw_deg = float(mrng.uniform(0.0, 360.0))
    # Machine size/stiffness: scales every vibration source, so absolute level alone does not give the class.
    machine_gain = float(np.exp(mrng.uniform(np.log(0.5), np.log(2.0))))
    shaft_hz = rpm / 60.0
    bpfo_ratio = bearing.bpfo_ratio()

    n_out = int(round(duration_s * sample_rate_hz))
    if n_out < 2:
        raise InputError(f"duration {duration_s} s at {sample_rate_hz:g} Hz gives fewer than 2 samples")
    n_warm = int(round(WARMUP_S * sample_rate_hz)) * decimation
    n = n_out * decimation + n_warm
    speed_scale = (shaft_hz / REFERENCE_SHAFT_HZ) ** 2  # centrifugal force ~ w^2

    # Shaft speed with slow wander (low-passed random walk, ~0.5 % std) -> phase.
    wander = _lowpass_noise(rng, n, fs, cutoff_hz=0.3)
    wander *= rng.uniform(0.003, 0.008) / max(wander.std(), 1e-12)
    inst_hz = shaft_hz * (1.0 + wander)
    phase = 2 * np.pi * np.cumsum(inst_hz) / fs + rng.uniform(0, 2 * np.pi)

    accel = np.zeros((n, 3))  # x axial, y/z radial; vibration only (gravity added after the DLPF)
    # Anisotropic support stiffness: the vertical axis responds a bit less than the horizontal one.
    vertical_ratio = mrng.uniform(0.6, 1.0)

    # Healthy baseline: residual imbalance (1x, quadrature), small 2x/3x, broadband forcing of the mode.
    residual = rng.uniform(0.01, 0.05) * speed_scale * machine_gain
    accel[:, 1] += residual * np.cos(phase)
    accel[:, 2] += residual * vertical_ratio * np.sin(phase)
    for harmonic, (lo, hi) in ((2, (0.1, 0.35)), (3, (0.05, 0.2))):
        for axis in range(3):
            accel[:, axis] += residual * rng.uniform(lo, hi) * np.cos(harmonic * phase + rng.uniform(0, 2 * np.pi))
    zeta = mrng.uniform(0.08, 0.14)
    forcing = rng.normal(size=(n, 3)) * np.array([0.5, 1.0, 1.0])
    mode = _ring(forcing, fs, resonance_hz, zeta)
    accel += mode * (rng.uniform(0.004, 0.012) * machine_gain / max(mode.std(), 1e-12))
    accel += rng.normal(scale=rng.uniform(0.002, 0.006) * machine_gain, size=(n, 3))

    if condition == "imbalance":
        amplitude = (0.02 + 0.14 * severity) * speed_scale * machine_gain
        accel[:, 1] += amplitude * np.cos(phase)
        accel[:, 2] += amplitude * vertical_ratio * np.sin(phase)
        accel[:, 0] += 0.1 * amplitude * np.cos(phase + rng.uniform(0, 2 * np.pi))
    elif condition == "misalignment":
        amplitude = (0.02 + 0.1 * severity) * speed_scale * machine_gain
        theta = rng.uniform(0, 2 * np.pi)
        accel[:, 1] += amplitude * np.cos(2 * phase + theta)
        accel[:, 2] += amplitude * vertical_ratio * np.cos(2 * phase + theta + rng.uniform(0.5, 1.5))
        accel[:, 1] += 0.3 * amplitude * np.cos(phase + rng.uniform(0, 2 * np.pi))
        accel[:, 0] += rng.uniform(0.4, 0.7) * amplitude * np.cos(phase + rng.uniform(0, 2 * np.pi))
        accel[:, 0] += rng.uniform(0.3, 0.5) * amplitude * np.cos(2 * phase + rng.uniform(0, 2 * np.pi))
    elif condition == "bearing_fault":
        accel += machine_gain * _bearing_impulses(rng, inst_hz * bpfo_ratio, fs, resonance_hz, zeta, severity)
    elif condition == "looseness":
        amplitude = (0.02 + 0.08 * severity) * speed_scale * machine_gain
        for harmonic in range(1, 7):
            gain = amplitude * 0.75 ** (harmonic - 1)
            accel[:, 1] += gain * np.cos(harmonic * phase + rng.uniform(0, 2 * np.pi))
            accel[:, 2] += gain * vertical_ratio * np.cos(harmonic * phase + rng.uniform(0, 2 * np.pi))
        accel[:, 2] += 0.4 * amplitude * np.cos(0.5 * phase + rng.uniform(0, 2 * np.pi))

    # Gyro: rocking of the mount, angular rate = vibration velocity / lever arm (random per-session geometry).
    velocity = _integrate(accel * STANDARD_GRAVITY, fs, highpass_hz=1.0)  # m/s
    coupling = mrng.uniform(0.3, 1.0, size=(3, 3)) * mrng.choice([-1.0, 1.0], size=(3, 3))
    coupling[0] *= [0.2, 1.0, 1.0]   # roll about the shaft axis: driven by radial motion
    coupling[1] *= [1.0, 0.2, 1.0]   # pitch: axial and vertical motion
    coupling[2] *= [1.0, 1.0, 0.2]   # yaw: axial and horizontal motion
    lever_m = mrng.uniform(0.04, 0.12)
    gyro = np.degrees(velocity @ coupling.T / lever_m)
    gyro += rng.normal(scale=0.02, size=(n, 3))  # motor electrical/mechanical jitter

    # Sensor: DLPF at the internal rate, then keep every `decimation`-th sample (SMPLRT_DIV + 1).
    signal = _dlpf(np.concatenate([accel, gyro], axis=1), fs, dlpf_hz)
    signal = signal[n_warm::decimation][:n_out]
    # Mounting: the sensor frame is the machine frame turned about the vertical (z) axis.
    yaw = np.radians(mount_yaw_deg)
    turn = np.array([[np.cos(yaw), np.sin(yaw), 0.0], [-np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    signal[:, :3] = signal[:, :3] @ turn.T
    signal[:, 3:] = signal[:, 3:] @ turn.T

    tilt = np.radians(mrng.uniform(-5, 5, size=2))
    gravity = np.array([np.sin(tilt[1]), -np.sin(tilt[0]) * np.cos(tilt[1]), np.cos(tilt[0]) * np.cos(tilt[1])])
    signal[:, :3] += gravity + mrng.uniform(-0.03, 0.03, size=3)  # gravity + accel zero-g offset
    signal[:, 3:] += mrng.uniform(-3.0, 3.0, size=3)              # gyro zero-rate offset
    signal[:, :3] += rng.normal(scale=ACCEL_NOISE_G_PER_RTHZ * np.sqrt(dlpf_hz), size=(n_out, 3))
    signal[:, 3:] += rng.normal(scale=GYRO_NOISE_DPS_PER_RTHZ * np.sqrt(dlpf_hz), size=(n_out, 3))
    clipped = 0
    for cols, rail in ((slice(0, 3), full_scale["accel_g"]), (slice(3, 6), full_scale["gyro_dps"])):
        counts = np.round(signal[:, cols] * (32768.0 / rail))
        clipped += int(((counts < -32768) | (counts > 32767)).sum())
        signal[:, cols] = np.clip(counts, -32768, 32767) * (rail / 32768.0)

    meta = SessionMeta(
        sample_rate_hz=float(sample_rate_hz),
        label=condition,
        channels=list(KNOWN_CHANNELS),
        units=dict(CANONICAL_UNITS),
        full_scale=full_scale,
        dlpf_hz=dlpf_hz,
        device_id=device_id,
        session_id=session_id or f"synth_{condition}_seed{seed}",
        source=f"tinyad.synth v{GENERATOR_VERSION}",
        extra={
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "condition": condition,
            "rpm": round(float(rpm), 3),
            "shaft_hz": round(shaft_hz, 4),
            "bpfo_hz": round(shaft_hz * bpfo_ratio, 4),
            "bpfo_ratio": round(bpfo_ratio, 5),
            "resonance_hz": round(resonance_hz, 3),
            "damping_ratio": round(float(zeta), 4),
            "severity": round(float(severity), 4),
            "internal_rate_hz": fs,
            "tilt_deg": [round(float(v), 3) for v in np.degrees(tilt)],
            "lever_arm_m": round(float(lever_m), 4),
            "mount_yaw_deg": round(float(mount_yaw_deg), 3),
            "machine_gain": round(machine_gain, 4),
            "clipped_values": clipped,
        },
    )
    t = np.arange(n_out, dtype=np.float64) / sample_rate_hz
    return Session(t=t, data=signal.astype(np.float32), meta=meta)


def synth_dataset(
    out_dir: str | Path,
    sessions_per_class: int = 6,
    duration_s: float = 60.0,
    seed: int = 0,
    sample_rate_hz: float = DEFAULT_RATE_HZ,
    classes: tuple[str, ...] | list[str] = DEFAULT_CLASSES,
    progress: bool = False,
    machine_seed: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write `sessions_per_class` sessions of every class to `out_dir` as `<class>_<NNN>.parquet`.

    Each session gets its own seed derived from (seed, class, index), its own rpm and severity. Every file is
    written atomically; arguments are checked before anything is written. Returns the paths in write order.
    machine_seed: one machine on one clamp for every session (see synth_session); None: a different machine
    per session.
    Refuses an `out_dir` that already holds session files (*.parquet) or an overview.png: a new data set written
    over an old one would mix them. overwrite: first remove the files a synth run writes (<class>_<NNN>.parquet,
    overview.png); other *.parquet files are still refused.
    """
    classes = list(classes)
    if not classes:
        raise InputError("no classes given", hint=f"e.g. --classes normal,imbalance (from {', '.join(CONDITIONS)})")
    unknown = [c for c in classes if c not in CONDITIONS]
    if unknown:
        raise InputError(f"unknown classes {unknown}", hint=f"choose from {', '.join(CONDITIONS)}")
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise InputError(f"class {', '.join(repeated)} given more than once",
                         hint="name each class once; --sessions-per-class sets how many sessions each gets")
    if sessions_per_class < 1:
        raise InputError(f"sessions per class must be >= 1, got {sessions_per_class}")
    for name, value in (("seed", seed), ("machine seed", machine_seed)):
        if value is not None and value < 0:
            raise InputError(f"{name} must be >= 0, got {value}")
    _check_duration(duration_s)
    dlpf_bandwidth_hz(sample_rate_hz)  # fail early on an unsupported rate
    out_dir = Path(out_dir)
    _clear_out_dir(out_dir, overwrite)
    jobs = [(c, i) for c in classes for i in range(sessions_per_class)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="synth", unit="session")
    paths = []
    for condition, index in jobs:
        this_seed = session_seed(seed, condition, index)
        session = synth_session(
            condition, duration_s=duration_s, sample_rate_hz=sample_rate_hz, seed=this_seed,
            session_id=f"synth_{condition}_{index:03d}", machine_seed=machine_seed,
        )
        session.meta.extra["dataset_seed"] = seed
        paths.append(write_session(out_dir / f"{condition}_{index:03d}.parquet", session))
    return paths


def is_synth_output(path: Path) -> bool:
    """Whether `path` is a file a synth run writes: <class>_<NNN>.parquet or overview.png."""
    return path.name == OVERVIEW_PNG or _SYNTH_FILE.fullmatch(path.name) is not None


def _clear_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse (or with overwrite remove) earlier output in out_dir, before anything is written."""
    if not out_dir.is_dir():
        return
    existing = sorted(p for p in out_dir.iterdir() if p.is_file() and (p.suffix == ".parquet" or is_synth_output(p)))
    foreign = [p for p in existing if not is_synth_output(p)]
    if overwrite and not foreign:
        remove_outputs(existing)
        return
    shown = foreign if overwrite else existing
    if not shown:
        return
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    listed = ", ".join(str(p) for p in shown[:3]) + more
    if overwrite:
        raise InputError(f"{listed}: not written by `tinyad synth`, --overwrite leaves them (and the data sets "
                         "would mix)", hint="give another --out, or move those files away")
    raise InputError(f"{listed}: {out_dir} already holds session files (a new data set would mix with them)",
                     hint="give another --out, or --overwrite to replace the files of an earlier `tinyad synth`")


def amplitude_spectrum(x: np.ndarray, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Single-sided amplitude spectrum (Hann window, mean removed) of a 1-D signal: (freqs, amplitude)."""
    x = np.asarray(x, dtype=np.float64)
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft((x - x.mean()) * window)) * 2.0 / window.sum()
    return np.fft.rfftfreq(len(x), 1.0 / sample_rate_hz), spectrum


def envelope_spectrum(
    x: np.ndarray, sample_rate_hz: float, band_hz: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Envelope spectrum: band-pass around the resonance, |Hilbert|, then the amplitude spectrum."""
    from scipy.signal import butter, hilbert, sosfiltfilt

    sos = butter(4, band_hz, btype="bandpass", fs=sample_rate_hz, output="sos")
    envelope = np.abs(hilbert(sosfiltfilt(sos, np.asarray(x, dtype=np.float64))))
    return amplitude_spectrum(envelope, sample_rate_hz)


def plot_sessions(sessions: list[Session], png_path: str | Path, seconds: float = 2.0) -> Path:
    """Write a PNG with one row per session: accel time trace (first `seconds`) and accel/gyro spectra."""
    from tinyad.plots import new_figure

    png_path = Path(png_path)
    fig, axes = new_figure(len(sessions), 3, figsize=(15, 2.6 * len(sessions)), squeeze=False)
    for row, session in zip(axes, sessions):
        fs = session.meta.sample_rate_hz
        shown = min(session.n_samples, int(seconds * fs))
        extra = session.meta.extra
        for ch in range(min(3, session.data.shape[1])):
            trace = session.data[:shown, ch]
            row[0].plot(session.t[:shown], trace - trace.mean(), lw=0.8, label=session.meta.channels[ch])
        row[0].set_ylabel("g (mean removed)")
        title = session.meta.label
        if "rpm" in extra:
            title += f"  ({extra['rpm']:.0f} rpm, severity {extra.get('severity', 0):.2f})"
        row[0].set_title(title, fontsize=9, loc="left")
        row[0].legend(fontsize=7, loc="upper right")
        for col, channels, unit in ((1, range(0, 3), "g"), (2, range(3, 6), "dps")):
            for ch in channels:
                if ch < session.data.shape[1]:
                    f, a = amplitude_spectrum(session.data[:, ch], fs)
                    row[col].semilogy(f, a + 1e-6, lw=0.7, label=session.meta.channels[ch])
            row[col].set_ylabel(f"amplitude ({unit})")
            if "shaft_hz" in extra:
                for k, style in ((1, "--"), (2, ":")):
                    row[col].axvline(k * extra["shaft_hz"], color="k", ls=style, lw=0.6)
                if session.meta.label == "bearing_fault":
                    row[col].axvline(extra["bpfo_hz"], color="r", ls="-.", lw=0.6)
            row[col].legend(fontsize=7, loc="upper right")
    axes[-1][0].set_xlabel("time (s)")
    axes[-1][1].set_xlabel("frequency (Hz)   -- 1x, .. 2x, red: BPFO")
    axes[-1][2].set_xlabel("frequency (Hz)")
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=90)
    return png_path


def session_seed(seed: int, condition: str, index: int) -> int:
    """A per-session seed that does not change when classes are added or removed."""
    class_code = CONDITIONS.index(condition)
    return int(np.random.SeedSequence([int(seed), class_code, int(index)]).generate_state(1)[0])


def _check_duration(duration_s: float) -> None:
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise InputError(f"duration must be a positive number of seconds, got {duration_s}",
                         hint="e.g. --duration 60")


def _lowpass_noise(rng: np.random.Generator, n: int, fs: float, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(2, cutoff_hz, fs=fs, output="sos")
    return sosfilt(sos, rng.normal(size=n))


def _ring(forcing: np.ndarray, fs: float, resonance_hz: float, zeta: float) -> np.ndarray:
    """Response of a damped single-degree-of-freedom mode to `forcing` (unit peak impulse response)."""
    from scipy.signal import lfilter

    omega = 2 * np.pi * resonance_hz / fs
    radius = np.exp(-zeta * omega)
    damped = omega * np.sqrt(max(1.0 - zeta**2, 1e-6))
    # h[k] = r^k sin((k+1) w_d) / sin(w_d) * sin(w_d): a decaying sinusoid at the damped frequency.
    b = [np.sin(damped)]
    a = [1.0, -2 * radius * np.cos(damped), radius**2]
    return lfilter(b, a, forcing, axis=0)


def _bearing_impulses(rng, bpfo_inst_hz, fs, resonance_hz, zeta, severity) -> np.ndarray:
    """Outer-race fault: one impulse per BPFO period (with slip jitter) ringing the structural mode."""
    n = len(bpfo_inst_hz)
    cycles = np.cumsum(bpfo_inst_hz) / fs + rng.uniform(0, 1)
    crossings = np.flatnonzero(np.diff(np.floor(cycles)) > 0) + 1
    period_samples = fs / np.mean(bpfo_inst_hz)
    jitter = np.round(rng.normal(scale=0.015 * period_samples, size=len(crossings))).astype(int)
    positions = np.clip(crossings + jitter, 0, n - 1)
    impulses = np.zeros(n)
    np.add.at(impulses, positions, rng.normal(1.0, 0.15, size=len(positions)))
    response = _ring(impulses, fs, resonance_hz, zeta)
    unit_peak = np.abs(_ring(np.r_[1.0, np.zeros(64)], fs, resonance_hz, zeta)).max()
    peak = (0.03 + 0.22 * severity) / max(unit_peak, 1e-12)  # g at the ringing's first peak
    directions = np.array([0.3, 0.5, 1.0])  # load zone below the shaft: mostly vertical
    return response[:, None] * peak * directions[None, :]


def _integrate(x: np.ndarray, fs: float, highpass_hz: float) -> np.ndarray:
    """Integrate along axis 0 in the frequency domain, dropping content below `highpass_hz` (no drift)."""
    n = x.shape[0]
    spectrum = np.fft.rfft(x, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    gain = np.zeros_like(freqs, dtype=complex)
    keep = freqs >= highpass_hz
    gain[keep] = 1.0 / (2j * np.pi * freqs[keep])
    return np.fft.irfft(spectrum * gain[:, None], n=n, axis=0)


def _dlpf(x: np.ndarray, fs: float, bandwidth_hz: float) -> np.ndarray:
    """The MPU6050 digital low-pass filter, modelled as a causal 2nd-order Butterworth."""
    from scipy.signal import butter, sosfilt

    sos = butter(2, bandwidth_hz, fs=fs, output="sos")
    return sosfilt(sos, x, axis=0)
