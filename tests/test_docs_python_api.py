"""docs/python-api.md: its Python blocks run, in order, as a reader would paste them into a notebook."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"

pytestmark = pytest.mark.slow


def test_the_python_api_page_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 5
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
    # the same on a CSV, as `detect fit` / `score` read it: trained before 2026-03-03 (rows 1..2880), the fault found,
    # the rows fitted on left out of the evaluation
    training, scored = namespace["training"], namespace["scored"]
    assert [len(s) for s in training.segments] == [2880] and training.columns == ["temp", "pressure", "flow"]
    said = [(m.level, m.text) for m in training.messages]
    assert ("note", "took column 'time' as the time column (named like one; saved for `detect score`); name another "
            "with --time-column, or use it as a signal with --columns") in said
    assert scored.first_test_row == 2880 and scored.flags[4000:4100].all() and scored.flags[2880:3990].sum() == 0
    assert scored.evaluation.recall == 1.0 and len(scored.labels) == 5000
    assert namespace["scores"].shape == (3000,) and namespace["trained"].history[-1]["step"] == 4
    # the file as `bert score` reads it: the same 3000 steps, cut at the 99 % quantile of their scores
    rated = namespace["rated"]
    assert rated.scores.shape == (3000,) and rated.cut_text == "99% quantile" and 0 < rated.flags.sum() <= 30
    assert (tmp_path / "api/battery.scores.csv").is_file()
    assert "steps above the 99% quantile" in printed
