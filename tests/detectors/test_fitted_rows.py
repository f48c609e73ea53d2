"""tinyad.detectors.fitted_rows: the rows of a scored file that a detector was fitted on."""

import numpy as np

from tinyad.detectors.fitted_rows import file_fingerprint, rows_trained_on, values_fingerprint
from tinyad.detectors.telemetry import load_telemetry


def test_rows_trained_on_matches_a_file_by_content(tmp_path):
    import hashlib

    path = tmp_path / "run.csv"
    path.write_bytes(b"a\n1\n2\n")
    assert file_fingerprint(path) == {"bytes": 6, "sha256": hashlib.sha256(b"a\n1\n2\n").hexdigest()}
    trained_on = [{"file": "elsewhere/run.csv", **file_fingerprint(path), "rows": 1}]
    assert rows_trained_on(path, trained_on) == 1
    path.write_bytes(b"a\n1\n3\n")  # same size, other content: not the file fitted on
    assert rows_trained_on(path, trained_on) == 0 and rows_trained_on(path, []) == 0
    # the values fitted on: a CRLF copy and a longer file that starts with them match, other values do not
    fitted = [{"file": "elsewhere/run.csv", "bytes": 6, "sha256": "0" * 64, "rows": 2,
               "values_sha256": values_fingerprint(np.array([[1.0], [2.0]]))}]
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"a\r\n1\r\n2\r\n")
    assert rows_trained_on(crlf, fitted, load_telemetry(crlf).values) == 2
    assert rows_trained_on(crlf, fitted) == 0  # without the values: whole files only
    grown = tmp_path / "grown.csv"
    grown.write_text("a\n1\n2\n7\n8\n")
    assert rows_trained_on(grown, fitted, load_telemetry(grown).values) == 2
    assert rows_trained_on(path, fitted, load_telemetry(path).values) == 0  # 1, 3: not the rows fitted on
    assert rows_trained_on(path, fitted, np.array([[1.0]])) == 0  # fewer rows than were fitted on
