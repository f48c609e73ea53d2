"""Score smoothing, seed ensembles, choices on validation and the weight average (EMA) of training."""

import numpy as np
import pytest

from tinyad.bert import evaluate
from tinyad.errors import InputError


def test_smooth_scores_is_a_centered_mean_that_keeps_the_ends():
    scores = np.array([0.0, 3.0, 0.0, 0.0, 6.0])
    # width 3: [mean(0,3), mean(0,3,0), mean(3,0,0), mean(0,0,6), mean(0,6)]
    np.testing.assert_allclose(evaluate.smooth_scores(scores, 3), [1.5, 1.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(evaluate.smooth_scores(scores, 1), scores)
    # wider than the series: every step is the mean of what exists within reach
    np.testing.assert_allclose(evaluate.smooth_scores(scores, 9), np.full(5, 1.8))
    for bad in (0, 2, -1):
        with pytest.raises(InputError, match="odd"):
            evaluate.smooth_scores(scores, bad)


class FirstValue:
    """A "model" whose logit at every step is `scale` times the window's first value."""

    def __init__(self, scale, window=4):
        self.scale, self.input_shape = scale, (None, window, 1)

    def __call__(self, windows, training=False):
        return self.scale * np.repeat(windows[:, :1, 0], windows.shape[1], axis=1)


def test_ensemble_averages_member_scores_then_smooths():
    series = np.zeros((4, 1), np.float32)
    series[0, 0] = 100.0  # one window: member 1 -> sigmoid(100) = 1 everywhere, member 2 -> sigmoid(0) = 0.5
    mean = evaluate.ensemble_series_scores([FirstValue(1.0), FirstValue(0.0)], series, stride=1)
    np.testing.assert_allclose(mean, np.full(4, 0.75), atol=1e-6)
    single = evaluate.ensemble_series_scores(FirstValue(0.0), series, stride=1)
    np.testing.assert_allclose(single, np.full(4, 0.5))
    with pytest.raises(InputError, match="windows"):
        evaluate.ensemble_series_scores([FirstValue(1.0, 4), FirstValue(1.0, 8)], series, stride=1)


def test_score_test_sets_smooths_each_copy_alone():
    first = evaluate.TestSet(np.array([[100.0], [0.0], [0.0], [0.0]], np.float32), np.zeros(4, np.int8))
    second = evaluate.TestSet(np.zeros((4, 1), np.float32), np.zeros(4, np.int8))
    scores, merged = evaluate.score_test_sets(FirstValue(1.0), [first, second], stride=4, smoothing=3)
    # copy 1 scores 1.0 everywhere, copy 2 0.5: smoothing across the seam would give 0.833 at steps 3 and 4
    np.testing.assert_allclose(scores, [1.0] * 4 + [0.5] * 4, atol=1e-6)
    assert len(merged.labels) == 8 and merged.part_starts == [4]


def test_evaluate_scores_keeps_events_and_vus_buffers_inside_each_copy():
    from tinyad import evaluation

    # Copy A ends in an anomaly, copy B begins with one: concatenated, they would be one event over the seam.
    labels_a, labels_b = np.array([0, 0, 0, 0, 0, 0, 1, 1]), np.array([1, 1, 0, 0, 0, 0, 0, 0])
    scores_a = np.array([0.1, 0.85, 0.1, 0.2, 0.1, 0.3, 0.9, 0.2])
    scores_b = np.array([0.2, 0.2, 0.2, 0.1, 0.8, 0.1, 0.2, 0.1])
    labels, scores = np.concatenate([labels_a, labels_b]), np.concatenate([scores_a, scores_b])
    copies = evaluate.TestSet(np.zeros((16, 1)), labels, part_starts=[8])
    result = evaluate.evaluate_scores(scores, copies, anomaly_rate=0.25)
    # The top 4 (0.9, 0.85, 0.8, 0.3) are flagged; 1 of 4 labeled steps -> P = R = 0.25 either way.
    assert result["score"] == pytest.approx(0.25) and result["f1"] == pytest.approx(0.25)
    # Adjusted per copy: A's event becomes a hit (2 TP, 3 FP), B's stays missed -> P 0.4, R 0.5.
    # Over the seam it would be one event: 4 TP, 3 FP -> P 4/7, R 1, score 0.786.
    assert result["score_pa"] == pytest.approx((0.4 + 0.5) / 2)
    assert result["pa_f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    per_copy = (evaluation.vus_pr(labels_a, scores_a) + evaluation.vus_pr(labels_b, scores_b)) / 2
    assert result["vus_pr"] == pytest.approx(per_copy)
    assert evaluation.vus_pr(labels, scores) != pytest.approx(per_copy)
    seamless = evaluate.evaluate_scores(scores, evaluate.TestSet(np.zeros((16, 1)), labels), anomaly_rate=0.25)
    assert seamless["score_pa"] == pytest.approx((4 / 7 + 1) / 2)


def test_choose_on_validation_takes_the_best_and_the_first_of_ties():
    assert evaluate.choose_on_validation({1: {"score": 0.7}, 5: {"score": 0.8}, 9: {"score": 0.8}}) == 5
    assert evaluate.choose_on_validation({"a": {"f1": 0.2}, "b": {"f1": 0.1}}, key="f1") == "a"
    with pytest.raises(InputError):
        evaluate.choose_on_validation({})


def test_choose_steps_uses_the_mean_over_seeds_of_common_steps():
    from tinyad.bench.bert_transfer import choose_steps

    seed0 = [{"step": 0, "val_auc_pr": 0.5}, {"step": 30, "val_auc_pr": 0.9}, {"step": 60, "val_auc_pr": 0.6}]
    seed1 = [{"step": 0, "val_auc_pr": 0.5}, {"step": 30, "val_auc_pr": 0.5}, {"step": 60, "val_auc_pr": 0.9}]
    step, means = choose_steps([seed0, seed1])
    # means: 0 -> 0.5, 30 -> 0.7, 60 -> 0.75
    assert step == 60 and means == pytest.approx({0: 0.5, 30: 0.7, 60: 0.75})
    step, means = choose_steps([seed0, seed1[:2]])  # step 60 is missing in one seed: not a candidate
    assert step == 30 and set(means) == {0, 30}
    flat = [{"step": s, "val_auc_pr": 0.8} for s in (0, 30, 60)]
    assert choose_steps([flat, flat])[0] == 0  # ties: the earliest step (the fewest updates)


def test_cadence_checkpoints_a_quick_run_less_often_but_keeps_the_fine_tuning_budget_on_the_scratch_run():
    from tinyad.bench.bert_transfer import cadence

    # the benchmark: fine-tune 300 steps, every 30 (1 %); scratch every 150 (5 %)
    assert cadence(3000, quick=False) == (3000, 300, 30, 150)
    # quick: fine-tune 20 steps every 5 (2.5 %); scratch every 20, so step 20 (the fine-tuning budget) is scored
    assert cadence(200, quick=True) == (200, 20, 5, 20)
    assert cadence(10, quick=True) == (10, 1, 1, 1)  # never every 0 steps


def test_ema_weights_are_the_average_of_start_and_update(tmp_path):
    from tinyad.bert.train import TrainOptions, load_checkpoint, train

    rng = np.random.default_rng(0)
    data = (np.sin(np.arange(200)[:, None] / 9.0) + 0.05 * rng.normal(size=(200, 2))).astype(np.float32)
    base = dict(preset="tiny", batch_size=4, lr=1e-2, seed=3)
    start = train([data], ["a", "b"], TrainOptions(max_steps=1, checkpoint_every=1, **base), tmp_path / "start",
                  progress=False)
    fine = dict(max_steps=1, checkpoint_every=1, checkpoint=str(start.final_checkpoint), **base)
    raw = train([data], ["a", "b"], TrainOptions(**fine), tmp_path / "raw", progress=False)
    averaged = train([data], ["a", "b"], TrainOptions(ema_decay=0.25, **fine), tmp_path / "ema", progress=False)
    w0 = load_checkpoint(start.final_checkpoint).model.get_weights()
    w1 = raw.model.get_weights()
    saved = load_checkpoint(averaged.final_checkpoint).model.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(w0, w1))  # the step did move the weights
    for a, b, got, returned in zip(w0, w1, saved, averaged.model.get_weights()):
        np.testing.assert_allclose(got, 0.25 * a + 0.75 * b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(returned, got, rtol=1e-6, atol=1e-7)
    with pytest.raises(InputError, match="ema.decay"):
        train([data], ["a", "b"], TrainOptions(ema_decay=1.0, **base), tmp_path / "bad", progress=False)


def test_score_where_counts_only_the_kept_steps():
    scores = np.array([0.9, 0.8, 0.1, 0.9, 0.2, 0.7])
    labels = np.array([0, 0, 0, 1, 1, 0])
    keep = np.array([False, False, True, True, True, True])
    # kept: flagged (> 0.5) at steps 3 and 5 -> TP 1 (step 3), FP 1 (step 5), FN 1 (step 4): P = R = F1 = 0.5
    result = evaluate.score_where(scores, labels, 0.5, keep)
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(0.5)
    assert result["score"] == pytest.approx(0.5) and result["f1"] == pytest.approx(0.5)
    everything = evaluate.score_where(scores, labels, 0.5, np.ones(6, bool))  # + 2 false alarms: P = 1/4
    assert everything["precision"] == pytest.approx(0.25) and everything["recall"] == pytest.approx(0.5)
    with pytest.raises(InputError, match="shape"):
        evaluate.score_where(scores, labels, 0.5, keep[:3])


def test_checkpoint_evaluator_takes_a_list_of_blocks():
    from tinyad.bert.train import Standardizer

    rng = np.random.default_rng(7)
    a = np.cumsum(rng.normal(size=(300, 2)), axis=0).astype(np.float32)
    b = np.cumsum(rng.normal(size=(260, 2)), axis=0).astype(np.float32)
    identity = Standardizer([0.0, 0.0], [1.0, 1.0])
    seeds = (0, 1)
    single = evaluate.CheckpointEvaluator(a, stride=4, seeds=seeds)
    blocks = evaluate.CheckpointEvaluator([a, b], stride=4, seeds=seeds)
    one_sets, two_sets = single.test_sets(identity), blocks.test_sets(identity)
    # a single array: exactly the copies it always had (seeds as given)
    reference = evaluate.make_test_sets(a, seeds)
    assert len(one_sets) == len(reference) == 2
    for got, want in zip(one_sets, reference):
        np.testing.assert_array_equal(got.series, want.series)
        np.testing.assert_array_equal(got.labels, want.labels)
        assert got.events == want.events and got.description == want.description
    # two blocks: one copy per seed of each, block by block; block 1 has its own seeds (+1000)
    assert len(two_sets) == 4 and blocks.block_seeds(1) == (1000, 1001)
    for got, want in zip(two_sets[:2], reference):
        np.testing.assert_array_equal(got.labels, want.labels)
    for got, seed in zip(two_sets[2:], (1000, 1001)):
        np.testing.assert_array_equal(got.labels, evaluate.make_test_set(b, seed).labels)
    assert two_sets[2].events != two_sets[0].events
    assert blocks.copy_lengths() == [300, 300, 260, 260]
    # scored end to end: the lengths and the labels add up over the copies
    one, two = single(FirstValue(0.1), identity, with_report=True), blocks(FirstValue(0.1), identity,
                                                                         with_report=True)
    assert len(one["labels"]) == 600 and len(two["labels"]) == 2 * 300 + 2 * 260
    assert two["labels"].sum() == sum(int(t.labels.sum()) for t in two_sets)
    np.testing.assert_array_equal(two["labels"][:600], one["labels"])
    assert evaluate.CheckpointEvaluator([a], stride=4, seeds=seeds)(FirstValue(0.1), identity)["score"] == \
        pytest.approx(one["score"])
    with pytest.raises(InputError, match="empty"):
        evaluate.CheckpointEvaluator([], stride=4)
    with pytest.raises(InputError, match="NaN"):
        evaluate.CheckpointEvaluator([a, np.full((10, 2), np.nan)], stride=4)


def test_checkpoint_evaluator_injects_once_per_standardizer():
    from tinyad.bert.train import Standardizer

    a = np.cumsum(np.random.default_rng(8).normal(size=(300, 2)), axis=0).astype(np.float32)
    evaluator = evaluate.CheckpointEvaluator(a, stride=4, seeds=(0, 1))
    identity, shifted = Standardizer([0.0, 0.0], [1.0, 1.0]), Standardizer([1.0, 0.0], [2.0, 1.0])
    first = evaluator.test_sets_of_latest(identity)
    assert evaluator.test_sets_of_latest(Standardizer([0.0, 0.0], [1.0, 1.0])) is first  # every checkpoint of a run
    other = evaluator.test_sets_of_latest(shifted)
    assert other is not first
    assert not np.array_equal(other[0].series, first[0].series)  # standardized otherwise
    np.testing.assert_array_equal(other[0].labels, first[0].labels)  # the same seeded injections
    fresh = evaluator.test_sets(shifted)
    for got, want in zip(other, fresh):
        np.testing.assert_array_equal(got.series, want.series)


def test_best_possible_score_caps_recall_when_more_steps_are_labeled_than_cut():
    from tinyad.bench.bert_transfer import best_possible_score

    assert best_possible_score(0.08, 0.08) == pytest.approx(1.0)
    assert best_possible_score(0.08, 0.10) == pytest.approx((1 + 0.8) / 2)
    assert best_possible_score(0.10, 0.08) == pytest.approx((0.8 + 1) / 2)


def test_score_at_counts_flags_above_the_threshold_and_point_adjusts_on_request():
    scores = np.array([0.9, 0.2, 0.6, 0.1, 0.7, 0.3])
    labels = np.array([1, 1, 1, 0, 0, 0])
    # > 0.5: steps 0, 2, 4 -> TP 2, FP 1, FN 1: P = R = 2/3; half the steps flagged
    raw = evaluate.score_at(scores, labels, 0.5)
    assert raw["precision"] == pytest.approx(2 / 3) and raw["recall"] == pytest.approx(2 / 3)
    assert raw["score"] == pytest.approx(2 / 3) and raw["f1"] == pytest.approx(2 / 3)
    assert raw["flagged_rate"] == pytest.approx(0.5) and raw["threshold"] == 0.5
    # point adjustment fills the event (steps 0-2): TP 3, FP 1 -> P 3/4, R 1; the flagged share stays 3/6
    adjusted = evaluate.score_at(scores, labels, 0.5, adjust=True)
    assert adjusted["precision"] == pytest.approx(0.75) and adjusted["recall"] == pytest.approx(1.0)
    assert adjusted["flagged_rate"] == pytest.approx(0.5)
    # the method's score is score_at its own quantile cut
    method = evaluate.method_score(scores, labels, anomaly_rate=0.5)
    assert method == evaluate.score_at(scores, labels, evaluate.quantile_threshold(scores, 0.5))


def test_validation_cut_takes_the_threshold_from_validation_and_applies_it_to_the_test_scores():
    from types import SimpleNamespace

    from tinyad.bench.bert_transfer import validation_cut

    # validation: the top 3 of 10 are the anomalies, so any cut in [0.6, 0.7) has F1 1
    validation = {"scores": np.arange(10) / 10, "labels": np.array([0] * 7 + [1] * 3)}
    calls = []

    def validator(model, standardizer, with_report=False, smoothing=None):
        calls.append((model, standardizer, with_report, smoothing))
        return validation

    recipe = SimpleNamespace(validator=validator, ensemble=["m"], ft_standardizer="std", chosen_smoothing=5,
                             final_ft={"scores": np.array([0.65, 0.69, 0.2, 0.8]), "labels": np.array([1, 0, 0, 1]),
                                       "part_starts": []})
    result = validation_cut(recipe)
    assert calls == [(["m"], "std", True, 5)]  # the kept ensemble, its smoothing
    assert result["validation_f1"] == pytest.approx(1.0)
    assert 0.6 <= result["raw"]["threshold"] < 0.65
    # test: 0.65, 0.69 and 0.8 flagged -> TP 2, FP 1: P 2/3, R 1, F1 0.8; 3 of 4 steps flagged
    assert result["raw"]["precision"] == pytest.approx(2 / 3) and result["raw"]["recall"] == pytest.approx(1.0)
    assert result["raw"]["f1"] == pytest.approx(0.8) and result["raw"]["flagged_rate"] == pytest.approx(0.75)
    assert result["adjusted"]["f1"] == pytest.approx(0.8)
    # Point adjustment stays inside each test copy: steps 0-1 are labeled, but a copy begins at step 1, so
    # flagging step 1 adjusts only its own copy's event (R 0.5, F1 2/3), not step 0's (R 1 over the seam).
    recipe.final_ft = {"scores": np.array([0.2, 0.65, 0.1, 0.1]), "labels": np.array([1, 1, 0, 0]),
                       "part_starts": [1]}
    result = validation_cut(recipe)
    assert result["raw"]["recall"] == pytest.approx(0.5)
    assert result["adjusted"]["recall"] == pytest.approx(0.5) and result["adjusted"]["f1"] == pytest.approx(2 / 3)
    recipe.final_ft["part_starts"] = []
    assert validation_cut(recipe)["adjusted"]["f1"] == pytest.approx(1.0)
