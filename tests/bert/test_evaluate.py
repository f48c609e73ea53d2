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
