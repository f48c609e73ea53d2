"""Where things live: the repository root, the shared real data sets, the committed default model."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# host/tinyad -> repository root (valid for editable installs and source checkouts).
REPO_ROOT = PACKAGE_DIR.parent.parent


def shared_data_dir() -> Path:
    """Root of the public data sets: $TINYAD_SHARED_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("TINYAD_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def shared_data_hint() -> str:
    """Where the public data sets are looked for, and how to point there."""
    return (f"the public data sets are read from $TINYAD_SHARED_DATA, else ../shared/data beside the repository "
            f"(now: {shared_data_dir()}); set TINYAD_SHARED_DATA to the folder that holds imu/, ts/ and bms/")


def outside_checkout_note(target: Path, cwd: Path | None = None) -> str | None:
    """A note when `target`, a path in the checkout tinyad is installed from (REPO_ROOT), is written from a folder
    outside that checkout: with two clones, the other one's files change. None when the current folder is inside
    it, as in the README's commands."""
    cwd = Path(cwd or Path.cwd()).resolve()
    if cwd == REPO_ROOT or REPO_ROOT in cwd.parents:
        return None
    return (f"note: writing {target}, in the checkout tinyad is installed from ({REPO_ROOT}), not under the current "
            "folder")


def default_model_dir() -> Path:
    """The committed default model (models/default): the .tflite there is the source of truth."""
    return REPO_ROOT / "models" / "default"


def firmware_dir() -> Path:
    return REPO_ROOT / "firmware"


def docs_dir() -> Path:
    return REPO_ROOT / "docs"


def distinct_stems(files) -> list[str]:
    """One name per file, unique, for output files and reports: the file's stem, or with its folder where stems
    repeat (valve1/0.csv and valve2/0.csv -> valve1_0, valve2_0), numbered where that still repeats (x/0.csv and
    x/0.parquet -> x_0_1, x_0_2), never taking a name another file has (a/n, b/n, a_n, a_n_1 -> a_n_2, b_n, a_n_3,
    a_n_1)."""
    from collections import Counter

    paths = [Path(f) for f in files]
    repeated = {stem for stem, n in Counter(p.stem for p in paths).items() if n > 1}
    names = [f"{p.parent.name}_{p.stem}" if p.stem in repeated and p.parent.name else p.stem for p in paths]
    counts = Counter(names)
    taken = {name for name in names if counts[name] == 1}  # names that stay as they are
    unique = []
    for name in names:
        if counts[name] > 1:
            number = 1
            while f"{name}_{number}" in taken:
                number += 1
            name = f"{name}_{number}"
            taken.add(name)
        unique.append(name)
    return unique
