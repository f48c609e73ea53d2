"""LSTM autoencoder trained on normal data only; its anomaly score is the per-time-step reconstruction error.

Architecture (all widths configurable): per-step Dense encoder layers -> stacked LSTM encoder (the last
LSTM returns one vector, the bottleneck) -> RepeatVector(window) -> LSTM decoder mirroring the encoder ->
per-step Dense layers -> linear Dense back to the input channels. Windows overlap with stride 1 at scoring
time, and the error of a time step is the mean squared error (over channels) averaged over every window
covering it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyad.detectors.common import (KerasDetector, Standardizer, as_segments, check_series, check_training_settings,
                                     sliding_windows, window_errors_to_steps)
from tinyad.errors import InputError


@dataclass
class LSTMAEConfig:
    """Hyper-parameters. `dense_units` and `lstm_units` give encoder depth and width (decoder mirrors)."""

    window: int = 30
    dense_units: list[int] = field(default_factory=lambda: [16])
    lstm_units: list[int] = field(default_factory=lambda: [32, 8])
    dropout: float = 0.0
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 2e-3
    validation_fraction: float = 0.2  # tail of the training windows, for early stopping
    patience: int = 5
    train_stride: int = 1
    seed: int = 0

    def __post_init__(self):
        check_training_settings(self)
        if self.window < 2:
            raise InputError(f"window must be >= 2, got {self.window}")
        if not self.lstm_units or any(u < 1 for u in self.lstm_units + self.dense_units):
            raise InputError(f"need at least one LSTM layer and positive widths, got {self.lstm_units}, "
                             f"{self.dense_units}")


def _fit_keras(model, inputs, targets, config, verbose: int, progress: bool = False):
    """Train with early stopping on the chronological tail of the windows (no shuffling across it); with
    `progress`, a bar over the epochs."""
    import keras

    from tinyad.train import EpochProgress

    n_val = int(len(inputs) * config.validation_fraction)
    callbacks = [EpochProgress(config.epochs)] if progress else []
    fit_kwargs = {}
    if n_val >= 1 and len(inputs) - n_val >= 1:
        fit_kwargs["validation_data"] = (inputs[-n_val:], targets[-n_val:])
        inputs, targets = inputs[:-n_val], targets[:-n_val]
        callbacks.append(keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True))
    history = model.fit(inputs, targets, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
                        callbacks=callbacks, verbose=verbose, **fit_kwargs)
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


class LSTMAutoencoder(KerasDetector):
    """fit(normal data) then errors(data) -> one reconstruction error per time step."""

    kind = "lstm-ae"
    config_class = LSTMAEConfig

    def build(self, n_features: int):
        """The Keras model for `n_features` channels (not yet trained)."""
        import keras
        from keras import layers

        c = self.config
        inputs = keras.Input((c.window, n_features))
        x = inputs
        for units in c.dense_units:
            x = layers.Dense(units, activation="relu")(x)
        for i, units in enumerate(c.lstm_units):
            last = i == len(c.lstm_units) - 1
            x = layers.LSTM(units, return_sequences=not last, dropout=c.dropout)(x)
        x = layers.RepeatVector(c.window)(x)
        for units in reversed(c.lstm_units):
            x = layers.LSTM(units, return_sequences=True, dropout=c.dropout)(x)
        for units in reversed(c.dense_units):
            x = layers.Dense(units, activation="relu")(x)
        outputs = layers.Dense(n_features)(x)
        model = keras.Model(inputs, outputs, name="lstm_autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(c.learning_rate), loss="mse")
        return model

    def fit(self, normal, verbose: int = 0, progress: bool = False) -> "LSTMAutoencoder":
        """Train on normal data only, (time, channels) or a list of such segments (windows never straddle
        two segments). Channels are standardised with the training statistics."""
        import keras

        segments = [check_series(s, min_length=self.config.window, where="training data")
                    for s in as_segments(normal)]
        n_features = segments[0].shape[1]
        if any(s.shape[1] != n_features for s in segments):
            raise InputError("training segments differ in channel count")
        keras.utils.set_random_seed(self.config.seed)
        self.n_features = n_features
        self.scaler = Standardizer.fit(np.concatenate(segments))
        windows = np.concatenate([sliding_windows(self.scaler(s), self.config.window, self.config.train_stride)
                                  for s in segments]).astype(np.float32)
        self.model = self.build(n_features)
        self.history = _fit_keras(self.model, windows, windows, self.config, verbose, progress)
        return self

    def reconstruct(self, values, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(windows, reconstructions), both (n_windows, window, channels) in standardised units: every
        stride-1 window of (time, channels) data with at least `window` rows, and the model's output for it."""
        if self.model is None:
            raise InputError("the autoencoder is not fitted", hint="call fit() or load a fitted model")
        data = self.scaler(check_series(values, self.n_features, self.config.window, where="scoring data"))
        windows = sliding_windows(data, self.config.window).astype(np.float32)
        return windows, self.model.predict(windows, batch_size=batch_size, verbose=0)

    @staticmethod
    def window_errors(windows: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
        """(n_windows, window): the mean over channels of the squared error at each position of each window."""
        return ((reconstructed - windows) ** 2).mean(axis=2)

    @staticmethod
    def window_channel_errors(windows: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
        """(n_windows, window, channels): each channel's share of `window_errors`, its squared error divided by
        the channel count, so that the shares of a position sum to its error."""
        return (reconstructed - windows) ** 2 / windows.shape[2]

    @classmethod
    def step_errors(cls, windows: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
        """Per-time-step reconstruction error from `reconstruct`'s stride-1 windows: the mean over channels of
        the squared error, averaged over every window covering the step."""
        return window_errors_to_steps(cls.window_errors(windows, reconstructed), len(windows) + windows.shape[1] - 1)

    def errors(self, values, batch_size: int = 512) -> np.ndarray:
        """Per-time-step reconstruction error (`step_errors`) for (time, channels) data with at least
        `window` rows."""
        return self.step_errors(*self.reconstruct(values, batch_size))
