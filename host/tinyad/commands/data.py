"""`tinyad synth` and `tinyad import`: thin click wrappers over tinyad.synth and tinyad.importers."""

from __future__ import annotations

from pathlib import Path

import click

from tinyad.errors import InputError


@click.command("synth")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the session files (<class>_<NNN>.parquet).")
@click.option("--sessions-per-class", type=int, default=6, show_default=True)
@click.option("--duration", "duration_s", type=float, default=60.0, show_default=True, help="Seconds per session.")
@click.option("--rate", "rate_hz", type=float, default=100.0, show_default=True,
              help="Output sample rate (Hz, 11-1000; the MPU6050 outputs at most 1 kHz). The same machine is "
                   "sampled at any rate from 100 Hz up; below 100 Hz it runs slower so its faults stay visible.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--classes", default="normal,imbalance,misalignment,bearing_fault", show_default=True,
              help="Comma-separated conditions (also: looseness).")
@click.option("--machine-seed", type=click.IntRange(min=0), default=None,
              help="One machine on one clamp for all sessions (as when training for the machine you watch); "
                   "default: a different machine per session.")
@click.option("--plot/--no-plot", default=False,
              help="Also write <out>/overview.png: one session per class, time trace and spectra.")
@click.option("--overwrite", is_flag=True,
              help="Replace the files of an earlier `tinyad synth` in --out (<class>_<NNN>.parquet, overview.png); "
                   "without it a folder holding session files is refused.")
def synth(out_dir, sessions_per_class, duration_s, rate_hz, seed, classes, machine_seed, plot, overwrite):
    """Generate labeled rotating-machine sessions (MPU6050 model, accel g + gyro dps)."""
    from tinyad.session import read_session
    from tinyad.synth import OVERVIEW_PNG, plot_sessions, synth_dataset

    class_list = [c.strip() for c in classes.split(",") if c.strip()]
    paths = synth_dataset(out_dir, sessions_per_class=sessions_per_class, duration_s=duration_s, seed=seed,
                          sample_rate_hz=rate_hz, classes=class_list, progress=True, machine_seed=machine_seed,
                          overwrite=overwrite)
    click.echo(f"wrote {len(paths)} session{'' if len(paths) == 1 else 's'} to {out_dir}")
    if plot:
        firsts = [read_session(out_dir / f"{c}_000.parquet") for c in class_list]
        click.echo(f"plot: {plot_sessions(firsts, out_dir / OVERVIEW_PNG)}")


# option -> how its key=value pairs look, for the errors
PAIR_EXAMPLES = {"--map": ("channel=column", "ax=AccX,ay=AccY"), "--units": ("channel=unit", "ax=m/s^2,gx=rad/s"),
                 "--scale": ("channel=factor", "ax=0.000122"), "--full-scale": ("sensor=range", "accel_g=8")}


def _parse_mapping(text: str, option: str = "--map") -> dict[str, str]:
    """'ax=AccX,ay=AccY' -> {'ax': 'AccX', 'ay': 'AccY'}; errors name `option`."""
    form, example = PAIR_EXAMPLES[option]
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" not in item:
            raise InputError(f"bad {option} entry {item!r}", hint=f"use {form}, e.g. {option} {example}")
        channel, column = (s.strip() for s in item.split("=", 1))
        if channel in mapping:  # the later entry would silently win
            raise InputError(f"{channel!r} is given twice in {option} ({channel}={mapping[channel]}, "
                             f"{channel}={column})", hint=f"give each once, e.g. {option} {example}")
        mapping[channel] = column
    return mapping


def _parse_full_scale(text: str) -> dict[str, float]:
    """'accel_g=8,gyro_dps=1000' -> {'accel_g': 8.0, 'gyro_dps': 1000.0}: the ranges a recording was made at."""
    from tinyad.session import DEFAULT_FULL_SCALE

    ranges = _parse_floats(text, "--full-scale")
    unknown = sorted(set(ranges) - set(DEFAULT_FULL_SCALE))
    if unknown:
        raise InputError(f"unknown --full-scale sensor {', '.join(map(repr, unknown))}",
                         hint=f"use {' and/or '.join(DEFAULT_FULL_SCALE)}, e.g. --full-scale accel_g=8,gyro_dps=1000")
    bad = {key: value for key, value in ranges.items() if not 0 < value < float("inf")}
    if bad:
        raise InputError(f"--full-scale {', '.join(f'{k}={v:g}' for k, v in bad.items())} is no sensor range",
                         hint="give the range the sensor was set to, e.g. --full-scale accel_g=8 for +-8 g")
    return ranges


def _parse_floats(text: str | None, what: str) -> dict[str, float]:
    if not text:
        return {}
    values = {}
    for key, value in _parse_mapping(text, what).items():
        try:
            values[key] = float(value)
        except ValueError as err:
            raise InputError(f"bad {what} value {value!r} for {key!r}", hint="numbers only") from err
    return values


@click.command("import")
@click.argument("kind", type=click.Choice(["motor", "fan", "csv"]))
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--map", "mapping", default="", help="csv: channel=column pairs, e.g. ax=AccX,ay=AccY,gz=GyroZ.")
@click.option("--time-column", default=None, help="csv: the time column (else --rate is required).")
@click.option("--time-unit", type=click.Choice(["s", "ms", "us", "ns"]), default="s", show_default=True)
@click.option("--rate", "rate_hz", type=float, default=None, help="csv: sample rate; inferred from time if absent.")
@click.option("--units", default="", help="csv: source units per channel, e.g. ax=m/s^2,gx=rad/s "
                                           "(accel: g, m/s^2 or m/s2, mg; gyro: dps or deg/s, mdps, rad/s; "
                                           "counts needs --scale).")
@click.option("--scale", default="", help="csv: multiply a channel after reading, e.g. ax=0.000122.")
@click.option("--full-scale", "full_scale", default="",
              help="csv: the ranges the sensor was set to, e.g. accel_g=8,gyro_dps=1000 (default: +-4 g, "
                   "+-500 dps assumed); train and the board then use them.")
@click.option("--dlpf", "dlpf_hz", type=float, default=0.0,
              help="csv: the sensor's low-pass bandwidth in Hz, e.g. 44 (MPU6050 DLPF_CFG 3); train records it and "
                   "the firmware build checks it [not recorded].")
@click.option("--label", default=None,
              help="csv (required): the session's class, e.g. normal or imbalance; `tinyad train` learns it.")
@click.option("--device-id", default="csv", show_default=True)
@click.option("--session-id", default=None, help="csv: default: the file stem.")
@click.option("--sep", default=None, help="csv: field separator (default: sniffed among , ; tab |).")
@click.option("--overwrite", is_flag=True, help="Replace session files of the same id already in --out.")
def import_(kind, src, out_dir, mapping, time_column, time_unit, rate_hz, units, scale, full_scale, dlpf_hz, label,
            device_id, session_id, sep, overwrite):
    """Convert foreign data to session files: motor (imu/motor_mpu6050 dir or csv), fan (imu/ceiling_fan dir)
    or a generic csv with a column mapping. Nothing is written when any input file is bad."""
    from tinyad import importers

    if kind != "csv" and label is not None:
        click.echo(f"note: --label applies to csv only; {kind} takes the labels from the data set's file and "
                   "folder names", err=True)
    if kind != "csv" and dlpf_hz:
        raise InputError(f"--dlpf applies to csv only; the {kind} data set does not say its sensor low-pass",
                         hint="leave --dlpf out (the sessions then do not record it, and nothing checks it)")
    if kind == "motor":
        sessions = importers.motor_mpu6050_sessions(src) if src.is_dir() else [importers.import_motor_mpu6050(src)]
    elif kind == "fan":
        sessions = importers.ceiling_fan_sessions(src)
    else:
        if src.is_dir():
            raise InputError(f"{src}: is a folder, not a CSV file",
                             hint=f"`tinyad import csv` converts one file: run it per file, e.g. for f in {src}/*.csv; "
                                  f"do tinyad import csv \"$f\" --out {out_dir} ...; done")
        if time_column is None and not rate_hz and (guessed := importers.time_column_by_name(src, sep)):
            click.echo(f"note: took column {guessed!r} as the time column (named like one), in "
                       f"{time_unit} (--time-unit); --time-column or --rate to choose otherwise", err=True)
            time_column = guessed
        by_name = {} if mapping else importers.channels_by_name(src, sep)
        if by_name:  # the header already says which column is which channel
            click.echo(f"note: columns {', '.join(by_name.values())} taken as channels {', '.join(by_name)} by "
                       "their names (--map to choose others)", err=True)
            mapping = ",".join(f"{channel}={column}" for channel, column in by_name.items())
        if not mapping:
            raise InputError("csv import needs --map: no column is named like a channel (ax ay az gx gy gz)",
                             hint="e.g. --map ax=AccX,ay=AccY,az=AccZ")
        # motor and fan derive the label from the file and folder names; a csv says nothing about its class.
        if not label or not label.strip():
            raise InputError("csv import needs --label: the class of the recording",
                             hint="e.g. --label normal for a healthy machine, --label imbalance for a fault; "
                                  "`tinyad train` learns the labels as classes")
        sessions = [importers.import_csv(
            src, _parse_mapping(mapping), sample_rate_hz=rate_hz, time_column=time_column, time_unit=time_unit,
            units=_parse_mapping(units, "--units") or None, scale=_parse_floats(scale, "--scale"),
            full_scale=_parse_full_scale(full_scale), label=label.strip(), device_id=device_id,
            session_id=session_id, sep=sep, dlpf_hz=dlpf_hz,
        )]
    paths = importers.write_sessions(sessions, out_dir, progress=len(sessions) > 20, overwrite=overwrite)
    click.echo(f"wrote {len(paths)} session{'' if len(paths) == 1 else 's'} to {out_dir}")
    if kind == "csv":
        note_gaps(sessions)
        from tinyad.csvfile import unfinished_last_line_note

        if unfinished := unfinished_last_line_note(src, "may be cut off, and a number cut short reads as another "
                                                        "value"):
            click.echo(f"note: {src}: {unfinished}", err=True)
    warn_about_ranges(sessions)


def note_gaps(sessions) -> None:
    """Print (stderr) the sampling gaps a csv import found: kept in `t` and listed in meta.extra.gaps; windows
    across them are left out of training. Row i of a csv session is line i + 2 of its file."""
    import numpy as np

    for s in sessions:
        count = s.meta.extra.get("gap_count", 0)
        if count:
            dt = np.diff(s.t)
            row = int(np.argmax(dt)) + 1
            listed = len(s.meta.extra.get("gaps", []))
            first = "" if listed == count else f" (the first {listed})"
            click.echo(f"note: {s.meta.session_id}: {count} gap(s) longer than 1.5 sample intervals, the largest "
                       f"{float(dt[row - 1]):.6g} s before line {row + 2}; kept in the time column and listed in "
                       f"extra.gaps{first}; windows across them are left out of training", err=True)


def warn_about_ranges(sessions, max_shown: int = 10) -> None:
    """Print (stderr) values beyond the sensor full scale and accelerometers that look like m/s^2: both clip
    at the int8 model input later, which otherwise shows up only as a poor int8 score after quantization."""
    from tinyad.session import range_warnings

    warnings = [w for s in sessions
                for w in range_warnings(s.data, s.meta.channels, s.meta.full_scale, s.meta.session_id)]
    for line in warnings[:max_shown]:
        click.secho(f"warning: {line}", fg="yellow", err=True)
    if len(warnings) > max_shown:
        click.secho(f"warning: ... and {len(warnings) - max_shown} more range warnings", fg="yellow", err=True)
