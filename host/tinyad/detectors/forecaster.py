"""Telemanom-style LSTM forecaster (Hundman et al., KDD 2018): from the last `history` steps predict the next
`horizon` steps of every channel; the anomaly score of step t is the absolute error (mean over channels) of
its one-step-ahead prediction (telemanom's "first" aggregation). Trained on normal data only.

The first `history` steps of a series have no prediction; their error is set to the first available error
so that smoothing does not start from an artificial zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyad.detectors.common import (KerasDetector, Standardizer, as_segments, check_series, check_training_settings,
                                     sliding_windows)
from tinyad.detectors.lstm_ae import _fit_keras
from tinyad.errors import InputError


@dataclass
class ForecasterConfig:
    """Telemanom defaults are history 250, horizon 10, LSTM [80, 80], dropout 0.3; ours are smaller for
    short training sets (SKAB has 400 training rows per file)."""

    history: int = 30
    horizon: int = 5
    lstm_units: list[int] = field(default_factory=lambda: [32, 32])
    dropout: float = 0.3
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 2e-3
    validation_fraction: float = 0.2
    patience: int = 5
    train_stride: int = 1
    seed: int = 0

    def __post_init__(self):
        check_training_settings(self)
        if self.history < 1 or self.horizon < 1 or not self.lstm_units:
            raise InputError(f"history and horizon must be >= 1 with at least one LSTM layer, got "
                             f"{self.history}, {self.horizon}, {self.lstm_units}")


class LSTMForecaster(KerasDetector):
    """fit(normal data) then errors(data) -> one prediction error per time step."""

    kind = "forecaster"
    config_class = ForecasterConfig

    def build(self, n_features: int):
        import keras
        from keras import layers

        c = self.config
        inputs = keras.Input((c.history, n_features))
        x = inputs
        for i, units in enumerate(c.lstm_units):
            x = layers.LSTM(units, return_sequences=i < len(c.lstm_units) - 1)(x)
            x = layers.Dropout(c.dropout)(x)
        x = layers.Dense(c.horizon * n_features)(x)
        outputs = layers.Reshape((c.horizon, n_features))(x)
        model = keras.Model(inputs, outputs, name="lstm_forecaster")
        model.compile(optimizer=keras.optimizers.Adam(c.learning_rate), loss="mse")
        return model

    def _pairs(self, data: np.ndarray):
        c = self.config
        windows = sliding_windows(data, c.history + c.horizon, c.train_stride)
        return windows[:, :c.history], windows[:, c.history:]

    def fit(self, normal, verbose: int = 0, progress: bool = False) -> "LSTMForecaster":
        """Train on normal data (time, channels) or a list of segments."""
        import keras

        c = self.config
        segments = [check_series(s, min_length=c.history + c.horizon, where="training data")
                    for s in as_segments(normal)]
        n_features = segments[0].shape[1]
        if any(s.shape[1] != n_features for s in segments):
            raise InputError("training segments differ in channel count")
        keras.utils.set_random_seed(c.seed)
        self.n_features = n_features
        self.scaler = Standardizer.fit(np.concatenate(segments))
        pairs = [self._pairs(self.scaler(s)) for s in segments]
        inputs = np.concatenate([p[0] for p in pairs]).astype(np.float32)
        targets = np.concatenate([p[1] for p in pairs]).astype(np.float32)
        self.model = self.build(n_features)
        self.history = _fit_keras(self.model, inputs, targets, c, verbose, progress)
        return self

    def errors(self, values, batch_size: int = 512) -> np.ndarray:
        """Absolute one-step-ahead prediction error per time step (mean over channels)."""
        return self.errors_and_channels(values, batch_size)[0]

    def errors_and_channels(self, values, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(`errors`, per-channel errors (time, channels)) from one pass of the model: each channel's absolute
        prediction error divided by the channel count, so that a step's channel errors sum to its error."""
        if self.model is None:
            raise InputError("the forecaster is not fitted", hint="call fit() or load a fitted model")
        c = self.config
        data = self.scaler(check_series(values, self.n_features, c.history + 1, where="scoring data"))
        inputs = sliding_windows(data[:-1], c.history).astype(np.float32)  # inputs ending at t-1
        predicted = self.model.predict(inputs, batch_size=batch_size, verbose=0)[:, 0, :]
        absolute = np.abs(predicted - data[c.history:])
        errors = absolute.mean(axis=1)
        channels = absolute / absolute.shape[1]
        return (np.concatenate([np.full(c.history, errors[0]), errors]),
                np.concatenate([np.repeat(channels[:1], c.history, axis=0), channels]))
