"""Round 4 of the SKAB benchmark (the pilcrow row): round 3's recipe - SKAB's own Conv-AE, one model per file
on its first 400 rows, SKAB's decision rule - fed the drift-robust channels of rounds 1 and 2 (the two
temperatures, picked from the training rows without a label, replaced by their first differences).

Pre-registered in tinyad.bench.skab_conv_ae (commit f0b698e, before its only run): chosen after round 3's
result and a diagnosis of its false alarms that used the test labels, so its number is not a clean held-out
one; if it missed the target, no round 5 follows on these test rows. Its single run was part of
`tinyad bench skab` (commit bbd2f96: F1 0.751 at FAR 2.4 %, with round 3 reproduced identically) and pushed
that benchmark to 655 s, over its 600-s budget; so it runs on its own here, with the same code, seed and
data, and `tinyad bench skab` keeps rounds 1-3. Same split and scoring as `tinyad bench skab`: the test rows
of the 34 files, concatenated.
"""

from __future__ import annotations

import time

import numpy as np

from tinyad.bench import BenchResult
from tinyad.bench.skab import DRIFT_MIN_SHIFT, SKAB_RULE, drift_channels, prepare, skab_rule_reports, target_line
from tinyad.bench.skab_conv_ae import ROUND_4_MARK, fit_all, skab_conv_ae_config
from tinyad.detectors.datasets import SKAB_SIGNALS, SKAB_TRAIN_ROWS
from tinyad.evaluation import report_table

ROUND_4_LABEL = f"Conv-AE per file, SKAB recipe, drift-robust channels {ROUND_4_MARK}"


def round_4_reports(files, scaled, *, quick: bool = False, workers: int = 2):
    """The round-4 row: round 3's recipe and SKAB's rule on the drift-robust files (`scaled`: file name ->
    values from `prepare(drift_robust=True)`); no anomaly-free pieces; (reports, figures)."""
    config = skab_conv_ae_config(quick)
    fits = fit_all([scaled[f.name] for f in files], config, workers=workers, mark=ROUND_4_MARK)
    skab_rule, figures = skab_rule_reports(ROUND_4_LABEL, fits, files, config["window"])
    return [skab_rule], figures


def run(quick: bool = False) -> BenchResult:
    """Round 4 on SKAB: its row, the all-rows comparison figure, and the target check."""
    t0 = time.perf_counter()
    files, scaled, _, _ = prepare(quick, drift_robust=True)
    differenced = [SKAB_SIGNALS[c] for c in drift_channels(files)]
    reports, figures = round_4_reports(files, scaled, quick=quick)
    row = reports[0]
    meets = [r for r in reports if r.f1 >= 0.80 and r.far <= 0.15]
    within = [r for r in reports if r.far <= 0.15]
    total_s = time.perf_counter() - t0
    y = np.concatenate([f.test_labels for f in files])
    lines = [
        f"Split: SKAB protocol as in `tinyad bench skab`: {len(files)} files, first {SKAB_TRAIN_ROWS} rows of each "
        f"train its own model, {len(y)} test rows concatenated ({y.mean():.1%} anomalous; events counted "
        "file by file).",
        "",
        f"Round 4 ({ROUND_4_MARK}): round 3's recipe (SKAB's Conv-AE per file, {SKAB_RULE}) on the drift-robust "
        f"channels (moved by more than {DRIFT_MIN_SHIFT:g} standard deviations between the halves of the "
        f"training rows, no label: {', '.join(differenced) or 'none'}; replaced by first differences). "
        "Disclosure: chosen after round 3's result (F1 0.844 at FAR 17.9 %) and after a diagnosis of its false "
        "alarms that used the test labels, so not a clean held-out number. Pre-registered (commit f0b698e) "
        "with the stopping rule: no round 5 on these test rows if it misses.",
        "",
        report_table(reports),
        "",
        "Scored over all rows as SKAB's current notebook does (comparison only, not a result; whether the "
        "published leaderboard counts the training rows is not verified, see `skab`): "
        f"F1 {figures['skab_rule_all_rows']['f1']:.3f}, FAR {figures['skab_rule_all_rows']['far']:.1%}, "
        f"MAR {figures['skab_rule_all_rows']['mar']:.1%}.",
        "",
        target_line([], [], row, within[0] if within else None, {4: meets}),
        "",
        f"Time: {total_s:.0f} s wall for {len(files)} per-file models, two at a time in two processes (median "
        f"{figures['epochs_median']:.0f} epochs, at most {figures['epochs_max']}).",
    ]
    result = {"f1": row.f1, "pa_f1": row.pa_f1, "precision": row.precision, "recall": row.recall, "far": row.far,
              "mar": row.mar, "event_f1": row.event_f1, "auc_pr": row.auc_pr, "vus_pr": row.vus_pr,
              "threshold_saw_test_labels": row.threshold_saw_test_labels, "target_met_by_round_4": bool(meets),
              "all_rows": figures["skab_rule_all_rows"], "epochs_median": figures["epochs_median"],
              "drift_differenced_channels": differenced, "total_s": total_s, "quick": quick}
    return BenchResult("SKAB round 4: SKAB's Conv-AE recipe on drift-robust channels (issue 5)", "\n".join(lines),
                       result)
