"""tinyad: on-device anomaly detection for machines (ESP32 + IMU + int8 TFLM) and its host toolkit."""

import os as _os

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature hints) is noise for users; errors still show.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's reordered float arithmetic makes training runs differ between machines; our models are tiny, so the
# plain kernels cost nothing noticeable and keep runs repeatable (int8 inference is unaffected either way).
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
