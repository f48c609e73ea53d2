"""End to end on a small synthetic set: train a tiny model for a few epochs, quantize, run TFLM, check, export,
and compile the generated sources with g++ (and arm-none-eabi-g++ where installed)."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from tinyad.check import check_model, count_macs
from tinyad.datasets import DatasetConfig, build_dataset
from tinyad.errors import InputError
from tinyad.export import export_model, resolver_method
from tinyad.model_settings import ModelSettings
from tinyad.models import ModelConfig
from tinyad.quantize import board_inputs, quantize_run
from tinyad.synth import synth_dataset
from tinyad.tflm import TflmModel, op_names
from tinyad.train import TrainConfig, load_run, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    paths = synth_dataset(root / "sessions", sessions_per_class=3, duration_s=12, seed=3, machine_seed=3)
    data = build_dataset(paths, DatasetConfig(window=64, hop=32))  # session files, as synth returns them
    assert build_dataset(root / "sessions", DatasetConfig(window=64, hop=32)).class_names == data.class_names
    run = train(data, ModelConfig(units=8, conv_filters=8), TrainConfig(epochs=3, seed=1), root / "run",
                progress=False)
    q = quantize_run(str(run.path), root / "model", n_representative=50, progress=False)  # a run by its folder
    out = export_model(q.tflite_path, out_dir=root / "fw")
    return root, run, q, out


def test_run_directory_has_model_metrics_and_plots(pipeline):
    root, run, _, _ = pipeline
    for name in ("model.keras", "run.json", "metrics.json", "data.npz", "training_curves.png",
                 "confusion_matrix.png"):
        assert (run.path / name).stat().st_size > 0, name
    metrics = json.loads((run.path / "metrics.json").read_text())["float_test"]
    assert len(metrics["confusion_matrix"]) == 4
    assert sum(map(sum, metrics["confusion_matrix"])) == len(load_run(run.path).data["test"].y)


def test_int8_model_has_int8_io_and_settings_match(pipeline):
    _, run, q, _ = pipeline
    model = TflmModel(q.tflite_path.read_bytes())
    assert model.input["dtype"] == np.int8 and model.output["dtype"] == np.int8
    assert model.input_shape == (1, 64, 6) and model.output_shape == (1, 4)
    s = ModelSettings.load(q.tflite_path.with_name("model_settings.json"))
    assert s.input_scale == pytest.approx(model.input["quantization_parameters"]["scales"][0])
    assert s.arena_bytes == model.arena_bytes and s.arena_bytes_with_margin >= s.arena_bytes
    assert s.ops == sorted(set(op_names(q.tflite_path.read_bytes())))
    # float and int8 (TFLM) see the same test windows
    assert q.float_metrics["n"] == q.int8_metrics["n"] == len(run.data["test"].y)


def test_check_reports_costs_and_localizes_tflite_differences(pipeline):
    _, run, q, _ = pipeline
    model_bytes = q.tflite_path.read_bytes()
    windows = board_inputs(run.data["test"].x[:60], q.settings)
    report = check_model(model_bytes, windows)
    assert check_model(q.tflite_path, windows).comparison == report.comparison  # a path reads the same bytes
    assert report.flash_bytes == len(model_bytes)
    assert report.n_ops == sum(report.ops.values()) == len(op_names(model_bytes))
    assert report.macs == sum(count_macs(model_bytes).values()) > 0
    c = report.comparison
    assert c.n_windows == 60
    if c.mismatched_windows:  # reported, and pinned to an op
        assert c.first_divergence is not None and c.max_lsb >= 1
    else:
        assert c.max_lsb == 0


def test_conv_macs_by_hand(pipeline):
    _, _, q, _ = pipeline
    macs = count_macs(q.tflite_path.read_bytes())
    # conv1: 64 samples, stride 2 -> 32 outputs x 8 filters x kernel 5 x 6 channels;
    # conv2: 64/2/2 = 16 outputs x 8 filters x kernel 3 x 8 channels
    assert macs["CONV_2D"] == 32 * 8 * 5 * 6 + 16 * 8 * 3 * 8


def test_model_array_equals_the_tflite_byte_for_byte(pipeline):
    _, _, q, out = pipeline
    source = (out[0].parent / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model_data[]" in source
    body = source[source.index("{") + 1:source.index("};")]
    values = bytes(int(v, 16) for v in body.replace("\n", " ").split(",") if v.strip())
    assert values == q.tflite_path.read_bytes()
    assert f"g_model_data_len = {len(values)};" in source


def test_export_refuses_settings_of_another_model(pipeline, tmp_path):
    _, _, q, _ = pipeline
    other = tmp_path / "model.tflite"
    other.write_bytes(q.tflite_path.read_bytes() + b"\0")
    shutil.copy(q.tflite_path.with_name("model_settings.json"), tmp_path / "model_settings.json")
    with pytest.raises(InputError, match="describes model"):
        export_model(other, out_dir=tmp_path / "fw")
    (tmp_path / "model_settings.json").unlink()  # a .tflite copied alone
    with pytest.raises(InputError, match=r"model_settings.json: no model settings \(model_settings.json\) beside the "
                                         r"model") as refused:
        export_model(other, out_dir=tmp_path / "fw")
    assert refused.value.hint.startswith("`tinyad quantize` writes it beside model.tflite")


def test_resolver_method_names():
    assert resolver_method("CONV_2D") == "AddConv2D"
    assert resolver_method("FULLY_CONNECTED") == "AddFullyConnected"
    assert resolver_method("MAX_POOL_2D") == "AddMaxPool2D"
    assert resolver_method("BATCH_MATMUL") == "AddBatchMatMul"
    assert resolver_method("SPLIT_V") == "AddSplitV"


FAKE_RESOLVER_MAIN = r"""
#include <cstdio>
#include <cstring>
#include "model_data.h"
#include "model_settings.h"

// Records which ops RegisterOps adds, by method name (the real one is tflite::MicroMutableOpResolver).
struct RecordingResolver {
  int count = 0;
#define OP(name) int name() { std::printf(#name "\n"); ++count; return 0; }
  OP(AddAdd) OP(AddConv2D) OP(AddFullyConnected) OP(AddLogistic) OP(AddMaxPool2D) OP(AddMean) OP(AddMul)
  OP(AddReshape) OP(AddSplit) OP(AddSub) OP(AddTanh) OP(AddUnpack) OP(AddStridedSlice) OP(AddQuantize)
  OP(AddDequantize) OP(AddSoftmax) OP(AddBatchMatMul) OP(AddTranspose) OP(AddPack) OP(AddConcatenation)
  OP(AddExpandDims) OP(AddSqueeze) OP(AddSplitV) OP(AddFill) OP(AddShape) OP(AddGather)
#undef OP
};

int main() {
  RecordingResolver resolver;
  if (!tinyad::model::RegisterOps(resolver)) return 2;
  if (resolver.count != tinyad::model::kNumOps) return 3;
  if (reinterpret_cast<unsigned long>(g_model_data) % 16 != 0) return 4;
  std::printf("len %u\n", g_model_data_len);
  return 0;
}
"""


def test_generated_sources_compile_and_register_exactly_the_models_ops(pipeline, tmp_path):
    _, _, q, out = pipeline
    fw = out[0].parent
    (tmp_path / "main.cc").write_text(FAKE_RESOLVER_MAIN)
    exe = tmp_path / "check_model"
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", "-I", str(fw), str(tmp_path / "main.cc"),
                    str(fw / "model_data.cc"), "-o", str(exe)], check=True, capture_output=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True)
    assert result.returncode == 0, result
    registered = sorted(line for line in result.stdout.splitlines() if line.startswith("Add"))
    assert registered == sorted(resolver_method(op) for op in q.settings.ops)
    assert f"len {len(q.tflite_path.read_bytes())}" in result.stdout


def test_generated_sources_compile_for_cortex_m4(pipeline, tmp_path):
    compiler = shutil.which("arm-none-eabi-g++")
    if not compiler:
        pytest.skip("arm-none-eabi-g++ not installed (Debian gcc-arm-none-eabi; .ci/run installs it)")
    _, _, q, out = pipeline
    fw = out[0].parent
    (tmp_path / "main.cc").write_text(FAKE_RESOLVER_MAIN)
    for source in (fw / "model_data.cc", tmp_path / "main.cc"):
        subprocess.run([compiler, "-std=c++17", "-mcpu=cortex-m4", "-mthumb", "-Os", "-fno-exceptions",
                        "-fno-rtti", "-Wall", "-Werror", "-I", str(fw), "-c", str(source), "-o",
                        str(tmp_path / (source.stem + ".o"))], check=True, capture_output=True)
    size = subprocess.run(["arm-none-eabi-size", str(tmp_path / "model_data.o")], capture_output=True, text=True)
    text_bytes = int(size.stdout.splitlines()[1].split()[0])
    # the const array lands in flash (.rodata, counted in text), 4 bytes for g_model_data_len beside it
    assert len(q.tflite_path.read_bytes()) <= text_bytes <= len(q.tflite_path.read_bytes()) + 64
