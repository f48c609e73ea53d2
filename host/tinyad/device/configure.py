"""Device configuration over serial as a typed API (`tinyad config`): the BTHome bind key (write-only, the
device answers with its check value) and the alert/preprocessing CONFIG keys by name.

    with DeviceClient(port) as dev:
        report = configure(dev, bind_key=bytes.fromhex("231d..."), sets=[("THRESHOLD_ON", "2.5")],
                           gets=["THRESHOLD_ON"])
        report.bind_key_check   # b"\\x18\\x38\\x85\\x8c": identifies the key, never the key itself
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinyad.device import codec
from tinyad.errors import InputError
from tinyad.scoring import SCORE_KIND_PROBABILITY

BIND_KEY_CHECK = "BIND_KEY_CHECK"
# Writable keys whose value comes from the exported model (docs/protocol.md, Config keys: default "model"); the
# first four are the constants `tinyad parity` compares with model_settings.json.
PARITY_CHECKED_KEYS = ("INPUT_ZERO_POINT", "OUTPUT_SCALE", "AFFINE_SCALE", "AFFINE_OFFSET")
MODEL_KEYS = PARITY_CHECKED_KEYS + ("OUTPUT_ZERO_POINT",)
# The keys that decide whether the alert can fire at all: checked together after any of them is set.
ALERT_INPUT_KEYS = ("SCORE_KIND", "THRESHOLD_ON", "THRESHOLD_OFF")
# Thresholds to suggest for a probability (SCORE_KIND 1): alert at 90 %, clear below 70 %.
PROBABILITY_ON, PROBABILITY_OFF = 0.9, 0.7


@dataclass
class ConfigReport:
    """What `configure` did and read. values: key name -> value in the order set/read."""

    bind_key_check: bytes | None = None      # None: bind key untouched; b"": encryption switched off
    values: dict[str, float | int] = field(default_factory=dict)
    encrypted: bool | None = None            # INFO flag bit3 after the changes (None: not read)

    def to_dict(self) -> dict:
        # Values in the order set/read (not sorted); floats as the shortest decimal of their float32.
        out: dict = {"values": {k: json_value(k, v) for k, v in self.values.items()}}
        if self.bind_key_check is not None:
            # Cleared: "00000000", as --get BIND_KEY_CHECK reads it (the device's value when unencrypted).
            out["bind_key_check"] = self.bind_key_check.hex() or format_value(BIND_KEY_CHECK, 0)
        if self.encrypted is not None:
            out["encrypted"] = self.encrypted
        return out


def _key_info(name: str):
    """(ConfigKeyInfo, key name without channel) for "EWMA_ALPHA" / "AFFINE_SCALE+2"; InputError when unknown."""
    from tinyad.protocol import CONFIG_KEYS

    base, _, _channel = name.partition("+")
    info = CONFIG_KEYS.get(base.upper())
    if info is None:
        raise InputError(f"unknown config key {name!r}", hint=unknown_key_hint())
    return info


def unknown_key_hint() -> str:
    from tinyad.protocol import CONFIG_KEYS

    return (f"known keys: {', '.join(CONFIG_KEYS)} (per-channel keys as NAME+c, e.g. AFFINE_SCALE+2); "
            f"`tinyad config -p PORT` lists every key the device has with its value")


def read_only_hint(name: str) -> str:
    if name.upper() == BIND_KEY_CHECK:
        return "BIND_KEY_CHECK follows the bind key: set it with --bind-key (or --clear-bind-key)"
    return (f"{name} comes from the exported model: re-export it (`tinyad export`), then flash the board or "
            f"restart `tinyad sim` with the new model")


def range_text(info) -> str:
    """"[1, 1000] (integer)" for a key's range as the firmware checks it."""
    def short(v):  # -1000, 0.001, 1e-09: the limits are round decimals stored as float32
        return format(float(format_float(v)), "g")

    lo, hi = (short(info.min), short(info.max)) if info.kind == 1 else (int(info.min), int(info.max))
    return f"[{lo}, {hi}]" + (" (integer)" if info.kind == 0 else "")


def parse_assignment(text: str) -> tuple[str, float | int]:
    """"KEY=VALUE" (KEY a config key name, "AFFINE_SCALE+2" for channel 2) -> (KEY, value typed by the key).

    The value is checked here against the firmware's range table (the same one the device uses), so a
    command with one bad --set sends nothing at all rather than half of its settings."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip().upper(), raw.strip()
    if not sep or not name or not raw:
        raise InputError(f"--set {text!r}: expected KEY=VALUE", hint="e.g. --set THRESHOLD_ON=2.5")
    info = _key_info(name)
    try:
        _key_id, kind = codec.config_key(name)  # InputError for a missing or bad channel
    except InputError as err:
        raise InputError(f"--set {text!r}: {err}", hint=err.hint or unknown_key_hint()) from err
    if not info.writable:
        raise InputError(f"--set {text!r}: {name} is read-only", hint=read_only_hint(name))
    try:
        value: float | int = float(raw) if kind == 1 else int(raw, 0)
    except ValueError as err:
        what = "a number" if kind == 1 else "an integer"
        raise InputError(f"--set {text!r}: {name} takes {what}, got {raw!r}") from err
    # The device compares the float32 it receives with float32 limits.
    checked = float(np.float32(value)) if kind == 1 else value
    if (kind == 1 and not math.isfinite(checked)) or not info.min <= checked <= info.max:
        raise InputError(f"--set {text!r}: {name} must be in {range_text(info)}, got {raw}",
                         hint="nothing was sent to the device; the ranges are in docs/protocol.md (Config keys)")
    return name, value


def parse_key(name: str) -> str:
    """A --get KEY checked before anything is sent: known, and per-channel keys with a whole channel number.
    Returns the name in upper case."""
    name = name.strip().upper()
    _key_info(name)
    try:
        codec.config_key(name)
    except InputError as err:
        raise InputError(f"--get {name!r}: {err}", hint=err.hint or unknown_key_hint()) from err
    return name


def check_channels(names: list[str], channels: int) -> None:
    """Refuse per-channel keys (NAME+c) beyond the device's channel count, before anything is sent."""
    for name in names:
        base, plus, channel = name.partition("+")
        if plus and int(channel) >= channels:
            raise InputError(f"{name}: the device's model has {channels} channel(s); nothing was sent",
                             hint=f"{base}+0 .. +{channels - 1}")


def model_key_warning(name: str) -> str | None:
    """The warning for --set of a key that comes from the model (None for alert settings and the like)."""
    base = name.upper().partition("+")[0]
    if base not in MODEL_KEYS:
        return None
    if base in PARITY_CHECKED_KEYS:
        effect = ("`tinyad parity` will report the device as not matching its model until it is set back (to the "
                  "value in model_settings.json, or restart the device)")
    else:
        effect = ("the device's outputs are no longer dequantized as its model's until it is set back (to the "
                  "value in model_settings.json, or restart the device)")
    return f"{name.upper()} comes from the exported model: {effect}"


def format_float(value: float) -> str:
    """The shortest decimal that reads back as the same float32 (device values are float32): 1.2, not
    1.2000000476837158; pasted into --set it restores the value exactly."""
    return str(np.float32(value))


def json_value(name: str, value):
    """A value for JSON output: BIND_KEY_CHECK as hex text, floats as their shortest float32 decimal."""
    if name.upper() == BIND_KEY_CHECK:
        return format_value(name, value)
    if isinstance(value, float):
        return float(format_float(value))
    return value


def display_value(name: str, value) -> str:
    """A value as `tinyad config` prints it."""
    shown = format_value(name, value)
    return format_float(shown) if isinstance(shown, float) else str(shown)


def format_value(name: str, value: float | int) -> str | float | int:
    """BIND_KEY_CHECK as 8 hex digits (the check value's bytes in order); other values unchanged."""
    if name.upper() == BIND_KEY_CHECK:
        return f"{int(value) & 0xFFFFFFFF:08x}"
    return value


def all_key_names(channels: int) -> list[str]:
    """Every config key name the device answers, per-channel keys as NAME+c for c < channels."""
    from tinyad.protocol import CONFIG_KEYS

    names = []
    for info in CONFIG_KEYS.values():
        names += [info.name] if info.count == 1 else [f"{info.name}+{c}" for c in range(min(info.count, channels))]
    return names


def configure(client, bind_key: bytes | None = None, clear_bind_key: bool = False,
              sets: list[tuple[str, float | int]] = (), gets: list[str] = (),
              on_value: Callable[[str, float | int], None] | None = None,
              on_bind_key: Callable[[ConfigReport], None] | None = None) -> ConfigReport:
    """Apply the bind key (or clear it), then each (KEY, value) in order, then read each KEY in `gets`.

    client: an open DeviceClient. on_value(name, value) is called as each value is stored or read, so a
    caller can show progress before a later setting fails; on_bind_key(report) likewise once the bind key is
    set or cleared. A rejected value raises DeviceRequestError naming the key, the value, its range and the
    settings applied before it (they stay applied, the bind key included). The key itself is
    never read back: the report carries its check value, and the INFO flag says whether advertisements are
    encrypted."""
    from tinyad.device.client import DeviceRequestError

    if bind_key is not None and clear_bind_key:
        raise InputError("give a bind key or clear it, not both")
    report = ConfigReport()
    applied: list[str] = []
    if bind_key is not None or clear_bind_key:
        report.bind_key_check = client.set_bind_key(None if clear_bind_key else bind_key)
        applied.append(f"bind key set (check value {report.bind_key_check.hex()})" if report.bind_key_check
                       else "bind key cleared (advertisements not encrypted)")
        from tinyad.protocol import INFO_FLAG_ENCRYPTED

        report.encrypted = bool(client.info(refresh=True).flags & INFO_FLAG_ENCRYPTED)
        if on_bind_key is not None:
            on_bind_key(report)
    for name, value in sets:
        name = name.upper()
        try:
            stored = client.config_set(name, value)
        except DeviceRequestError as err:
            raise _rejected(client, name, value, err, applied) from err
        report.values[name] = stored
        applied.append(f"{name}={display_value(name, stored)}")
        if on_value is not None:
            on_value(name, stored)
    for name in gets:
        name = name.upper()
        report.values[name] = client.config_get(name)
        if on_value is not None:
            on_value(name, report.values[name])
    return report


def _rejected(client, name: str, value, err, applied: list[str]):
    """The DeviceRequestError for a rejected CONFIG_SET: which key and value, why, and what already stuck."""
    from tinyad.device.client import DeviceRequestError

    info = _key_info(name)
    shown = format_float(value) if isinstance(value, float) else str(value)
    why = {
        "OUT_OF_RANGE": f"out of range: {name} takes {range_text(info)}",
        "READ_ONLY": f"{name} is read-only",
        "UNKNOWN_KEY": f"the device has no key {name}",
    }.get(err.code_name, f"{err.code_name} ({err.text})")
    hint = {
        "OUT_OF_RANGE": "the ranges are in docs/protocol.md (Config keys)",
        "READ_ONLY": read_only_hint(name),
        "UNKNOWN_KEY": "per-channel keys exist only for the model's channels (`tinyad info`); " + unknown_key_hint(),
    }.get(err.code_name, err.hint)
    if err.code_name == "CONFLICT":
        why, hint = _conflict(client, name, value, hint)
    done = (f"already applied (and still in force): {', '.join(applied)}" if applied
            else "nothing was applied before it")
    return DeviceRequestError(f"{client.port}: the device rejected --set {name}={shown}: {why}; {done}",
                              err.code, err.code_name, err.text, hint=hint)


def _conflict(client, name: str, value, general_hint: str | None) -> tuple[str, str]:
    """Why a threshold was refused (OFF would exceed ON), with the values in force and the order that works."""
    from tinyad.errors import DeviceError

    try:  # the values in force, so the user sees what the new one collided with
        on, off = client.config_get("THRESHOLD_ON"), client.config_get("THRESHOLD_OFF")
        now = f" (now THRESHOLD_ON {format_float(on)}, THRESHOLD_OFF {format_float(off)})"
    except DeviceError:
        now = ""
    v = format_float(value)
    if name.startswith("THRESHOLD_ON"):
        order = f"here: --set THRESHOLD_OFF=<at most {v}> --set THRESHOLD_ON={v}"
    else:
        order = f"here: --set THRESHOLD_ON=<at least {v}> --set THRESHOLD_OFF={v}"
    try:  # that order needs ON and OFF around the value: useless when no score reaches it (1.5 for a probability)
        kind, scale = int(client.config_get("SCORE_KIND")), client.config_get("OUTPUT_SCALE")
        n_classes = client.info().n_classes
        problems = threshold_problems(kind, value, value, scale, n_classes)
    except DeviceError:
        problems = []
    if problems:
        off_now = off if now else value
        order = (f"{order} would be accepted, but {problems[0]}; "
                 f"{threshold_fix_hint(kind, off_now, scale, n_classes, client.port)}")
    return f"THRESHOLD_OFF would exceed THRESHOLD_ON{now}", f"{general_hint}; {order}" if general_hint else order


def score_range(score_kind: int, output_scale: float | None, n_classes: int = 2) -> tuple[float, float] | None:
    """(lowest, highest) score the device can give with this OUTPUT_SCALE and class count (None when the scale is
    unknown): the scores of the two extreme int8 outputs, computed as the core does (tinyad.scoring, bit-exact).
    A logit margin lies within +-255 x OUTPUT_SCALE; a probability within [0, 1], often well inside (0.998 at most
    for a small OUTPUT_SCALE). The EWMA of the scores stays within their range."""
    from tinyad.scoring import anomaly_probability, logit_margin

    if output_scale is None or not output_scale > 0 or n_classes < 2:
        return None
    normal = np.array([127] + [-128] * (n_classes - 1), np.int8)  # class 0 as sure as int8 allows
    fault = np.array([-128] + [127] * (n_classes - 1), np.int8)
    score = anomaly_probability if score_kind == SCORE_KIND_PROBABILITY else logit_margin
    return float(score(normal, output_scale)), float(score(fault, output_scale))


def score_kind_text(score_kind: int | None) -> str:
    """What the alert compares, as info, monitor and the threshold warnings name it: "probability (SCORE_KIND 1)"
    or "logit margin (SCORE_KIND 0)"; "score (SCORE_KIND ?)" when it could not be read (None)."""
    if score_kind is None:
        return "score (SCORE_KIND ?)"
    what = "probability" if score_kind == SCORE_KIND_PROBABILITY else "logit margin"
    return f"{what} (SCORE_KIND {score_kind})"


def threshold_problems(score_kind: int, threshold_on: float, threshold_off: float,
                       output_scale: float | None = None, n_classes: int = 2) -> list[str]:
    """Why the alert cannot work with these values (empty when it can): THRESHOLD_ON above the highest score
    never fires, at or below the lowest it always does, and THRESHOLD_OFF at or below the lowest never clears."""
    if score_kind == SCORE_KIND_PROBABILITY and output_scale is None:
        output_scale = 1e3  # unknown: the widest a probability gets, [0, 1]
    bounds = score_range(score_kind, output_scale, n_classes)
    if bounds is None:
        return []
    low, high = bounds
    what = f"a {score_kind_text(score_kind)}"
    on, off = format_float(threshold_on), format_float(threshold_off)
    if threshold_on > high:
        return [f"THRESHOLD_ON {on} can never be reached: {what} of this model is at most {format_float(high)}, "
                f"so the device never alerts"]
    if threshold_on <= low:
        return [f"THRESHOLD_ON {on} is reached by every window ({what} of this model is at least "
                f"{format_float(low)}): the device is always in ALERT"]
    if threshold_off <= low:
        return [f"THRESHOLD_OFF {off} is above no score ({what} of this model is at least {format_float(low)}): "
                f"an alert never clears"]
    return []


def _f32(value: float) -> float:
    """The value as the device holds it (a float32), as a Python float."""
    return float(np.float32(value))


def suggest_thresholds(score_kind: int, target_on: float, target_off: float, output_scale: float | None = None,
                       n_classes: int = 2) -> tuple[float, float]:
    """(ON, OFF) near the targets as short decimals that work: ON rounded down (so it never rounds past the highest
    score), OFF below ON and above the lowest score. Each candidate is checked as the device holds it (float32) with
    threshold_problems; when two digits leave no room (or round by more than a tenth of the score's range), more
    are used. When even float32 leaves no room, both are the highest score (OFF may equal ON)."""
    bounds = score_range(score_kind, output_scale if output_scale is not None else 1e3, n_classes)
    if bounds is None:
        return target_on, target_off
    low, high = bounds
    for digits in range(2, 13):
        unit = 10.0 ** -digits
        if unit > (high - low) / 10:
            continue
        on = round(math.floor(round(target_on / unit, 6)) * unit, digits)  # round(): 0.29 / 0.01 = 28.999999999999996
        off = round(target_off, digits)
        if off >= on:
            off = round(on - unit, digits)
        on32, off32 = _f32(on), _f32(off)
        if low < off32 < on32 <= high and not threshold_problems(score_kind, on32, off32, output_scale, n_classes):
            return on, off
    return high, high


def threshold_fix_hint(score_kind: int, threshold_off: float, output_scale: float | None = None,
                       n_classes: int = 2, port: str = "PORT") -> str:
    """The --set options that make the thresholds fit the score kind, in an order the device accepts (OFF may
    never exceed ON) given the THRESHOLD_OFF in force."""
    bounds = score_range(score_kind, output_scale if output_scale is not None else 1e3, n_classes)
    low, high = bounds if bounds is not None else (-8.0, 8.0)
    if score_kind == SCORE_KIND_PROBABILITY:
        on, off = PROBABILITY_ON, PROBABILITY_OFF
        if high < 0.95:  # a small OUTPUT_SCALE keeps every probability far from 1
            on, off = low + 0.8 * (high - low), low + 0.6 * (high - low)
        on, off = suggest_thresholds(score_kind, on, off, output_scale, n_classes)
        # As the device holds them (float32), to float32's 7 digits: 57 %, not 56.99999999999999 %.
        why = f"alert at a probability of {100 * _f32(on):.7g}%, clear below {100 * _f32(off):.7g}%"
    else:
        on, off = suggest_thresholds(score_kind, high / 4, high / 8, output_scale, n_classes)
        why = (f"a logit margin of this model lies within +-{format_float(high)}; the model's own thresholds are in "
               f"its model_settings.json")
    pairs = [("THRESHOLD_ON", on), ("THRESHOLD_OFF", off)]
    if threshold_off > on:  # lower OFF first, or the device refuses an ON below it
        pairs.reverse()
    sets = " ".join(f"--set {k}={format_float(v)}" for k, v in pairs)
    return f"e.g. tinyad config -p {port} {sets} ({why})"


def alert_input_check(score_kind: int, threshold_on: float, threshold_off: float, output_scale: float | None,
                      n_classes: int, port: str = "PORT") -> tuple[list[str], str | None]:
    """(problems, hint) for these values: threshold_problems, and threshold_fix_hint when there are any (None when
    all is well). `tinyad config`, `info` and `monitor` all warn with this."""
    problems = threshold_problems(score_kind, threshold_on, threshold_off, output_scale, n_classes)
    hint = threshold_fix_hint(score_kind, threshold_off, output_scale, n_classes, port) if problems else None
    return problems, hint


def check_alert_inputs(client) -> tuple[list[str], str | None]:
    """Read SCORE_KIND, THRESHOLD_ON/OFF and OUTPUT_SCALE from the device: alert_input_check for the values in
    force. Raises DeviceError when a read fails."""
    kind = int(client.config_get("SCORE_KIND"))
    on, off = client.config_get("THRESHOLD_ON"), client.config_get("THRESHOLD_OFF")
    scale = client.config_get("OUTPUT_SCALE")
    return alert_input_check(kind, on, off, scale, client.info().n_classes, client.port)
