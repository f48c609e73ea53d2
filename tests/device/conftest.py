"""The device tests talk to the SIL device: reuse its fixtures."""

from tests.sil.conftest import normal_source, sil, start_sil, tiny_model  # noqa: F401
