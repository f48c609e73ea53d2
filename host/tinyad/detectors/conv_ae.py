"""1-D convolutional autoencoder on sliding windows (the `Conv-AE` of the SKAB leaderboard), trained on normal
data only; its anomaly score is the per-time-step reconstruction error.

Architecture (SKAB's Conv-AE, widths configurable): Conv1D(f1, k, stride 2, relu) -> Dropout -> Conv1D(f2, k,
stride 2, relu) -> Conv1DTranspose(f2, k, stride 2, relu) -> Dropout -> Conv1DTranspose(f1, k, stride 2, relu)
-> Conv1DTranspose(channels, k). Each stride-2 layer halves the time axis, so the window must be divisible by
2 ** len(filters). Training, scoring (mean squared error over channels, averaged over every stride-1 window
covering a step), save and load are those of the LSTM autoencoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyad.detectors.common import check_training_settings
from tinyad.detectors.lstm_ae import LSTMAutoencoder
from tinyad.errors import InputError


@dataclass
class ConvAEConfig:
    """Hyper-parameters; the defaults are SKAB's Conv-AE (window 60, filters 32/16, kernel 7, dropout 0.2)."""

    window: int = 60
    filters: list[int] = field(default_factory=lambda: [32, 16])
    kernel_size: int = 7
    dropout: float = 0.2
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2  # tail of the training windows, for early stopping
    patience: int = 5
    train_stride: int = 1
    seed: int = 0

    def __post_init__(self):
        check_training_settings(self)
        if not self.filters or any(f < 1 for f in self.filters):
            raise InputError(f"need at least one convolution with positive filters, got {self.filters}")
        factor = 2 ** len(self.filters)
        if self.window < factor or self.window % factor:
            raise InputError(f"window {self.window} must be a positive multiple of {factor} "
                             f"(each of the {len(self.filters)} convolutions halves the time axis)")
        if self.kernel_size < 1:
            raise InputError(f"kernel_size must be >= 1, got {self.kernel_size}")


class ConvAutoencoder(LSTMAutoencoder):
    """fit(normal data) then errors(data) -> one reconstruction error per time step."""

    kind = "conv-ae"
    config_class = ConvAEConfig

    def build(self, n_features: int):
        """The Keras model for `n_features` channels (not yet trained)."""
        import keras
        from keras import layers

        c = self.config
        inputs = keras.Input((c.window, n_features))
        x = inputs
        for i, filters in enumerate(c.filters):
            x = layers.Conv1D(filters, c.kernel_size, strides=2, padding="same", activation="relu")(x)
            if i == 0 and c.dropout > 0:
                x = layers.Dropout(c.dropout)(x)
        for i, filters in enumerate(reversed(c.filters)):
            x = layers.Conv1DTranspose(filters, c.kernel_size, strides=2, padding="same", activation="relu")(x)
            if i == 0 and c.dropout > 0:
                x = layers.Dropout(c.dropout)(x)
        outputs = layers.Conv1DTranspose(n_features, c.kernel_size, padding="same")(x)
        model = keras.Model(inputs, outputs, name="conv_autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(c.learning_rate), loss="mse")
        return model

