"""Classical label-free baselines with the same fit/errors interface as the LSTM detectors:
Isolation Forest (scikit-learn) and PCA Hotelling T^2 / Q (squared prediction error)."""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinyad.detectors.common import Standardizer, as_segments, check_series
from tinyad.errors import InputError


@dataclass
class IsolationForestConfig:
    n_estimators: int = 200
    seed: int = 0


class IsolationForestDetector:
    """Isolation Forest on standardised per-step channel vectors; error = -score_samples (higher = odder)."""

    kind = "isolation-forest"

    def __init__(self, config: IsolationForestConfig | None = None):
        self.config = config or IsolationForestConfig()
        self.forest = None
        self.scaler = None
        self.n_features = None

    def fit(self, normal, progress: bool = False) -> "IsolationForestDetector":  # seconds: no bar
        from sklearn.ensemble import IsolationForest

        segments = as_segments(normal)
        data = np.concatenate([check_series(s, where="training data") for s in segments])
        self.n_features = data.shape[1]
        self.scaler = Standardizer.fit(data)
        self.forest = IsolationForest(n_estimators=self.config.n_estimators, random_state=self.config.seed)
        self.forest.fit(self.scaler(data))
        return self

    def errors(self, values) -> np.ndarray:
        if self.forest is None:
            raise InputError("the Isolation Forest is not fitted")
        data = check_series(values, self.n_features, where="scoring data")
        return -self.forest.score_samples(self.scaler(data))

    def save(self, directory) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.pkl").write_bytes(pickle.dumps((self.forest, self.scaler, self.n_features)))
        (directory / "detector.json").write_text(json.dumps({"kind": self.kind, "config": asdict(self.config)}))
        return directory

    @classmethod
    def load(cls, directory, meta: dict) -> "IsolationForestDetector":
        detector = cls(IsolationForestConfig(**meta["config"]))
        detector.forest, detector.scaler, detector.n_features = pickle.loads(
            (Path(directory) / "model.pkl").read_bytes())
        return detector


@dataclass
class PCAConfig:
    explained_variance: float = 0.95  # components kept


class PCADetector:
    """PCA on standardised training data. Hotelling T^2 = sum_k t_k^2 / lambda_k over the kept components,
    Q = squared residual outside them. The error is T^2 / ucl_T + Q / ucl_Q with each UCL the 99th percentile
    of the training statistic, so both parts count on the same scale (SKAB's "T-squared+Q" baseline
    flags a point when either exceeds its limit)."""

    kind = "pca-t2q"

    def __init__(self, config: PCAConfig | None = None):
        self.config = config or PCAConfig()
        self.fitted = None

    def _statistics(self, data: np.ndarray):
        mean, components, variances = self.fitted["mean"], self.fitted["components"], self.fitted["variances"]
        centered = data - mean
        scores = centered @ components.T
        t_squared = (scores ** 2 / variances).sum(axis=1)
        residual = centered - scores @ components
        q = (residual ** 2).sum(axis=1)
        return t_squared, q

    def fit(self, normal, progress: bool = False) -> "PCADetector":  # seconds: no bar
        segments = as_segments(normal)
        data = np.concatenate([check_series(s, where="training data") for s in segments])
        scaler = Standardizer.fit(data)
        z = scaler(data)
        mean = z.mean(axis=0)
        _, singular, vt = np.linalg.svd(z - mean, full_matrices=False)
        variances = singular ** 2 / max(len(z) - 1, 1)
        share = np.cumsum(variances) / variances.sum() if variances.sum() > 0 else np.ones_like(variances)
        k = int(np.searchsorted(share, self.config.explained_variance) + 1)
        k = min(k, len(variances))
        self.fitted = {"scaler": scaler, "mean": mean, "components": vt[:k],
                       "variances": np.maximum(variances[:k], 1e-12), "n_features": data.shape[1]}
        t_squared, q = self._statistics(z)
        self.fitted["ucl_t2"] = max(float(np.quantile(t_squared, 0.99)), 1e-12)
        self.fitted["ucl_q"] = max(float(np.quantile(q, 0.99)), 1e-12)
        return self

    def errors(self, values) -> np.ndarray:
        if self.fitted is None:
            raise InputError("the PCA detector is not fitted")
        data = check_series(values, self.fitted["n_features"], where="scoring data")
        t_squared, q = self._statistics(self.fitted["scaler"](data))
        return t_squared / self.fitted["ucl_t2"] + q / self.fitted["ucl_q"]

    def errors_and_channels(self, values) -> tuple[np.ndarray, np.ndarray]:
        """(`errors`, per-channel contributions (time, channels)) that sum to the error of each step: Q's
        part is the channel's squared residual; T^2's is the complete decomposition z_j (D z)_j with
        D = P' diag(1/lambda) P (Qin, J. Chemometrics 2003), which can be slightly negative for a channel
        that pulls the point back towards the mean."""
        errors = self.errors(values)  # checks the data first
        f = self.fitted
        centered = f["scaler"](check_series(values, f["n_features"], where="scoring data")) - f["mean"]
        components = f["components"]
        weighted = (centered @ components.T / f["variances"]) @ components  # D z for every row
        residual = centered - centered @ components.T @ components
        return errors, centered * weighted / f["ucl_t2"] + residual ** 2 / f["ucl_q"]

    def save(self, directory) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.pkl").write_bytes(pickle.dumps(self.fitted))
        (directory / "detector.json").write_text(json.dumps({"kind": self.kind, "config": asdict(self.config)}))
        return directory

    @classmethod
    def load(cls, directory, meta: dict) -> "PCADetector":
        detector = cls(PCAConfig(**meta["config"]))
        detector.fitted = pickle.loads((Path(directory) / "model.pkl").read_bytes())
        return detector
