"""`tinyad bench NAME`: run one registered benchmark."""

from __future__ import annotations

import importlib

import click

from tinyad.bench import BENCHMARKS, result_line, write_section
from tinyad.bench import registry  # noqa: F401  (fills BENCHMARKS)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the benchmarks and exit.")
@click.option("--no-docs", is_flag=True, help="Do not rewrite docs/benchmarks.md.")
@click.option("--quick", is_flag=True, help="A smaller, faster run (smoke test); not for the docs.")
def bench(name, list_only, no_docs, quick):
    """Run benchmark NAME: print a table, rewrite its section of docs/benchmarks.md, print RESULT {json}."""
    if list_only or not name:
        for key, (_, desc) in sorted(BENCHMARKS.items()):
            click.echo(f"{key:24s} {desc}")
        return
    if name not in BENCHMARKS:
        raise click.UsageError(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}")
    target = BENCHMARKS[name][0]  # "package.module" (its run()) or "package.module:function"
    module_name, _, function = target.partition(":")
    result = getattr(importlib.import_module(module_name), function or "run")(quick=quick)
    click.echo(f"\n## {result.title}\n")
    click.echo(result.markdown)
    if not no_docs and not quick:
        path = write_section(name, result)
        click.echo(f"\n(section '{name}' of {path} rewritten)")
    click.echo(result_line(result.figures))
