"""`tinyad bench NAME`: run one registered benchmark."""

from __future__ import annotations

import importlib

import click

from tinyad.bench import BENCHMARKS, check_section_markers, result_line, write_section
from tinyad.bench import registry  # noqa: F401  (fills BENCHMARKS)
from tinyad.errors import InputError
from tinyad.paths import docs_dir, outside_checkout_note, shared_data_dir, shared_data_hint


@click.command()
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the benchmarks and exit.")
@click.option("--no-docs", is_flag=True, help="Do not rewrite docs/benchmarks.md.")
@click.option("--quick", is_flag=True, help="A smaller, faster run (smoke test); not for the docs.")
def bench(name, list_only, no_docs, quick):
    """Run benchmark NAME: print a table, rewrite its section of docs/benchmarks.md, print RESULT {json}."""
    import difflib

    if list_only or not name:
        for key, (_, desc) in sorted(BENCHMARKS.items()):
            click.echo(f"{key:24s} {desc}")
        if not list_only:
            click.echo("run one: tinyad bench NAME (--quick for a smoke run)", err=True)
        return
    if name not in BENCHMARKS:
        close = difflib.get_close_matches(name, BENCHMARKS, n=1)
        raise click.UsageError(f"unknown benchmark {name!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                                 "; `tinyad bench --list` lists them"))
    writes_docs = not no_docs and not quick
    if writes_docs:  # before the long work, not after it: a run whose docs cannot be written loses nothing
        check_section_markers(name)
        if note := outside_checkout_note(docs_dir() / "benchmarks.md"):
            click.echo(note)
    target = BENCHMARKS[name][0]  # "package.module" (its run()) or "package.module:function"
    module_name, _, function = target.partition(":")
    from tinyad.device.signals import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():  # `kill` ends a run like Ctrl-C: its cleanup (child processes) runs
            result = getattr(importlib.import_module(module_name), function or "run")(quick=quick)
    except InputError as err:
        if str(shared_data_dir()) not in str(err):
            raise
        raise InputError(str(err), hint=shared_data_hint()) from err  # a data set is missing: say where to point
    figures = {"quick": True, **result.figures} if quick else result.figures
    click.echo(f"\n## {result.title}\n")
    click.echo(result.markdown)
    if writes_docs:
        path = write_section(name, result)
        click.echo(f"\n(section '{name}' of {path} rewritten)")
    click.echo(result_line(figures))
