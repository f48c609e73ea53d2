"""tinyad: on-device anomaly detection for machines (ESP32 + IMU + int8 TFLM) and its host toolkit."""

__version__ = "0.1.0"
