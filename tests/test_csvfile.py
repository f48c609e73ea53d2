"""The one CSV reader: every fault names the file (and the line where pandas knows it)."""

import pytest

from tinyad.csvfile import read_csv, sniff_separator
from tinyad.errors import InputError


def test_reads_and_strips_column_names(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(" t , x\n0,1\n1,2\n")
    frame = read_csv(path)
    assert list(frame.columns) == ["t", "x"] and frame["x"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"a.csv: the file is empty"),
        ("t,x\n", r"a.csv: header but no data rows"),
        ("t,x\n0,1\n1,2,3\n", r"a.csv: line 3: cannot parse CSV"),  # an extra field: a row pasted in twice
    ],
)
def test_bad_files_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_csv(path)


def test_missing_file_carries_the_callers_hint(tmp_path):
    with pytest.raises(InputError, match="no such file") as caught:
        read_csv(tmp_path / "gone.csv", missing_hint="the public data sets live in ../shared/data")
    assert caught.value.hint == "the public data sets live in ../shared/data"


def test_binary_file_is_an_input_error_not_a_crash(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"t,x\n\xff\xfe\x00\x01,\x80\n")
    with pytest.raises(InputError, match="a.csv: not UTF-8 text"):
        read_csv(path)


def test_a_windows_1252_export_is_named_as_not_utf8_with_how_to_save_it(tmp_path):
    path = tmp_path / "de.csv"
    path.write_bytes("Zeit;Temperatur °C\n1;20,5\n".encode("cp1252"))
    with pytest.raises(InputError) as refused:
        read_csv(path, sep=";")
    assert str(refused.value) == f"{path}: not UTF-8 text (a byte b0, as in a Windows-1252 export)"
    assert refused.value.hint == 'save the file as UTF-8 text (in Excel: Save As, "CSV UTF-8")'


@pytest.mark.parametrize("text, separator", [
    ("value\n1.0\n2.0\n3.5\n", ","),  # one column: pandas' own sniffer split "value" at its "v"
    ("a;b\n1,5;2\n3,5;4\n", ";"),     # decimal commas inside ;-separated fields
    ("a\tb\n1\t2\n3\t4\n", "\t"),
    ("a,b\n1,2\n3,4\n", ","),
    ("a;b\n" + "1;2;\n" * 12, ";"),   # data lines closed by a ';' the header lacks: the sniffer gives up
])
def test_sniff_separator_picks_among_csv_separators(tmp_path, text, separator):
    path = tmp_path / "x.csv"
    path.write_text(text)
    assert sniff_separator(path) == separator


def test_sniff_separator_reads_past_comment_lines(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("# logger v2, a, b, c\na;b\n1;2\n")
    assert sniff_separator(path, skip_lines=1) == ";"
