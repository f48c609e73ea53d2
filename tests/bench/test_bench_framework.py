import json

from tinyad.bench import BenchResult, markdown_table, result_line, write_section


def test_write_section_replaces_only_its_own_section(tmp_path):
    path = tmp_path / "benchmarks.md"
    write_section("a", BenchResult("A", "table a1"), path)
    write_section("b", BenchResult("B", "table b1"), path)
    write_section("a", BenchResult("A", "table a2"), path)
    text = path.read_text()
    assert "table a2" in text and "table a1" not in text
    assert "table b1" in text
    assert text.count("<!-- bench:a:begin -->") == 1
    assert text.index("bench:a:begin") < text.index("bench:b:begin")  # order kept


def test_result_line_is_one_line_of_json():
    line = result_line({"f1": 0.5, "n": 3})
    assert line.startswith("RESULT ") and "\n" not in line
    assert json.loads(line[len("RESULT "):]) == {"f1": 0.5, "n": 3}


def test_markdown_table_formats_floats():
    assert markdown_table(["x", "y"], [[1, 0.12345]]).splitlines()[2] == "| 1 | 0.123 |"


def test_damaged_section_markers_are_refused_before_and_at_the_rewrite(tmp_path):
    import pytest

    from tinyad.bench import check_section_markers
    from tinyad.errors import InputError

    path = tmp_path / "benchmarks.md"
    write_section("a", BenchResult("A", "table a1"), path)
    assert check_section_markers("a", path) == path and check_section_markers("new", path) == path
    path.write_text(path.read_text().replace("<!-- bench:a:end -->", ""))  # someone cut the end marker
    with pytest.raises(InputError, match="1 begin and 0 end"):
        check_section_markers("a", path)
    with pytest.raises(InputError, match="damaged section markers"):
        write_section("a", BenchResult("A", "table a2"), path)
    assert "table a2" not in path.read_text()


def _bench_cli(monkeypatch, tmp_path, argv, capsys):
    """Run `tinyad bench ...` with the docs in tmp_path and selftest's run counted."""
    import tinyad.bench as bench_package
    import tinyad.bench.selftest as selftest
    from tinyad.cli import main

    calls = []
    original = selftest.run
    monkeypatch.setattr(selftest, "run", lambda quick=False: calls.append(quick) or original(quick=True))
    monkeypatch.setattr(bench_package, "docs_dir", lambda: tmp_path / "docs")
    code = main(["bench", *argv])
    out, err = capsys.readouterr()
    return code, out, err, calls


def test_bench_cli_says_what_was_meant_and_checks_the_docs_before_running(monkeypatch, tmp_path, capsys):
    code, out, err, calls = _bench_cli(monkeypatch, tmp_path, ["--no-doc", "selftest"], capsys)
    assert code == 2 and "No such option '--no-doc'. Did you mean '--no-docs'?" in err and not calls
    code, out, err, calls = _bench_cli(monkeypatch, tmp_path, ["selftst"], capsys)
    assert code == 2 and "did you mean 'selftest'?" in err and not calls
    (tmp_path / "docs").write_text("a file where the docs folder should be")
    code, out, err, calls = _bench_cli(monkeypatch, tmp_path, ["selftest"], capsys)
    assert code == 2 and "cannot write" in err and not calls  # refused before the (long) run, not after it
    (tmp_path / "docs").unlink()
    code, out, err, calls = _bench_cli(monkeypatch, tmp_path, ["selftest"], capsys)
    assert code == 0 and calls == [False]
    figures = json.loads(out.strip().splitlines()[-1][len("RESULT "):])
    assert "quick" not in figures
    # the docs hold the selftest section with the very figures of the RESULT line
    text = (tmp_path / "docs" / "benchmarks.md").read_text()
    assert text.count("<!-- bench:selftest:begin -->") == 1 and "## Self-test" in text
    assert f"| {figures['n']} | {figures['median_sort_ms']:.3f} |" in text


def test_a_quick_run_says_so_in_its_result_and_leaves_the_docs_alone(monkeypatch, tmp_path, capsys):
    code, out, err, calls = _bench_cli(monkeypatch, tmp_path, ["selftest", "--quick"], capsys)
    figures = json.loads(out.strip().splitlines()[-1][len("RESULT "):])
    assert code == 0 and calls == [True] and figures["quick"] is True and figures["n"] == 10_000
    assert not (tmp_path / "docs").exists()


def test_a_missing_data_set_names_the_variable_that_points_to_it(monkeypatch, tmp_path, capsys):
    from tinyad.cli import main

    monkeypatch.setenv("TINYAD_SHARED_DATA", str(tmp_path / "nowhere"))
    assert main(["bench", "motor_mpu6050", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "data set not found" in err and "set TINYAD_SHARED_DATA" in err and str(tmp_path / "nowhere") in err


def test_contents_list_every_section_with_its_github_anchor(tmp_path):
    from tinyad.bench import TOC_BEGIN, github_anchor

    assert github_anchor("SKAB: label-free detectors (issue 5)") == "skab-label-free-detectors-issue-5"
    assert github_anchor("Transfer: racks 1, 3 -> rack 2") == "transfer-racks-1-3---rack-2"
    path = tmp_path / "benchmarks.md"
    write_section("b", BenchResult("Second: B (x)", "table b"), path)
    write_section("a", BenchResult("First A", "table a"), path)
    write_section("b", BenchResult("Second: B (x)", "table b2"), path)  # rewritten: still one contents block
    text = path.read_text()
    assert text.count(TOC_BEGIN) == 1 and text.index(TOC_BEGIN) < text.index("<!-- bench:b:begin -->")
    contents = text[text.index(TOC_BEGIN):text.index("<!-- bench:toc:end -->")].splitlines()[1:]
    assert contents == ["- [Second: B (x)](#second-b-x) (`tinyad bench b`)", "- [First A](#first-a) (`tinyad bench a`)"]
