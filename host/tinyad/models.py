"""Model architectures, selectable by name; all share the same two-Conv1D front.

- `cnn_gru` (default): two Conv1D + max-pool stages, then a GRU written out step by step (`UnrolledGRU`) so that
  the int8 TFLite graph stays small: the input projections of all time steps are one FULLY_CONNECTED each, the
  recurrent projection is one FULLY_CONNECTED per step, and the first step (h = 0) needs no recurrent matmul.
  Keras' own `GRU(unroll=True)` emits ~30 % more ops for the same maths (and `unroll=False` crashes the int8
  converter of TF 2.21: measured). Flash and TFLM arena grow with the op count, so the front pools the window down
  to a few time steps before the recurrence.
- `cnn_gru_keras`: the same with Keras' `GRU(unroll=True)` (for comparison).
- `cnn_lstm`: the same front with Keras' `LSTM(unroll=True)`.
- `cnn_transformer`: the same front, one small self-attention block, global average pooling.

Every model maps (window, channels) float inputs (already normalized) to class logits; no softmax layer (the
firmware core computes the score from the int8 logits, which avoids TFLM's int8 SOFTMAX).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

MODEL_NAMES = ("cnn_gru", "cnn_gru_keras", "cnn_lstm", "cnn_transformer")


@dataclass
class ModelConfig:
    """Hyper-parameters shared by all architectures."""

    name: str = "cnn_gru"
    conv_filters: int = 16
    conv1_kernel: int = 5
    conv1_stride: int = 2
    conv2_kernel: int = 3
    pool1: int = 2
    pool2: int = 2
    units: int = 16          # recurrent units (GRU/LSTM) or model width (transformer)
    heads: int = 2           # transformer only
    dropout: float = 0.1
    remove_dc: bool = True   # subtract each window's per-channel mean inside the model (gravity, gyro bias)

    def to_dict(self) -> dict:
        return asdict(self)


def _keras():
    import keras

    return keras


def make_unrolled_gru_class():
    """Build the UnrolledGRU layer class (deferred so that importing this module does not import Keras)."""
    keras = _keras()
    from keras import layers, ops

    @keras.saving.register_keras_serializable(package="tinyad")
    class UnrolledGRU(layers.Layer):
        """GRU (reset gate after the recurrent matmul, like Keras' default) unrolled over a short sequence.

        h_t = z * h_{t-1} + (1 - z) * h~,  z = sigmoid(x W_z + h U_z + b_z),  r = sigmoid(x W_r + h U_r + b_r),
        h~ = tanh(x W_h + r * (h U_h + b_uh) + b_h). Written as h~ + z * (h - h~) to save an op.
        """

        def __init__(self, units: int, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.proj_z = layers.Dense(units, name="proj_z")
            self.proj_r = layers.Dense(units, name="proj_r")
            self.proj_h = layers.Dense(units, name="proj_h")
            self.recurrent = layers.Dense(3 * units, name="recurrent")

        def build(self, input_shape):
            for proj in (self.proj_z, self.proj_r, self.proj_h):
                proj.build(input_shape)
            self.recurrent.build((input_shape[0], self.units))
            self.built = True

        def call(self, x):
            steps = x.shape[1]
            xz = ops.unstack(self.proj_z(x), axis=1)
            xr = ops.unstack(self.proj_r(x), axis=1)
            xh = ops.unstack(self.proj_h(x), axis=1)
            units = self.units
            h = None
            for t in range(steps):
                if h is None:  # h_0 = 0: the recurrent term is its bias alone
                    bias = self.recurrent.bias
                    z = ops.sigmoid(xz[t] + bias[:units])
                    r = ops.sigmoid(xr[t] + bias[units:2 * units])
                    cand = ops.tanh(xh[t] + r * bias[2 * units:])
                    h = cand - z * cand
                else:
                    rz, rr, rh = ops.split(self.recurrent(h), 3, axis=-1)
                    z = ops.sigmoid(xz[t] + rz)
                    r = ops.sigmoid(xr[t] + rr)
                    cand = ops.tanh(xh[t] + r * rh)
                    h = cand + z * (h - cand)
            return h

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return UnrolledGRU


_UNROLLED_GRU = None
_REMOVE_MEAN = None


def remove_window_mean():
    """A layer subtracting each window's per-channel mean (two int8 ops: MEAN, SUB). The DC part of a window
    (gravity, tilt, gyro bias) differs between mountings and sessions and carries no fault information; without
    this a model happily learns which session a window came from."""
    global _REMOVE_MEAN
    if _REMOVE_MEAN is None:
        keras = _keras()
        from keras import layers, ops

        @keras.saving.register_keras_serializable(package="tinyad")
        class RemoveWindowMean(layers.Layer):
            def call(self, x):
                return x - ops.mean(x, axis=1, keepdims=True)

        _REMOVE_MEAN = RemoveWindowMean
    return _REMOVE_MEAN(name="remove_dc")


def unrolled_gru(units: int, **kwargs):
    """An UnrolledGRU layer instance."""
    global _UNROLLED_GRU
    if _UNROLLED_GRU is None:
        _UNROLLED_GRU = make_unrolled_gru_class()
    return _UNROLLED_GRU(units, **kwargs)


def build_model(config: ModelConfig, window: int, channels: int, n_classes: int, batch_size: int | None = None):
    """A Keras model mapping (window, channels) to `n_classes` logits.

    Export uses `batch_size=1`: a fixed batch keeps shape arithmetic (SHAPE, GATHER, PACK ...) out of the graph.
    """
    keras = _keras()
    from keras import layers

    if config.name not in MODEL_NAMES:
        from tinyad.errors import InputError

        raise InputError(f"unknown model {config.name!r}", hint=f"choose one of {', '.join(MODEL_NAMES)}")
    inputs = keras.Input((window, channels), batch_size=batch_size, name="window")
    x = remove_window_mean()(inputs) if config.remove_dc else inputs
    x = layers.Conv1D(config.conv_filters, config.conv1_kernel, strides=config.conv1_stride, padding="same",
                      activation="relu", name="conv1")(x)
    x = layers.MaxPooling1D(config.pool1, name="pool1")(x)
    x = layers.Conv1D(config.conv_filters, config.conv2_kernel, padding="same", activation="relu",
                      name="conv2")(x)
    x = layers.MaxPooling1D(config.pool2, name="pool2")(x)
    if config.name == "cnn_gru":
        x = unrolled_gru(config.units, name="gru")(x)
    elif config.name == "cnn_gru_keras":
        x = layers.GRU(config.units, unroll=True, name="gru")(x)
    elif config.name == "cnn_lstm":
        x = layers.LSTM(config.units, unroll=True, name="lstm")(x)
    else:
        x = _transformer_block(x, config)
    if config.dropout:
        x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=config.name)


def _transformer_block(x, config: ModelConfig):
    """One pre-norm-free encoder block (attention + feed-forward, residuals) and average pooling."""
    from keras import layers

    x = layers.Dense(config.units, name="embed")(x)
    attn = layers.MultiHeadAttention(config.heads, max(1, config.units // config.heads), name="attention")(x, x)
    x = layers.Add()([x, attn])
    ff = layers.Dense(2 * config.units, activation="relu", name="ff1")(x)
    ff = layers.Dense(config.units, name="ff2")(ff)
    x = layers.Add()([x, ff])
    return layers.GlobalAveragePooling1D(name="pool_time")(x)


def custom_objects() -> dict:
    """What keras.models.load_model needs to load our models."""
    global _UNROLLED_GRU
    if _UNROLLED_GRU is None:
        _UNROLLED_GRU = make_unrolled_gru_class()
    remove_window_mean()
    return {"UnrolledGRU": _UNROLLED_GRU, "RemoveWindowMean": _REMOVE_MEAN}
