"""Which rows of a scored file a detector was fitted on, by the file's content or by its values: those rows are
left out of the evaluation, as a test set must not hold training data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def file_fingerprint(path: str | os.PathLike) -> dict:
    """{"bytes": size, "sha256": hex digest} of a file's content: the same data under another name or path
    matches, a file changed since matches no more."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def values_fingerprint(values) -> str:
    """The SHA-256 hex digest of rows of signal values as float64: the same numbers read from a copy with other
    line endings, or from a longer file that starts with them, give the same digest."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def rows_trained_on(path: str | os.PathLike, trained_on: list[dict], values=None) -> int:
    """How many leading rows of the file at `path` a detector was fitted on: the "rows" of the entry of
    `trained_on` (as `detect fit` saves it: {"file", "bytes", "sha256", "rows", "values_sha256"}) with the same
    content, else (given the file's `values` in the detector's column order) one whose rows fitted on are the
    file's first rows, value for value (`values_fingerprint`: a CRLF copy, a log file that grew since, the file a
    training file was cut from); 0 for a file it was not fitted on. Only a file of a fitted size is hashed."""
    size = os.path.getsize(path)
    candidates = [entry for entry in trained_on if entry.get("bytes") == size]
    digest = file_fingerprint(path)["sha256"] if candidates else None
    same_file = max((int(entry["rows"]) for entry in candidates if entry.get("sha256") == digest), default=0)
    if same_file or values is None:
        return same_file
    return max((int(entry["rows"]) for entry in trained_on
                if entry.get("values_sha256") and 0 < int(entry["rows"]) <= len(values)
                and values_fingerprint(values[:int(entry["rows"])]) == entry["values_sha256"]), default=0)


def fitted_path_changed(path: str | os.PathLike, trained_on: list[dict]) -> int:
    """The rows fitted on when `path` is a file the detector was fitted on (the same path) whose content has
    changed since (`rows_trained_on` then finds no match); 0 otherwise."""
    here = Path(path).resolve()
    return max((int(entry["rows"]) for entry in trained_on if Path(entry.get("file", "")).resolve() == here),
               default=0)
