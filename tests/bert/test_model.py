"""Model shapes, presets and weight transfer between channel counts."""

import numpy as np
import pytest

from tinyad.bert.model import INPUT_EMBEDDING, PRESETS, BertConfig, build_model, preset_config, transfer_weights
from tinyad.errors import InputError


def test_patch_embedding_maps_window_to_one_logit_per_step():
    config = preset_config("tiny", 3, window=16, patch_size=4)
    model = build_model(config)
    assert model.get_layer(INPUT_EMBEDDING).kernel.shape == (4 * 3, config.width)  # a patch of 4 steps x 3 ch
    out = model(np.zeros((2, 16, 3), np.float32))
    assert tuple(out.shape) == (2, 16)


def test_patch_logits_are_ordered_by_time():
    # With every weight before the head zeroed, logits come from the output bias alone: bias[k] must land on
    # step k of every patch (patch-major order), i.e. the reshape keeps time order.
    model = build_model(preset_config("tiny", 1, window=8, patch_size=4))
    head = model.get_layer("output_head")
    kernel, _ = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.array([1.0, 2.0, 3.0, 4.0], np.float32)])
    out = np.asarray(model(np.random.default_rng(0).normal(size=(1, 8, 1)).astype(np.float32)))
    np.testing.assert_allclose(out[0], [1, 2, 3, 4, 1, 2, 3, 4], rtol=1e-6)


def test_method_preset_is_the_papers_body():
    assert PRESETS["method"] == dict(window=512, patch_size=4, width=512, layers=6, heads=8)


def test_method_preset_builds_six_blocks_and_scores_every_step():
    # The 6-layer body is never trained here (too slow on 2 cores); this proves it builds and runs.
    model = build_model(preset_config("method", 5))
    names = {layer.name for layer in model.layers}
    assert {f"block{i}_attention" for i in range(6)} <= names and "block6_attention" not in names
    assert model.get_layer(INPUT_EMBEDDING).kernel.shape == (4 * 5, 512)
    out = np.asarray(model(np.random.default_rng(0).normal(size=(1, 512, 5)).astype(np.float32)))
    assert out.shape == (1, 512) and np.isfinite(out).all()


def test_bad_configs_are_rejected():
    with pytest.raises(InputError, match="multiple of patch"):
        BertConfig(n_channels=2, window=30, patch_size=4).validate()
    with pytest.raises(InputError, match="heads"):
        BertConfig(n_channels=2, width=30, heads=4).validate()
    with pytest.raises(InputError, match="preset"):
        preset_config("huge", 2)


def test_transfer_copies_everything_but_a_mismatched_input_embedding():
    source = build_model(preset_config("tiny", 5))
    target = build_model(preset_config("tiny", 3))
    reinitialized = transfer_weights(source, target)
    assert reinitialized == [INPUT_EMBEDDING]
    for name in ("block0_attention", "output_head", "position_embedding"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert target.get_layer(INPUT_EMBEDDING).kernel.shape == (4 * 3, 16)
    with pytest.raises(InputError, match="architecture"):
        transfer_weights(source, build_model(preset_config("tiny", 5, window=64)))


def test_window_centering_ignores_the_operating_point():
    model = build_model(preset_config("tiny", 2))
    x = np.random.default_rng(1).normal(size=(1, 32, 2)).astype(np.float32)
    shifted = x + np.array([5.0, -3.0], np.float32)  # another operating point, same shapes
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(shifted)), atol=1e-4)
    raw = build_model(BertConfig(n_channels=2, window=32, patch_size=4, width=16, layers=1, heads=2,
                                 center_windows=False))
    assert not np.allclose(np.asarray(raw(x)), np.asarray(raw(shifted)), atol=1e-3)


def test_medium_preset_keeps_the_small_window_so_splits_and_guards_stay_the_same():
    assert PRESETS["medium"]["window"] == PRESETS["small"]["window"]
    assert PRESETS["medium"]["patch_size"] == PRESETS["small"]["patch_size"]
    small, medium = (build_model(preset_config(name, 5)) for name in ("small", "medium"))
    assert medium.count_params() > 3 * small.count_params()
