"""Fixtures for the SIL and device tests: a tiny int8 model and a running SIL device on a pty."""

from __future__ import annotations

import contextlib

import pytest

from tests.sil.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model():
    """(model.tflite path, ModelSettings) of a tiny Conv1D+Dense int8 model (built once, a few seconds)."""
    from tinyad.model_settings import ModelSettings

    model_path, settings_path = build_tiny_model()
    return model_path, ModelSettings.load(settings_path)


@pytest.fixture(scope="session")
def normal_source(tiny_model):
    """10 s of the synthetic normal motor as raw counts for the tiny model's channels (built once)."""
    from tinyad.sil.sources import synth_source

    _, settings = tiny_model
    return synth_source("normal", settings.channels, settings.units_per_count, settings.sample_rate_hz,
                        seconds=10.0)


@pytest.fixture
def start_sil(tiny_model, normal_source):
    """Factory: start_sil(**SilDevice kwargs) -> a running SilDevice (stopped after the test).

    Defaults: the tiny model, a synthetic normal motor, unpaced replay that idles unless streaming."""
    from tinyad.sil.device import SilDevice

    model_path, _ = tiny_model
    with contextlib.ExitStack() as stack:
        def start(**kwargs):
            kwargs.setdefault("speed", 0)
            kwargs.setdefault("source", normal_source)
            device = SilDevice(kwargs.pop("model_path", model_path), **kwargs)
            stack.enter_context(device.running())
            return device

        yield start


@pytest.fixture
def sil(start_sil):
    """A running SIL device with the defaults of start_sil."""
    return start_sil()
