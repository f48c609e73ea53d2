"""docs/python-api.md: its Python blocks run, in order, as a reader would paste them into a notebook."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"

pytestmark = pytest.mark.slow


def test_the_python_api_page_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks + blocks:  # each cell can be run again, as in a notebook
        exec(compile(block, str(DOC), "exec"), namespace)
    printed = capsys.readouterr().out
    # what each block promises: firmware sources; a detector that finds the planted fault, saved for the CLI;
    # a checkpoint that scores the DataFrame
    assert {path.name for path in namespace["written"]} >= {"model_data.cc", "model_data.h", "model_settings.h"}
    flags = namespace["result"].flags
    assert flags[4000:4100].all() and flags[:4000].mean() < 0.01
    assert "pca-t2q: F1 " in printed and "threshold saw test labels: no" in printed
    assert (tmp_path / "api/detector/columns.txt").read_text().split() == ["temp", "pressure", "flow"]
    assert namespace["scores"].shape == (3000,) and namespace["trained"].history[-1]["step"] == 4
