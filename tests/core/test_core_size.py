"""The portable core cross-compiles for a Cortex-M4 and fits its budget (<= 16 KB code, <= 8 KB static RAM,
excluding the TFLM arena and the model)."""

from __future__ import annotations

import importlib.util
import os

import pytest

from tinyad.paths import REPO_ROOT


def _core_size_module():
    spec = importlib.util.spec_from_file_location("core_size", REPO_ROOT / "tools" / "core_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_core_fits_a_cortex_m4(capsys):
    core_size = _core_size_module()
    if not core_size.toolchain_available():
        if os.environ.get("CI"):
            pytest.fail("CI must have arm-none-eabi-g++ (.ci/run installs gcc-arm-none-eabi)")
        pytest.skip("arm-none-eabi-g++ not installed")
    result = core_size.measure()
    with capsys.disabled():  # CI logs show the sizes even with -q
        print(f"\n[core size, Cortex-M4 -Os] code {result['code_bytes']} B (<= 16384), static RAM "
              f"{result['static_ram_bytes']} B (<= 8192)")
    assert "-mcpu=cortex-m4 -mthumb -Os -fno-exceptions -fno-rtti -std=c++17" in result["flags"]
    for name in ("protocol.o", "device.o", "preprocess.o", "scoring.o", "alert.o", "ring.o"):
        assert result["objects"][name]["text"] > 0, name
    # The linked figure includes the whole request path (the dispatcher is really linked in, not dropped).
    assert result["core_linked"]["text"] > result["objects"]["device.o"]["text"]
    assert result["code_bytes"] <= 16 * 1024, result
    assert result["static_ram_bytes"] <= 8 * 1024, result


def test_core_sources_include_no_platform_headers():
    """Portable means: no ESP-IDF, FreeRTOS, Arduino, heap or exceptions in firmware/core."""
    core = REPO_ROOT / "firmware" / "core"
    forbidden = ("esp_", "freertos", "Arduino.h", "<iostream>", "<vector>", "<string>", "malloc(", " new ",
                 "throw ", "typeid", "dynamic_cast")
    mine = [p for p in sorted(core.rglob("*")) if p.suffix in (".h", ".cc", ".def")
            and not p.stem.startswith(("bthome", "aes_ccm"))]
    assert len(mine) >= 10
    for path in mine:
        text = path.read_text()
        for token in forbidden:
            assert token not in text, f"{path.name} contains {token!r}"
