"""No compiler may contract the preprocessing or the EWMA into fused multiply-adds, whatever the flags of the
build that includes the core (ESP-IDF's Xtensa GCC and Cortex-M4F both have FMA instructions; GCC contracts by
default in GNU mode). The core writes the product through a volatile; these tests compile it with
-ffp-contract=fast and check the instructions, and run an x86 FMA build on inputs where fusing changes the result.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.core.test_preprocess import _fma_sensitive_case
from tinyad.paths import firmware_dir
from tinyad.preprocess import preprocess_raw

CORE = firmware_dir() / "core"
HERE = Path(__file__).resolve().parent
CONTROL = "float f(short r, float a, float b) { return static_cast<float>(r) * a + b; }\n"

TARGETS = {
    "x86-64 -mfma": (["g++", "-O2", "-mfma", "-ffp-contract=fast"], re.compile(r"\bvf(n?)m(add|sub)\w*ss\b")),
    "cortex-m4f": (["arm-none-eabi-g++", "-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                    "-mfpu=fpv4-sp-d16", "-ffp-contract=fast"], re.compile(r"\bv(f|fn)m[as]\.f32\b|\bvml[as]\.f32")),
}


def _assembly(flags: list[str], source: Path) -> str:
    done = subprocess.run([*flags, "-std=c++17", "-fno-exceptions", "-fno-rtti", f"-I{CORE / 'include'}", "-S",
                           "-o", "-", str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_core_float_code_has_no_fused_multiply_add(target, tmp_path):
    flags, fused = TARGETS[target]
    if shutil.which(flags[0]) is None:
        pytest.skip(f"{flags[0]} not installed")
    control = tmp_path / "control.cc"
    control.write_text(CONTROL)
    assert fused.search(_assembly(flags, control)), "the check must see the FMA a plain a*x+b compiles to"
    for name in ("preprocess.cc", "scoring.cc"):
        asm = _assembly(flags, CORE / "src" / name)
        assert not fused.search(asm), f"{name} compiled to a fused multiply-add on {target}"


def test_fma_build_on_x86_gives_the_reference_bytes(tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    if "fma" not in Path("/proc/cpuinfo").read_text().split():
        pytest.skip("this CPU has no FMA instructions")
    exe = tmp_path / "fma_probe"
    done = subprocess.run(["g++", "-O2", "-mfma", "-ffp-contract=fast", "-std=c++17", f"-I{CORE / 'include'}",
                           str(HERE / "fma_probe.cc"), str(CORE / "src" / "preprocess.cc"), str(CORE / "src" /
                           "protocol.cc"), "-o", str(exe)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    cases = []
    for raw, target in [(30011, 1000.3), (-29999, 900.7), (12345, 700.1), (31111, 999.9), (-20001, 613.37)]:
        for tie in (0.5, 1.5, -0.5, -1.5, 2.5):
            a, b, separate, fused = _fma_sensitive_case(raw, target, tie)
            cases.append((raw, a, b, separate, fused))
    assert sum(c[3] != c[4] for c in cases) >= 5
    lines = "".join(f"{raw} {float(a).hex()} {float(b).hex()} 0\n" for raw, a, b, _, _ in cases)
    out = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, check=True).stdout.split()
    expected = [int(preprocess_raw(np.array([[raw]], np.int16), [a], [b], 0)[0, 0]) for raw, a, b, _, _ in cases]
    assert [int(v) for v in out] == expected == [c[3] for c in cases]
