"""tinyad.errors: the hint travels with the error, on its own line in the CLI and as a note in a traceback."""

import sys
import traceback

import pytest

from tinyad.errors import InputError


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes (PEP 678) arrived in Python 3.11")
def test_a_traceback_shows_the_hint_and_str_stays_the_message():
    error = InputError("data row 3, column 'flow': missing", hint="interpolate it with --fill-missing 1")
    assert str(error) == "data row 3, column 'flow': missing"  # the CLI prints the hint itself
    shown = "".join(traceback.format_exception(error))
    assert shown.endswith("InputError: data row 3, column 'flow': missing\n"
                          "hint: interpolate it with --fill-missing 1\n")
    error.hint = "fill the cell"  # a hint set later replaces the note, not adds one
    assert error.__notes__ == ["hint: fill the cell"]
    error.hint = None
    assert error.__notes__ == [] and InputError("no hint").hint is None
