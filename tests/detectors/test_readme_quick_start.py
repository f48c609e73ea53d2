"""The README's label-free quick start runs as written (its first bash block under "Label-free detectors") and
gives what its comment says: the faulty session flagged throughout, the healthy one not at all."""

import json
import shlex

from tinyad.cli import main
from tinyad.paths import REPO_ROOT


def quick_start_commands() -> list[list[str]]:
    """The `tinyad ...` lines of the first bash block after the README's label-free heading, as argv lists."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Label-free detectors", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("tinyad ")]


def test_readme_quick_start_flags_the_faulty_session_and_not_the_healthy_one(tmp_path, monkeypatch, capsys):
    commands = quick_start_commands()
    assert [c[:2] for c in commands] == [["synth", "--out"], ["synth", "--out"], ["detect", "fit"],
                                         ["detect", "score"]]
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        assert main(argv) == 0, argv
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    share = {entry["file"].split("/")[-1]: entry["alarm_rows"] / entry["rows"] for entry in summary["files"]}
    assert set(share) == {"bearing_fault_000.parquet", "normal_000.parquet"}
    assert share["bearing_fault_000.parquet"] > 0.99 and share["normal_000.parquet"] == 0.0
    assert summary["failed"] == [] and summary["alarms"] is True
    assert (tmp_path / "results" / "bearing_fault_000.png").stat().st_size > 0
