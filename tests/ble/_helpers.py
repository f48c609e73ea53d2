"""Shared helpers for the BLE tests: decode with the independent bthome-ble package."""

from __future__ import annotations

import time

MAC = "54:48:E6:8F:80:A5"
MAC_BYTES = bytes.fromhex("5448E68F80A5")
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")  # the key of bthome-ble's own example


def bthome_ble_values(raw: bytes, bind_key: bytes | None, address: str = MAC, parser=None):
    """Decode a raw advertisement with bthome-ble; returns ({sensor key: value}, {binary key: value}, parser)."""
    from bleak.backends.device import BLEDevice
    from bthome_ble import BTHomeBluetoothDeviceData
    from habluetooth import BluetoothServiceInfoBleak

    from tinyad.ble.bthome import advertisement_data_from_raw

    adv = advertisement_data_from_raw(raw)
    info = BluetoothServiceInfoBleak.from_device_and_advertisement_data(
        BLEDevice(address, adv.local_name, None), adv, "test", time.monotonic(), True
    )
    parser = parser or BTHomeBluetoothDeviceData(bindkey=bind_key)
    update = parser.update(info)
    sensors = {k.key: v.native_value for k, v in update.entity_values.items()}
    binaries = {k.key: v.native_value for k, v in update.binary_entity_values.items()}
    return sensors, binaries, parser
