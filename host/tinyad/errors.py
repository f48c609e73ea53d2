"""Errors the CLI maps to exit codes, each with a hint for the user (esptool style)."""

from __future__ import annotations


class TinyadError(Exception):
    """Base error: a message, a hint on what to do about it, and the CLI exit code. The CLI prints the hint on a
    line of its own; a traceback (a script or notebook calling the API) shows it as a note (PEP 678, Python 3.11+),
    while str(error) stays the message alone."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    @property
    def hint(self) -> str | None:
        return self._hint

    @hint.setter
    def hint(self, hint: str | None) -> None:
        notes = getattr(self, "__notes__", None)
        if notes is not None and getattr(self, "_hint_note", None) in notes:  # a changed hint replaces its note
            notes.remove(self._hint_note)
        self._hint, self._hint_note = hint, f"hint: {hint}" if hint else None
        if hint and hasattr(self, "add_note"):
            self.add_note(self._hint_note)


class InputError(TinyadError):
    """Bad user input: a malformed file, wrong channel count, NaN, a missing column."""

    exit_code = 2


class DeviceError(TinyadError):
    """The board (or SIL device) did not answer, answered wrongly, or vanished."""

    exit_code = 3


class ModelMismatchError(TinyadError):
    """The device runs another model than the one given on the command line."""

    exit_code = 4


class ParityError(TinyadError):
    """The device's tensors differ from the host TFLM oracle."""

    exit_code = 5


# Not an error: `detect score --fail-on-alarm` and `bert score --fail-on-alarm` exit with it when a scored file
# alarmed, apart from 0 (no alarm), 1-5 (the errors above) and 130 (interrupted), so a script can tell them apart.
ALARMS_EXIT_CODE = 10


class AlarmsFound(Exception):
    """Raised after a scoring command has written and printed everything, when --fail-on-alarm is given and
    something alarmed: the CLI exits with ALARMS_EXIT_CODE and prints nothing more."""

    exit_code = ALARMS_EXIT_CODE
