"""Errors the CLI maps to exit codes, each with a hint for the user (esptool style)."""

from __future__ import annotations


class TinyadError(Exception):
    """Base error: a message, a hint on what to do about it, and the CLI exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


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
