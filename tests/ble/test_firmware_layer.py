"""Checks of the ESP-IDF firmware layer that need no ESP-IDF: project files, Kconfig consistency, a
compile of every firmware source against API stubs (tools/idf_stubs), the portable core parts for a
Cortex-M4, and the MPU6050 FIFO arithmetic run on the host."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess

import pytest

from tinyad.paths import REPO_ROOT

FIRMWARE = REPO_ROOT / "firmware"
STUBS = REPO_ROOT / "tools" / "idf_stubs"
COMPONENTS = FIRMWARE / "components"
INCLUDES = [STUBS, FIRMWARE / "core" / "include"] + sorted(
    p / "include" for p in COMPONENTS.iterdir() if (p / "include").is_dir())
FIRMWARE_SOURCES = [FIRMWARE / "main" / "main.cc"] + sorted(COMPONENTS.glob("*/*.cc"))

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")


def test_platformio_ini_pins_an_esp_idf_5_platform_with_both_chips():
    ini = configparser.ConfigParser()
    ini.read(REPO_ROOT / "platformio.ini")
    assert ini["platformio"]["src_dir"] == "firmware/main"
    assert ini["env"]["framework"] == "espidf"
    platform = ini["env"]["platform"]
    assert re.fullmatch(r"espressif32@6\.(\d+)\.\d+", platform) and int(platform.split(".")[1]) >= 8  # IDF >= 5.3
    boards = {ini[s]["board"] for s in ini.sections() if s.startswith("env:")}
    # PlatformIO stops on an unknown board ID before it builds anything. Each ID here was looked up in
    # platformio/platform-espressif32 boards/<id>.json (there is no esp32-devkitm-1.json: DevKitM-1 uses esp32dev).
    assert boards == {"esp32dev", "esp32-s3-devkitc-1"}
    assert int(ini["env"]["monitor_speed"]) > 0


def test_platformio_flashes_the_partition_table_and_flash_size_sdkconfig_builds_for():
    # PlatformIO's espidf builder takes the partition CSV from board_build.partitions only (default: a 1 MB
    # app); an app larger than that would pass its size check and then not boot.
    ini = configparser.ConfigParser()
    ini.read(REPO_ROOT / "platformio.ini")
    defaults = (REPO_ROOT / "sdkconfig.defaults").read_text()
    tables = {"CONFIG_PARTITION_TABLE_SINGLE_APP_LARGE=y": "partitions_singleapp_large.csv",
              "CONFIG_PARTITION_TABLE_SINGLE_APP=y": "partitions_singleapp.csv",
              "CONFIG_PARTITION_TABLE_TWO_OTA=y": "partitions_two_ota.csv"}
    chosen = [csv for line, csv in tables.items() if line in defaults.splitlines()]
    assert chosen == [ini["env"]["board_build.partitions"]]
    flash = re.search(r"^CONFIG_ESPTOOLPY_FLASHSIZE_(\d+MB)=y$", defaults, re.M).group(1)
    # esp32dev.json says 4MB; esp32-s3-devkitc-1.json says 8MB and is brought to the sdkconfig's size
    assert ini["env:esp32-s3-devkitc-1"]["board_upload.flash_size"] == flash == "4MB"


def test_no_generated_sdkconfig_is_committed_and_defaults_exist():
    assert not (REPO_ROOT / "sdkconfig").exists()
    for name in ("sdkconfig.defaults", "sdkconfig.defaults.esp32", "sdkconfig.defaults.esp32s3"):
        assert (REPO_ROOT / name).is_file(), name
    defaults = (REPO_ROOT / "sdkconfig.defaults").read_text()
    assert "CONFIG_BT_NIMBLE_ENABLED=y" in defaults and "CONFIG_ESP_TASK_WDT_EN=y" in defaults


def test_tflite_micro_comes_from_the_component_manager():
    for manifest in (FIRMWARE / "main" / "idf_component.yml", COMPONENTS / "inference" / "idf_component.yml"):
        assert "espressif/esp-tflite-micro" in manifest.read_text()


def test_every_kconfig_symbol_used_in_firmware_is_defined():
    kconfig = (FIRMWARE / "main" / "Kconfig.projbuild").read_text()
    defined = set(re.findall(r"^\s*config (TINYAD_\w+)", kconfig, re.M))
    used = set()
    for path in FIRMWARE_SOURCES + [REPO_ROOT / "sdkconfig.defaults.esp32", REPO_ROOT / "sdkconfig.defaults.esp32s3"]:
        used |= set(re.findall(r"CONFIG_(TINYAD_\w+)", path.read_text()))
    assert used, "no CONFIG_TINYAD_ symbol found: the regex is broken"
    assert used <= defined, f"used but not in Kconfig.projbuild: {sorted(used - defined)}"


def test_bool_kconfig_options_are_only_tested_with_preprocessor_conditionals():
    # A disabled bool is *undefined* in sdkconfig.h, so `x = CONFIG_FOO;` breaks the build when FOO=n.
    kconfig = (FIRMWARE / "main" / "Kconfig.projbuild").read_text()
    bools = set(re.findall(r"^\s*config (TINYAD_\w+)\n\s*bool", kconfig, re.M))
    assert "TINYAD_BLE_ENABLED" in bools and "TINYAD_ACCEL_4G" in bools
    for path in FIRMWARE_SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r"CONFIG_(TINYAD_\w+)", line):
                if name in bools:
                    assert re.match(r"\s*#\s*(el)?if", line), f"{path.name}:{number}: {line.strip()}"


# Runs a component's CMakeLists.txt in CMake's script mode with ESP-IDF's registration stubbed out: it prints
# what the component would register. Catches syntax problems (a stray quote mangles a message and warns),
# and lets the tests see which sources a configuration selects.
CMAKE_COMPONENT_DRIVER = """
function(idf_component_register)
  message(STATUS "idf_component_register: ${ARGN}")
endfunction()
function(target_compile_options)
endfunction()
include(${COMPONENT_CMAKELISTS})
"""
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")


def run_component_cmake(cmakelists, tmp_path, *definitions):
    driver = tmp_path / "driver.cmake"
    driver.write_text(CMAKE_COMPONENT_DRIVER)
    return subprocess.run(["cmake", *(f"-D{d}" for d in definitions), f"-DCOMPONENT_CMAKELISTS={cmakelists}",
                           "-P", str(driver)], capture_output=True, text=True)


COMPONENT_CMAKELISTS = [FIRMWARE / "main" / "CMakeLists.txt", *sorted(COMPONENTS.glob("*/CMakeLists.txt"))]


@needs_cmake
@pytest.mark.parametrize("cmakelists", COMPONENT_CMAKELISTS, ids=lambda p: p.parent.name)
def test_component_cmakelists_parse_without_warnings(cmakelists, tmp_path):
    result = run_component_cmake(cmakelists, tmp_path, "CONFIG_BT_NIMBLE_ENABLED=y")
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    registered = result.stdout + result.stderr
    assert "idf_component_register: SRCS" in registered
    for source in re.findall(r"([\w/.-]+\.cc)", registered.split("idf_component_register:")[1]):
        assert (cmakelists.parent / source).is_file(), f"{cmakelists.parent.name} registers a missing {source}"


@needs_cmake
def test_ble_alerts_compiles_the_no_bluetooth_variant_without_nimble(tmp_path):
    cmakelists = COMPONENTS / "ble_alerts" / "CMakeLists.txt"
    with_nimble = run_component_cmake(cmakelists, tmp_path, "CONFIG_BT_NIMBLE_ENABLED=y")
    without = run_component_cmake(cmakelists, tmp_path)
    assert "SRCS;ble_alerts.cc;" in with_nimble.stderr + with_nimble.stdout
    assert "SRCS;ble_alerts_off.cc;" in without.stderr + without.stdout


@needs_cmake
def test_inference_component_stops_with_a_hint_when_the_model_was_not_exported(tmp_path):
    component = tmp_path / "components" / "inference"
    component.mkdir(parents=True)
    (component / "CMakeLists.txt").write_text((COMPONENTS / "inference" / "CMakeLists.txt").read_text())
    result = run_component_cmake(component / "CMakeLists.txt", tmp_path)
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "Generate them with `tinyad export` (see README.md, section On a real board)." in message


def render_model_sources(out_dir, channels=("ax", "ay", "az", "gx", "gy", "gz"), dlpf_hz=0.0, full_scale=None,
                         sample_rate_hz=100.0):
    """model_data.h and model_settings.h as `tinyad export` writes them, for a small model (6 channels at 100 Hz,
    +-4 g and +-500 dps, and the sensor low-pass not recorded, unless given)."""
    from tinyad.export import render_model_data, render_model_settings
    from tinyad.model_settings import ModelSettings

    channels = list(channels)
    settings = ModelSettings(
        model_name="compile-check", window=64, hop=32, channels=channels, sample_rate_hz=sample_rate_hz,
        units={c: "g" if c.startswith("a") else "dps" for c in channels},
        units_per_count=[4 / 32768 if c.startswith("a") else 500 / 32768 for c in channels],
        full_scale=full_scale or {"accel_g": 4, "gyro_dps": 500},
        norm_mean=[0.0] * len(channels), norm_std=[1.0] * len(channels), input_scale=0.05, input_zero_point=-3,
        output_scale=0.1,
        output_zero_point=0, class_names=["normal", "anomaly"], tflite_sha256="ab" * 32, arena_bytes=30000,
        arena_bytes_with_margin=36000, dlpf_hz=dlpf_hz)
    header, _source = render_model_data(b"\x1c\x00\x00\x00TFL3", "model.tflite", settings.tflite_sha256)
    (out_dir / "model_data.h").write_text(header)
    (out_dir / "model_settings.h").write_text(
        render_model_settings(settings, ["CONV_2D", "RESHAPE", "FULLY_CONNECTED", "CONV_2D"], "model.tflite"))


def check_main_compiles(model_dir, menuconfig=None):
    """g++ -fsyntax-only of firmware/main/main.cc against the API stubs and the model sources in `model_dir`: its
    static_asserts are what stop a build for a model the configured sensor cannot feed. `menuconfig` overrides
    the stubs' sdkconfig.h defaults (e.g. {"CONFIG_TINYAD_DLPF_CFG": 0})."""
    flags = ["-std=gnu++17", "-fsyntax-only", "-fno-exceptions", "-fno-rtti"]
    flags += [f"-D{name}={value}" for name, value in (menuconfig or {}).items()]
    flags += [f"-I{p}" for p in INCLUDES + [model_dir]]
    return subprocess.run(["g++", *flags, str(FIRMWARE / "main" / "main.cc")], capture_output=True, text=True)


@needs_gxx
# ESP-IDF 5.x compiles C++ in a newer dialect than the C++17 the portable core promises: check both.
@pytest.mark.parametrize("link, std", [("uart", "gnu++17"), ("usb", "gnu++17"), ("uart", "gnu++2b")])
def test_firmware_sources_compile_against_the_esp_idf_api_stubs(link, std, tmp_path):
    render_model_sources(tmp_path)
    # A real compile at -O2 (ESP-IDF's CONFIG_COMPILER_OPTIMIZATION_PERF), not -fsyntax-only: only code generation
    # reports unused functions and variables (e.g. in the build variant that does not use them).
    flags = [f"-std={std}", "-c", "-O2", "-o", os.devnull, "-Wall", "-Wextra", "-Werror", "-fno-exceptions",
             "-fno-rtti"]
    flags += [f"-I{p}" for p in INCLUDES + [tmp_path]] + (["-DTINYAD_STUB_USB"] if link == "usb" else [])
    for source in FIRMWARE_SOURCES:
        result = subprocess.run(["g++", *flags, str(source)], capture_output=True, text=True)
        assert result.returncode == 0, f"{source.relative_to(REPO_ROOT)}:\n{result.stderr[-3000:]}"


@needs_gxx
@pytest.mark.parametrize("channels, error", [
    (("ax", "ay", "az"), None),
    (("ax", "ay", "gz"), "the model's kChannelNames must be ax ay az [gx gy gz] in this order"),
    (("ay", "ax", "az", "gx", "gy", "gz"), "the model's kChannelNames must be ax ay az [gx gy gz] in this order"),
    (("ax", "ay", "az", "gx"), "the MPU6050 provides ax, ay, az (3 channels) or ax..gz (6 channels)"),
])
def test_the_build_stops_on_a_model_whose_channels_the_sensor_task_cannot_feed(channels, error, tmp_path):
    # main.cc hands the core the first kChannels of ax..gz: a model on other channels would read the wrong ones.
    render_model_sources(tmp_path, channels)
    result = check_main_compiles(tmp_path)
    if error is None:
        assert result.returncode == 0, result.stderr[-3000:]
        # an accelerometer-only model leaves the gyro range free (0: no such channel)
        assert "constexpr float kGyroFullScaleDps = 0x0.0p+0f /* 0 */;" in (tmp_path / "model_settings.h").read_text()
    else:
        assert result.returncode != 0
        assert error in result.stderr


@needs_gxx
@pytest.mark.parametrize("dlpf_hz, builds", [(0.0, True), (44.0, True), (94.0, False), (260.0, False)])
def test_the_build_stops_on_a_model_trained_with_another_dlpf(dlpf_hz, builds, tmp_path):
    # The API stubs' sdkconfig.h has the Kconfig default CONFIG_TINYAD_DLPF_CFG 3 (44 Hz); 0: not recorded.
    render_model_sources(tmp_path, dlpf_hz=dlpf_hz)
    result = check_main_compiles(tmp_path)
    assert (result.returncode == 0) == builds, result.stderr[-3000:]
    if not builds:
        assert "CONFIG_TINYAD_DLPF_CFG (menuconfig) differs from the model's kDlpfCfg" in result.stderr


@needs_gxx
@pytest.mark.parametrize("rate, dlpf_cfg, error", [
    (1000, 0, None),  # `tinyad synth` at 1 kHz records 260 Hz: the DLPF off, the gyro at 8 kHz / 8
    (800, 0, None),   # 8 kHz / 10: only with the DLPF off
    (800, 3, "CONFIG_TINYAD_SAMPLE_RATE_HZ must divide 1000"),
    (20, 0, "CONFIG_TINYAD_SAMPLE_RATE_HZ must divide 1000"),  # 8 kHz / 20 = 400: SMPLRT_DIV has 8 bits
])
def test_the_build_checks_the_sample_rate_against_the_gyro_rate_the_dlpf_gives(rate, dlpf_cfg, error, tmp_path):
    from tinyad.synth import MPU6050_DLPF_BANDWIDTHS_HZ

    render_model_sources(tmp_path, dlpf_hz=MPU6050_DLPF_BANDWIDTHS_HZ[dlpf_cfg], sample_rate_hz=float(rate))
    result = check_main_compiles(tmp_path, {"CONFIG_TINYAD_DLPF_CFG": dlpf_cfg, "CONFIG_TINYAD_SAMPLE_RATE_HZ": rate})
    assert (result.returncode == 0) == (error is None), result.stderr[-3000:]
    if error:
        assert error in result.stderr


@needs_gxx
@pytest.mark.parametrize("full_scale, error", [
    ({"accel_g": 4, "gyro_dps": 500}, None),  # the Kconfig defaults the API stubs' sdkconfig.h has
    ({"accel_g": 8, "gyro_dps": 500}, "the MPU6050 accel range (menuconfig) differs from the one the model was"),
    ({"accel_g": 4, "gyro_dps": 2000}, "the MPU6050 gyro range (menuconfig) differs from the one the model was"),
])
def test_the_build_stops_on_a_model_trained_at_other_sensor_ranges(full_scale, error, tmp_path):
    render_model_sources(tmp_path, full_scale=full_scale)
    result = check_main_compiles(tmp_path)
    assert (result.returncode == 0) == (error is None), result.stderr[-3000:]
    if error:
        assert error in result.stderr


@needs_gxx
@pytest.mark.parametrize("source, setting, error", [
    # extended advertising makes NimBLE's legacy ble_gap_adv_set_data() return BLE_HS_ENOTSUP: nothing on air
    ("ble_alerts/ble_alerts.cc", "-DCONFIG_BT_NIMBLE_EXT_ADV=1", "turn off CONFIG_BT_NIMBLE_EXT_ADV"),
    ("ble_alerts/ble_alerts.cc", "-UCONFIG_BT_NIMBLE_ROLE_BROADCASTER", "turn on CONFIG_BT_NIMBLE_ROLE_BROADCASTER"),
    ("inference/inference.cc", "-DCONFIG_NN_SKIP_NUDGE=1", "CONFIG_NN_SKIP_NUDGE breaks bit-exactness"),
    # a console on the USB port the protocol uses would put log lines among the frames
    ("serial_link/serial_link.cc", "-DCONFIG_ESP_CONSOLE_SECONDARY_USB_SERIAL_JTAG=1", "move the console off it"),
])
def test_the_build_stops_on_menuconfig_settings_that_would_silently_break_the_board(source, setting, error,
                                                                                     tmp_path):
    render_model_sources(tmp_path)
    flags = ["-std=gnu++17", "-fsyntax-only", "-fno-exceptions", "-fno-rtti", "-DTINYAD_STUB_USB"]
    flags += [f"-I{p}" for p in INCLUDES + [tmp_path]]
    path = str(COMPONENTS / source)
    assert subprocess.run(["g++", *flags, path], capture_output=True, text=True).returncode == 0
    # -U needs the stub's #define gone first: sdkconfig.h is included after the command line, so undefine there
    if setting.startswith("-U"):
        stub = tmp_path / "stubs"
        shutil.copytree(STUBS, stub)
        name = setting[2:]
        text = (stub / "sdkconfig.h").read_text()
        assert f"#define {name} 1\n" in text
        (stub / "sdkconfig.h").write_text(text.replace(f"#define {name} 1\n", ""))
        flags = [f for f in flags if f != f"-I{STUBS}"]
        flags.insert(4, f"-I{stub}")
        result = subprocess.run(["g++", *flags, path], capture_output=True, text=True)
    else:
        result = subprocess.run(["g++", *flags, setting, path], capture_output=True, text=True)
    assert result.returncode != 0 and error in result.stderr, result.stderr[-2000:]


@pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None, reason="arm-none-eabi-g++ not installed")
def test_bthome_and_aes_ccm_build_small_for_a_microcontroller(tmp_path):
    total = 0
    for name in ("aes_ccm", "bthome"):
        obj = tmp_path / f"{name}.o"
        subprocess.run(["arm-none-eabi-g++", "-std=c++17", "-Os", "-mcpu=cortex-m4", "-mthumb", "-fno-exceptions",
                        "-fno-rtti", "-Wall", "-Wextra", "-Werror", f"-I{FIRMWARE / 'core' / 'include'}", "-c",
                        str(FIRMWARE / "core" / "src" / f"{name}.cc"), "-o", str(obj)], check=True)
        size = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True)
        sections = dict(re.findall(r"^\.(\S+)\s+(\d+)", size.stdout, re.M))
        assert int(sections.get("data", 0)) == 0 and int(sections.get("bss", 0)) == 0  # no hidden state
        total += int(sections["text"]) + int(sections.get("rodata", 0))
    assert total < 4096, f"BTHome + AES-CCM take {total} bytes of flash"


MPU_PROGRAM = r"""
#include <cstdio>
#include "mpu6050_regs.h"
int main() {
  const unsigned char fifo[12] = {0x01, 0x02, 0xFF, 0xFE, 0x80, 0x00, 0x7F, 0xFF, 0x00, 0x00, 0x12, 0x34};
  int16_t out[6];
  mpu6050::decode_sample(fifo, out);
  std::printf("%d %d %d %d %d %d\n", out[0], out[1], out[2], out[3], out[4], out[5]);
  std::printf("%d %d %d\n", mpu6050::sample_rate_divider(100, 3), mpu6050::sample_rate_divider(1000, 3),
              mpu6050::sample_rate_divider(3, 3));
  std::printf("%d %d\n", mpu6050::accel_range_bits(4), mpu6050::gyro_range_bits(2000));
  std::printf("%u %u %u\n", (unsigned)mpu6050::lost_samples(1000000, 100, 0),
              (unsigned)mpu6050::lost_samples(850000, 100, 10), (unsigned)mpu6050::lost_samples(5000, 100, 3));
  std::printf("%u\n", (unsigned)mpu6050::whole_samples(1023));
  std::printf("%u %u %u\n", (unsigned)mpu6050::i2c_timeout_ms(400000, 192),
              (unsigned)mpu6050::i2c_timeout_ms(100000, 192), (unsigned)mpu6050::i2c_timeout_ms(10000, 192));
  for (int cfg = 0; cfg <= 7; ++cfg) std::printf("%g ", mpu6050::dlpf_bandwidth_hz(cfg));
  std::printf("\n");
  for (int cfg = 0; cfg <= 7; ++cfg) {
    for (unsigned rate = 0; rate <= 1100; ++rate) std::printf("%d ", mpu6050::sample_rate_divider(rate, cfg));
    std::printf("\n");
  }
}
"""


@needs_gxx
def test_mpu6050_fifo_arithmetic(tmp_path):
    source = tmp_path / "mpu.cc"
    source.write_text(MPU_PROGRAM)
    binary = tmp_path / "mpu"
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", f"-I{COMPONENTS / 'imu_mpu6050' / 'include'}",
                    str(source), "-o", str(binary)], check=True)
    lines = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines[0] == "258 -2 -32768 32767 0 4660"  # big-endian int16: 0x0102, 0xFFFE, 0x8000, 0x7FFF, 0, 0x1234
    assert lines[1] == "9 0 -1"                       # 1 kHz / (1 + div); 1000 / 3 is not an integer
    assert lines[2] == "8 24"                         # AFS_SEL=1 (4 g), FS_SEL=3 (2000 dps) in bits 4:3
    assert lines[3] == "100 75 0"                     # 1 s at 100 Hz; 0.85 s minus 10 kept; never negative
    assert lines[4] == "85"                           # 1023 bytes hold 85 whole 12-byte samples
    # 195 bytes x 9 clocks = 1755 clocks: 4.4 ms at 400 kHz (floor 20), 17.6 ms at 100 kHz, 175.5 ms at 10 kHz
    assert lines[5] == "20 46 362"                    # 2 x ceil(wire ms) + 10
    # DLPF_CFG 0..6 -> accelerometer bandwidth (7: none): the host's table, which synth and export use
    from tinyad.synth import MPU6050_DLPF_BANDWIDTHS_HZ

    assert [float(v) for v in lines[6].split()] == [*MPU6050_DLPF_BANDWIDTHS_HZ, 0.0]
    # SMPLRT_DIV for every rate 0..1100 Hz and DLPF_CFG 0..7: the host's copy, which export judges a model by
    from tinyad.export import mpu6050_sample_rate_divider

    dividers = [[int(v) for v in line.split()] for line in lines[7:15]]
    assert dividers == [[mpu6050_sample_rate_divider(rate, cfg) for rate in range(1101)] for cfg in range(8)]
    assert dividers[3][100] == 9 and dividers[0][1000] == 7 and dividers[0][20] == -1 and dividers[3][1000] == 0
    assert dividers[0][32] == 249 and dividers[0][25] == -1 and dividers[3][4] == 249 and dividers[3][1001] == -1
