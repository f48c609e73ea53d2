import json

from click.testing import CliRunner

from tinyad import cli as cli_module
from tinyad.cli import cli, main


def test_every_command_has_help():
    runner = CliRunner()
    for name in cli_module.COMMANDS:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_tinyad_error_maps_to_exit_code_and_hint(capsys, monkeypatch):
    from tinyad.errors import InputError

    def boom():
        raise InputError("bad file x.csv row 3", hint="fix the row")

    monkeypatch.setitem(cli_module.COMMANDS, "boom", ("tests.test_cli:_boom_cmd", "x"))
    import click

    global _boom_cmd
    _boom_cmd = click.command()(boom)
    code = main(["boom"])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad file x.csv row 3" in err and "hint: fix the row" in err


def test_bench_selftest_prints_result_line():
    runner = CliRunner()
    result = runner.invoke(cli, ["bench", "selftest", "--quick"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("RESULT {")
    figures = json.loads(last[len("RESULT "):])  # a quick run sorts 10,000 numbers, and says it was quick
    assert figures["n"] == 10_000 and figures["quick"] is True and figures["median_sort_ms"] > 0


def test_a_path_the_system_refuses_is_an_error_with_a_hint_not_a_traceback(capsys, tmp_path):
    (tmp_path / "afile").write_text("x")
    code = main(["synth", "--out", str(tmp_path / "afile" / "sub"), "--sessions-per-class", "1", "--duration", "2",
                 "--classes", "normal"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: Not a directory: {tmp_path / 'afile' / 'sub'}" in err and "hint: check the paths" in err
    assert "Traceback" not in err


def test_os_errors_that_are_not_about_a_path_are_general_failures():
    assert cli_module.os_error_exit(PermissionError(13, "Permission denied"))[0] == 2
    assert cli_module.os_error_exit(OSError(28, "No space left on device"))[0] == 1


def test_an_error_without_its_own_hint_points_to_the_commands_help(capsys, tmp_path):
    assert main(["synth", "--out", str(tmp_path / "x"), "--sessions-per-class", "0"]) == 2
    err = capsys.readouterr().err
    assert "error: sessions per class must be >= 1, got 0" in err and "hint: see `tinyad synth --help`" in err
    assert cli_module.help_command(["detect", "fit", "a.csv", "--out", "d"]) == "tinyad detect fit --help"
    assert cli_module.help_command(["bench", "skab", "--quick"]) == "tinyad bench --help"
    assert cli_module.help_command(["no-such-command"]) == "tinyad --help"
