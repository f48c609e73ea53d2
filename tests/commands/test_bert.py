"""`tinyad bert load-bms / train / evaluate` end to end on a tiny generic CSV (seconds, tiny preset)."""

import json

import numpy as np
import pandas as pd

from tinyad.cli import main


def write_telemetry(path, steps=300, gap_at=None):
    t = np.arange(steps) * 10.0
    frame = pd.DataFrame({"t": t, "volts": 3.3 + 0.1 * np.sin(t / 300.0), "amps": np.cos(t / 200.0)})
    if gap_at is not None:
        frame = frame.drop(index=range(gap_at, gap_at + 20))
    frame.to_csv(path, index=False)
    return path


def test_load_bms_reports_gaps_and_writes_parquet(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", gap_at=100)
    out = tmp_path / "tidy.parquet"
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 gap(s)" in text and "20 step(s) split" in text and "280 rows x 2 channels" in text
    from tinyad.battery.bms import read_tidy

    assert read_tidy(out).frame["segment"].max() == 1


def test_load_bms_needs_exactly_one_source(tmp_path, capsys):
    assert main(["bert", "load-bms", "-o", str(tmp_path / "x.parquet")]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_train_then_evaluate(tmp_path, capsys):
    tidy = tmp_path / "tidy.parquet"
    main(["bert", "load-bms", "--input", str(write_telemetry(tmp_path / "in.csv", 400)), "--time-column", "t",
          "-o", str(tidy)])
    run = tmp_path / "run"
    code = main(["bert", "train", "--dataset", str(tidy), "--out", str(run), "--preset", "tiny", "--max_steps",
                 "4", "--checkpoint_every", "2", "--batch_size", "4", "--window_sliding", "8"])
    assert code == 0
    text = capsys.readouterr().out
    assert "step      2" in text and "step      4" in text and (run / "history.png").is_file()
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--seeds", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= result["score"] <= 1.0 and "f1" in result and "vus_pr" in result


def test_train_rejects_overlapping_ranges(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 400)
    csv.write_text(csv.read_text().replace("t,volts", "time,volts", 1))  # the default time column name
    code = main(["bert", "train", "--dataset", str(csv), "--out", str(tmp_path / "r"), "--preset", "tiny",
                 "--train-range", "0:0.8", "--eval-range", "0.7:1"])
    assert code == 2 and "overlaps" in capsys.readouterr().err


def test_train_offers_every_model_preset_and_nothing_else():
    from tinyad.bert.model import PRESETS
    from tinyad.commands.bert import bert

    preset_option = next(p for p in bert.commands["train"].params if p.name == "preset")
    assert sorted(preset_option.type.choices) == sorted(PRESETS)
