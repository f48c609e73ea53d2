"""Fixtures shared by the detector tests."""

import matplotlib.figure
import pytest


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib figure saved during the test, to look at what was drawn."""
    figures = []
    original = matplotlib.figure.Figure.savefig

    def record(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    return figures
