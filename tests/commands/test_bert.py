"""`tinyad bert load-bms / train / evaluate` end to end on a tiny generic CSV (seconds, tiny preset)."""

import json
import shutil

import numpy as np
import pytest
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


def test_load_bms_start_and_end_keep_a_time_range(tmp_path, capsys):
    from tinyad.battery.bms import read_tidy

    csv = write_telemetry(tmp_path / "in.csv", gap_at=100)  # seconds from 0, a row every 10 s: 00:10 is row 60
    out = tmp_path / "cut.parquet"
    # rows 60..239 (00:40 excluded), less the 20 missing from row 100
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--start", "1970-01-01 00:10",
                 "--end", "1970-01-01 00:40", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    tidy = read_tidy(out)
    assert tidy.frame["time"].iloc[0] == pd.Timestamp("1970-01-01 00:10") and len(tidy.frame) == 240 - 60 - 20
    assert tidy.frame["time"].iloc[-1] == pd.Timestamp("1970-01-01 00:39:50")
    assert "1 gap(s): 0 step(s) interpolated, 20 dropped" in text and "160 rows x 2 channels" in text
    assert "kept the rows from 1970-01-01 00:10:00 to 1970-01-01 00:39:50 (160 of 280 grid rows)" in text
    assert tidy.gaps.notes[-1].startswith("kept the rows from")  # the written file says it was cut
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--start", "soon", "-o",
                 str(out)]) == 2
    assert "--start 'soon' is not a time" in capsys.readouterr().err
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--start", "1971-01-01", "-o",
                 str(out)]) == 2
    assert "hint: its rows run from 1970-01-01 00:00:00 to 1970-01-01 00:49:50\n" in capsys.readouterr().err
    # epoch times are in UTC: a bound with an offset is converted (22:10+02:00 is 20:10 UTC, 60 rows in)
    epoch = tmp_path / "epoch.csv"
    pd.DataFrame({"t": 1_623_355_200 + np.arange(300) * 10, "volts": np.linspace(3.2, 3.4, 300)}).to_csv(
        epoch, index=False)  # 2021-06-10 20:00 UTC on
    assert main(["bert", "load-bms", "--input", str(epoch), "--time-column", "t", "--start",
                 "2021-06-10 22:10+02:00", "-o", str(out)]) == 0
    capsys.readouterr()
    assert read_tidy(out).frame["time"].iloc[0] == pd.Timestamp("2021-06-10 20:10") and len(read_tidy(out).frame) == 240
    # times as written, zone unknown: an offset cannot be converted
    local = tmp_path / "local.csv"
    pd.DataFrame({"t": pd.date_range("2024-03-01", periods=50, freq="10s").strftime("%Y-%m-%d %H:%M:%S"),
                  "volts": np.linspace(3.2, 3.4, 50)}).to_csv(local, index=False)
    assert main(["bert", "load-bms", "--input", str(local), "--time-column", "t", "--start",
                 "2024-03-01 00:02+01:00", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has a zone, and this table's times have none" in err and "--start '2024-03-01 00:02'" in err


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
    assert 0.0 <= result["score"] <= 1.0 and 0.0 <= result["vus_pr"] <= 1.0
    # what was scored: the run's last checkpoint, on the default held-out range, one injected copy
    assert (result["checkpoint"], result["step"], result["range"], result["seeds"], result["anomaly_rate"]) == (
        str(run / "step_000004"), 4, [0.75, 1.0], 1, 0.08)
    # the figures are the method's definitions of one set of flags: score (P+R)/2, F1, MAR = 1 - recall
    p, r = result["precision"], result["recall"]
    assert result["score"] == pytest.approx((p + r) / 2) and result["mar"] == pytest.approx(1 - r)
    assert result["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    # the ceiling the cut puts on (P+R)/2 comes with the numbers, and the default range is held out
    assert result["score"] <= result["score_ceiling"] + 1e-12
    assert (result["held_out"], result["warnings"]) == (True, [])
    # the checkpoint records rows of its training range (0:0.75): evaluating on them is warned about
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--seeds", "1", "--range", "0.5:1"]) == 0
    captured = capsys.readouterr()
    assert "warning: the range 0.5:1 of" in captured.err and "these numbers are not held out" in captured.err
    # and so is a script reading --json: the warning is in the JSON, not only on stderr
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--seeds", "1", "--range", "0.5:1",
                 "--json"]) == 0
    overlapping = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert overlapping["held_out"] is False and "these numbers are not held out" in overlapping["warnings"][0]
    assert "steps the checkpoint was trained on (its training span" in captured.err
    # a held-out range other than the run's own: said, not warned
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--seeds", "1", "--range", "0.8:1"]) == 0
    captured = capsys.readouterr()
    assert ("evaluated its checkpoints on the range [0.75, 1.0] of its data (trained on [0.0, 0.75]); this is "
            "0.8:1" in captured.out) and "warning" not in captured.err
    # another rack at the same times: none of the recorded rows, no warning and no note
    other = tmp_path / "other.parquet"
    shifted = pd.read_csv(tmp_path / "in.csv").assign(volts=lambda f: f["volts"] + 0.01)
    shifted.to_csv(tmp_path / "other.csv", index=False)
    main(["bert", "load-bms", "--input", str(tmp_path / "other.csv"), "--time-column", "t", "-o", str(other)])
    capsys.readouterr()
    assert main(["bert", "evaluate", str(run), "--dataset", str(other), "--seeds", "1", "--range", "0:1"]) == 0
    captured = capsys.readouterr()
    assert "trained on" not in captured.err + captured.out
    # fine-tuned on the other rack: the first run's rows are still named, as pre-trained on
    tuned = tmp_path / "tuned"
    assert main(["bert", "train", "--dataset", str(other), "--checkpoint", str(run), "--out", str(tuned),
                 "--max_steps", "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range", "none"]) == 0
    capsys.readouterr()
    assert main(["bert", "evaluate", str(tuned), "--dataset", str(tidy), "--seeds", "1", "--range", "0:0.5"]) == 0
    assert "steps the checkpoint was pre-trained (before fine-tuning) on" in capsys.readouterr().err
    # a weights file given as the checkpoint: named as such, with the folder to give
    weights = next(run.glob("step_*/model.weights.h5"))
    assert main(["bert", "evaluate", str(weights), "--dataset", str(tidy)]) == 2
    assert "a file, not a checkpoint directory" in capsys.readouterr().err


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


def _tiny_run(tmp_path, steps, gap_at=None):
    """(tidy Parquet of `steps` rows, 20 fewer with a gap, and a run directory with one tiny checkpoint trained
    on it for 2 steps)."""
    tidy = tmp_path / "tidy.parquet"
    main(["bert", "load-bms", "--input", str(write_telemetry(tmp_path / "in.csv", steps, gap_at)), "--time-column",
          "t", "-o", str(tidy)])
    run = tmp_path / "run"
    assert main(["bert", "train", "--dataset", str(tidy), "--out", str(run), "--preset", "tiny", "--max_steps",
                 "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range", "none"]) == 0
    return tidy, run


def test_score_real_telemetry_writes_scores_at_the_quantile_cut(tmp_path, capsys):
    from tinyad.battery.bms import read_tidy
    from tinyad.bert.evaluate import score_series
    from tinyad.bert.train import load_checkpoint

    tidy, run = _tiny_run(tmp_path, 420, gap_at=250)
    capsys.readouterr()
    out = tmp_path / "scored"
    assert main(["bert", "score", str(run), "--dataset", str(tidy), "--window_sliding", "8", "--anomaly-rate",
                 "0.1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 400 and (out / "scores.png").read_bytes()[:4] == b"\x89PNG"
    # the scores are the checkpoint's on its standardized channels, each side of the gap scored on its own
    checkpoint = load_checkpoint(run)
    values = read_tidy(tidy).values()
    assert checkpoint.config.window < 250  # so a window could have crossed the gap
    expected = np.concatenate([
        score_series(checkpoint.model, checkpoint.standardizer.apply(part), checkpoint.config.window, 8)
        for part in (values[:250], values[250:])])
    np.testing.assert_allclose(scores["score"], expected, rtol=1e-6)
    threshold = np.quantile(expected, 0.9)
    assert (scores["alarm"] == (expected > threshold)).all() and scores["alarm"].mean() <= 0.1
    assert f"above the 90% quantile ({threshold:.3f})" in printed and "by construction" in printed
    # a range is cut out of the whole data's scores: its edges are judged with the data around them
    ranged = tmp_path / "ranged"
    assert main(["bert", "score", str(run), "--dataset", str(tidy), "--window_sliding", "8", "--anomaly-rate",
                 "0.1", "--range", "0.3:0.7", "--out", str(ranged)]) == 0
    part = pd.read_csv(ranged / "scores.csv")
    rows = scores["time"].isin(part["time"]).to_numpy()
    assert 100 < len(part) == rows.sum() < 400
    np.testing.assert_allclose(part["score"], expected[rows], rtol=1e-6)
    cut = np.quantile(expected[rows], 0.9)  # the cut ranks the range's own scores
    assert (part["alarm"] == (expected[rows] > cut)).all()


def test_score_refuses_telemetry_with_other_channels(tmp_path, capsys):
    _, run = _tiny_run(tmp_path, 300)
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(write_telemetry(tmp_path / "in2.csv", 300)).rename(columns={"amps": "celsius"}).to_csv(
        renamed, index=False)
    other = tmp_path / "other.parquet"
    main(["bert", "load-bms", "--input", str(renamed), "--time-column", "t", "-o", str(other)])
    capsys.readouterr()
    assert main(["bert", "score", str(run), "--dataset", str(other), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "the checkpoint ['volts', 'amps']" in err and "fine-tune" in err
    # amps renamed celsius: maybe the same signal under another name, which a rename fixes without training
    assert "rename 'celsius' -> 'amps' in the data; else fine-tune" in err
    assert not (tmp_path / "x").exists()  # nothing written for a refused file


def test_score_with_a_reference_sets_the_cut_on_known_normal_telemetry(tmp_path, capsys):
    from tinyad.battery.bms import read_tidy
    from tinyad.bert.evaluate import score_series
    from tinyad.bert.train import load_checkpoint

    reference, run = _tiny_run(tmp_path, 400)
    shifted = tmp_path / "shifted.csv"
    frame = pd.read_csv(write_telemetry(tmp_path / "in2.csv", 400))
    frame.loc[200:230, "amps"] += 3.0
    frame.to_csv(shifted, index=False)
    new = tmp_path / "new.parquet"
    main(["bert", "load-bms", "--input", str(shifted), "--time-column", "t", "-o", str(new)])
    capsys.readouterr()
    out = tmp_path / "scored"
    assert main(["bert", "score", str(run), "--dataset", str(new), "--reference", str(reference),
                 "--window_sliding", "8", "--anomaly-rate", "0.01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    checkpoint = load_checkpoint(run)

    def scores_of(path):
        values = checkpoint.standardizer.apply(read_tidy(path).values())
        return score_series(checkpoint.model, values, checkpoint.config.window, 8)

    threshold = np.quantile(scores_of(reference), 0.99)  # the reference's, not the scored file's own
    assert not np.isclose(threshold, np.quantile(scores_of(new), 0.99))
    scores = pd.read_csv(out / "scores.csv")
    assert (scores["alarm"] == (scores_of(new) > threshold)).all()
    assert f"quantile of the reference's scores ({threshold:.3f})" in printed and "by construction" not in printed
    # the default rates: 0.1 % false alarms with a reference, the method's 8 % without
    for extra, cut in ((["--reference", str(reference)], "99.9% quantile of the reference's"), ([], "92% quantile (")):
        assert main(["bert", "score", str(run), "--dataset", str(new), "--out", str(out), *extra]) == 0
        assert cut in capsys.readouterr().out


def test_a_reference_cut_is_reused_from_its_summary_without_scoring_the_reference_again(tmp_path, capsys):
    reference, run = _tiny_run(tmp_path, 400)
    frame = pd.read_csv(write_telemetry(tmp_path / "in2.csv", 400))
    frame.loc[200:230, "amps"] += 3.0
    frame.to_csv(tmp_path / "shifted.csv", index=False)
    new = tmp_path / "new.parquet"
    main(["bert", "load-bms", "--input", str(tmp_path / "shifted.csv"), "--time-column", "t", "-o", str(new)])
    first, nightly = tmp_path / "first", tmp_path / "nightly"
    score = ["bert", "score", str(run), "--dataset", str(new), "--window_sliding", "8"]
    assert main(score + ["--reference", str(reference), "--anomaly-rate", "0.01", "--out", str(first)]) == 0
    saved = json.loads((first / "summary.json").read_text())
    assert (saved["cut"], saved["reference"], saved["window_sliding"]) == ("reference", str(reference), 8)
    shutil.copytree(first, nightly)
    capsys.readouterr()
    # twice: the job keeps its cut in the folder it writes, and each run's summary carries it on
    for _ in range(2):
        assert main(score + ["--threshold-from", str(nightly / "summary.json"), "--out", str(nightly)]) == 0
        again = json.loads((nightly / "summary.json").read_text())
        assert (again["threshold"], again["anomaly_rate"], again["reference"], again["cut"]) == (
            saved["threshold"], 0.01, str(reference), "reference")
        assert again["threshold_from"] == str(nightly / "summary.json")
        assert (pd.read_csv(nightly / "scores.csv")["alarm"] == pd.read_csv(first / "scores.csv")["alarm"]).all()
    assert f"saved in {nightly / 'summary.json'}) ({saved['threshold']:.3f})" in capsys.readouterr().out

    def refused(args, message):
        assert main(score + args + ["--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err

    reuse = ["--threshold-from", str(first / "summary.json")]
    refused(reuse + ["--reference", str(reference)], "--threshold-from and --reference both set the cut")
    refused(reuse + ["--window_sliding", "16"], "the cut was set with --window_sliding 8, this run uses 16")
    assert main(score + ["--out", str(tmp_path / "within")]) == 0  # the method's cut, ranked within the data
    refused(["--threshold-from", str(tmp_path / "within" / "summary.json")], "its cut was not set on a reference")
    (tmp_path / "other.json").write_text(json.dumps({**saved, "checkpoint_sha256": "0" * 64}))
    refused(["--threshold-from", str(tmp_path / "other.json")], "the cut was set with other weights")
    refused(["--threshold-from", str(tmp_path / "missing.json")], "cannot read a `bert score` summary")
    from tinyad.bert.train import WEIGHTS_FILE, resolve_checkpoint

    (resolve_checkpoint(run) / WEIGHTS_FILE).unlink()  # a damaged checkpoint: named as such, not hashed
    refused(reuse, f"{WEIGHTS_FILE}: cannot load weights")


def test_evaluate_injects_and_scores_each_segment_apart(tmp_path, capsys):
    from tinyad.battery.bms import read_tidy
    from tinyad.bert.evaluate import CheckpointEvaluator
    from tinyad.bert.train import load_checkpoint

    tidy, run = _tiny_run(tmp_path, 620, gap_at=300)
    capsys.readouterr()
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--range", "0:1", "--seeds", "1",
                 "--window_sliding", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    checkpoint, data = load_checkpoint(run), read_tidy(tidy)
    segments = data.segments()
    assert [len(s) for s in segments] == [300, 300]

    def evaluated(held_out):
        return CheckpointEvaluator(held_out, 8, range(1))(checkpoint.model, checkpoint.standardizer)

    apart, joined = evaluated(segments), evaluated(data.values())
    assert result["score"] == apart["score"] and result["auc_pr"] == apart["auc_pr"]
    assert (apart["auc_pr"], apart["score"]) != (joined["auc_pr"], joined["score"])  # the seam used to count


TINY = ["--preset", "tiny", "--checkpoint_every", "2", "--batch_size", "4", "--window_sliding", "8"]


def test_train_refuses_a_used_out_folder_and_overwrite_removes_only_the_old_run(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 400, gap_at=150)
    csv.write_text(csv.read_text().replace("t,volts", "time,volts", 1))
    run = tmp_path / "run"
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(run), "--max_steps", "4", *TINY]) == 0
    printed = capsys.readouterr().out
    # a raw CSV: the gap report is shown and kept in the run's notes, and the sampling period is recorded
    assert "note: " in printed and "20 step(s) split" in printed
    meta = json.loads((run / "step_000004" / "config.json").read_text())
    assert meta["period_s"] == 10.0 and any("20 step(s) split" in n for n in meta["train"]["notes"])
    assert "first checkpoint with unadjusted (P+R)/2 >= 0.90" in printed
    (run / "mine.txt").write_text("keep")
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(run), "--max_steps", "2", *TINY]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(run), "--checkpoint", str(run),
                 "--overwrite", "--max_steps", "2"]) == 2
    assert "inside --out" in capsys.readouterr().err and (run / "step_000004").is_dir()  # nothing removed
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(run), "--overwrite", "--max_steps", "2",
                 *TINY]) == 0
    assert sorted(p.name for p in run.iterdir()) == ["history.json", "history.png", "mine.txt", "step_000002"]
    capsys.readouterr()
    # fine-tuning prints no 'nan' for step 0's loss
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(tmp_path / "ft"), "--checkpoint", str(run),
                 "--max_steps", "2", "--checkpoint_every", "2", "--batch_size", "4", "--window_sliding", "8"]) == 0
    printed = capsys.readouterr().out
    assert "step      0  loss -  score" in printed and "nan" not in printed
    # step 0 says it is the loaded weights in this data's standardization (bert evaluate keeps the checkpoint's)
    step_0 = next(line for line in printed.splitlines() if line.startswith("step      0"))
    assert step_0.endswith("(the loaded weights before any update, standardized on this data)")
    assert "before any update" not in next(line for line in printed.splitlines() if line.startswith("step      2"))


def test_ctrl_c_during_training_keeps_the_history_and_names_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    from tinyad.bert import train as train_module

    tidy = tmp_path / "tidy.parquet"
    main(["bert", "load-bms", "--input", str(write_telemetry(tmp_path / "in.csv", 300)), "--time-column", "t",
          "-o", str(tidy)])
    real, calls = train_module.synthesize_batch, []

    def interrupted_on_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "synthesize_batch", interrupted_on_the_third_batch)
    run = tmp_path / "run"
    assert main(["bert", "train", "--dataset", str(tidy), "--out", str(run), "--max_steps", "10", *TINY]) == 130
    captured = capsys.readouterr()
    assert "step      2  loss" in captured.out  # printed as each checkpoint is done
    assert str(run / "step_000002") in captured.err and "--checkpoint" in captured.err
    assert [row["step"] for row in json.loads((run / "history.json").read_text())] == [2]
    assert (run / "history.png").is_file()


@pytest.mark.parametrize("options, message", [
    (["--soft_replacing", "0", "--uniform_replacing", "0", "--peak_noising", "0"], "no synthetic outlier"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--window_sliding", "0"], "--window_sliding must be >= 1"),
])
def test_train_refuses_degenerate_options_before_creating_the_run_folder(tmp_path, capsys, options, message):
    csv = write_telemetry(tmp_path / "in.csv", 100)
    run = tmp_path / "run"
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(run), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and "hint: see" not in err  # a hint of its own
    assert not run.exists()


def test_train_on_a_csv_without_the_time_column_names_load_bms(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 100)  # its time column is 't'
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(tmp_path / "run")]) == 2
    assert "tinyad bert load-bms --input" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_evaluate_refuses_a_range_shorter_than_a_window_and_json_has_the_suite(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)
    capsys.readouterr()
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--range", "0.95:1"]) == 2
    err = capsys.readouterr().err
    assert "no contiguous run of 32 steps" in err and "widen --range" in err
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--range", "0.5:1", "--seeds", "1",
                 "--window_sliding", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"far", "mar", "roc_auc"} <= set(result) and result["step"] == 2 and result["range"] == [0.5, 1.0]


def test_load_bms_says_which_epoch_unit_it_assumed_and_reads_day_first_dates(tmp_path, capsys):
    csv = tmp_path / "ms.csv"
    pd.DataFrame({"t": 1_623_355_200_000 + np.arange(50) * 10_000, "a": np.arange(50) + 0.5}).to_csv(csv, index=False)
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "-o",
                 str(tmp_path / "ms.parquet")]) == 0
    assert "note: time column 't' holds numbers: read as milliseconds" in capsys.readouterr().out
    dates = tmp_path / "dates.csv"
    times = pd.date_range("2021-06-10 20:00", periods=30, freq="1h")
    pd.DataFrame({"time": times.strftime("%d/%m/%Y %H:%M"), "a": np.arange(30) + 0.5}).to_csv(dates, index=False)
    assert main(["bert", "load-bms", "--input", str(dates), "-o", str(tmp_path / "d.parquet")]) == 0
    text = capsys.readouterr().out  # only day-first is regular: read so, and said
    assert "0 gap(s)" in text and "note: dates like '10/06/2021 20:00' read day-first (10 June 2021)" in text
    from tinyad.battery.bms import read_tidy

    assert read_tidy(tmp_path / "d.parquet").frame["time"].tolist() == list(times)
    assert main(["bert", "load-bms", "--input", str(dates), "--monthfirst", "-o", str(tmp_path / "m.parquet")]) == 0
    assert "0 gap(s)" not in capsys.readouterr().out
    assert read_tidy(tmp_path / "m.parquet").frame["time"].iloc[0] == pd.Timestamp("2021-10-06 20:00")
    assert main(["bert", "load-bms", "--input", str(dates), "--dayfirst", "-o", str(tmp_path / "d.parquet")]) == 0
    assert "0 gap(s)" in capsys.readouterr().out
    assert main(["bert", "load-bms", "--rack", "1", "--monthfirst", "-o", str(tmp_path / "r.parquet")]) == 2
    assert "apply to --input only" in capsys.readouterr().err


def test_load_bms_leaves_an_empty_column_out_and_refuses_a_near_empty_table(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 300)
    frame = pd.read_csv(csv).assign(spare=np.nan)
    frame.to_csv(csv, index=False)
    out = tmp_path / "tidy.parquet"
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: column(s) spare left out: no values (every cell empty)" in text
    assert "300 rows x 2 channels: volts, amps" in text
    from tinyad.battery.bms import read_tidy

    np.testing.assert_allclose(read_tidy(out).frame["amps"], frame["amps"], rtol=1e-6)
    # named, the empty column is refused; a channel with 2 values in 300 rows leaves 2 rows: refused, no file
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--column", "volts", "--column",
                 "spare", "-o", str(tmp_path / "named.parquet")]) == 2
    err = capsys.readouterr().err
    assert "column 'spare' has no values" in err and "hint: leave it out of --column" in err
    frame.loc[[0, 150], "spare"] = 1.0
    frame.to_csv(csv, index=False)
    near_empty = tmp_path / "near_empty.parquet"
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "-o", str(near_empty)]) == 2
    err = capsys.readouterr().err
    assert "only 2 of 300 timed row(s) (0.67%) are left on the 10-s grid" in err and "'spare' has a value in 2" in err
    assert not near_empty.exists() and not (tmp_path / "named.parquet").exists()


def test_load_bms_refuses_decimal_commas_and_reads_them_with_decimal(tmp_path, capsys):
    csv = tmp_path / "euro.csv"
    csv.write_text("t;volts\n0;3,25\n10;3,5\n20;3,75\n")
    out = tmp_path / "euro.parquet"
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--column", "volts", "-o",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert "cells look like decimal commas ('3,25' in column 'volts')" in err and "--decimal ," in err
    assert not out.exists()
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "--decimal", ",", "-o",
                 str(out)]) == 0
    from tinyad.battery.bms import read_tidy

    assert read_tidy(out).frame["volts"].tolist() == [3.25, 3.5, 3.75]


def test_scores_plot_helpers_and_period_note():
    from tinyad.bert.plots import segment_bounds
    from tinyad.bert.train import period_note

    assert segment_bounds(np.array([0, 0, 1, 1, 1, 2])) == [(0, 2), (2, 5), (5, 6)]
    assert period_note({"period_s": 5.0}, 10.0, "x.csv").startswith("x.csv is sampled every 10 s")
    assert period_note({"period_s": 5.0}, 5.0, "x") is None and period_note({}, 10.0, "x") is None


def test_scores_plot_has_a_panel_per_channel_breaks_lines_at_gaps_and_widens_short_alarms(tmp_path, monkeypatch):
    import matplotlib.figure

    from tinyad.battery.bms import SEGMENT_COLUMN, TIME_COLUMN, Telemetry
    from tinyad.bert.plots import plot_scores

    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    n = 2000  # two segments of 1000 steps, 5 s apart within each, a 10-min hole between them
    time = pd.Series(pd.date_range("2021-06-10", periods=1000, freq="5s").append(
        pd.date_range("2021-06-10 01:33:20", periods=1000, freq="5s")))
    frame = pd.DataFrame({TIME_COLUMN: time, SEGMENT_COLUMN: np.repeat([0, 1], 1000),
                          "voltage_v": np.linspace(700, 800, n), "soc_pct": np.linspace(0, 100, n)})
    data = Telemetry(frame, ["voltage_v", "soc_pct"], 5.0, "two.csv", {"voltage_v": "V", "soc_pct": "%"})
    flags = np.zeros(n, bool)
    flags[1500] = True  # one step: 1/2000 of the x range unwidened
    plot_scores(data, np.linspace(0, 1, n), 0.9, flags, tmp_path / "scores.png")
    axes = figures[0].axes
    assert len(axes) == 3 and [a.get_ylabel() for a in axes] == ["voltage_v", "soc_pct [%]", "anomaly score"]
    for axis in axes:  # one line per segment (plus the cut in the score panel): the hole is never bridged
        segments = [line for line in axis.lines if not line.get_label().startswith("cut")]
        assert len(segments) == 2
        assert segments[0].get_xdata()[-1] < segments[1].get_xdata()[0]
    red = [p for p in axes[0].patches if p.get_facecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=1e-3)]
    assert len(red) == 1
    left, right = red[0].get_x(), red[0].get_x() + red[0].get_width()
    assert right - left >= 0.002 * n * 5 / 86400 * 0.99  # at least 0.2 % of the steps, in matplotlib day units


def test_score_marks_the_steps_the_loader_interpolated(tmp_path, capsys):
    # a 10-s grid with two rows missing at 1000 s and 1010 s: the default fill (60 s) interpolates them
    csv = write_telemetry(tmp_path / "in.csv", 300)
    frame = pd.read_csv(csv).drop(index=[100, 101])
    frame.to_csv(csv, index=False)
    tidy, run = tmp_path / "tidy.parquet", tmp_path / "run"
    assert main(["bert", "load-bms", "--input", str(csv), "--time-column", "t", "-o", str(tidy)]) == 0
    assert main(["bert", "train", "--dataset", str(tidy), "--out", str(run), "--preset", "tiny", "--max_steps",
                 "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range", "none"]) == 0
    capsys.readouterr()
    out = tmp_path / "scored"
    assert main(["bert", "score", str(run), "--dataset", str(tidy), "--out", str(out)]) == 0
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 300 and np.flatnonzero(scores["interpolated"]).tolist() == [100, 101]
    above = int(scores["alarm"][[100, 101]].sum())
    assert f"2 step(s) were interpolated over short gaps, {above} of them above the cut" in capsys.readouterr().out


def test_scores_plot_shades_interpolated_steps(tmp_path, monkeypatch):
    import matplotlib.figure

    from tinyad.battery.bms import SEGMENT_COLUMN, TIME_COLUMN, Gap, GapReport, Telemetry
    from tinyad.bert.plots import plot_scores

    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    time = pd.Series(pd.date_range("2021-06-10", periods=100, freq="5s"))
    frame = pd.DataFrame({TIME_COLUMN: time, SEGMENT_COLUMN: 0, "voltage_v": np.linspace(700, 800, 100)})
    filled = Gap(time[40].isoformat(), time[42].isoformat(), 3, "interpolated")
    data = Telemetry(frame, ["voltage_v"], 5.0, "x.csv", {}, GapReport(gaps=[filled]))
    assert np.flatnonzero(data.interpolated_rows()).tolist() == [40, 41, 42]
    plot_scores(data, np.zeros(100), 0.5, np.zeros(100, bool), tmp_path / "scores.png")
    blue = [p for p in figures[0].axes[0].patches if p.get_facecolor()[:3] == pytest.approx((0.122, 0.467, 0.706),
                                                                                            abs=1e-3)]
    assert len(blue) == 1  # from the measured step before the fill to the one after it
    assert blue[0].get_x() == pytest.approx(matplotlib.dates.date2num(time[39]))
    assert blue[0].get_x() + blue[0].get_width() == pytest.approx(matplotlib.dates.date2num(time[43]))
    assert figures[0].axes[-1].get_xlabel() == "time"  # zone unknown: no claim
    data.time_zone = "UTC"
    plot_scores(data, np.zeros(100), 0.5, np.zeros(100, bool), tmp_path / "scores.png")
    assert figures[1].axes[-1].get_xlabel() == "time (UTC)"


def test_score_says_utc_where_the_loader_converted_offsets(tmp_path, capsys):
    # times written at +01:00: the table holds UTC, and scores.csv and the episode lines say so
    csv = write_telemetry(tmp_path / "in.csv", 300)
    frame = pd.read_csv(csv)
    local = pd.Timestamp("2024-03-18 00:00", tz="Europe/Berlin") + pd.to_timedelta(frame.pop("t"), unit="s")
    frame.insert(0, "time", [t.isoformat() for t in local])
    frame.to_csv(csv, index=False)
    tidy, run = tmp_path / "tidy.parquet", tmp_path / "run"
    assert main(["bert", "load-bms", "--input", str(csv), "-o", str(tidy)]) == 0
    assert "times are converted to UTC" in capsys.readouterr().out
    assert main(["bert", "train", "--dataset", str(tidy), "--out", str(run), "--preset", "tiny", "--max_steps",
                 "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range", "none"]) == 0
    capsys.readouterr()
    out = tmp_path / "scored"
    assert main(["bert", "score", str(run), "--dataset", str(tidy), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    scores = pd.read_csv(out / "scores.csv")
    assert scores["time"].iloc[0] == "2024-03-17 23:00:00+00:00" and len(scores) == 300
    assert "; times in UTC):" in printed and "+00:00 .. " in printed  # the episode lines


def test_every_bert_command_reading_data_takes_decimal_and_dayfirst_from_one_definition():
    from tinyad.commands.bert import bert

    helps = {}
    for name in ("load-bms", "train", "evaluate", "score"):
        params = {p.name: p for p in bert.commands[name].params}
        assert {"dayfirst", "decimal"} <= set(params), name
        helps[name] = (params["dayfirst"].help, params["decimal"].help, params["decimal"].type.choices)
    assert len(set(helps.values())) == 1  # the same option everywhere, not copies drifting apart


def test_train_reads_a_decimal_comma_csv_with_decimal_and_refuses_unused_reading_options(tmp_path, capsys):
    euro = tmp_path / "euro.csv"
    times = pd.date_range("2024-03-12 23:59:00", periods=8, freq="10s")  # dotted, day first: 13.03.2024
    euro.write_text("time;volts\n" + "".join(f"{t:%d.%m.%Y %H:%M:%S};3,{5 + i % 3}\n" for i, t in enumerate(times)))
    run = tmp_path / "run"
    assert main(["bert", "train", "--dataset", str(euro), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "cells look like decimal commas ('3,5' in column 'volts')" in err
    assert (f"hint: add --decimal , (this command takes it; or tinyad bert load-bms --input {euro} --decimal , "
            f"-o tidy.parquet)") in err
    # with --decimal , the file is read (its load report is printed), then the overlapping ranges stop the run
    # before any training
    assert main(["bert", "train", "--dataset", str(euro), "--out", str(run), "--decimal", ",", "--train-range",
                 "0:0.8", "--eval-range", "0.7:1"]) == 2
    captured = capsys.readouterr()
    assert f"note: {euro}: 8 raw rows -> 8 rows on the grid in 1 segment(s); 0 gap(s)" in captured.out
    assert "overlaps the training range" in captured.err and not run.exists()
    # nothing given is a CSV: an option that would change nothing is refused, not ignored
    for command in (["train", "--dataset", "ess_lfp:1", "--out", str(run)],
                    ["evaluate", str(tmp_path), "--dataset", "bess"],
                    ["score", str(tmp_path), "--dataset", "ess_lfp:2", "--out", str(tmp_path / "s")]):
        assert main(["bert", *command, "--decimal", ","]) == 2
        err = capsys.readouterr().err
        assert "--decimal applies to a CSV file, and no data set given is one" in err
        assert "hint: leave it out: a tidy Parquet file from tinyad bert load-bms" in err
    assert main(["bert", "train", "--dataset", "ess_lfp:1", "--out", str(run), "--monthfirst"]) == 2
    assert "--monthfirst applies to a CSV file" in capsys.readouterr().err
    assert not run.exists() and not (tmp_path / "s").exists()


def test_load_bms_leaves_out_flags_and_counters_with_a_note(tmp_path, capsys):
    typed = tmp_path / "typed.parquet"
    pd.DataFrame({"time": pd.date_range("2024-01-01", periods=24, freq="10s"), "volts": [3.3, 3.4, 3.2, 3.5] * 6,
                  "balancing_active": [True, False, False, True, True, False] * 4,
                  "record_id": np.arange(7, 31)}).to_parquet(typed)
    out = tmp_path / "tidy.parquet"
    assert main(["bert", "load-bms", "--input", str(typed), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: column(s) balancing_active left out: true/false status flags, not signals; to keep it" in text
    assert "note: column(s) record_id left out: integers that increase on every row" in text
    assert "24 rows x 1 channel: volts" in text
    assert main(["bert", "load-bms", "--input", str(typed), "--column", "volts", "--column", "record_id", "-o",
                 str(out)]) == 0
    from tinyad.battery.bms import read_tidy

    assert read_tidy(out).frame["record_id"].tolist() == list(np.arange(7.0, 31.0))


def test_load_bms_refuses_monthfirst_for_a_typed_time_column_and_the_help_says_text_dates(tmp_path, capsys):
    from tinyad.commands.bert import bert

    typed = tmp_path / "typed.parquet"
    pd.DataFrame({"Zeitstempel": pd.date_range("2024-03-12 22:00", periods=6, freq="1h"),
                  "volts": [3.25, 3.5, 3.75, 3.5, 3.25, 3.5]}).to_parquet(typed)
    out = tmp_path / "tidy.parquet"
    assert main(["bert", "load-bms", "--input", str(typed), "--time-column", "Zeitstempel", "--monthfirst", "-o",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert ("error: --monthfirst applies to dates written as text; column 'Zeitstempel' holds typed date-times\n"
            "hint: leave it out") in err and not out.exists()
    assert main(["bert", "load-bms", "--input", str(typed), "--time-column", "Zeitstempel", "-o", str(out)]) == 0
    help_text = {p.name: p for p in bert.commands["train"].params}["dayfirst"].help
    assert help_text.startswith("Dates written as text (in a CSV, or a Parquet text column) day first")


def test_train_evaluate_and_score_take_time_column_for_files_read_now_and_refuse_it_otherwise(tmp_path, capsys):
    from tinyad.commands.bert import bert

    helps = {name: {p.name: p for p in bert.commands[name].params}["time_column"].help
             for name in ("train", "evaluate", "score")}
    assert len(set(helps.values())) == 1  # one definition for the three
    assert "time_column" in {p.name for p in bert.commands["load-bms"].params}  # load-bms keeps its own
    tidy, run = _tiny_run(tmp_path, 300)
    csv = tmp_path / "in.csv"  # the file behind `tidy`: its time column is 't'
    capsys.readouterr()
    out = tmp_path / "scored"
    assert main(["bert", "score", str(run), "--dataset", str(csv), "--time-column", "t", "--out", str(out)]) == 0
    assert f"note: {csv}: 300 raw rows -> 300 rows on the grid" in capsys.readouterr().out
    assert len(pd.read_csv(out / "scores.csv")) == 300
    assert main(["bert", "evaluate", str(run), "--dataset", str(csv), "--time-column", "t", "--range", "0:1",
                 "--seeds", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == 1
    # train: read with the option (its report printed), then the overlapping ranges stop it before any training
    assert main(["bert", "train", "--dataset", str(csv), "--time-column", "t", "--out", str(tmp_path / "r2"),
                 "--train-range", "0:0.8", "--eval-range", "0.7:1"]) == 2
    captured = capsys.readouterr()
    assert f"note: {csv}: 300 raw rows -> 300 rows on the grid" in captured.out
    assert "overlaps the training range" in captured.err
    # without it: the hint names this command's option first
    assert main(["bert", "train", "--dataset", str(csv), "--out", str(tmp_path / "r2")]) == 2
    assert (f"name the time column: add --time-column NAME (this command takes it; or tinyad bert load-bms "
            f"--input {csv} --time-column NAME -o tidy.parquet)") in capsys.readouterr().err
    # nothing given is read now: refused, not ignored
    for command in (["train", "--dataset", str(tidy), "--out", str(tmp_path / "r2")],
                    ["evaluate", str(run), "--dataset", str(tidy)],
                    ["score", str(run), "--dataset", "bess", "--out", str(tmp_path / "s")]):
        assert main(["bert", *command, "--time-column", "t"]) == 2
        err = capsys.readouterr().err
        assert "error: --time-column applies to a CSV file, and no data set given is one" in err
        assert "hint: leave it out: a tidy Parquet file from tinyad bert load-bms" in err
    assert not (tmp_path / "r2").exists() and not (tmp_path / "s").exists()


def test_evaluate_prints_the_cut_and_notes_a_short_range(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)
    capsys.readouterr()
    assert main(["bert", "evaluate", str(run), "--dataset", str(tidy), "--seeds", "1", "--range", "0.5:1"]) == 0
    printed = capsys.readouterr().out
    assert "  cut: the top 8% of the scores (above " in printed and "so (P+R)/2 can reach at most" in printed
    assert "note: only " in printed and "injected events: figures from so few vary much" in printed
    assert "not placed in this range: " not in printed or "(the range held only " in printed


def test_a_missing_checkpoint_or_a_file_is_named_as_such(tmp_path):
    from tinyad.bert.train import resolve_checkpoint
    from tinyad.errors import InputError

    with pytest.raises(InputError, match="no such checkpoint or run directory"):
        resolve_checkpoint(tmp_path / "runs" / "step_000999")
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"")
    with pytest.raises(InputError, match="a file, not a checkpoint directory") as err:
        resolve_checkpoint(weights)
    assert str(tmp_path) in err.value.hint


def test_score_for_scripts_takes_extra_columns_writes_a_summary_and_leaves_nothing_stale(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)
    csv = tmp_path / "in.csv"
    grown = tmp_path / "grown.csv"  # the export grew a column the checkpoint never saw
    pd.read_csv(csv).assign(extra=1.0).to_csv(grown, index=False)
    out = tmp_path / "scored"
    capsys.readouterr()
    assert main(["bert", "score", str(run), "--dataset", str(grown), "--time-column", "t", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "channels not used by the checkpoint: extra" in printed
    summary = json.loads((out / "summary.json").read_text())
    alarms = pd.read_csv(out / "scores.csv")["alarm"]
    assert (summary["steps"], summary["alarm_steps"], summary["alarms"]) == (300, int(alarms.sum()), True)
    assert summary["cut"] == "within the data" and summary["episodes"][0]["peak_score"] > summary["threshold"]
    # the 8 % cut always flags steps: --fail-on-alarm exits with its own code, the outputs written
    assert main(["bert", "score", str(run), "--dataset", str(grown), "--time-column", "t", "--out", str(out),
                 "--fail-on-alarm"]) == 10
    # a run that fails removes the earlier outputs first: nothing stale to read as tonight's
    broken = tmp_path / "broken.csv"
    broken.write_text("t,volts\n0,3.3\n")
    assert main(["bert", "score", str(run), "--dataset", str(broken), "--time-column", "t", "--out", str(out)]) == 2
    assert not any(out.iterdir())


def test_a_failed_nightly_run_keeps_the_cut_it_reads_and_drops_its_alarms(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)
    nightly = tmp_path / "nightly"
    score = ["bert", "score", str(run), "--window_sliding", "8", "--out", str(nightly)]
    assert main(score + ["--dataset", str(tidy), "--reference", str(tidy), "--anomaly-rate", "0.01"]) == 0
    saved = json.loads((nightly / "summary.json").read_text())
    reuse = ["--threshold-from", str(nightly / "summary.json")]
    assert main(score + reuse + ["--dataset", str(tmp_path / "missing.parquet")]) == 2  # one bad night
    kept = json.loads((nightly / "summary.json").read_text())
    assert sorted(p.name for p in nightly.iterdir()) == ["summary.json"]  # the CSV and PNG are gone
    assert (kept["threshold"], kept["checkpoint_sha256"], kept["window_sliding"], kept["cut"]) == (
        saved["threshold"], saved["checkpoint_sha256"], 8, "reference")
    assert kept["alarms"] is None and kept["episodes"] is None and "did not finish" in kept["status"]
    assert kept["dataset"] is None  # last night's file is not tonight's
    capsys.readouterr()
    assert main(score + reuse + ["--dataset", str(tidy)]) == 0  # the next night reads the cut again
    again = json.loads((nightly / "summary.json").read_text())
    assert again["threshold"] == saved["threshold"] and again["alarms"] is not None and "status" not in again
    # what was wrong with the reference (300 steps for a 1 % cut) still holds for the cut: carried on and said
    assert again["reference_warnings"] == saved["reference_warnings"] != []
    assert saved["reference_warnings"][0] in again["warnings"]
    assert "(said when the cut was set, " in capsys.readouterr().err
    # refused before scoring (another stride than the cut's): the scores go, the cut stays, alone
    assert main(score[:-4] + ["--window_sliding", "16", "--out", str(nightly)] + reuse + ["--dataset", str(tidy)]) == 2
    assert sorted(p.name for p in nightly.iterdir()) == ["summary.json"]
    assert json.loads((nightly / "summary.json").read_text())["threshold"] == saved["threshold"]


def test_a_stride_longer_than_the_window_is_refused_before_scoring(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)  # the tiny preset's window: 32 steps
    for command in (["score", str(run), "--out", str(tmp_path / "s")], ["evaluate", str(run)]):
        assert main(["bert", *command, "--dataset", str(tidy), "--window_sliding", "64"]) == 2
        err = capsys.readouterr().err
        assert "--window_sliding 64 is longer than the window (32 steps)" in err
        assert "hint: give --window_sliding 32" in err
    assert not (tmp_path / "s").exists()
    assert main(["bert", "train", "--dataset", str(tidy), "--out", str(tmp_path / "r"), "--preset", "tiny",
                 "--window_sliding", "33", "--max_steps", "2"]) == 2
    assert "longer than the window (32 steps)" in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message, hint", [
    (["--batch_size", "0"], "--batch_size must be >= 1, got 0", "--batch_size 32"),
    (["--patch_size", "0"], "--patch_size must be >= 1, got 0", "a patch is that many steps"),
    (["--anomaly-rate", "8"], "--anomaly-rate must be between 0 and 1, got 8", "8 % is --anomaly-rate 0.08"),
    (["--train-range", "0:75"], "bad time range '0:75'", "in fractions that is 0:0.75"),
])
def test_train_refuses_options_a_user_gets_wrong_with_the_value_meant(tmp_path, capsys, args, message, hint):
    csv = write_telemetry(tmp_path / "in.csv", 100)
    assert main(["bert", "train", "--dataset", str(csv), "--time-column", "t", "--out", str(tmp_path / "run"),
                 "--preset", "tiny", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and hint in err and not (tmp_path / "run").exists()


def test_evaluate_refuses_zero_seeds(tmp_path, capsys):
    assert main(["bert", "evaluate", str(tmp_path), "--dataset", "x.csv", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_train_warns_of_a_channel_that_never_changes(tmp_path, capsys):
    csv = tmp_path / "stuck.csv"
    t = np.arange(200) * 10.0
    pd.DataFrame({"t": t, "volts": 3.3 + 0.1 * np.sin(t / 300.0), "cell_min": 3.312}).to_csv(csv, index=False)
    assert main(["bert", "train", "--dataset", str(csv), "--time-column", "t", "--out", str(tmp_path / "run"),
                 "--preset", "tiny", "--max_steps", "2", "--checkpoint_every", "2", "--batch_size", "4",
                 "--eval-range", "none"]) == 0
    err = capsys.readouterr().err
    assert "warning: channel(s) cell_min (3.312) hold one value in all the training rows" in err
    assert "volts" not in err.split("hold one value")[0]


def test_load_bms_protects_its_input_and_takes_only_the_options_that_apply(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 100)
    before = csv.read_bytes()
    args = ["bert", "load-bms", "--input", str(csv), "--time-column", "t"]
    assert main(args + ["-o", str(csv)]) == 2
    assert "-o " + str(csv) + " is the --input file" in capsys.readouterr().err and csv.read_bytes() == before
    assert main(args + ["-o", str(tmp_path / "tidy.csv")]) == 2
    assert "hint: use -o " + str(tmp_path / "tidy.parquet") in capsys.readouterr().err
    assert not (tmp_path / "tidy.csv").exists()
    for bad in (["--max-fill", "-5"], ["--period", "0"]):
        assert main(args + bad + ["-o", str(tmp_path / "t.parquet")]) == 2
        assert "must be a positive number of seconds" in capsys.readouterr().err
    assert main(["bert", "load-bms", "--rack", "1", "--column", "voltage_v", "-o", str(tmp_path / "r.parquet")]) == 2
    assert "--column apply to --input only" in capsys.readouterr().err
    # a grid far finer than the data: most of it interpolated, said as a warning and kept in the file
    out = tmp_path / "fine.parquet"
    assert main(args + ["--period", "2", "--max-fill", "20", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    # 100 rows 10 s apart on a 2-s grid: 99 x 4 steps between them interpolated
    fine = ("--period 2 s is finer than the data (a row every 10 s, the median): most of the grid holds no "
            "measurement (396 step(s) interpolated, 0 dropped as gaps, 1 segment(s)); give --period 10 or leave it out")
    assert f"warning: {fine} (kept in the table's metadata)" in err
    from tinyad.battery.bms import read_tidy

    assert read_tidy(out).gaps.warnings == [fine]
    # the table keeps the warning: a command reading it says so again
    assert main(["bert", "train", "--dataset", str(out), "--out", str(tmp_path / "run"), "--preset", "tiny",
                 "--max_steps", "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range", "none"]) == 0
    assert f"warning: {fine} (recorded when the table was made)" in capsys.readouterr().err


def test_overwrite_never_removes_a_config_json_that_is_not_a_checkpoints(tmp_path, capsys):
    csv = write_telemetry(tmp_path / "in.csv", 100)
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "config.json").write_text('{"mine": 1}')
    assert main(["bert", "train", "--dataset", str(csv), "--time-column", "t", "--out", str(folder), "--preset",
                 "tiny", "--max_steps", "2", "--checkpoint_every", "2", "--batch_size", "4", "--eval-range",
                 "none"]) == 0  # not a run: no refusal, nothing removed
    assert json.loads((folder / "config.json").read_text()) == {"mine": 1}
    from tinyad.bert.train import is_checkpoint_config, run_files

    assert not is_checkpoint_config(folder / "config.json")
    assert is_checkpoint_config(folder / "step_000002" / "config.json")
    assert "config.json" not in [p.name for p in run_files(folder)]


def test_score_warns_of_a_short_reference_and_another_period_and_keeps_the_warnings(tmp_path, capsys):
    tidy, run = _tiny_run(tmp_path, 300)
    slow = tmp_path / "slow.csv"
    pd.read_csv(tmp_path / "in.csv").assign(t=lambda f: f["t"] * 6).to_csv(slow, index=False)  # a row every 60 s
    out = tmp_path / "s"
    capsys.readouterr()
    assert main(["bert", "score", str(run), "--dataset", str(slow), "--time-column", "t", "--reference", str(tidy),
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "steps scored are ones the checkpoint was trained on" not in captured.out  # another signal
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert warnings[0].startswith(f"{slow} is sampled every 60 s, the checkpoint was trained on 10 s data")
    assert warnings[1].startswith(f"the reference {tidy} holds 300 steps: its 99.9% quantile rests on its 1 highest "
                                  "score(s), a noisy cut; give at least 10,000 steps")
    assert f"the reference {tidy} holds" in warnings[2] and "steps the checkpoint was trained on" in warnings[2]
    assert all(f"warning: {w}" in err for w in warnings)
    # the training data scored: said in a note
    capsys.readouterr()
    assert main(["bert", "score", str(run), "--dataset", str(tidy), "--out", str(out)]) == 0
    assert "steps scored are ones the checkpoint was trained on: scores run lower there" in capsys.readouterr().out


def test_a_used_dot_folder_hint_names_a_real_sibling(tmp_path, capsys, monkeypatch):
    tidy, run = _tiny_run(tmp_path, 300)
    monkeypatch.chdir(run)
    assert main(["bert", "train", "--dataset", str(tidy), "--out", ".", "--preset", "tiny"]) == 2
    assert f"train into another folder (e.g. --out {run.resolve()}_2)" in capsys.readouterr().err
