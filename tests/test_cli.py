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
    assert result.output.strip().splitlines()[-1].startswith("RESULT {")
