"""A trivial benchmark that exercises the machinery: times numpy's sort on a fixed array."""

from __future__ import annotations

import time

import numpy as np

from tinyad.bench import BenchResult, markdown_table


def run(quick: bool = False) -> BenchResult:
    rng = np.random.default_rng(0)
    data = rng.standard_normal(10_000 if quick else 1_000_000)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        np.sort(data)
        times.append(time.perf_counter() - t0)
    median_ms = float(np.median(times) * 1e3)
    table = markdown_table(["n", "median sort ms"], [[len(data), median_ms]])
    return BenchResult("Self-test", table, {"n": len(data), "median_sort_ms": median_ms})
