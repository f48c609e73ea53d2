"""Split 6 of the battery transfer benchmark (split 5's recipe on racks 1, 4, 5): the block rule on the real
racks, the source racks, the refusal of a target that is also a source, and a quick run."""

import pytest

from tinyad.bench.bert_transfer_rack3 import deepest_discharge_blocks, target_rack_split
from tinyad.bench.bert_transfer_replicate import TARGET_RACKS, _racks_text, run, source_racks_for
from tinyad.errors import InputError


def test_rack_lists_read_as_prose():
    assert (_racks_text([]), _racks_text([4]), _racks_text((4, 5))) == ("no rack", "rack 4", "racks 4, 5")


def test_source_racks_are_every_other_rack():
    assert source_racks_for(1) == (2, 3, 4, 5) and source_racks_for(4) == (1, 2, 3, 5)


@pytest.mark.parametrize("rack, expected", [(1, (0, 2, 4)), (3, (1, 3, 5)), (4, (1, 3, 5)), (5, (1, 3, 5))])
def test_deepest_discharge_rule_puts_the_largest_cell_voltage_difference_in_training(shared_data, rack, expected):
    from tinyad.battery.bms import load_ess_lfp
    from tinyad.bench.bert_transfer import _ess_root, block_bounds

    target = load_ess_lfp(_ess_root(), rack)
    assert deepest_discharge_blocks(target) == expected
    peaks = [target.between(a, b).frame["voltage_diff_mv"].max() for a, b in block_bounds(target)]
    assert max(peaks[k] for k in expected) == max(peaks)


def test_a_target_that_is_also_a_source_is_refused(shared_data, tmp_path):
    with pytest.raises(InputError, match="both the target and a source"):
        target_rack_split(tmp_path, 32, target_rack=4, source_racks=(1, 4))


def test_quick_run_scores_each_fresh_rack_with_its_own_blocks(shared_data, tmp_path):
    assert TARGET_RACKS == (1, 4, 5)
    racks = (1, 4)  # the two block assignments; rack 5 runs only in the benchmark (time)
    result = run(quick=True, out_dir=tmp_path, target_racks=racks)
    figures = result.figures
    assert figures["quick"] and figures["test_labels_used_for_any_choice"] is False
    assert figures["target_racks"] == [1, 4]
    per_rack = figures["per_rack"]
    assert per_rack["1"]["train_blocks"] == [0, 2, 4] and per_rack["4"]["train_blocks"] == [1, 3, 5]
    for rack in racks:
        figs = per_rack[str(rack)]
        assert figs["pretrain_racks"] == list(source_racks_for(rack))
        assert figs["finetune_rows"] + figs["validation_rows"] == figs["scratch_rows"]
        assert 0.0 <= figs["finetuned_score"] <= 1.0
        assert (tmp_path / f"rack{rack}" / f"score_vs_steps_rack{rack}.png").stat().st_size > 0
    assert figures["median_finetuned_score"] == pytest.approx(
        (per_rack["1"]["finetuned_score"] + per_rack["4"]["finetuned_score"]) / 2)
    assert "Split 6" in result.markdown and "#### Target rack 4" in result.markdown
    assert "Median over racks 1, 4:" in result.markdown
    for rack in racks:  # beside seed 0's crossing, where the kept (validation-chosen) model stands
        figs = per_rack[str(rack)]
        side = "at or above" if figs["finetuned_score"] >= figs["scratch_last5_median_score"] else "below"
        assert f"the kept model's {figs['finetuned_score']:.3f} is {side} it" in result.markdown
        # the same model at a cut fixed on its rack's validation set (reporting only)
        flagged, f1 = figs["validation_cut_flagged_rate"], figs["validation_cut_f1"]
        at_cut = f"flags {flagged:.1%} of the test steps: F1 {f1:.3f}"
        assert at_cut in result.markdown
    assert figures["median_validation_cut_f1"] == pytest.approx(
        (per_rack["1"]["validation_cut_f1"] + per_rack["4"]["validation_cut_f1"]) / 2)
    meeting_f1 = result.markdown.split("F1 >= 0.80 on ")[1].split(";")[0]
    meeting = figures["racks_meeting_f1"]  # prose, not a Python list
    assert meeting_f1 == {0: "no rack", 1: f"rack {meeting[0]}" if meeting else ""}.get(
        len(meeting), "racks " + ", ".join(map(str, meeting)))
