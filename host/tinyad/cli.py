"""The `tinyad` command line: thin click commands over the typed API in the rest of the package.

Commands are loaded lazily (importing TensorFlow takes seconds; `tinyad info` should not pay for it).
Each entry of COMMANDS maps a command name to "module:attribute" of a click command.
"""

from __future__ import annotations

import importlib
import sys

import click

from tinyad import __version__
from tinyad.errors import AlarmsFound, TinyadError

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attribute, one-line help shown in `tinyad --help`)
    "bench": ("tinyad.bench.cli:bench", "Run a named benchmark and update docs/benchmarks.md."),
    "bert": ("tinyad.commands.bert:bert", "Battery telemetry: load BMS data, train/evaluate the outlier transformer."),
    "train": ("tinyad.commands.pipeline:train", "Train a model on labeled sessions (leakage-safe splits)."),
    "quantize": ("tinyad.commands.pipeline:quantize", "Full-int8 quantization; float vs int8 on the test split."),
    "check": ("tinyad.commands.pipeline:check", "Arena, ops, flash, MACs under TFLM, whether it fits a budget; "
              "TFLite vs TFLM agreement."),
    "export": ("tinyad.commands.pipeline:export", "Generate model_data.cc/.h and model_settings.h."),
    "evaluate": ("tinyad.commands.pipeline:evaluate", "What an exported model does on new recordings: "
                 "predictions and alerts, the board's way."),
    "demo": ("tinyad.commands.pipeline:demo", "End to end: synth, train, quantize, check, export, SIL device."),
    "sim": ("tinyad.commands.device:sim", "Run the software-in-the-loop device on a pseudo-terminal."),
    "info": ("tinyad.commands.device:info", "Show the device's firmware, sensor, model hash and status."),
    "record": ("tinyad.commands.device:record", "Record a labeled session from the device over serial."),
    "recover": ("tinyad.commands.device:recover", "Make a session of a recording whose recorder was killed."),
    "monitor": ("tinyad.commands.device:monitor", "Show the device's live scores and alert state."),
    "parity": ("tinyad.commands.device:parity", "Check the device is bit-exact with the host TFLM."),
    "detect": ("tinyad.commands.detect:detect", "Label-free detectors: fit on normal data, score and plot alarms."),
    "alerts": ("tinyad.commands.alerts:alerts", "Receive BTHome BLE alerts from boards (or the SIL with --sim)."),
    "config": ("tinyad.commands.config:config", "Set the BLE bind key and read/write the device's config keys."),
    "synth": ("tinyad.commands.data:synth", "Generate labeled synthetic rotating-machine sessions."),
    "import": ("tinyad.commands.data:import_", "Convert motor/fan/CSV IMU data to session files."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyad")
def cli():
    """tinyad: train, check and export int8 anomaly detectors for an ESP32, and talk to the board."""


def help_command(argv: list[str]) -> str:
    """`tinyad <command> [<sub-command>] --help` for the command line `argv`: where the options are explained."""
    words, command, ctx = [], cli, click.Context(cli)
    for token in argv:
        if token.startswith("-") or not isinstance(command, click.Group):
            break
        command = command.get_command(ctx, token)
        if command is None:
            break
        words.append(token)
    return " ".join(["tinyad", *words, "--help"])


def main(argv=None) -> int:
    """Entry point: runs the CLI and maps TinyadError to its exit code with a hint (a pointer to the command's
    --help when the error has no hint of its own)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=argv, standalone_mode=False)
    except AlarmsFound as found:  # --fail-on-alarm: not an error, a result for scripts
        return found.exit_code
    except TinyadError as err:
        click.secho(f"error: {err}", fg="red", err=True)
        click.echo(f"hint: {err.hint or 'see `' + help_command(argv) + '`'}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except OSError as err:  # a path the operating system refused (a file where a folder is needed, permissions)
        code, hint = os_error_exit(err)
        click.secho(f"error: {err.strerror or err}" + (f": {err.filename}" if err.filename else ""), fg="red", err=True)
        click.echo(f"hint: {hint}", err=True)
        return code
    return 0


def os_error_exit(err: OSError) -> tuple[int, str]:
    """Exit code and hint for an OSError that reached the CLI: a bad path given by the user is bad input (2);
    anything else (a full disk, a broken pipe) is a general failure (1)."""
    if isinstance(err, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)):
        return 2, "check the paths given: each folder must exist or be creatable, and be writable"
    return 1, "the operating system refused the operation; check free disk space and permissions"


if __name__ == "__main__":
    sys.exit(main())
