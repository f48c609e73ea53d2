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
