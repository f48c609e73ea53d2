"""tinyad.bert.score_telemetry: what `bert score` writes, on hand-made scores (scoring itself: commands/test_bert)."""

import json

import numpy as np
import pandas as pd

from tinyad.battery.bms import SEGMENT_COLUMN, TIME_COLUMN, Telemetry
from tinyad.bert.score_telemetry import ScoredTelemetry, score_summary, write_scores_csv, write_summary


def _scored(time_zone=""):
    frame = pd.DataFrame({TIME_COLUMN: pd.date_range("2024-01-01", periods=6, freq="10s"),
                          "v": np.arange(6.0), SEGMENT_COLUMN: 0})
    data = Telemetry(frame, ["v"], 10.0, "rack.parquet", time_zone=time_zone)
    times = frame[TIME_COLUMN].dt.tz_localize(time_zone) if time_zone else frame[TIME_COLUMN]
    scores = np.array([0.1, 0.9, 0.2, 0.3, 0.8, 0.7])
    flags = scores > 0.5
    return ScoredTelemetry(data, times, scores, 0.5, flags, [(1, 2), (4, 6)], [(1, 2), (4, 6)],
                           np.array([False, True, False, False, False, False]), 400, 4, 0.001, "normal.parquet",
                           "99.9% quantile of the reference's scores")


def test_episodes_are_listed_highest_peak_first():
    scored = _scored()
    assert scored.highest_episodes() == [(1, 2), (4, 6)]  # peaks 0.9 and 0.8
    assert scored.highest_episodes(1) == [(1, 2)]
    assert scored.zone_text == "times as written in the data, no time zone given"
    assert _scored("UTC").zone_text == "times in UTC"


def test_the_scores_csv_and_summary_say_what_was_cut_with_what(tmp_path):
    scored = _scored("UTC")
    write_scores_csv(scored, tmp_path / "scores.csv")
    table = pd.read_csv(tmp_path / "scores.csv")
    assert table.columns.tolist() == ["time", "score", "alarm", "interpolated"]
    assert table["time"].iloc[1] == "2024-01-01 00:00:10+00:00"  # the zone kept: not mistaken for local time
    assert table["alarm"].tolist() == [0, 1, 0, 0, 1, 1] and table["interpolated"].tolist() == [0, 1, 0, 0, 0, 0]
    summary = score_summary(scored, "week.csv", "runs/rack2", "ab" * 32, 16, None)
    write_summary(summary, tmp_path / "summary.json")
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["cut"] == "reference" and saved["reference"] == "normal.parquet" and saved["threshold"] == 0.5
    assert (saved["steps"], saved["alarm_steps"], saved["alarms"], saved["interpolated_steps"]) == (6, 3, True, 1)
    assert saved["episodes"] == [
        {"start": "2024-01-01 00:00:10+00:00", "end": "2024-01-01 00:00:10+00:00", "peak_score": 0.9},
        {"start": "2024-01-01 00:00:40+00:00", "end": "2024-01-01 00:00:50+00:00", "peak_score": 0.8}]
    assert (saved["checkpoint_sha256"], saved["window_sliding"], saved["step"]) == ("ab" * 32, 16, 400)
