"""The committed default model: models/default/model.tflite is the source of truth, and the firmware sources in
firmware/main/model are exactly what `tinyad export` generates from it."""

from tinyad.export import export_model
from tinyad.model_settings import ModelSettings, sha256_file
from tinyad.paths import default_model_dir, firmware_dir
from tinyad.tflm import TflmModel


def test_firmware_model_sources_are_generated_from_the_committed_tflite(tmp_path):
    tflite = default_model_dir() / "model.tflite"
    for path in export_model(tflite, out_dir=tmp_path):
        committed = firmware_dir() / "main" / "model" / path.name
        assert committed.read_text() == path.read_text(), f"{committed} is stale: run `tinyad export {tflite}`"


def test_committed_model_fits_the_targets_and_matches_its_settings():
    tflite = default_model_dir() / "model.tflite"
    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    assert settings.tflite_sha256 == sha256_file(tflite)
    model = TflmModel(tflite.read_bytes())
    assert model.arena_bytes == settings.arena_bytes <= 32 * 1024
    assert tflite.stat().st_size == settings.flash_bytes <= 32 * 1024
    assert model.input_shape == (1, settings.window, settings.n_channels)


def test_committed_arena_margin_holds_the_esp_nn_conv_scratch():
    from tinyad.check import esp_nn_scratch_bytes

    settings = ModelSettings.load(default_model_dir() / "model_settings.json")
    scratch = esp_nn_scratch_bytes((default_model_dir() / "model.tflite").read_bytes())
    # conv 1: 64 steps x 6 channels, kernel 5, stride 2, SAME (pad 1): (64 + 2) * 6 + 5 * 16 * 16 + 32 + 4 * 16
    assert scratch == 1772
    assert settings.arena_bytes + scratch <= settings.arena_bytes_with_margin
