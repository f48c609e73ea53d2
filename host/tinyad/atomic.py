"""Output files: atomic writes (a reader sees the old file or the new one, never half of one), a writability probe
and a PNG name check before long work, and removing the files an earlier run left (only those its command
writes)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike) -> Path:
    """Make sure a file can be created at `path` (its folder is created if needed) before long work whose
    result would otherwise be lost; raises InputError with a hint if not. Returns the path."""
    from tinyad.errors import InputError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror or err}",
                         hint="choose an output in a folder that exists (or can be created) and is writable") from err
    return path


def check_png_path(path: str | os.PathLike, option: str = "--plot") -> Path:
    """A PNG output named by the user (`option` names it in the error): refuse a name that does not end in .png
    - matplotlib would pick another format from the suffix, fail on an unknown one after the work is done, or
    add .png to a name without one - then `check_writable`. Returns the path."""
    from tinyad.errors import InputError

    path = Path(path)
    if path.suffix.lower() != ".png":
        suggestion = path.with_suffix(".png") if path.suffix else path.with_name(f"{path.name}.png")
        raise InputError(f"{option} {path}: the plot is a PNG image; the name must end in .png",
                         hint=f"use {option} {suggestion}")
    return check_writable(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, exclusive: bool = False):
    """Yield a temporary path beside `path`; when the block ends without an exception the temporary file
    replaces `path` (os.replace, atomic on POSIX), otherwise it is removed and `path` is left untouched.
    `exclusive`: never replace; the file appears under `path` only if no file has that name (a hard link, atomic),
    else FileExistsError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; the result gets the usual mode
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def outputs_in(folder: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """The files of `names` (what a command writes into `folder`) that exist there now, in the order of `names`.
    Empty for a new or missing folder; other files are never listed, so `remove_outputs` never removes them."""
    folder = Path(folder)
    return [folder / name for name in names if (folder / name).is_file()]


def remove_outputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Remove `paths` - an earlier run's outputs as its command listed them (`outputs_in`, or its own rule): files,
    and folders with everything in them. Returns the removed paths in the given order."""
    removed = [Path(p) for p in paths]
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed
