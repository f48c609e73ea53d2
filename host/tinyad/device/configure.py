"""Device configuration over serial as a typed API (`tinyad config`): the BTHome bind key (write-only, the
device answers with its check value) and the alert/preprocessing CONFIG keys by name.

    with DeviceClient(port) as dev:
        report = configure(dev, bind_key=bytes.fromhex("231d..."), sets=[("THRESHOLD_ON", "2.5")],
                           gets=["THRESHOLD_ON"])
        report.bind_key_check   # b"\\x18\\x38\\x85\\x8c": identifies the key, never the key itself
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyad.device import codec
from tinyad.errors import InputError

BIND_KEY_CHECK = "BIND_KEY_CHECK"


@dataclass
class ConfigReport:
    """What `configure` did and read. values: key name -> value in the order set/read."""

    bind_key_check: bytes | None = None      # None: bind key untouched; b"": encryption switched off
    values: dict[str, float | int] = field(default_factory=dict)
    encrypted: bool | None = None            # INFO flag bit3 after the changes (None: not read)

    def to_dict(self) -> dict:
        out: dict = {"values": {k: format_value(k, v) if k == BIND_KEY_CHECK else v for k, v in self.values.items()}}
        if self.bind_key_check is not None:
            out["bind_key_check"] = self.bind_key_check.hex()
        if self.encrypted is not None:
            out["encrypted"] = self.encrypted
        return out


def parse_assignment(text: str) -> tuple[str, float | int]:
    """"KEY=VALUE" (KEY a config key name, "AFFINE_SCALE+2" for channel 2) -> (KEY, value typed by the key)."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip().upper(), raw.strip()
    if not sep or not name or not raw:
        raise InputError(f"--set {text!r}: expected KEY=VALUE", hint="e.g. --set THRESHOLD_ON=2.5")
    _key_id, kind = codec.config_key(name)  # InputError for an unknown key
    try:
        value: float | int = float(raw) if kind == 1 else int(raw, 0)
    except ValueError as err:
        what = "a number" if kind == 1 else "an integer"
        raise InputError(f"--set {text!r}: {name} takes {what}, got {raw!r}") from err
    return name, value


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
              sets: list[tuple[str, float | int]] = (), gets: list[str] = ()) -> ConfigReport:
    """Apply the bind key (or clear it), then each (KEY, value) in order, then read each KEY in `gets`.

    client: an open DeviceClient. A rejected value raises DeviceRequestError naming the key and the reason
    (e.g. OUT_OF_RANGE, CONFLICT); the settings before it stay applied. The key itself is never read back:
    the report carries its check value, and the INFO flag says whether advertisements are encrypted."""
    if bind_key is not None and clear_bind_key:
        raise InputError("give a bind key or clear it, not both")
    report = ConfigReport()
    if bind_key is not None or clear_bind_key:
        report.bind_key_check = client.set_bind_key(None if clear_bind_key else bind_key)
    for name, value in sets:
        report.values[name.upper()] = client.config_set(name.upper(), value)
    for name in gets:
        report.values[name.upper()] = client.config_get(name.upper())
    if report.bind_key_check is not None:
        from tinyad.protocol import INFO_FLAG_ENCRYPTED

        report.encrypted = bool(client.info(refresh=True).flags & INFO_FLAG_ENCRYPTED)
    return report
