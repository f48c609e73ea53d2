"""Label-free anomaly detectors (issue 5): LSTM autoencoder, Telemanom-style LSTM forecaster, Isolation Forest
and PCA T^2/Q baselines, EWMA smoothing and Telemanom's dynamic threshold with pruning.

Modules are imported on demand (the LSTM models pull TensorFlow):
- tinyad.detectors.pipeline: `LabelFreeDetector(kind, ThresholdConfig, model_config)` fit / score / save / load
- tinyad.detectors.thresholds: `ewma`, `find_epsilon`, `prune`, `dynamic_threshold`, static thresholds
- tinyad.detectors.lstm_ae, .forecaster, .baselines: the scoring models
- tinyad.detectors.datasets: SKAB, NAB and motor_mpu6050 loaders
"""
