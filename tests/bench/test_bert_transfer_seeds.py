"""The training-seed spread benchmark: seed sets, the spread figures, and a quick run's wiring."""

import numpy as np
import pytest

from tinyad.bench.bert_transfer import training_seeds
from tinyad.bench.bert_transfer_seeds import SEED_SETS, TARGET_RACK, run, spread


def test_training_seed_sets_never_share_a_fine_tuning_seed():
    assert training_seeds(0) == (0, (0, 1, 2))  # the benchmarks' seeds
    assert training_seeds(1) == (1, (3, 4, 5)) and training_seeds(3) == (3, (9, 10, 11))
    used = [seed for k in SEED_SETS for seed in training_seeds(k)[1]]
    assert len(used) == len(set(used))
    with pytest.raises(ValueError, match=">= 0"):
        training_seeds(-1)


def test_spread_is_median_min_max_and_range():
    assert spread([0.8, 0.7, 0.9, 0.75]) == pytest.approx(
        {"median": 0.775, "min": 0.7, "max": 0.9, "range": 0.2})
    assert spread([0.5]) == pytest.approx({"median": 0.5, "min": 0.5, "max": 0.5, "range": 0.0})


def test_quick_run_trains_each_seed_set_on_the_same_data(shared_data, tmp_path):
    from tinyad.bert.train import load_checkpoint

    assert TARGET_RACK == 4 and SEED_SETS == (0, 1, 2, 3)
    result = run(quick=True, out_dir=tmp_path, seed_sets=(0, 1))
    figures = result.figures
    assert figures["quick"] and figures["test_labels_used_for_any_choice"] is False
    per_set = figures["per_set"]
    assert per_set["1"]["base_seed"] == 1 and per_set["1"]["finetune_seeds"] == [3, 4, 5]
    for k, seeds in ((0, (0, 1, 2)), (1, (3, 4, 5))):
        for seed in seeds:
            assert (tmp_path / f"seed_set_{k}" / f"rack4_finetune_seed{seed}" / "history.json").is_file()
    # Different seeds train different weights from the same rows.
    weights = [load_checkpoint(tmp_path / f"seed_set_{k}" / "racks_pretrain").model.get_weights()[0] for k in (0, 1)]
    assert weights[0].shape == weights[1].shape and not np.array_equal(weights[0], weights[1])
    f1s = [per_set[k]["finetuned_f1"] for k in ("0", "1")]
    assert figures["spread"]["finetuned_f1"] == pytest.approx(
        {"median": np.mean(f1s), "min": min(f1s), "max": max(f1s), "range": max(f1s) - min(f1s)})
    assert figures["sets_meeting_f1"] == [k for k in (0, 1) if per_set[str(k)]["finetuned_f1"] >= 0.80]
    prose = " ".join(result.markdown.split())
    assert f"F1 spans {min(f1s):.3f}-{max(f1s):.3f}" in prose
    assert "fine-tuning seeds 3k, 3k+1, 3k+2; set 0 is split 6's run" in prose
