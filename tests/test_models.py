import numpy as np
import pytest

from tinyad.errors import InputError
from tinyad.models import MODEL_NAMES, ModelConfig, build_model


def test_unrolled_gru_computes_exactly_what_keras_gru_computes():
    import keras

    units, steps, features = 4, 5, 3
    rng = np.random.default_rng(1)
    ref = keras.layers.GRU(units, reset_after=True)
    x = rng.standard_normal((2, steps, features)).astype(np.float32)
    ref(x)
    kernel = rng.standard_normal((features, 3 * units)).astype(np.float32)
    recurrent = rng.standard_normal((units, 3 * units)).astype(np.float32)
    bias = rng.standard_normal((2, 3 * units)).astype(np.float32)
    ref.set_weights([kernel, recurrent, bias])

    from tinyad.models import unrolled_gru

    ours = unrolled_gru(units)
    ours(x)
    for i, proj in enumerate((ours.proj_z, ours.proj_r, ours.proj_h)):  # Keras gate order: z, r, h
        proj.set_weights([kernel[:, i * units:(i + 1) * units], bias[0, i * units:(i + 1) * units]])
    ours.recurrent.set_weights([recurrent, bias[1]])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_maps_a_window_to_class_logits(name):
    model = build_model(ModelConfig(name=name), window=64, channels=6, n_classes=4)
    out = model(np.zeros((3, 64, 6), np.float32))
    assert tuple(out.shape) == (3, 4)


def test_window_mean_is_removed_inside_the_model():
    model = build_model(ModelConfig(name="cnn_gru", dropout=0.0), window=32, channels=2, n_classes=2)
    x = np.random.default_rng(0).standard_normal((1, 32, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x + 5.0)), atol=1e-4)


def test_unknown_model_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown model"):
        build_model(ModelConfig(name="resnet"), 64, 6, 2)
