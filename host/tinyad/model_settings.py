"""Model settings: everything the board, the SIL device and the host must agree on about one model.

Written next to the .tflite as `model_settings.json` by `tinyad export` (and `tinyad quantize`), and rendered
into `model_settings.h` for the firmware. The .tflite stays the source of truth for weights and quantization;
`tflite_sha256` ties these settings to it, and the device reports the same hash in its INFO reply.

Preprocessing contract (implemented in the C++ core, mirrored in Python, bit-exact):
    physical = raw_count * units_per_count[c]                  (float32)
    x        = (physical - norm_mean[c]) / norm_std[c]         (float32)
    q        = clamp(round_half_even(x / input_scale) + input_zero_point, -128, 127)
The core folds these into a per-channel affine in float32 (see firmware/core/include/tinyad/preprocess.h).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SETTINGS_VERSION = 1


@dataclass
class ModelSettings:
    model_name: str
    window: int                      # samples per inference window
    hop: int                         # samples between window starts
    channels: list[str]              # channel order of the input tensor, e.g. ["ax", ..., "gz"]
    sample_rate_hz: float
    units: dict[str, str]            # per channel: "g" or "dps"
    units_per_count: list[float]     # per channel: physical units per raw sensor count (full scale / 32768)
    full_scale: dict[str, float]     # e.g. {"accel_g": 4, "gyro_dps": 500}
    norm_mean: list[float]           # per channel, fitted on the training split only
    norm_std: list[float]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    class_names: list[str]           # output order; class 0 is "normal"
    tflite_sha256: str
    arena_bytes: int = 0             # measured by the host TFLM interpreter
    arena_bytes_with_margin: int = 0  # what the firmware allocates
    ops: list[str] = field(default_factory=list)  # builtin op names the model uses, sorted
    flash_bytes: int = 0
    # Alert defaults (docs/protocol.md, "Scoring and alerts"): the score is the logit margin
    # max_k>0 logit_k - logit_0 in nats, EWMA-smoothed; CONFIG can change them on the device.
    threshold_on: float = 1.0        # smoothed margin that starts an alert
    threshold_off: float = 0.5       # ... and ends it (hysteresis)
    min_windows: int = 3             # consecutive windows above threshold_on before ALERT
    cooldown_windows: int = 10       # windows after an alert ends before a new one may start
    ewma_alpha: float = 0.5          # weight of the newest window in the smoothed score
    # The sensor low-pass (MPU6050 DLPF) bandwidth of the training sessions in Hz, 0 when they did not record it;
    # the firmware's CONFIG_TINYAD_DLPF_CFG must give the same one (a compile-time check), INFO reports it.
    dlpf_hz: float = 0.0
    version: int = SETTINGS_VERSION

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ModelSettings":
        from tinyad.errors import InputError

        path = Path(path)
        if not path.is_file():  # a .tflite copied without it: every command that reads a model needs it
            raise InputError(f"{path}: no model settings (model_settings.json) beside the model",
                             hint="`tinyad quantize` writes it beside model.tflite, `tinyad export` beside its copy: "
                                  "keep the two files together (or give the settings' path where a command takes it)")
        try:
            fields = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"{path}: cannot read model settings ({err})") from err
        try:
            return cls(**fields)
        except TypeError as err:
            raise InputError(f"{path}: not a tinyad model_settings.json ({err})") from err


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (the model hash the device reports)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
