#!/usr/bin/env python3
"""Cross-compile the portable firmware core for a Cortex-M4 and print its code and static RAM size.

    python tools/core_size.py [--json] [--fpu]

Every firmware/core/src/*.cc is compiled with
    arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -Os -fno-exceptions -fno-rtti -std=c++17
(plus -ffunction-sections -fdata-sections so the linker can drop what is unused) and reported with
arm-none-eabi-size. Two figures:
  * objects: the sum over the core's object files (everything compiled, used or not);
  * linked:  a tiny main that runs the whole request path (tinyad::Device: decoder, dispatcher, config, ring,
             preprocessing, scoring, alerts) linked with --gc-sections, minus the same main without the core:
             the core plus the libgcc helpers it pulls in (soft-float arithmetic; the core uses no libm). This is
             the figure checked against the targets (<= 16 KB code, <= 8 KB static RAM; the TFLM arena and model
             excluded).
Code = text + data (initialized data also lives in flash); static RAM = data + bss.
Standard library only, so CI can run it before anything is installed. Exit code 1 if a target is missed,
2 if the toolchain is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "firmware" / "core"
CXX = "arm-none-eabi-g++"
SIZE = "arm-none-eabi-size"
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-Os", "-fno-exceptions", "-fno-rtti", "-std=c++17",
         "-ffunction-sections", "-fdata-sections", "-ffp-contract=off", "-Wall", "-Wextra"]
FPU_FLAGS = ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
LINK = ["-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs"]
CODE_TARGET = 16 * 1024
RAM_TARGET = 8 * 1024

MAIN = r"""
#include <cstdint>
#include <cstddef>
#ifdef WITH_CORE
#include "tinyad/device.h"
namespace {
volatile uint32_t sink;
void on_write(void*, const uint8_t* data, size_t n) { sink = sink + data[0] + static_cast<uint32_t>(n); }
bool on_invoke(void*, const int8_t* in, size_t n_in, int8_t* out, size_t n_out, uint32_t* us) {
  for (size_t k = 0; k < n_out; ++k) out[k] = in[k % n_in];
  *us = 1;
  return true;
}
tinyad::Device device;
}  // namespace
#endif
volatile uint8_t rx_byte;
volatile int16_t sensor_value;
int main() {
#ifdef WITH_CORE
  tinyad::DeviceIdentity id;
  id.window = 64; id.hop = 32; id.channels = 6; id.n_classes = 2;
  tinyad::DeviceHooks hooks;
  hooks.write = on_write;
  hooks.invoke = on_invoke;
  if (!device.begin(id, hooks)) return 1;
#endif
  for (;;) {
    uint8_t byte = rx_byte;
    int16_t sample[6];
    for (int c = 0; c < 6; ++c) sample[c] = sensor_value;
#ifdef WITH_CORE
    device.on_rx(&byte, 1);
    device.on_sample(sample, 0);
#else
    (void)byte; (void)sample;
#endif
  }
}
"""


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _size(paths: list[Path]) -> dict[str, dict[str, int]]:
    out = _run([SIZE, "-B"] + [str(p) for p in paths])
    sizes = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6:
            text, data, bss = (int(v) for v in parts[:3])
            sizes[Path(parts[5]).name] = {"text": text, "data": data, "bss": bss}
    return sizes


def toolchain_available() -> bool:
    return shutil.which(CXX) is not None and shutil.which(SIZE) is not None


def measure(fpu: bool = False) -> dict:
    """Compiles and links the core for a Cortex-M4; returns sizes in bytes (see the module docstring)."""
    if not toolchain_available():
        raise FileNotFoundError(f"{CXX} not found (Debian: apt-get install gcc-arm-none-eabi "
                                "libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)")
    flags = FLAGS + (FPU_FLAGS if fpu else [])
    sources = sorted((CORE / "src").glob("*.cc"))
    with tempfile.TemporaryDirectory(prefix="tinyad-core-size-") as tmp:
        tmp = Path(tmp)
        objects = []
        for src in sources:
            obj = tmp / (src.stem + ".o")
            _run([CXX, *flags, f"-I{CORE / 'include'}", "-c", str(src), "-o", str(obj)])
            objects.append(obj)
        main_src = tmp / "size_main.cc"
        main_src.write_text(MAIN)
        with_core, baseline = tmp / "with_core.elf", tmp / "baseline.elf"
        _run([CXX, *flags, "-DWITH_CORE", f"-I{CORE / 'include'}", str(main_src), *map(str, objects), *LINK,
              "-o", str(with_core)])
        _run([CXX, *flags, str(main_src), *LINK, "-o", str(baseline)])
        per_object = _size(objects)
        linked = _size([with_core, baseline])
    total = {k: sum(v[k] for v in per_object.values()) for k in ("text", "data", "bss")}
    core_linked = {k: linked["with_core.elf"][k] - linked["baseline.elf"][k] for k in ("text", "data", "bss")}
    code = core_linked["text"] + core_linked["data"]
    ram = core_linked["data"] + core_linked["bss"]
    return {
        "flags": " ".join(flags),
        "objects": per_object,
        "objects_total": total,
        "linked_with_core": linked["with_core.elf"],
        "linked_baseline": linked["baseline.elf"],
        "core_linked": core_linked,
        "code_bytes": code,
        "static_ram_bytes": ram,
        "code_target_bytes": CODE_TARGET,
        "ram_target_bytes": RAM_TARGET,
        "targets_met": code <= CODE_TARGET and ram <= RAM_TARGET,
    }


def format_report(result: dict) -> str:
    lines = [f"flags: {result['flags']}", f"{'object':<16}{'text':>8}{'data':>8}{'bss':>8}"]
    for name, s in sorted(result["objects"].items()):
        lines.append(f"{name:<16}{s['text']:>8}{s['data']:>8}{s['bss']:>8}")
    t = result["objects_total"]
    lines.append(f"{'objects total':<16}{t['text']:>8}{t['data']:>8}{t['bss']:>8}")
    c = result["core_linked"]
    lines.append(f"{'linked core':<16}{c['text']:>8}{c['data']:>8}{c['bss']:>8}   (tiny main with the core "
                 "minus without it, --gc-sections, incl. libgcc helpers)")
    lines.append(f"code  {result['code_bytes']} B (target <= {result['code_target_bytes']} B)   "
                 f"static RAM {result['static_ram_bytes']} B (target <= {result['ram_target_bytes']} B)   "
                 f"{'targets met' if result['targets_met'] else 'TARGET MISSED'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--fpu", action="store_true", help="also use the M4F FPU (-mfloat-abi=hard)")
    args = parser.parse_args(argv)
    try:
        result = measure(fpu=args.fpu)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else format_report(result))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
