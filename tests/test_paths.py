"""tinyad.paths: a command writing into the installed checkout says so when run from outside it."""

from tinyad.paths import REPO_ROOT, firmware_dir, outside_checkout_note


def test_writing_into_the_checkout_from_another_folder_is_noted(tmp_path):
    target = firmware_dir() / "main" / "model"
    assert outside_checkout_note(target, cwd=REPO_ROOT) is None
    assert outside_checkout_note(target, cwd=REPO_ROOT / "host" / "tinyad") is None
    assert outside_checkout_note(target, cwd=tmp_path) == (
        f"note: writing {target}, in the checkout tinyad is installed from ({REPO_ROOT}), not under the current "
        "folder")
