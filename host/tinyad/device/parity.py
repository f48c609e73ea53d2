"""`tinyad parity`: prove that the device computes, bit for bit, what the host TFLM computes.

For every window of raw counts the device returns (INFER) its int8 input tensor, its int8 output tensor and its
alert score; the host computes the same three with the Python preprocessing reference, the TFLM interpreter of
the `tflite-micro` wheel and the scoring formula. Any difference is a device-vs-TFLM mismatch and names the
window. TFLite (reference kernels) vs TFLM is compared on the same inputs and reported separately, with the
first divergent op: it is a known difference of the two runtimes, not a defect of the board.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.device.client import DeviceClient
from tinyad.device.messages import DeviceInfo
from tinyad.device.reference import HostReference
from tinyad.errors import InputError, ModelMismatchError
from tinyad.scoring import SCORE_KIND_PROBABILITY
from tinyad.session import rate_matches

MAX_DETAILS = 20


@dataclass
class WindowMismatch:
    """One window where the device differs from the host: which tensor, how many values, the first one."""

    window: int
    tensor: str          # "input", "output", "score" or "probability"
    n_different: int
    first_index: int
    device_value: float
    host_value: float

    def describe(self) -> str:
        return (f"window {self.window}: {self.tensor} differs in {self.n_different} value(s); first at "
                f"[{self.first_index}]: device {self.device_value:.9g}, host TFLM {self.host_value:.9g}")


@dataclass
class ParityReport:
    """Result of a parity run. `device_ok` is the verdict; TFLite-vs-TFLM is informational."""

    port: str
    model_path: str
    model_sha256: str
    device: DeviceInfo
    n_windows: int
    input_mismatches: list[int] = field(default_factory=list)
    output_mismatches: list[int] = field(default_factory=list)
    score_mismatches: list[int] = field(default_factory=list)
    details: list[WindowMismatch] = field(default_factory=list)
    constant_mismatches: list[str] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    device_invoke_us: list[int] = field(default_factory=list)
    tflite: object | None = None  # tinyad.tflm.Comparison
    wall_s: float = 0.0
    score_kind: int = 0  # the device's SCORE_KIND: 0 logit margin, 1 probability

    @property
    def mismatching_windows(self) -> list[int]:
        return sorted(set(self.input_mismatches) | set(self.output_mismatches) | set(self.score_mismatches))

    @property
    def device_ok(self) -> bool:
        return self.n_windows > 0 and not self.mismatching_windows

    def summary(self) -> str:
        """Human-readable lines for the terminal."""
        lines = [
            f"device {self.device.board} ({'SIL' if self.device.is_sil else 'board'}, firmware "
            f"{self.device.firmware_version}) on {self.port}",
            f"model {self.model_path} sha256 {self.model_sha256[:16]}... (matches the device)",
            f"windows: {self.n_windows}",
        ]
        exact = self.n_windows - len(self.mismatching_windows)
        score = "probability" if self.score_kind == SCORE_KIND_PROBABILITY else "logit margin"
        lines.append(f"device vs host TFLM: {exact}/{self.n_windows} windows bit-exact "
                     f"(input tensor mismatches {len(self.input_mismatches)}, output {len(self.output_mismatches)}, "
                     f"score {len(self.score_mismatches)}; score = {score}, probability compared too)")
        for text in self.constant_mismatches:
            lines.append(f"  device constant differs from the model settings: {text}")
        for detail in self.details:
            lines.append("  " + detail.describe())
        if len(self.mismatching_windows) > len(self.details):
            lines.append(f"  mismatching windows: {_ranges(self.mismatching_windows)}")
        if self.tflite is not None:
            cmp = self.tflite
            lines.append(f"TFLite (reference kernels) vs TFLM: {cmp.n_windows - len(cmp.mismatched_windows)}/"
                         f"{cmp.n_windows} windows equal, max difference {cmp.max_lsb} LSB (informational)")
            if cmp.first_divergence is not None:
                d = cmp.first_divergence
                lines.append(f"  first divergent op: #{d.op_index} {d.op_name} (tensor {d.tensor_index}) in window "
                             f"{d.window}, {d.n_different} value(s) off by up to {d.max_lsb} LSB")
                lines.append(f"  divergent ops (first per window): {cmp.divergent_ops}")
        if self.round_trip_ms:
            lines.append(f"INFER round trip: median {np.median(self.round_trip_ms):.2f} ms, "
                         f"p95 {np.percentile(self.round_trip_ms, 95):.2f} ms; device invoke median "
                         f"{np.median(self.device_invoke_us):.0f} us")
        lines.append("PASS: the device is bit-exact with the host TFLM" if self.device_ok
                     else f"FAIL: {len(self.mismatching_windows)} window(s) differ: "
                          f"{_ranges(self.mismatching_windows[:50])}")
        return "\n".join(lines)


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    out = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def check_model_hash(info: DeviceInfo, model_path: str | Path, model_sha256: str) -> None:
    """Refuse a device that runs another model: ModelMismatchError naming both hashes."""
    if info.model_sha256.lower() != model_sha256.lower():
        raise ModelMismatchError(
            f"the device on this port runs model sha256 {info.model_sha256}, but {model_path} has sha256 "
            f"{model_sha256}",
            hint="flash the firmware built from this model (or start `tinyad sim --model` with it), or pass the "
                 "device's .tflite to --model")


def check_sample_rate(info: DeviceInfo, model_path: str | Path, model_rate_hz: float) -> None:
    """Refuse a device sampling at another rate than the model was trained at: ModelMismatchError naming both.
    INFER would still be bit-exact, but the live scores of such a device mean nothing."""
    # A board reports its configured rate (equal to its model's: a static_assert), but a SIL replaying an imported
    # session reports that session's rate, which may be measured (1 / its median interval): a recording's tolerance.
    if not rate_matches(info.sample_rate_hz, model_rate_hz):
        raise ModelMismatchError(
            f"the device on this port samples at {info.sample_rate_hz:g} Hz, but {model_path} was trained at "
            f"{model_rate_hz:g} Hz (its model_settings.json)",
            hint="build the firmware with the model's sample rate (CONFIG_TINYAD_SAMPLE_RATE_HZ); for the SIL, "
                 "replay a session recorded at the model's rate, or --synth without --rate")


def check_dlpf(info: DeviceInfo, model_path: str | Path, model_dlpf_hz: float) -> None:
    """Refuse a device whose sensor low-pass differs from the one of the model's training recordings:
    ModelMismatchError naming both. Unchecked when either side does not know its low-pass (0): sessions imported
    from other sensors, a SIL replaying them. Like the rate, it leaves INFER bit-exact but the live scores wrong."""
    from tinyad.session import low_pass_differs

    if low_pass_differs(info.dlpf_bandwidth_hz, model_dlpf_hz):
        from tinyad.export import dlpf_cfg_of

        cfg = dlpf_cfg_of(model_dlpf_hz)
        setting = f"CONFIG_TINYAD_DLPF_CFG={cfg}" if cfg >= 0 else "the DLPF"
        raise ModelMismatchError(
            f"the device on this port low-pass filters at {info.dlpf_bandwidth_hz:g} Hz (DLPF), but {model_path} "
            f"was trained on recordings filtered at {model_dlpf_hz:g} Hz (its model_settings.json)",
            hint=f"build the firmware with {setting}; for the SIL, replay sessions recorded with the model's DLPF")


def _compare_constants(info: DeviceInfo, ref: HostReference) -> list[str]:
    problems = []
    if list(np.float32(info.affine_scale)) != list(ref.a):
        problems.append(f"affine scale a: device {info.affine_scale}, settings {ref.a.tolist()}")
    if list(np.float32(info.affine_offset)) != list(ref.b):
        problems.append(f"affine offset b: device {info.affine_offset}, settings {ref.b.tolist()}")
    if info.input_zero_point != ref.zero_point:
        problems.append(f"input zero point: device {info.input_zero_point}, settings {ref.zero_point}")
    if np.float32(info.output_scale) != np.float32(ref.settings.output_scale):
        problems.append(f"output scale: device {info.output_scale}, settings {ref.settings.output_scale}")
    return problems


def _first_difference(window: int, tensor: str, device: np.ndarray, host: np.ndarray) -> WindowMismatch:
    device = np.asarray(device).reshape(-1)
    host = np.asarray(host).reshape(-1)
    different = np.flatnonzero(device != host)
    i = int(different[0])
    return WindowMismatch(window, tensor, int(different.size), i, float(device[i]), float(host[i]))


def run_parity(port: str, model_path: str | Path, windows_raw: np.ndarray, client: DeviceClient | None = None,
               compare_tflite: bool = True, progress: bool = False, settings=None) -> ParityReport:
    """Send each window (n, window, channels) of raw counts to the device with INFER and compare.

    Raises ModelMismatchError before sending anything when the device's model hash differs from the file's.
    Returns the report; the caller decides (the CLI exits non-zero unless report.device_ok)."""
    from tinyad.model_settings import sha256_file

    model_path = Path(model_path)
    if not model_path.exists():
        raise InputError(f"{model_path}: no such model file")
    windows_raw = np.asarray(windows_raw)
    if windows_raw.ndim != 3 or len(windows_raw) == 0:
        raise InputError(f"parity needs windows of shape (n, window, channels), got {windows_raw.shape}")
    model_sha256 = sha256_file(model_path)
    own_client = client is None
    client = client or DeviceClient(port)
    try:
        info = client.info()
        check_model_hash(info, model_path, model_sha256)
        ref = HostReference(model_path, settings)
        check_sample_rate(info, model_path, ref.settings.sample_rate_hz)
        check_dlpf(info, model_path, ref.settings.dlpf_hz)
        if (info.window, info.channels) != windows_raw.shape[1:]:
            raise InputError(f"windows have shape {windows_raw.shape[1:]}, the device expects "
                             f"({info.window}, {info.channels})")
        report = ParityReport(port, str(model_path), model_sha256, info, len(windows_raw))
        report.constant_mismatches = _compare_constants(info, ref)
        report.score_kind = int(client.config_get("SCORE_KIND"))  # what the device's INFER score is
        host_inputs = np.empty((len(windows_raw),) + tuple(windows_raw.shape[1:]), np.int8)
        iterator = range(len(windows_raw))
        if progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, desc="parity", unit="win")
        start = time.monotonic()
        for i in iterator:
            raw = windows_raw[i]
            host_input = ref.input_for(raw)
            host_inputs[i] = host_input
            t0 = time.perf_counter()
            result = client.infer(raw)
            report.round_trip_ms.append((time.perf_counter() - t0) * 1e3)
            report.device_invoke_us.append(result.invoke_us)
            host_output = ref.output_for(host_input)
            host_score = ref.score_for(host_output, report.score_kind)
            host_probability = ref.probability_for(host_output)
            if not np.array_equal(result.input, host_input):
                report.input_mismatches.append(i)
                _keep(report, _first_difference(i, "input", result.input, host_input))
            if not np.array_equal(result.output, host_output):
                report.output_mismatches.append(i)
                _keep(report, _first_difference(i, "output", result.output, host_output))
            scores_differ = False
            for name, device_value, host_value in (("score", result.score, host_score),
                                                   ("probability", result.probability, host_probability)):
                if np.float32(device_value).tobytes() != np.float32(host_value).tobytes():
                    scores_differ = True
                    _keep(report, WindowMismatch(i, name, 1, 0, float(device_value), float(host_value)))
            if scores_differ:
                report.score_mismatches.append(i)
        report.wall_s = time.monotonic() - start
    finally:
        if own_client:
            client.close()
    if compare_tflite:
        from tinyad.tflm import compare_tflite_tflm

        report.tflite = compare_tflite_tflm(ref.model_bytes, host_inputs, progress=progress)
    return report


def _keep(report: ParityReport, detail: WindowMismatch) -> None:
    if len(report.details) < MAX_DETAILS:
        report.details.append(detail)


def real_windows(settings, n_windows: int, root: str | Path | None = None, datasets=("motor_mpu6050",)) -> tuple[
        np.ndarray, str]:
    """`n_windows` windows of real IMU data as raw counts (n, window, channels), and a description.

    Sessions of the shared public data sets are converted back to raw counts with the model's units per count;
    windows are taken with a stride chosen so that `n_windows` spread evenly over all sessions (overlapping
    when the data is short). Only data sets with all the model's channels are used."""
    from tinyad.importers import ceiling_fan_sessions, motor_mpu6050_sessions
    from tinyad.paths import shared_data_dir
    from tinyad.preprocess import physical_to_counts

    root = Path(root) if root else shared_data_dir()
    loaders = {"motor_mpu6050": lambda: motor_mpu6050_sessions(root / "imu" / "motor_mpu6050"),
               "ceiling_fan": lambda: ceiling_fan_sessions(root / "imu" / "ceiling_fan")}
    arrays, used = [], []
    for name in datasets:
        if not (root / "imu" / name).is_dir():
            raise InputError(f"{root / 'imu' / name}: data set not found",
                             hint="take the windows from one of your recordings with --session FILE, or point "
                                  "--data (or TINYAD_SHARED_DATA) at the public data sets' folder holding imu/")
        sessions = loaders[name]()
        usable = [s for s in sessions if all(c in s.meta.channels for c in settings.channels)]
        for s in usable:
            order = [s.meta.channels.index(c) for c in settings.channels]
            if s.n_samples >= settings.window:
                arrays.append(physical_to_counts(s.data[:, order], settings.units_per_count))
        if usable:
            used.append(f"{name} ({len(usable)} sessions)")
    if not arrays:
        raise InputError(f"no session of {datasets} has the model's channels {settings.channels}")
    capacity = sum(len(a) - settings.window + 1 for a in arrays)
    stride = max(1, capacity // n_windows)
    while stride > 1 and sum((len(a) - settings.window) // stride + 1 for a in arrays) < n_windows:
        stride -= 1
    windows = []
    for counts in arrays:
        for start in range(0, len(counts) - settings.window + 1, stride):
            windows.append(counts[start: start + settings.window])
    windows = np.stack(windows)[:n_windows]
    return windows, f"{', '.join(used)}: {len(windows)} windows, stride {stride} samples"


def session_windows(path: str | Path, settings, n_windows: int) -> tuple[np.ndarray, str]:
    """Windows of raw counts from one session file (same stride rule as real_windows)."""
    from tinyad.preprocess import physical_to_counts
    from tinyad.session import model_channels, read_session

    session = read_session(path)
    counts = physical_to_counts(model_channels(session, settings.channels, str(path)), settings.units_per_count)
    if len(counts) < settings.window:
        raise InputError(f"{path}: {len(counts)} samples, shorter than one window ({settings.window})")
    stride = max(1, (len(counts) - settings.window + 1) // n_windows)
    windows = np.stack([counts[s: s + settings.window]
                        for s in range(0, len(counts) - settings.window + 1, stride)])[:n_windows]
    fewer = (f" (of the {n_windows} asked: a {len(counts)}-sample session holds no more windows of "
             f"{settings.window})" if len(windows) < n_windows else "")
    return windows, f"{path}: {len(windows)} windows{fewer}, stride {stride} samples"
