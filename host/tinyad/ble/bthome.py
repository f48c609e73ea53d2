"""The project's own BTHome v2 decoder: mirrors the C++ encoder in firmware/core (tinyad/bthome.h).

Kept independent of `bthome-ble` (which the tests use as the reference to cross-check both the C++
encoder and this decoder) so the receiver does not depend on Home Assistant's parser internals.

What tinyad boards send (bthome.io/format):
    service data UUID 0xFCD2, device-info byte 0x40 (plain) or 0x41 (encrypted), then objects
    0x00 packet id, 0x26 problem or 0x2C vibration (the alert), 0x27 running (0 = error state),
    0x5A count sint16 = smoothed alert score * 100; encrypted: AES-CCM ciphertext + counter(4) + MIC(4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BTHOME_UUID16 = 0xFCD2
BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
LEGACY_ADV_BYTES = 31
BIND_KEY_BYTES = 16

OBJ_PACKET_ID = 0x00
OBJ_PROBLEM = 0x26
OBJ_RUNNING = 0x27
OBJ_VIBRATION = 0x2C
OBJ_COUNT_S16 = 0x5A
SCORE_SCALE = 100

AD_FLAGS = 0x01
AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_SERVICE_DATA_16 = 0x16

# Data length in bytes of every fixed-size BTHome v2 object (bthome.io/format), so objects of other
# sensors can be skipped. 0x53 (text), 0x54 (raw) carry a length byte; 0x3B (command) a 5-bit one.
# Cross-checked against bthome-ble's table in tests/ble/test_bthome_decoder.py.
_OBJECT_SIZES: dict[int, int] = {
    **{i: 1 for i in (0x00, 0x01, 0x09, 0x0F, 0x10, 0x11, 0x15, 0x2E, 0x2F, 0x3A, 0x46, 0x57, 0x58, 0x59,
                      0x60, 0x64, 0x65)},
    **{i: 1 for i in range(0x16, 0x2E)},  # binary sensors (battery charging ... window)
    **{i: 2 for i in (0x02, 0x03, 0x06, 0x07, 0x08, 0x0C, 0x0D, 0x0E, 0x12, 0x13, 0x14, 0x3C, 0x3D, 0x3F,
                      0x40, 0x41, 0x43, 0x44, 0x45, 0x47, 0x48, 0x49, 0x4A, 0x51, 0x52, 0x56, 0x5A, 0x5D,
                      0x5E, 0x5F, 0x61, 0xF0)},
    **{i: 3 for i in (0x04, 0x05, 0x0A, 0x0B, 0x42, 0x4B, 0xF2)},
    **{i: 4 for i in (0x3E, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x55, 0x5B, 0x5C, 0x62, 0x63, 0xF1)},
}
# Objects whose value is a two's-complement integer.
_SIGNED = frozenset((0x02, 0x08, 0x3F, 0x45, 0x57, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x62, 0x63))
_LENGTH_PREFIXED = (0x53, 0x54)
_COMMAND = 0x3B


class BTHomeError(ValueError):
    """An advertisement that cannot be decoded; `reason` is a short counter key."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class BTHomePacket:
    """One decoded BTHome v2 service-data payload."""

    encrypted: bool
    objects: dict[int, int] = field(default_factory=dict)  # object id -> value (first occurrence)
    counter: int | None = None  # encryption counter

    @property
    def packet_id(self) -> int | None:
        return self.objects.get(OBJ_PACKET_ID)

    @property
    def alert(self) -> bool | None:
        """The alert flag: the problem object, else the vibration object."""
        for obj in (OBJ_PROBLEM, OBJ_VIBRATION):
            if obj in self.objects:
                return bool(self.objects[obj])
        return None

    @property
    def running(self) -> bool | None:
        return bool(self.objects[OBJ_RUNNING]) if OBJ_RUNNING in self.objects else None

    @property
    def score(self) -> float | None:
        """The smoothed alert score (the signed count object / 100)."""
        raw = self.objects.get(OBJ_COUNT_S16)
        return None if raw is None else raw / SCORE_SCALE

    @property
    def is_tinyad(self) -> bool:
        """True when the payload has the objects a tinyad board sends (alert flag and score)."""
        return self.alert is not None and self.score is not None


@dataclass(frozen=True)
class AdvertisementFields:
    """The AD structures of a legacy advertisement that matter here."""

    flags: int | None
    local_name: str | None
    service_data: dict[int, bytes]  # 16-bit UUID -> data after the UUID


def parse_ad_structures(raw: bytes) -> AdvertisementFields:
    """Split a raw advertising payload into AD structures; raises BTHomeError('truncated') when an AD
    length runs past the end. A zero length byte ends the payload (padding)."""
    flags = None
    name = None
    service_data: dict[int, bytes] = {}
    i = 0
    while i < len(raw):
        length = raw[i]
        if length == 0:
            break
        if i + 1 + length > len(raw):
            raise BTHomeError("truncated", f"AD structure at byte {i} claims {length} bytes, {len(raw) - i - 1} left")
        ad_type, value = raw[i + 1], bytes(raw[i + 2:i + 1 + length])
        if ad_type == AD_FLAGS and value:
            flags = value[0]
        elif ad_type in (AD_SHORT_NAME, AD_COMPLETE_NAME):
            name = value.decode("utf-8", errors="replace")
        elif ad_type == AD_SERVICE_DATA_16 and len(value) >= 2:
            service_data[int.from_bytes(value[:2], "little")] = value[2:]
        i += 1 + length
    return AdvertisementFields(flags, name, service_data)


def parse_mac(address: str) -> bytes:
    """'AA:BB:CC:DD:EE:FF' -> 6 bytes in printed order (as in the BTHome nonce). Raises BTHomeError('no_mac')
    for addresses that are not MACs (macOS reports per-host UUIDs instead)."""
    text = address.replace(":", "").replace("-", "")
    if len(text) != 12:
        raise BTHomeError("no_mac", f"address {address!r} is not a MAC; encrypted BTHome needs the MAC")
    try:
        return bytes.fromhex(text)
    except ValueError as err:
        raise BTHomeError("no_mac", f"address {address!r} is not a MAC") from err


def parse_bind_key(text: str | bytes | None) -> bytes | None:
    """A bind key from 32 hex characters (or 16 raw bytes); None stays None. ValueError otherwise."""
    if text is None:
        return None
    if isinstance(text, bytes):
        key = text
    else:
        try:
            key = bytes.fromhex(text.strip())
        except ValueError as err:
            raise ValueError("bind key must be 32 hexadecimal characters") from err
    if len(key) != BIND_KEY_BYTES:
        got = (f"{len(key)} bytes" if isinstance(text, bytes)
               else f"{len(text.strip())} hex characters ({len(key)} bytes)")
        raise ValueError(f"bind key must be {BIND_KEY_BYTES} bytes (32 hex characters), got {got}")
    return key


def decode_objects(payload: bytes) -> dict[int, int]:
    """Decode a BTHome v2 object list into {object id: little-endian integer value} (first occurrence
    of each id wins; variable-length objects are skipped). Raises BTHomeError on unknown ids, ids out of
    order, or objects cut short."""
    objects: dict[int, int] = {}
    i = 0
    previous = -1
    while i < len(payload):
        obj = payload[i]
        if obj < previous:
            raise BTHomeError("bad_object", f"object 0x{obj:02X} after 0x{previous:02X} (ids must ascend)")
        previous = obj
        if obj in _LENGTH_PREFIXED or obj == _COMMAND:
            if i + 1 >= len(payload):
                raise BTHomeError("truncated", f"object 0x{obj:02X} without its length byte")
            size = payload[i + 1] if obj in _LENGTH_PREFIXED else 1 + (payload[i + 1] & 0x1F)
            start = i + 2
            value = None
        elif obj in _OBJECT_SIZES:
            size = _OBJECT_SIZES[obj]
            start = i + 1
            value = True
        else:
            raise BTHomeError("bad_object", f"unknown object id 0x{obj:02X}")
        end = start + size
        if end > len(payload):
            raise BTHomeError("truncated", f"object 0x{obj:02X} needs {size} bytes, {len(payload) - start} left")
        if value is not None and obj not in objects:
            objects[obj] = int.from_bytes(payload[start:end], "little", signed=obj in _SIGNED)
        i = end
    return objects


def nonce_for(mac: bytes, device_info: int, counter: bytes) -> bytes:
    """The 13-byte BTHome v2 nonce: MAC (printed order) + UUID D2 FC + device info + counter (LE)."""
    return mac + BTHOME_UUID16.to_bytes(2, "little") + bytes([device_info]) + counter


def decode_service_data(data: bytes, address: str | None = None, bind_key: bytes | None = None) -> BTHomePacket:
    """Decode BTHome v2 service data (the bytes after the 0xFCD2 UUID).

    Encrypted payloads need `bind_key` and the device MAC (from `address`, or from the payload when the
    device includes it). Raises BTHomeError with reason not_bthome / truncated / no_key / no_mac /
    wrong_key / bad_object.
    """
    if len(data) < 1:
        raise BTHomeError("truncated", "empty BTHome service data")
    info = data[0]
    if (info >> 5) & 0x07 != 2:
        raise BTHomeError("not_bthome", f"device-info byte 0x{info:02X} is not BTHome v2")
    rest = bytes(data[1:])
    mac = None
    if info & 0x02:  # MAC included (reversed byte order in the payload)
        if len(rest) < 6:
            raise BTHomeError("truncated", "MAC-included flag set but fewer than 6 bytes follow")
        mac, rest = rest[:6][::-1], rest[6:]
    if not info & 0x01:
        return BTHomePacket(encrypted=False, objects=decode_objects(rest))

    if len(rest) < 8 + 1:
        raise BTHomeError("truncated", f"encrypted payload of {len(rest)} bytes (needs objects + counter + MIC)")
    if bind_key is None:
        raise BTHomeError("no_key", "encrypted advertisement and no bind key given (--bind-key)")
    if mac is None:
        if address is None:
            raise BTHomeError("no_mac", "encrypted advertisement without a device address")
        mac = parse_mac(address)
    ciphertext, counter, mic = rest[:-8], rest[-8:-4], rest[-4:]
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    try:
        plain = AESCCM(bind_key, tag_length=4).decrypt(nonce_for(mac, info, counter), ciphertext + mic, None)
    except InvalidTag as err:
        raise BTHomeError("wrong_key", "MIC check failed (wrong bind key, wrong MAC or corrupted data)") from err
    return BTHomePacket(encrypted=True, objects=decode_objects(plain), counter=int.from_bytes(counter, "little"))


def decode_advertisement(raw: bytes, address: str | None = None, bind_key: bytes | None = None) -> BTHomePacket:
    """Decode a raw legacy advertising payload (AD structures) such as ADV_GET returns."""
    fields = parse_ad_structures(raw)
    if BTHOME_UUID16 not in fields.service_data:
        raise BTHomeError("not_bthome", "no service data with UUID 0xFCD2")
    return decode_service_data(fields.service_data[BTHOME_UUID16], address, bind_key)


def advertisement_data_from_raw(raw: bytes, rssi: int = -60):
    """A bleak AdvertisementData with what BlueZ would report for this raw payload (tests, --sim)."""
    from bleak.backends.scanner import AdvertisementData

    fields = parse_ad_structures(raw)
    service_data = {f"0000{uuid:04x}-0000-1000-8000-00805f9b34fb": data for uuid, data in fields.service_data.items()}
    return AdvertisementData(
        local_name=fields.local_name,
        manufacturer_data={},
        service_data=service_data,
        service_uuids=[],
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )
