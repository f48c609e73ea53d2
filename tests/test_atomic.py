"""Atomic writes: the file appears whole, with the mode the umask gives any new file."""

import os
import stat

import pytest

from tinyad.atomic import check_writable, write_text_atomic
from tinyad.errors import InputError


def test_atomic_files_get_the_umask_mode_not_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert path.read_text() == "hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left behind


def test_check_writable_makes_the_folder_and_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "deeper" / "s.parquet"
    assert check_writable(target) == target
    assert target.parent.is_dir() and list(target.parent.iterdir()) == []


def test_check_writable_refuses_a_file_used_as_a_folder(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="cannot write .*afile/s.parquet") as err:
        check_writable(tmp_path / "afile" / "s.parquet")
    assert err.value.hint


def test_outputs_in_lists_only_the_named_files_and_remove_outputs_removes_them(tmp_path):
    from tinyad.atomic import outputs_in, remove_outputs

    (tmp_path / "model.keras").write_text("old")
    (tmp_path / "run.json").mkdir()  # a folder with a listed name is not that output
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "step_1").mkdir()
    (tmp_path / "step_1" / "weights.h5").write_text("w")
    names = ("run.json", "model.keras", "metrics.json")
    assert outputs_in(tmp_path, names) == [tmp_path / "model.keras"]
    assert outputs_in(tmp_path / "missing", names) == []
    assert remove_outputs(outputs_in(tmp_path, names) + [tmp_path / "step_1"]) == [tmp_path / "model.keras",
                                                                                  tmp_path / "step_1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "run.json"]
    assert remove_outputs([]) == []


def test_check_png_path_accepts_only_a_png_name_and_checks_it_is_writable(tmp_path):
    from tinyad.atomic import check_png_path

    assert check_png_path(tmp_path / "new" / "e.png") == tmp_path / "new" / "e.png"
    assert check_png_path(tmp_path / "E.PNG") == tmp_path / "E.PNG"  # matplotlib reads the suffix case-blind
    with pytest.raises(InputError, match=r"--plot .*eval\.txt: the plot is a PNG image") as err:
        check_png_path(tmp_path / "eval.txt")
    assert err.value.hint == f"use --plot {tmp_path / 'eval.png'}"
    with pytest.raises(InputError, match="must end in .png") as err:  # matplotlib would write evalplot.png
        check_png_path(tmp_path / "evalplot", option="--figure")
    assert err.value.hint == f"use --figure {tmp_path / 'evalplot.png'}"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        check_png_path(tmp_path / "afile" / "e.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "new"]
