"""Fuzz: >= 100,000 random and mutated frames into the C++ decoder and request dispatcher, built with
AddressSanitizer and UndefinedBehaviorSanitizer (tests/core/fuzz_decoder.cc). Zero crashes, zero sanitizer
reports, and counters that add up."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinyad.paths import firmware_dir

HERE = Path(__file__).resolve().parent
CORE = firmware_dir() / "core"
FRAMES = 120_000
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
FLAGS = ["-std=c++17", "-O1", "-g", "-fno-exceptions", "-fno-rtti", "-ffp-contract=off", "-Wall", "-Wextra"]
# The dispatcher's sources (the BLE engineer's bthome/aes_ccm are not on this path).
SOURCES = ["protocol", "device", "preprocess", "scoring", "alert", "ring", "version"]


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory) -> Path:
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found: cannot build the sanitizer fuzz driver")
    out = tmp_path_factory.mktemp("fuzz")
    probe = out / "probe.cc"
    probe.write_text("int main() { return 0; }\n")
    if subprocess.run([compiler, *SANITIZE, str(probe), "-o", str(out / "probe")], capture_output=True).returncode:
        pytest.skip("this g++ cannot link -fsanitize=address,undefined (libasan/libubsan missing)")
    exe = out / "fuzz_decoder"
    cmd = [compiler, *FLAGS, *SANITIZE, f"-I{CORE / 'include'}", str(HERE / "fuzz_decoder.cc"),
           *(str(CORE / "src" / f"{name}.cc") for name in SOURCES), "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return exe


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_decoder_and_dispatcher_under_sanitizers(fuzzer, seed):
    frames = FRAMES // 2 if seed == 2 else FRAMES
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
    done = subprocess.run([str(fuzzer), str(frames), str(seed)], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}"
    assert "runtime error" not in done.stderr and "AddressSanitizer" not in done.stderr, done.stderr[-4000:]
    c = {k: int(v) for k, v in (item.split("=") for item in done.stdout.split())}
    assert c["frames"] == frames
    # every intact frame decoded (the driver checks >= too); corruption was really exercised in every category
    assert c["frames_ok"] >= c["intact"] > 0.4 * frames
    for key in ("bad_crc", "bad_cobs", "bad_length", "oversize"):
        assert c[key] > 0, key
    assert c["oversize"] >= c["oversize_sent"] > 0
    assert c["device_frames_ok"] == c["frames_ok"]
    assert c["reply_bad"] == 0 and c["replies"] == c["frames_ok"] and c["unsolicited"] > 0
    assert c["rejected"] > 0 and c["windows"] > 0
