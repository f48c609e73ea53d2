"""The list of benchmarks. One line each: register(name, module, description)."""

from tinyad.bench import register

register("selftest", "tinyad.bench.selftest", "Checks the benchmark machinery itself (seconds).")
