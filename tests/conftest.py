"""Shared fixtures. Tests that need ../shared/data skip with a reason where it is absent (never in CI)."""

from __future__ import annotations

import os

import pytest

from tinyad.paths import shared_data_dir


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data; skips the test where the public data sets are not present."""
    root = shared_data_dir()
    if not root.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared data sets at {root}")
        pytest.skip(f"public data sets not found at {root} (set TINYAD_SHARED_DATA); CI has them")
    return root
