"""The firmware core computes the same bytes on a 32-bit Cortex-M4 as on the host.

cross_arch_session.cc drives the core through a deterministic session (config, bind key, streaming with a fault
and an alert, INFER windows, corrupt frames, sweeps of preprocessing, exp, probability and score_to_centi) and
prints a transcript. It is built three times: for the host (x86-64, the SIL's architecture) and for a
Cortex-M4 with soft-float and with the FPU (newlib, as on a bare-metal MCU); the Cortex-M4 builds run on QEMU
(mps2-an386, semihosting). The transcripts must be identical, and the Cortex-M4's INFER_RESP and SCORE frames
must equal the Python reference (tinyad.preprocess, tinyad.scoring) byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyad import protocol as p
from tinyad.model_settings import ModelSettings
from tinyad.paths import default_model_dir, firmware_dir
from tinyad.preprocess import preprocess_constants, preprocess_raw
from tinyad.scoring import anomaly_probability, logit_margin

HERE = Path(__file__).resolve().parent
CORE = firmware_dir() / "core"
COMMON = ["-O2", "-std=c++17", "-ffp-contract=off", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror",
          f"-I{CORE / 'include'}", f"-I{firmware_dir() / 'main'}", f"-I{firmware_dir() / 'main' / 'model'}"]
CORTEX_M4 = {"cortex-m4 soft-float": ["-mfloat-abi=soft"],
             "cortex-m4 fpu": ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]}
QEMU = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native", "-kernel"]


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {tool} (.ci/run installs {package})")
        pytest.skip(f"{tool} not installed (Debian: apt-get install {package})")


def _run(cmd: list[str], timeout: float = 120) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd[:4])} ... exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def _sources() -> list[str]:
    return [str(HERE / "cross_arch_session.cc"), *sorted(str(s) for s in (CORE / "src").glob("*.cc"))]


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory) -> dict[str, list[str]]:
    """{build: transcript lines} for the host and both Cortex-M4 builds."""
    _need("arm-none-eabi-g++", "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib")
    _need("qemu-system-arm", "qemu-system-arm")
    out = tmp_path_factory.mktemp("cross-arch")
    native = out / "native"
    _run([os.environ.get("CXX", "g++"), *COMMON, *_sources(), "-o", str(native)])
    result = {"host": _run([str(native)]).splitlines()}
    for name, flags in CORTEX_M4.items():
        elf = out / (name.replace(" ", "-") + ".elf")
        _run(["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", *flags, *COMMON, str(HERE / "qemu" / "startup.cc"),
              *_sources(), "-T", str(HERE / "qemu" / "mps2_an386.ld"), "-nostartfiles", "--specs=nano.specs",
              "--specs=rdimon.specs", "-Wl,--no-warn-rwx-segments", "-o", str(elf)])
        result[name] = _run([*QEMU, str(elf)]).splitlines()
    return result


def _first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}:\n  host: {x[:200]}\n  arm:  {y[:200]}"
    return f"lengths differ: {len(a)} vs {len(b)} lines"


@pytest.mark.parametrize("build", sorted(CORTEX_M4))
def test_cortex_m4_transcript_equals_the_host(transcripts, build):
    host, arm = transcripts["host"], transcripts[build]
    assert arm[-1].startswith("END "), f"the {build} run stopped early; last line: {arm[-1:]}"
    assert arm == host, _first_difference(host, arm)


def test_the_session_exercises_what_it_claims(transcripts):
    lines = transcripts["host"]
    end = lines[-1].split()
    counters = dict(zip(end[1::2], (int(v) for v in end[2::2])))
    states = {int(line.split()[1]) for line in lines if line.startswith("WIN ")}
    assert counters["windows"] == sum(line.startswith("WIN ") for line in lines) >= 100
    assert counters["alerts"] >= 1 and states == {0, 1, 2, 3}  # ok, pending, alert, cooldown
    assert counters["bad_crc"] == 1 and counters["bad_cobs"] >= 1 and counters["overflows"] == 1
    assert sum(line.startswith("SWEEP quantize") for line in lines) == 6


def _frames(lines: list[str], tag: str) -> list[p.Frame]:
    decoder = p.FrameDecoder()
    frames = []
    for line in lines:
        if line.startswith(tag + " "):
            frames += decoder.feed(bytes.fromhex(line.split()[2]))
    return frames


def test_cortex_m4_replies_equal_the_python_reference(transcripts):
    lines = transcripts["cortex-m4 fpu"]
    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    a, b, zero_point = preprocess_constants(settings)
    requests = {f.seq: f for f in _frames(lines, "RX")}
    replies = _frames(lines, "TX")
    # The session switches SCORE_KIND to the probability while streaming; SCORE frames before that carry the
    # logit margin as the score, those after (and INFER) the probability.
    switch = next(i for i, f in enumerate(replies)
                  if f.type == p.MsgType.CONFIG_VALUE and p.parse_config_value(f.payload).key == 0x0006)
    checked = {"margin": 0, "probability": 0, "infer": 0}
    for i, frame in enumerate(replies):
        if frame.type == p.MsgType.SCORE:
            reply = p.parse_score(frame.payload)
        elif frame.type == p.MsgType.INFER_RESP:
            reply = p.parse_infer_resp(frame.payload)
            raw_payload = requests[frame.seq].payload
            n, channels = raw_payload[0] | raw_payload[1] << 8, raw_payload[2]
            raw = np.frombuffer(raw_payload[4:], "<i2").reshape(n, channels)
            assert reply.input == preprocess_raw(raw, a, b, zero_point).tobytes(), f"INFER seq {frame.seq}"
            checked["infer"] += 1
        else:
            continue
        # INFER_RESP holds the logits as bytes, SCORE as a list of ints
        output = np.frombuffer(reply.output, np.int8) if isinstance(reply.output, bytes) else np.int8(reply.output)
        probability = anomaly_probability(output, settings.output_scale)
        kind = "probability" if i > switch else "margin"
        expected = probability if kind == "probability" else logit_margin(output, settings.output_scale)
        assert np.float32(reply.probability).tobytes() == probability.tobytes(), f"frame {i}"
        assert np.float32(reply.score).tobytes() == np.float32(expected).tobytes(), f"frame {i} ({kind})"
        checked[kind] += frame.type == p.MsgType.SCORE
    assert checked["infer"] == 24 and checked["margin"] >= 40 and checked["probability"] >= 40, checked
