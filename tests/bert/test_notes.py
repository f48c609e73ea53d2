"""tinyad.bert.notes: what `tinyad bert` says of a run, a cut and scores (hand-computed cases)."""

import numpy as np

from tinyad.bert.notes import (collapsed_scores_note, diverged_warning, method_cut_text, other_channels_hint,
                               score_ceiling, tied_cut_note)


def test_other_channels_hint_names_renames_and_raw_exports():
    assert other_channels_hint(["v", "i", "t"], ["i", "v", "t2"]).startswith(
        "if they are the same signal named otherwise, rename 't2' -> 't' in the data")
    # two names unmatched: which is which is not known, so no pair is recommended
    assert other_channels_hint(["v", "i", "t"], ["x", "i", "y"]).startswith(
        "if 'x', 'y' are 'v', 't' named otherwise, rename each to the checkpoint's name for the same signal")
    assert "tinyad bert load-bms" in other_channels_hint(["v", "i"], ["id", "relay", "v", "i", "limit"])
    assert other_channels_hint(["v", "i"], ["x", "y", "z"]).startswith("fine-tune the checkpoint")


def test_a_diverged_run_and_collapsed_scores_are_warned_about():
    # a fine-tune at --lr 5 (a walk-through's history): 0.853 before any update, then 0.000
    history = [{"step": 0, "loss": float("nan"), "score": 0.853}, {"step": 50, "loss": 28027.9, "score": 0.0},
               {"step": 100, "loss": 1.43, "score": 0.0}]
    assert diverged_warning(history) == (
        "the final checkpoint scores (P+R)/2 0.000, down from 0.853 at step 0: the training likely diverged (loss "
        "1.43); retrain with a lower --lr or fewer steps rather than pick a checkpoint by these scores (that would "
        "use the evaluation range's labels)")
    assert diverged_warning(history[:1] + [{"step": 10, "loss": 0.3, "score": 0.7}]) is None  # 0.153 lower: noise
    assert "is inf: training diverged" in diverged_warning([{"step": 10, "loss": float("inf")}])
    assert diverged_warning([]) is None and diverged_warning([{"step": 10, "loss": 0.2}]) is None
    # six values for 300 steps: the 92 % quantile is the largest, so the cut flags nothing or ties
    tied = np.repeat([0.00777, 0.0078, 0.0079, 0.008, 0.0082, 0.00845], 50)
    assert "the 300 scores take only 6 distinct value(s) (from 0.00777 to 0.00845)" in collapsed_scores_note(tied)
    assert collapsed_scores_note(np.random.default_rng(0).random(300)) is None


def test_tied_cut_note_says_why_fewer_steps_are_flagged_than_the_rate():
    # ten 0.1, five 0.5, one 0.9 at rate 0.25: the 75 % quantile is 0.5, and only the 0.9 is above it
    scores = np.array([0.1] * 10 + [0.5] * 5 + [0.9])
    assert tied_cut_note(scores, 0.5, 0.25) == (
        "5 steps score exactly the cut (0.5) and are not above it: 6.2% of the steps are flagged, not 25% (data "
        "that hold still score alike)")
    assert tied_cut_note(np.arange(16.0), 11.25, 0.25) is None  # no ties: 4 of 16 above the cut


def test_method_cut_text_states_the_ceiling_the_labelled_share_sets():
    # 4 % labelled, 8 % flagged: precision at most 0.5, recall at most 1 -> (P+R)/2 at most 0.75
    assert method_cut_text(0.08, 0.2099, 80, 40, 1000) == (
        "cut: the top 8% of the scores (above 0.2099, --anomaly-rate; 8.0% of the steps flagged); 4.0% are labelled "
        "anomalous, so (P+R)/2 can reach at most 0.750 here")
    assert method_cut_text(0.08, 0.5, 80, 80, 1000).endswith("at most 1.000 here")
    # the steps flagged, not the rate: 42 of 520 flagged, 74 labelled -> recall up to 42/74 (a walk-through's case)
    assert method_cut_text(0.08, 0.96, 42, 74, 520).endswith(f"at most {(42 / 74 + 1) / 2:.3f} here")
    assert (score_ceiling(80, 40), score_ceiling(42, 74), score_ceiling(0, 10), score_ceiling(5, 0)) == (
        0.75, (42 / 74 + 1) / 2, 0.0, 0.0)
