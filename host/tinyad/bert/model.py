"""The AnomalyBERT-style model: patch embedding -> transformer body -> a logit per time step.

A window (steps, channels) is centered per channel (optional, on by default) and cut into patches of
`patch_size` steps; each patch (patch_size * channels values) goes through a linear `input_embedding` to `width`
features, plus a learned position embedding. The body is a
pre-norm transformer (`layers` blocks of multi-head self-attention and an MLP). A small MLP head maps each patch
token back to `patch_size` logits, one per time step; sigmoid(logit) is the anomaly score of that step.

Only `input_embedding` depends on the channel count, so a checkpoint moves to telemetry with other channels by
re-initializing that one layer (see transfer_weights).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import keras
from keras import layers, ops

from tinyad.errors import InputError

INPUT_EMBEDDING = "input_embedding"


@dataclass(frozen=True)
class BertConfig:
    """Architecture of one model. `window` must be a multiple of `patch_size`; `width` of `heads`."""

    n_channels: int
    window: int = 128
    patch_size: int = 4
    width: int = 64
    layers: int = 2
    heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.1
    # Subtract each window's per-channel mean first: the model then judges shapes within the window, not the
    # operating point (a rack idle at 100 % SOC is not an anomaly because training never saw 100 %).
    center_windows: bool = True

    @property
    def n_patches(self) -> int:
        return self.window // self.patch_size

    def validate(self) -> "BertConfig":
        if self.n_channels < 1:
            raise InputError(f"need at least one channel, got {self.n_channels}")
        if self.patch_size < 1:
            raise InputError(f"--patch_size must be >= 1, got {self.patch_size}",
                             hint="a patch is that many steps; pick one dividing the window (e.g. 4 for 64)")
        if self.window % self.patch_size:
            raise InputError(f"window {self.window} is not a multiple of patch size {self.patch_size}",
                             hint="pick --patch_size dividing the preset's window")
        if self.width % self.heads:
            raise InputError(f"width {self.width} is not a multiple of heads {self.heads}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BertConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names}).validate()


# The method's body (Jhryu30/AnomalyBERT train.py defaults) and smaller CPU presets. The ess_lfp racks have
# ~6,500 rows at 5 s, so the CPU presets use 128-step windows (10.7 min). On 2 cores a training step (batch 32)
# takes about 0.03 s with `small`, 0.09 s with `medium` and 4.1 s with `method`.
PRESETS: dict[str, dict] = {
    "method": dict(window=512, patch_size=4, width=512, layers=6, heads=8),
    "medium": dict(window=128, patch_size=4, width=128, layers=3, heads=4),
    "small": dict(window=128, patch_size=4, width=64, layers=2, heads=4),
    "tiny": dict(window=32, patch_size=4, width=16, layers=1, heads=2, mlp_ratio=2),
}


def preset_config(preset: str, n_channels: int, **overrides) -> BertConfig:
    """A BertConfig from a named preset; `overrides` that are not None replace preset values."""
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}", hint=f"one of {', '.join(PRESETS)}")
    config = BertConfig(n_channels=n_channels, **PRESETS[preset])
    return replace(config, **{k: v for k, v in overrides.items() if v is not None}).validate()


@keras.saving.register_keras_serializable(package="tinyad")
class PositionEmbedding(layers.Layer):
    """Adds a learned vector per patch position."""

    def __init__(self, n_positions: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.n_positions, self.width = n_positions, width

    def build(self, input_shape):
        self.position = self.add_weight(shape=(self.n_positions, self.width), name="position",
                                        initializer=keras.initializers.TruncatedNormal(stddev=0.02))

    def call(self, x):
        return x + self.position[None]

    def get_config(self):
        return {**super().get_config(), "n_positions": self.n_positions, "width": self.width}


@keras.saving.register_keras_serializable(package="tinyad")
class WindowCentering(layers.Layer):
    """x - mean over the window's steps, per channel (no weights)."""

    def call(self, x):
        return x - ops.mean(x, axis=1, keepdims=True)


def build_model(config: BertConfig) -> keras.Model:
    """The Keras model: input (batch, window, channels) float32 -> logits (batch, window)."""
    config.validate()
    c = config
    inputs = keras.Input((c.window, c.n_channels), name="window")
    x = WindowCentering(name="window_centering")(inputs) if c.center_windows else inputs
    x = layers.Reshape((c.n_patches, c.patch_size * c.n_channels), name="patchify")(x)
    x = layers.Dense(c.width, name=INPUT_EMBEDDING)(x)
    x = PositionEmbedding(c.n_patches, c.width, name="position_embedding")(x)
    for i in range(c.layers):
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        h = layers.MultiHeadAttention(c.heads, c.width // c.heads, dropout=c.dropout,
                                      name=f"block{i}_attention")(h, h)
        x = layers.Add(name=f"block{i}_add1")([x, layers.Dropout(c.dropout, name=f"block{i}_drop1")(h)])
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        h = layers.Dense(c.width * c.mlp_ratio, activation="gelu", name=f"block{i}_mlp1")(h)
        h = layers.Dense(c.width, name=f"block{i}_mlp2")(h)
        x = layers.Add(name=f"block{i}_add2")([x, layers.Dropout(c.dropout, name=f"block{i}_drop2")(h)])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.Dense(c.width, activation="gelu", name="head_hidden")(x)
    x = layers.Dense(c.patch_size, name="output_head")(x)
    logits = layers.Reshape((c.window,), name="step_logits")(x)
    return keras.Model(inputs, logits, name="anomaly_bert")


def transfer_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy every layer's weights from `source` to the same-named layer of `target` when all shapes match.

    Returns the names of the target layers that kept their fresh initialization because the shapes differ
    (with another channel count: only `input_embedding`). Raises if anything but the input embedding differs,
    since then the checkpoint is another architecture, not a transfer.
    """
    by_name = {layer.name: layer for layer in source.layers}
    reinitialized = []
    for layer in target.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        src = by_name.get(layer.name)
        src_weights = src.get_weights() if src is not None else []
        if len(src_weights) == len(weights) and all(a.shape == b.shape for a, b in zip(src_weights, weights)):
            layer.set_weights(src_weights)
        elif layer.name == INPUT_EMBEDDING:
            reinitialized.append(layer.name)
        else:
            raise InputError(f"checkpoint layer {layer.name!r} does not fit the model (another architecture)",
                             hint="fine-tuning keeps the checkpoint's preset, window and patch size")
    return reinitialized
