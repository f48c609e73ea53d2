"""tinyad.bert.evaluate: data in a checkpoint's channels (scoring: test_selection.py and commands/test_bert.py)."""

import pandas as pd
import pytest

from tinyad.battery.bms import SEGMENT_COLUMN, TIME_COLUMN, Telemetry
from tinyad.bert.evaluate import in_checkpoint_channels
from tinyad.errors import InputError


def _tidy(channels):
    frame = pd.DataFrame({TIME_COLUMN: pd.date_range("2024-01-01", periods=3, freq="10s"),
                          **{name: [float(i)] * 3 for i, name in enumerate(channels)}, SEGMENT_COLUMN: 0})
    return Telemetry(frame, list(channels), 10.0, "rack.parquet")


def test_data_take_the_checkpoints_channels_in_its_order_or_are_refused_with_a_hint():
    data, note = in_checkpoint_channels(["v", "i"], _tidy(["i", "v"]))
    assert data.channels == ["v", "i"] and data.values()[0].tolist() == [1.0, 0.0] and note is None
    data, note = in_checkpoint_channels(["v", "i"], _tidy(["i", "t", "v"]))  # an export that grew a column
    assert data.channels == ["v", "i"] and note == "rack.parquet: channels not used by the checkpoint: t"
    with pytest.raises(InputError, match=r"week.csv has channels \['v', 'x'\], the checkpoint \['v', 'i'\]") as refused:
        in_checkpoint_channels(["v", "i"], _tidy(["v", "x"]), "week.csv")
    assert refused.value.hint.startswith("if they are the same signal named otherwise, rename 'x' -> 'i'")


def _hours(n, start="2024-01-01", values=None):
    frame = pd.DataFrame({TIME_COLUMN: pd.date_range(start, periods=n, freq="1h"),
                          "v": values if values is not None else [float(i) for i in range(n)], SEGMENT_COLUMN: 0})
    return Telemetry(frame, ["v"], 3600.0, "rack.parquet")


def test_held_out_check_warns_of_trained_steps_and_notes_another_evaluation_range():
    from tinyad.bert.evaluate import held_out_check

    data = _hours(10)  # v = 0 .. 9 at 00:00 .. 09:00
    probe = {"rows": [["2024-01-01 01:00:00", 1.0]], "span": ["2024-01-01 00:00:00", "2024-01-01 05:00:00"],
             "range": [0.0, 0.6], "eval_range": [0.6, 1.0]}
    overlapping = data.time_slice(0.5, 1.0)  # from 04:30: 05:00 .. 09:00, one of them (05:00) trained on
    warnings, note = held_out_check({"probe": probe}, data, overlapping, (0.5, 1.0), "0.5:1", "rack.parquet")
    assert warnings == ["the range 0.5:1 of rack.parquet holds 1 steps the checkpoint was trained on (its training "
                        "span 2024-01-01 00:00:00 .. 2024-01-01 05:00:00): these numbers are not held out; pick a "
                        "range after the training one"] and note is None
    later = data.time_slice(0.7, 1.0)  # 06:30 on: held out, but not the range the run evaluated on
    assert held_out_check({"probe": probe}, data, later, (0.7, 1.0), "0.7:1", "rack.parquet") == (
        [], "the training run evaluated its checkpoints on the range [0.6, 1.0] of its data (trained on "
            "[0.0, 0.6]); this is 0.7:1")
    assert held_out_check({"probe": probe}, data, data.time_slice(0.6, 1.0), (0.6, 1.0), "0.6:1", "x") == ([], None)
    # another rack at the same times (other values): the probe rows are not there, nothing was trained on
    other = _hours(10, values=[100.0 + i for i in range(10)])
    assert held_out_check({"probe": probe}, other, other.time_slice(0.0, 1.0), (0.0, 1.0), "0:1", "b") == ([], None)
    # the checkpoint this one was fine-tuned from trained on it: said so
    warnings, _ = held_out_check({"probe": None, "earlier_probes": [probe]}, data, overlapping, (0.5, 1.0), "0.5:1",
                                 "rack.parquet")
    assert "the checkpoint was pre-trained (before fine-tuning) on" in warnings[0]


def test_one_probe_row_alike_is_no_proof_of_the_trained_data():
    from tinyad.bert.train import holds_the_trained_data

    probe = {"rows": [[f"2024-01-01 0{h}:00:00", float(h)] for h in range(4)]}  # v = hour, 00:00 .. 03:00
    assert holds_the_trained_data(_hours(10), probe)  # all four there, alike
    # another signal on the same clock: only 00:00 (v 0) alike
    assert not holds_the_trained_data(_hours(10, values=[0.0] + [50.0 + i for i in range(9)]), probe)
    # half alike is enough (a probe row edited since, a value the export rounded)
    assert holds_the_trained_data(_hours(10, values=[0.0, 1.0, 77.0, 78.0] + [4.0 + i for i in range(6)]), probe)
    assert not holds_the_trained_data(_hours(10), {"rows": []}) and not holds_the_trained_data(_hours(10), None)
