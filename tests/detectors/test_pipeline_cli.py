"""The fit/score pipeline, the telemetry reader and `tinyad detect` (PCA model: no training time)."""

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest

from tinyad.cli import main
from tinyad.detectors.pipeline import (LabelFreeDetector, ScoreResult, ThresholdConfig, pruned_note,
                                      whole_file_departure_note)
from tinyad.detectors.scored_plot import plot_scored
from tinyad.detectors.telemetry import load_telemetry
from tinyad.errors import InputError


def _shifted(n=300, shift_at=(200, 240), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=n)  # correlated channels
    labels = np.zeros(n, int)
    a, b = shift_at
    x[a:b, 1] -= 4.0  # breaks the correlation
    labels[a:b] = 1
    return x, labels


def test_pipeline_quantile_flags_the_broken_correlation(tmp_path):
    data, labels = _shifted()
    detector = LabelFreeDetector("pca-t2q", ThresholdConfig(method="quantile", smoothing_span=3)).fit(data[:150])
    result = detector.score(data)
    assert result.flags[205:240].all()  # EWMA needs a few steps to rise
    assert result.flags[:150].mean() < 0.05
    # the 0.99 quantile of the training rows' smoothed errors, as scoring them gives them (not the detector's own
    # static_threshold(), which would agree with itself whatever level it computed)
    np.testing.assert_allclose(result.threshold, np.quantile(result.smoothed[:150], 0.99), rtol=1e-12)
    detector.save(tmp_path / "det")
    again = LabelFreeDetector.load(tmp_path / "det").score(data)
    np.testing.assert_allclose(again.smoothed, result.smoothed)
    assert (again.flags == result.flags).all()


def test_a_detector_fitted_on_dataframes_scores_them_by_column_name(tmp_path):
    data, labels = _shifted()
    frame = pd.DataFrame(data, columns=["temp", "pressure", "flow"],
                         index=pd.date_range("2024-03-11", periods=len(data), freq="min"))  # the index is no channel
    detector = LabelFreeDetector("pca-t2q", ThresholdConfig(method="quantile", smoothing_span=3)).fit(frame[:150])
    assert detector.columns == ["temp", "pressure", "flow"] and len(detector.detector.fitted["mean"]) == 3
    result = detector.score(frame)
    assert result.flags[205:240].all() and result.flags[:150].mean() < 0.05
    # another column order, and a label column beside them: the same scores, by name
    shuffled = frame[["flow", "temp", "pressure"]].assign(anomaly=labels)
    np.testing.assert_array_equal(detector.score(shuffled).smoothed, result.smoothed)
    # an array is taken in the fitted order
    np.testing.assert_array_equal(detector.score(data).smoothed, result.smoothed)
    with pytest.raises(InputError, match=r"scoring data: no column\(s\) \['pressure'\]; the detector was fitted on"):
        detector.score(shuffled.drop(columns="pressure"))
    # saved with columns.txt, which `detect score` matches a file by
    detector.save(tmp_path / "det")
    assert (tmp_path / "det" / "columns.txt").read_text() == "temp\npressure\nflow\n"
    again = LabelFreeDetector.load(tmp_path / "det")
    assert again.columns == ["temp", "pressure", "flow"]
    np.testing.assert_array_equal(again.score(shuffled).smoothed, result.smoothed)
    # each channel's error comes in the fitted order, named
    assert detector.score(shuffled, channels=True).channel_names == ["temp", "pressure", "flow"]
    # refitted on arrays, the names are forgotten, in the detector and in its folder
    detector.fit(data[:150, ::-1])
    assert detector.columns is None and detector.save(tmp_path / "det") and not (tmp_path / "det/columns.txt").exists()
    assert LabelFreeDetector.load(tmp_path / "det").columns is None


def test_natural_but_wrong_inputs_get_errors_that_name_them():
    data, _ = _shifted()
    frame = pd.DataFrame(data, columns=["temp", "pressure", "flow"])
    pca = LabelFreeDetector("pca-t2q")
    stamped = frame.assign(time=pd.date_range("2024-03-11", periods=len(frame), freq="min"))
    with pytest.raises(InputError, match="column 'time' holds times") as refused:
        pca.fit(stamped)
    assert refused.value.hint.startswith("make it the index (frame.set_index('time'))")
    with pytest.raises(InputError, match="column 'status' is not numbers \\(dtype .*, e.g. 'ok'\\)"):
        pca.fit(frame.assign(status="ok"))
    nullable = frame.astype({"temp": "Float64"})
    nullable.loc[7, "temp"] = pd.NA
    with pytest.raises(InputError, match="row 7, column 'temp': NaN or infinite value \\(1 such cell"):
        pca.fit(nullable)
    with pytest.raises(InputError, match="column name\\(s\\) \\['a'\\] appear more than once"):
        pca.fit(pd.DataFrame(data, columns=["a", "a", "b"]))
    # a list of rows is one series, not 300 one-row segments
    assert len(pca.fit(data.tolist()).detector.fitted["mean"]) == 3
    with pytest.raises(InputError, match="unknown detector 'lstm_ae'"):
        LabelFreeDetector("lstm_ae")
    with pytest.raises(InputError, match="threshold must be a ThresholdConfig") as refused:
        LabelFreeDetector("pca-t2q", threshold="quantile")
    assert refused.value.hint == "e.g. ThresholdConfig(method='quantile')"


def test_pipeline_dynamic_threshold_needs_no_training_errors():
    data, _ = _shifted()
    detector = LabelFreeDetector("pca-t2q", ThresholdConfig(method="dynamic", smoothing_span=3)).fit(data[:150])
    result = detector.score(data)
    flagged = np.flatnonzero(result.flags)
    assert len(flagged) and flagged.min() >= 195 and flagged.max() <= 250


def test_load_rejects_missing_and_corrupt_models(tmp_path):
    with pytest.raises(InputError, match="not a fitted detector"):
        LabelFreeDetector.load(tmp_path)
    (tmp_path / "pipeline.json").write_text("{truncated")
    (tmp_path / "detector.json").write_text("{}")
    with pytest.raises(InputError, match="corrupt"):
        LabelFreeDetector.load(tmp_path)


def test_telemetry_reader_errors_name_the_row(tmp_path):
    good = tmp_path / "good.csv"
    pd.DataFrame({"time": [0, 1, 2], "a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "y": [0, 1, 0]}).to_csv(
        good, index=False)
    data = load_telemetry(good, time_column="time", label_column="y")
    assert data.columns == ["a", "b"] and data.labels.tolist() == [0, 1, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(InputError, match="data row 2, column 'b'"):
        load_telemetry(bad)
    truncated = tmp_path / "cut.parquet"
    pd.DataFrame({"a": np.arange(100.0)}).to_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(InputError, match="truncated"):
        load_telemetry(truncated)
    with pytest.raises(InputError, match=r"missing columns \['zz'\]"):
        load_telemetry(good, columns=["zz"])
    dated = tmp_path / "dated.csv"
    dated.write_text("datetime,a\n2020-03-09 10:14:33,1\n2020-03-09 10:14:34,2\n")
    with pytest.raises(InputError, match="data row 1, column 'datetime'") as err:
        load_telemetry(dated)
    assert "--time-column" in err.value.hint
    assert load_telemetry(dated, time_column="datetime").columns == ["a"]


def test_telemetry_reads_tinyad_sessions(tmp_path):
    from tinyad.session import Session, SessionMeta, write_session

    t = np.arange(50) / 100.0
    values = np.stack([np.sin(t), np.cos(t)], axis=1).astype(np.float32)
    path = write_session(tmp_path / "s.parquet",
                         Session(t, values, SessionMeta(sample_rate_hz=100.0, label="normal", channels=["ax", "gz"])))
    data = load_telemetry(path)
    assert data.columns == ["ax", "gz"]
    np.testing.assert_allclose(data.values, values)
    assert load_telemetry(path, columns=["gz"]).values.shape == (50, 1)


def test_cli_fit_and_score_write_csv_and_png(tmp_path, capsys):
    data, labels = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame["anomaly"] = labels
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    model = tmp_path / "model"
    assert main(["detect", "fit", str(csv), "--out", str(model), "--model", "pca-t2q", "--label-column",
                 "anomaly", "--train-rows", "150", "--threshold", "quantile", "--span", "3"]) == 0
    assert (model / "columns.txt").read_text().split() == ["a", "b", "c"]
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(csv), "--label-column", "anomaly", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "point-adjusted" in printed and "threshold saw test labels: no" in printed
    scores = pd.read_csv(out / "run.scores.csv")
    assert len(scores) == 300 and scores["alarm"].iloc[205:240].all()
    assert (out / "run.png").read_bytes()[:4] == b"\x89PNG"
    # a file with a missing channel is refused with exit code 2 (InputError)
    frame.drop(columns=["c"]).to_csv(tmp_path / "short.csv", index=False)
    assert main(["detect", "score", str(model), str(tmp_path / "short.csv")]) == 2


def test_cli_score_names_the_channels_behind_each_region_and_splits_the_error_by_channel(tmp_path, capsys):
    data, _ = _shifted()
    data[100:130, 2] += 6.0  # the independent channel c alone jumps
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    for kind in ("pca-t2q", "isolation-forest"):
        assert main(["detect", "fit", str(csv), "--out", str(tmp_path / kind), "--model", kind, "--train-rows", "90",
                     "--threshold", "quantile", "--span", "3"]) == 0
        assert main(["detect", "score", str(tmp_path / kind), str(csv), "--out", str(tmp_path / f"out-{kind}")]) == 0
    printed = capsys.readouterr().out
    pca_lines = printed.split("isolation-forest")[0].splitlines()
    region = next(line for line in pca_lines if line.strip().startswith("rows 10"))
    share = int(region.split("mostly c ")[1].split("%")[0])
    assert share >= 90  # c carries the error of its jump
    scores = pd.read_csv(tmp_path / "out-pca-t2q" / "run.scores.csv")
    np.testing.assert_allclose(scores[["error_a", "error_b", "error_c"]].sum(axis=1), scores["error"], rtol=1e-9)
    # an isolation forest scores rows as a whole: no channel columns, and the output says why
    forest = pd.read_csv(tmp_path / "out-isolation-forest" / "run.scores.csv")
    assert list(forest.columns) == ["row", "error", "smoothed", "threshold", "alarm", "fitted_on"]  # its rows 1..90
    assert "isolation-forest scores each row as a whole" in printed


def test_rows_or_duration_takes_rows_or_a_positive_duration():
    from tinyad.commands.detect import RowsOrDuration

    kind = RowsOrDuration(1)
    assert kind.convert("12", None, None) == 12 and kind.convert("1h", None, None) == pd.Timedelta(hours=1)
    for bad in ("0", "soon", "-5min"):
        with pytest.raises(click.BadParameter):
            kind.convert(bad, None, None)


def test_cli_score_takes_durations_for_merge_gap_and_min_rows(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90, stamped=True)  # one row a minute
    capsys.readouterr()
    # fragments of 2 rows with 4 unflagged rows (4 min) between: joined by 5 min as by 5 rows, not by 4 min
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--merge-gap", "4min"]) == 0
    assert "rows 101..102" in capsys.readouterr().out
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--merge-gap", "5min", "--min-rows", "10min",
                 "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "less than 5 min apart joined" in printed and "rows 101..114" in printed
    plain = tmp_path / "plain.csv"
    pd.read_csv(csv).drop(columns="time").to_csv(plain, index=False)
    assert main(["detect", "score", str(tmp_path / "m"), str(plain), "--merge-gap", "5min"]) == 2
    assert "--merge-gap 5 min: a duration needs a time column, and the file has none" in capsys.readouterr().err


def test_cli_score_threshold_options_apply_to_one_scoring_only(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90)
    capsys.readouterr()
    saved = json.loads((tmp_path / "m" / "pipeline.json").read_text())["threshold"]
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--quantile", "0.5", "--out",
                 str(tmp_path / "low")]) == 0
    printed = capsys.readouterr().out
    assert ("settings (threshold options given here, for this scoring only): EWMA span 1 rows, threshold: the 0.5 "
            "quantile of the training errors") in printed
    assert json.loads((tmp_path / "m" / "pipeline.json").read_text())["threshold"] == saved  # not refitted
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--out", str(tmp_path / "as_fitted")]) == 0
    assert "the 0.99 quantile of the training errors\n" in capsys.readouterr().out
    low, as_fitted = (pd.read_csv(tmp_path / name / "run.scores.csv") for name in ("low", "as_fitted"))
    assert low["alarm"].sum() > as_fitted["alarm"].sum() and (low["alarm"] >= as_fitted["alarm"]).all()


def _fragmented_episode_fitted(tmp_path, train_rows: int, blip: bool = False, stamped: bool = False):
    """A CSV whose channel c jumps in one episode of three 2-row fragments 4 rows apart (data rows 101..114; with
    `blip`, also in data row 61 alone), and a PCA detector fitted on its first `train_rows` rows in tmp_path/m."""
    data, _ = _shifted()
    if blip:
        data[60, 2] += 8.0
    for start in (100, 106, 112):
        data[start:start + 2, 2] += 8.0
    csv = tmp_path / "run.csv"
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    if stamped:
        stamps = pd.date_range("2024-03-11", periods=len(frame), freq="1min")
        frame.insert(0, "time", stamps.strftime("%Y-%m-%d %H:%M"))
    frame.to_csv(csv, index=False)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m"), "--model", "pca-t2q", "--train-rows",
                 str(train_rows), "--threshold", "quantile", "--span", "1"]) == 0
    return csv


def test_cli_score_merge_gap_joins_fragments_in_the_listing_and_the_alarms(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90)
    capsys.readouterr()
    for gap in (0, 5):
        assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--merge-gap", str(gap),
                     "--out", str(tmp_path / f"out{gap}")]) == 0
    apart, joined = capsys.readouterr().out.split("fewer than 5 rows apart joined")
    assert all(f"rows {a}..{a + 1}" in apart for a in (101, 107, 113))
    assert "rows 101..114" in joined
    alarms = [pd.read_csv(tmp_path / f"out{gap}" / "run.scores.csv")["alarm"].to_numpy() for gap in (0, 5)]
    assert alarms[0][100:114].sum() == 6 and alarms[1][100:114].all()


def test_plot_channel_order_puts_the_channels_behind_the_alarms_first():
    from tinyad.detectors.score_files import plot_channel_order

    channel_errors = np.ones((6, 10))
    channel_errors[3:5, 7] = 50.0  # channel 7 in the flagged rows
    channel_errors[0, 2] = 500.0  # channel 2 in an unflagged row
    flags = np.array([0, 0, 0, 1, 1, 0], bool)
    result = ScoreResult(np.zeros(6), np.zeros(6), np.zeros(6), flags, "quantile", channel_errors=channel_errors)
    names = [f"s{i}" for i in range(10)]
    order, note = plot_channel_order(result, names)
    assert order[0] == 7 and note == "the most error in the flagged rows"
    result.flags = np.zeros(6, bool)  # nothing flagged: the most error overall
    order, note = plot_channel_order(result, names)
    assert order[:2] == [2, 7] and note == "the most error"
    assert plot_channel_order(result, names[:8]) == (None, "")  # all of them are drawn


def test_covering_threshold_flags_a_spike_and_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(400)
    data = np.c_[np.sin(t / 6.0), np.cos(t / 6.0)] + 0.05 * rng.normal(size=(400, 2))
    data[330:360, 0] += 3.0  # 30 shifted rows, after the 250 normal training rows
    config = {"window": 8, "filters": [8, 4], "kernel_size": 3, "epochs": 40, "dropout": 0.0}
    detector = LabelFreeDetector("conv-ae", ThresholdConfig(method="covering"), config).fit(data[:250])
    assert detector.train_residuals.shape == (250 - 8 + 1,)
    result = detector.score(data)
    assert result.method == "covering" and np.isnan(result.threshold).all()
    assert result.flags[337:353].all()  # every window covering these rows overlaps the shift
    assert result.flags[:250].mean() < 0.02 and not result.flags[370:].any()
    detector.save(tmp_path / "det")
    again = LabelFreeDetector.load(tmp_path / "det")
    np.testing.assert_allclose(again.train_residuals, detector.train_residuals)
    # one pass of the model gives both the per-row errors and the window residuals
    calls = []
    reconstruct = again.detector.reconstruct
    again.detector.reconstruct = lambda values, *rest: calls.append(len(values)) or reconstruct(values, *rest)
    rescored = again.score(data)
    assert calls == [400] and (rescored.flags == result.flags).all()
    np.testing.assert_allclose(rescored.errors, result.errors, rtol=1e-6)


def test_covering_threshold_is_refused_for_models_without_windows():
    data, _ = _shifted()
    with pytest.raises(InputError, match="window autoencoder"):
        LabelFreeDetector("pca-t2q", ThresholdConfig(method="covering")).fit(data[:150])
    detector = LabelFreeDetector("pca-t2q", ThresholdConfig(method="quantile")).fit(data[:150])
    with pytest.raises(InputError, match="window autoencoder"):
        detector.score(data, method="covering")


def _result(smoothed, method="dynamic", pruned=()):
    smoothed = np.asarray(smoothed, float)
    return ScoreResult(smoothed, smoothed, np.full(len(smoothed), np.nan), np.zeros(len(smoothed), bool), method,
                       list(pruned))


def test_whole_file_departure_note_needs_the_median_at_twice_the_training_p99():
    # median of [1, 3, 3, 3, 9] is 3: 3x a training p99 of 1.0
    note = whole_file_departure_note(_result([1, 3, 3, 3, 9]), training_p99=1.0)
    assert note is not None and "3 is 3.0x the training p99 1" in note and "--threshold quantile" in note
    assert whole_file_departure_note(_result([1, 1.9, 1.9, 9]), 1.0) is None  # median 1.9 < 2 x p99
    assert whole_file_departure_note(_result([3, 3, 3], method="quantile"), 1.0) is None  # compares already
    assert whole_file_departure_note(_result([]), 1.0) is None


def test_cli_score_warns_when_the_dynamic_threshold_cannot_see_a_whole_file_fault(tmp_path, capsys):
    rng = np.random.default_rng(1)
    normal = rng.normal(size=(300, 3))
    normal[:, 1] = normal[:, 0] + 0.1 * rng.normal(size=300)
    faulty = normal.copy()
    faulty[:, 1] -= 4.0  # the correlation is broken from the first row to the last
    pd.DataFrame(normal, columns=["a", "b", "c"]).to_csv(tmp_path / "normal.csv", index=False)
    pd.DataFrame(faulty, columns=["a", "b", "c"]).to_csv(tmp_path / "faulty.csv", index=False)
    model = tmp_path / "model"
    assert main(["detect", "fit", str(tmp_path / "normal.csv"), "--out", str(model), "--model", "pca-t2q",
                 "--threshold", "dynamic", "--span", "3"]) == 0
    detector = LabelFreeDetector.load(model)
    p99 = detector.training_quantile(0.99)
    assert p99 == pytest.approx(np.quantile(detector.train_smoothed, 0.99))
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(tmp_path / "normal.csv"), str(tmp_path / "faulty.csv"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split("faulty.csv: ")
    assert "note:" not in printed[0]  # the normal file: no warning
    assert "the file as a whole departs from the training data" in printed[1]
    scores = pd.read_csv(out / "faulty.scores.csv")
    assert np.median(scores["smoothed"]) >= 2 * p99  # what the note says is so


def test_pruned_runs_are_named_and_marked_in_the_plot(tmp_path, saved_figures):
    assert pruned_note(_result([1, 2, 1]), p=0.13) is None
    smoothed = [0.5, 1.6, 1.7, 0.5, 1.5, 0.5]
    note = pruned_note(_result(smoothed, pruned=[(1, 2), (4, 4)]), p=0.13)
    assert note.startswith("2 run(s) above the threshold pruned, no alarm") and "p=0.13" in note
    telemetry = load_telemetry(_csv(tmp_path, np.zeros((6, 2))))
    png = plot_scored(telemetry, np.asarray(smoothed), np.full(6, 1.55), np.zeros(6, bool), tmp_path / "p.png",
                      training_p99=0.8, pruned=[(1, 2), (4, 4)])
    assert png.read_bytes()[:4] == b"\x89PNG"
    # one cross at each pruned run's peak: rows 1..2 peak at row 2 (1.7), row 4 is its own peak (1.5); no time
    # column, so x counts data rows from 1
    (marks,) = [line for line in saved_figures[-1].axes[1].lines if line.get_label() == "pruned (no alarm)"]
    assert marks.get_marker() == "x" and marks.get_linestyle() == "None"
    assert list(marks.get_xdata()) == [3, 5] and list(marks.get_ydata()) == [1.7, 1.5]


def _csv(tmp_path, values):
    path = tmp_path / "t.csv"
    pd.DataFrame(values, columns=[f"c{i}" for i in range(values.shape[1])]).to_csv(path, index=False)
    return path


def test_cli_drop_and_columns_take_repeated_and_comma_separated_names(tmp_path):
    data, labels = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame["anomaly"], frame["changepoint"] = labels, 0
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    fitted = {}
    for name, options in {"repeated": ["--drop", "anomaly", "--drop", "changepoint"],
                          "comma": ["--drop", "anomaly,changepoint"],
                          "columns": ["--columns", "a", "--columns", "b,c"]}.items():
        model = tmp_path / name
        assert main(["detect", "fit", str(csv), "--out", str(model), "--model", "pca-t2q", "--train-rows",
                     "150", *options]) == 0
        fitted[name] = (model / "columns.txt").read_text().split()
    # a repeated --drop used to keep only its last use: the label column became a signal
    assert fitted == {"repeated": ["a", "b", "c"], "comma": ["a", "b", "c"], "columns": ["a", "b", "c"]}
    assert main(["detect", "score", str(tmp_path / "repeated"), str(csv), "--drop", "anomaly", "--drop",
                 "changepoint", "--out", str(tmp_path / "out")]) == 0


def test_cli_score_names_the_times_of_flagged_rows(tmp_path, capsys):
    data, labels = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.insert(0, "stamp", pd.date_range("2024-05-01 12:00:00", periods=len(frame), freq="s").astype(str))
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    model = tmp_path / "model"
    assert main(["detect", "fit", str(csv), "--out", str(model), "--model", "pca-t2q", "--time-column", "stamp",
                 "--train-rows", "150", "--threshold", "quantile", "--span", "3"]) == 0
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(csv), "--time-column", "stamp"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("rows ")]
    runs = {tuple(int(v) for v in line.split()[1].split("..")): line for line in lines}
    (first, last), line = next((run, line) for run, line in runs.items() if 196 <= run[0] <= 206)  # shift at 200
    stamp = pd.Timestamp("2024-05-01 12:00:00")  # data row 1's time: printed rows count from 1
    assert f"({stamp + pd.Timedelta(seconds=first - 1)} .. {stamp + pd.Timedelta(seconds=last - 1)})  mostly" in line


def test_distinct_stems_keep_files_of_the_same_name_apart():
    from tinyad.paths import distinct_stems

    assert distinct_stems(["a/0.csv", "b/1.csv"]) == ["0", "1"]
    assert distinct_stems(["valve1/0.csv", "valve2/0.csv", "other/3.csv"]) == ["valve1_0", "valve2_0", "3"]
    assert distinct_stems(["x/0.csv", "x/0.parquet"]) == ["x_0_1", "x_0_2"]  # same folder and stem
    # a numbered name never takes the name of another file
    assert distinct_stems(["a/n.csv", "b/n.csv", "a_n.csv", "a_n_1.csv"]) == ["a_n_2", "b_n", "a_n_3", "a_n_1"]


def test_cli_score_of_several_files_writes_each_and_sums_them_up(tmp_path, capsys):
    from tinyad.evaluation import report

    # valve1's anomaly runs to its last row, valve2's starts right after the 150 rows fitted on: file by file
    # they are two events, not the one their concatenation would make
    shifts = {"valve1": (200, 300), "valve2": (150, 190)}
    labels = {}
    files = []
    for folder, shift_at in shifts.items():
        data, labels[folder] = _shifted(shift_at=shift_at)
        frame = pd.DataFrame(data, columns=["a", "b", "c"])
        frame["anomaly"] = labels[folder]
        (tmp_path / folder).mkdir()
        files.append(tmp_path / folder / "0.csv")
        frame.to_csv(files[-1], index=False)
    model = tmp_path / "model"
    assert main(["detect", "fit", str(files[0]), "--out", str(model), "--model", "pca-t2q", "--label-column",
                 "anomaly", "--train-rows", "150", "--threshold", "quantile", "--span", "3"]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), *map(str, files), "--label-column", "anomaly", "--out",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    # both files' outputs exist (the second 0.scores.csv used to overwrite the first)
    written = {f: pd.read_csv(out / f"{f}.scores.csv") for f in ("valve1_0", "valve2_0")}
    assert all(len(scores) == 300 for scores in written.values())
    assert (out / "valve1_0.png").exists() and (out / "valve2_0.png").exists()
    summary = printed[printed.index("summary: 2 files"):]
    flags = np.concatenate([written[f]["alarm"].to_numpy() for f in written])
    # both files hold the data fitted on (its first 150 rows): the evaluation takes rows 151..300 of each
    tested = [np.concatenate([labels["valve1"][150:], labels["valve2"][150:]]),
              np.concatenate([written[f]["alarm"].to_numpy()[150:] for f in written]),
              np.concatenate([written[f]["smoothed"].to_numpy()[150:] for f in written])]
    expected = report(*tested, name="pca-t2q", threshold_saw_test_labels=False, part_starts=[150])
    assert f"all files concatenated, without the 300 rows fitted on: {expected}" in summary
    joined = report(*tested, name="pca-t2q", threshold_saw_test_labels=False)  # what file by file avoids
    assert str(joined) not in summary
    assert "VUS-PR is the mean over the files holding both classes" in summary
    assert summary.count(" flagged (") == 2 and f"{int(flags[:300].sum())} flagged" in summary


def test_longest_constant_runs_and_stuck_channel_notes_by_hand():
    from tinyad.detectors.pipeline import longest_constant_runs, stuck_channel_notes

    assert longest_constant_runs([[1, 5], [2, 5], [2, 5], [2, 6]]) == [(3, 1), (3, 0)]
    values = np.zeros((100, 2))
    values[:, 0] = np.arange(100)  # changes on every row
    values[:, 1] = np.arange(100) % 7
    values[40:75, 1] = 2.5  # 35 rows of one value
    time = np.arange(100) * 60
    notes = stuck_channel_notes(values, ["flow", "speed"], [1, 3], time)
    assert notes == [
        "column speed holds one value (2.5) for 35 rows, data rows 41..75 (2400 .. 4440); its longest such run in "
        "the training data was 3 rows. A stuck sensor or a frozen historian value reads to the detector as a real "
        "measurement: alarms there, or none, may come from the frozen value"]
    assert stuck_channel_notes(values, ["flow", "speed"], [1, 18]) == []  # 35 < 2 x 18: it often holds still
    assert stuck_channel_notes(values[:, :1], ["flow"], [1]) == []  # no run of 30 rows
    assert stuck_channel_notes(values, ["flow", "speed"], None) == []  # a folder fitted before: not known


def test_cli_score_names_a_stuck_sensor_and_fit_saves_the_training_runs(tmp_path, capsys):
    import json

    data, _ = _shifted()
    data[150:200, 0] = data[149, 0]  # channel a freezes after row 149 (index): 51 rows of one value
    csv = tmp_path / "run.csv"
    pd.DataFrame(data, columns=["a", "b", "c"]).to_csv(csv, index=False)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m"), "--model", "pca-t2q", "--train-rows", "100",
                 "--threshold", "quantile"]) == 0
    printed = capsys.readouterr().out
    assert "2 of 3 principal components, the fewest that keep 95% of the training variance" in printed
    saved = json.loads((tmp_path / "m" / "read_options.json").read_text())
    assert saved["longest_constant_run"] == [1, 1, 1]
    assert main(["detect", "score", str(tmp_path / "m"), str(csv)]) == 0
    scored = capsys.readouterr().out
    assert f"note: column a holds one value ({data[149, 0]:g}) for 51 rows, data rows 150..200; its longest such " \
           "run in the training data was 1 row." in scored


def test_region_channels_text_names_leading_channels_and_says_when_the_error_is_spread():
    from tinyad.detectors.score_files import region_channels_text

    names = ["p", "q", "r", "s"]
    assert region_channels_text(np.array([[9.0, 0.6, 0.4, 0.0]]), 0, 1, names) == "  mostly p 90%"
    # q at 6 % is named, r at 3 % (below 5 %) is not, though it is within the three largest
    assert region_channels_text(np.array([[88.0, 6.0, 3.0, 3.0]]), 0, 1, names) == "  mostly p 88%, q 6%"
    spread = np.array([[1.0, 1.0, 1.0, 1.0]] * 2 + [[0.0, 0.0, 0.0, 0.0]])
    assert region_channels_text(spread, 0, 3, names) == "  mostly p 25%, q 25%, r 25%"
    wide = np.ones((1, 10))
    wide[0, 3] = 1.5
    assert region_channels_text(wide, 0, 1, [f"c{i}" for i in range(10)]) == \
        "  spread over the channels, largest: c3 14%, c0 10%, c1 10%"
    assert region_channels_text(None, 0, 1, names) == "" and region_channels_text(spread, 0, 1, ["p"]) == ""


def test_fit_summary_names_epochs_early_stopping_and_the_kept_epoch():
    from tinyad.detectors.lstm_ae import LSTMAEConfig, LSTMAutoencoder
    from tinyad.detectors.pipeline import fit_summary

    pipeline = LabelFreeDetector("lstm-ae")
    pipeline.detector = LSTMAutoencoder(LSTMAEConfig(epochs=40))
    pipeline.detector.history = {"loss": [0.9, 0.5, 0.4, 0.38], "val_loss": [0.8, 0.45, 0.47, 0.5]}
    assert fit_summary(pipeline) == ("trained 4 of 40 epochs (early stopping); kept epoch 2, validation loss 0.45 "
                                     "(training loss 0.5)")
    pipeline.detector.history = {"loss": [0.9, 0.5]}
    assert fit_summary(pipeline) == "trained 2 epochs, final training loss 0.5 (too few windows to validate)"


def test_cli_fit_names_a_gap_in_the_training_times_and_parquet_times_print_as_written(tmp_path, capsys):
    data, _ = _shifted()
    time = pd.date_range("2024-03-11", periods=300, freq="1min").to_numpy().copy()
    time[50:] += np.timedelta64(2, "h")  # two hours missing after data row 50
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.insert(0, "timestamp", time)
    path = tmp_path / "pump.parquet"
    frame.to_parquet(path)
    assert main(["detect", "fit", str(path), "--out", str(tmp_path / "m"), "--model", "pca-t2q", "--train-rows", "150",
                 "--threshold", "quantile", "--span", "3"]) == 0
    fitted = capsys.readouterr().out
    assert (f"note: {path}: 1 gap(s) longer than 5 sampling intervals (1 min); the largest, 2.02 h, at rows 50 -> 51 "
            "(2024-03-11 00:49:00 -> 2024-03-11 02:50:00): the detector takes the rows back to back, so it learns "
            "the jump across a gap as normal") in fitted
    assert main(["detect", "score", str(tmp_path / "m"), str(path)]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("rows 2")]
    assert listed and all("T" not in line.split("(")[1].split(")")[0] for line in listed)  # 2024-03-11 05:20:00


def test_cli_fill_missing_is_saved_at_fit_and_used_by_score(tmp_path, capsys):
    import json

    data, _ = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.loc[[20, 21], "c"] = np.nan  # a historian's two missing minutes in the training rows
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m"), "--model", "pca-t2q", "--train-rows", "100",
                 "--threshold", "quantile", "--fill-missing", "2"]) == 0
    assert (f"note: {csv}: 2 missing or non-numeric cell(s) interpolated (runs of at most 2 rows, --fill-missing): "
            "c 2") in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "read_options.json").read_text())["fill_missing"] == 2
    assert main(["detect", "score", str(tmp_path / "m"), str(csv)]) == 0  # the saved setting
    assert "note: 2 missing or non-numeric cell(s) interpolated" in capsys.readouterr().out
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--fill-missing", "0"]) == 2  # given: it wins
    assert "with --fill-missing 2" in capsys.readouterr().err


def test_rows_before_reads_the_limit_as_the_time_column_reads_its_stamps():
    from tinyad.detectors.sampling import rows_before

    text = np.array(["11.03.2024 23:58", "11.03.2024 23:59", "12.03.2024 00:00", "12.03.2024 00:01"], object)
    assert rows_before(text, "2024-03-12") == (2, "2024-03-12 00:00:00") and rows_before(text, "2024-03-13")[0] == 4
    assert rows_before(text, "12.03.2024") == (2, "2024-03-12 00:00:00")  # dotted: day first, as the file's dates
    zoned = np.array(["2024-03-12T00:30+01:00", "2024-03-12T01:30+01:00"], object)  # read as 23:30 and 00:30 UTC
    assert rows_before(zoned, "2024-03-12")[0] == 1 and rows_before(zoned, "2024-03-12T00:00+00:00")[0] == 1
    assert rows_before(np.arange(10) * 0.5, "2") == (4, "2")  # numbers: 0, 0.5, 1, 1.5 come before 2
    with pytest.raises(InputError, match=r"data row 3 comes before it, but after data row 2, which does not"):
        rows_before(text[[0, 2, 1, 3]], "2024-03-12")
    # an hour repeated after the limit (NAB's machine_temperature file) leaves the rows before it one stretch
    repeated = np.array(["2024-03-11 00:00", "2024-03-12 00:00", "2024-03-12 01:00", "2024-03-12 00:30"], object)
    assert rows_before(repeated, "2024-03-12") == (1, "2024-03-12 00:00:00")
    with pytest.raises(InputError, match="data row 4 comes before it") as err:
        rows_before(repeated, "2024-03-12 00:45")
    assert err.value.hint.startswith("sort the file by time")  # half an hour back: no repeated hour
    clock = np.array(["2024-10-27 01:45", "2024-10-27 02:00", "2024-10-27 02:15", "2024-10-27 02:30",
                      "2024-10-27 02:45", "2024-10-27 02:00", "2024-10-27 02:15", "2024-10-27 02:30",
                      "2024-10-27 02:45", "2024-10-27 03:00"], object)  # 15-min rows, 02:00..02:45 twice
    with pytest.raises(InputError, match="data row 6 comes before it") as err:
        rows_before(clock, "2024-10-27 02:15")
    assert err.value.hint.startswith("the file repeats an hour (a clock set back): give a time outside")
    with pytest.raises(InputError, match="does not read as time stamps"):
        rows_before(np.array(["11.03.2024 23:58", None], object), "2024-03-12")
    with pytest.raises(InputError, match="has no time column"):
        rows_before(None, "2024-03-12")
    with pytest.raises(InputError, match="is not a date or time"):
        rows_before(text, "yesterday")
    with pytest.raises(InputError, match="the time column holds numbers"):
        rows_before(np.arange(10.0), "2024-03-12")


def test_cli_train_until_fits_on_the_rows_before_a_time(tmp_path, capsys):
    data, _ = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.insert(0, "time", pd.date_range("2024-03-11 22:00", periods=300, freq="1min").strftime("%Y-%m-%d %H:%M"))
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m"), "--model", "pca-t2q",
                 "--train-until", "2024-03-12 00:30", "--threshold", "quantile"]) == 0
    printed = capsys.readouterr().out
    assert "note: training on the rows before 2024-03-12 00:30:00 (--train-until 2024-03-12 00:30): 150 of 300" \
        in printed
    assert "fitting pca-t2q on 150 rows x 3 channels" in printed
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m2"), "--train-until", "2024-03-11",
                 "--model", "pca-t2q"]) == 2
    assert "no rows before it" in capsys.readouterr().err
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m3"), "--train-until", "2024-03-12",
                 "--train-rows", "10", "--model", "pca-t2q"]) == 2
    # 11.03.2025 is after the last row: trained on all of it, with a warning (a misread date would look alike)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "m4"), "--train-until", "11.03.2025",
                 "--model", "pca-t2q"]) == 0
    assert "warning: --train-until 2025-03-11 00:00:00 is after the last row of" in capsys.readouterr().err


def test_drop_short_regions_removes_blips_only():
    from tinyad.detectors.score_files import drop_short_regions

    flags, dropped = drop_short_regions([1, 0, 1, 1, 0, 1], 2)
    assert flags.astype(int).tolist() == [0, 0, 1, 1, 0, 0] and dropped == 2
    flags, dropped = drop_short_regions([1, 0, 1, 1, 0, 1], 1)  # the default keeps everything
    assert flags.astype(int).tolist() == [1, 0, 1, 1, 0, 1] and dropped == 0


def test_cli_score_min_rows_drops_blips_after_merging(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 50, blip=True)
    capsys.readouterr()
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--merge-gap", "5", "--min-rows", "3",
                 "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "fewer than 5 rows apart joined; " in printed and " shorter than 3 rows dropped)" in printed
    assert "rows 101..114" in printed and "rows 61..61" not in printed
    alarms = pd.read_csv(tmp_path / "out" / "run.scores.csv")["alarm"].to_numpy()
    assert alarms[60] == 0 and alarms[100:114].all()


def test_cli_notes_speak_of_the_threshold_not_of_min_rows_and_the_summary_marks_a_stuck_channel(tmp_path, capsys):
    data, _ = _shifted()
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "fit.csv", index=False)
    assert main(["detect", "fit", str(tmp_path / "fit.csv"), "--out", str(tmp_path / "m"), "--model", "pca-t2q",
                 "--train-rows", "150", "--threshold", "quantile", "--span", "3"]) == 0
    stuck = frame.copy()
    stuck.loc[10:60, "a"] = stuck.loc[10, "a"]
    stuck.to_csv(tmp_path / "stuck.csv", index=False)
    capsys.readouterr()
    # --min-rows drops the 40-row region at 200..240: it was flagged, so no "flagged none of them" note
    assert main(["detect", "score", str(tmp_path / "m"), str(tmp_path / "fit.csv"), str(tmp_path / "stuck.csv"),
                 "--min-rows", "100"]) == 0
    printed = capsys.readouterr().out
    assert "shorter than 100 rows dropped" in printed and "flagged none of them" not in printed
    summary = printed.split("summary:")[1]
    assert "stuck.csv" in summary and "[stuck channel: see its notes]" in summary
    assert "fit.csv" in summary.split("stuck.csv")[0] and "stuck channel" not in summary.split("\n")[1]


def test_elapsed_seconds_count_a_repeated_hour_as_samples():
    from tinyad.commands.detect import RowsOrDuration
    from tinyad.detectors.score_files import elapsed_seconds

    assert elapsed_seconds(np.array([0.0, 60.0, 120.0, 60.0, 120.0])).tolist() == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert RowsOrDuration(0).convert("0min", None, None) == 0  # no joining, as --merge-gap 0
    with pytest.raises(click.BadParameter, match="longer than 0"):
        RowsOrDuration(1).convert("0min", None, None)


def test_cli_score_names_threshold_options_the_threshold_does_not_read(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90)  # saved with a quantile threshold
    capsys.readouterr()
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--k", "2", "--p", "0.2"]) == 0
    assert ("warning: --p (for --threshold dynamic), --k (for --threshold sigma) ignored: this scoring's threshold "
            "is quantile") in capsys.readouterr().err
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--threshold", "sigma", "--k", "2"]) == 0
    captured = capsys.readouterr()
    assert "mean + 2 sigma" in captured.out and "ignored" not in captured.err
    # covering needs a window autoencoder: refused before any output
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--threshold", "covering"]) == 2
    captured = capsys.readouterr()
    assert "needs a window autoencoder, not pca-t2q" in captured.err and "settings" not in captured.out


def test_cli_score_refuses_a_duration_on_numbers_without_a_unit_and_notes_a_changed_fitted_file(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90)
    numbered = tmp_path / "numbered.csv"
    pd.read_csv(csv).assign(t=np.arange(300) * 2.0).to_csv(numbered, index=False)
    capsys.readouterr()
    assert main(["detect", "score", str(tmp_path / "m"), str(numbered), "--min-rows", "30s"]) == 2
    err = capsys.readouterr().err
    assert "--min-rows 30 s: the time column 't' holds numbers without a unit" in err
    assert "--min-rows 12" in err and "--merge-gap" not in err and "t_s" in err
    # the fitted file with a label column added: its first 90 rows still hold the values fitted on, left out
    labelled = pd.read_csv(csv).assign(anomaly=0)
    labelled.loc[100:113, "anomaly"] = 1
    labelled.to_csv(csv, index=False)
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--label-column", "anomaly"]) == 0
    assert "rows 1..90 of this file trained the detector: left out of the evaluation" in capsys.readouterr().out
    # a value fitted on edited since: its rows are evaluated, and a note says why
    labelled.loc[5, "a"] += 1.0
    labelled.to_csv(csv, index=False)
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), "--label-column", "anomaly"]) == 0
    assert ("the detector was fitted on rows 1..90 of this file, which has changed since: every row is evaluated"
            in capsys.readouterr().out)


def test_fit_warns_when_its_training_rows_are_labelled_anomalous(tmp_path, capsys):
    from tinyad.detectors.fit_files import labelled_training_rows

    # by hand: rows 3 and 4 (data rows 4, 5) are labelled; training on 3 rows is clean, on 5 it is not
    frame = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "Anomaly": [0, 0, 0, 1, 1, 0]})
    csv = tmp_path / "run.csv"
    frame.to_csv(csv, index=False)
    item = load_telemetry(csv, drop_label_like=True)
    assert item.columns == ["a"] and list(item.label_like_marks) == ["Anomaly"]
    assert labelled_training_rows(item, 3, None) is None
    warning = labelled_training_rows(item, 5, None)
    assert "2 of the 5 training rows are labelled anomalous in column 'Anomaly' (the first is data row 4)" in warning
    assert "--train-rows 3" in warning
    # rows chosen by time: the advice is the time of the first labelled row
    timed = load_telemetry(csv, drop_label_like=True)
    timed.time = np.array(["08:00", "08:01", "08:02", "08:03", "08:04", "08:05"])
    assert "train on a --train-until at or before 08:03 (that row's time)" in labelled_training_rows(
        timed, 5, None, by_time=True)
    # the --label-column's labels count, and a file labelled from its first row has no --train-rows to offer
    frame["state"] = [1, 0, 0, 0, 0, 0]
    frame.to_csv(csv, index=False)
    given = load_telemetry(csv, label_column="state", drop_label_like=True)
    assert "'state' (the first is data row 1)" in labelled_training_rows(given, 2, "state")
    assert "--train-rows" not in labelled_training_rows(given, 2, "state")

    data, labels = _shifted()  # labelled 1 on rows 200..239
    table = pd.DataFrame(data, columns=["x", "y", "z"])
    table["anomaly"] = labels
    table.to_csv(csv, index=False)
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "all"), "--model", "pca-t2q"]) == 0
    assert "40 of the 300 training rows are labelled anomalous in column 'anomaly' (the first is data row 201)" \
        in capsys.readouterr().err
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "head"), "--model", "pca-t2q",
                 "--train-rows", "200"]) == 0
    assert "labelled anomalous" not in capsys.readouterr().err


def test_level_shift_note_names_channels_in_other_units(tmp_path, capsys):
    from tinyad.detectors.pipeline import level_shift_note

    # by hand: az median 9.8 against mean 1.0, std 0.2 -> 44 std; ax median 0.1 against 0.0, std 0.1 -> 1 std
    values = np.array([[0.0, 9.7], [0.1, 9.8], [0.2, 9.9]])
    note = level_shift_note(values, ["ax", "az"], [0.0, 1.0], [0.1, 0.2])
    assert note.startswith("az: median 9.8 is 44 training std from the training mean 1 (std 0.2): the file's level")
    assert "ax" not in note and "m/s² against g" in note
    assert level_shift_note(values, ["ax", "az"], [0.0, 9.0], [0.1, 0.2]) is None  # 4 std: a fault may do that
    assert level_shift_note(values, ["ax", "az"], None, None) is None
    assert level_shift_note(values, ["ax", "az"], [0.0, 9.8], [0.0, 0.0]) is None  # constant in training: no scale

    rng = np.random.default_rng(2)
    in_g = np.column_stack([rng.normal(0, 0.02, 400), rng.normal(1.0, 0.02, 400)])
    pd.DataFrame(in_g, columns=["ax", "az"]).to_csv(tmp_path / "g.csv", index=False)
    pd.DataFrame(in_g * 9.81, columns=["ax", "az"]).to_csv(tmp_path / "ms2.csv", index=False)
    model = tmp_path / "model"
    assert main(["detect", "fit", str(tmp_path / "g.csv"), "--out", str(model), "--model", "pca-t2q",
                 "--threshold", "quantile"]) == 0
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(tmp_path / "g.csv"), str(tmp_path / "ms2.csv")]) == 0
    printed = capsys.readouterr().out
    same, other = printed.split("summary: 2 files")[0].split("ms2.csv: ")
    assert "training std from the training mean" not in same
    # g -> m/s²: az's median 9.78 lies ~440 training std (0.02) above its training mean 1.0; ax stays near 0
    assert "note: az: median 9.7" in other and "training std from the training mean 0.99" in other
    assert "ax: median" not in other
    summary = printed.split("summary: 2 files")[1].splitlines()
    assert "[level far from the training data: see its notes]" in next(line for line in summary if "ms2" in line)
    assert "level far" not in next(line for line in summary if "g.csv" in line)


def test_error_window_takes_a_duration_in_the_training_interval(tmp_path, capsys):
    from datetime import timedelta

    from tinyad.commands.detect import error_window_rounding_note, error_window_rows

    five_minutes = {"interval": 300.0, "unit": "s"}
    assert (error_window_rows(12, None), error_window_rows(None, five_minutes)) == (12, None)
    assert error_window_rows(timedelta(hours=1), five_minutes) == 12
    assert error_window_rows(timedelta(minutes=1), five_minutes) == 2  # never below the option's least
    assert error_window_rounding_note(timedelta(minutes=1), five_minutes) == (
        "--error-window 1 min is 0.2 rows at the training data's interval (5 min): the least error window, 2 rows, "
        "is used")
    assert error_window_rounding_note(timedelta(minutes=7), five_minutes) is not None  # 1.4 rows rounds to 1
    assert error_window_rounding_note(timedelta(minutes=8), five_minutes) is None  # 1.6 rows rounds to 2
    assert error_window_rounding_note(1, five_minutes) is None and error_window_rounding_note(None, None) is None
    with pytest.raises(InputError, match="a duration needs the training data's sampling interval"):
        error_window_rows(timedelta(hours=1), {"interval": 2.0, "unit": ""})  # numbers without a unit

    csv = _fragmented_episode_fitted(tmp_path, 90, stamped=True)  # one row a minute
    assert main(["detect", "fit", str(csv), "--out", str(tmp_path / "dyn"), "--model", "pca-t2q", "--train-rows",
                 "90", "--error-window", "1h"]) == 0
    assert "dynamic threshold (p 0.13) per 60 rows (1 h) (--error-window)" in capsys.readouterr().out
    assert json.loads((tmp_path / "dyn" / "pipeline.json").read_text())["threshold"]["window"] == 60
    assert main(["detect", "score", str(tmp_path / "dyn"), str(csv), "--error-window", "30min"]) == 0
    assert "per 30 rows (30 min) (--error-window)" in capsys.readouterr().out
    # a duration shorter than 2 rows, and a window as long as the file, each get a note
    n_rows = len(pd.read_csv(csv))
    assert main(["detect", "score", str(tmp_path / "dyn"), str(csv), "--error-window", "30s"]) == 0
    assert ("note: --error-window 30 s is 0.5 rows at the training data's interval (1 min): the least error "
            "window, 2 rows, is used") in capsys.readouterr().out
    assert main(["detect", "score", str(tmp_path / "dyn"), str(csv), "--error-window", str(n_rows)]) == 0
    assert (f"note: the error window ({n_rows} rows) covers all {n_rows} rows of this file: one threshold over the "
            "whole file, as without --error-window") in capsys.readouterr().out
    assert main(["detect", "score", str(tmp_path / "dyn"), str(csv), "--error-window", str(n_rows - 1)]) == 0
    assert "covers all" not in capsys.readouterr().out
    plain = tmp_path / "plain.csv"
    pd.read_csv(csv).drop(columns="time").to_csv(plain, index=False)
    assert main(["detect", "fit", str(plain), "--out", str(tmp_path / "none"), "--model", "pca-t2q",
                 "--error-window", "1h"]) == 2
    assert "hint: give rows instead, e.g. --error-window 100" in capsys.readouterr().err


def test_cli_score_for_scripts_summary_json_fail_on_alarm_and_no_stale_outputs(tmp_path, capsys):
    csv = _fragmented_episode_fitted(tmp_path, 90)  # alarms at rows 101..114 with the fitted quantile threshold
    quiet = tmp_path / "quiet.csv"
    pd.read_csv(csv).iloc[:90].to_csv(quiet, index=False)  # the training rows: nothing above the 0.99 quantile
    out = tmp_path / "out"
    assert main(["detect", "score", str(tmp_path / "m"), str(csv), str(quiet), "--out", str(out),
                 "--fail-on-alarm"]) == 10
    summary = json.loads((out / "summary.json").read_text())
    by_file = {Path(f["file"]).name: f for f in summary["files"]}
    alarms = pd.read_csv(out / "run.scores.csv")["alarm"]
    assert by_file["run.csv"]["alarm_rows"] == alarms.sum() > 0 and summary["alarms"] is True
    assert by_file["run.csv"]["first_alarm_row"] == int(alarms.to_numpy().nonzero()[0][0]) + 1
    assert by_file["run.csv"]["scores_csv"] == "run.scores.csv" and summary["failed"] == []  # beside summary.json
    capsys.readouterr()
    quiet_alarms = pd.read_csv(out / "quiet.scores.csv")["alarm"].sum()
    assert main(["detect", "score", str(tmp_path / "m"), str(quiet), "--out", str(out), "--fail-on-alarm"]) == (
        10 if quiet_alarms else 0)
    # the file cut off while being written: refused with a hint, and its earlier outputs are gone, not stale
    quiet.write_text(quiet.read_text().rstrip("\n").rsplit(",", 1)[0] + ",")
    assert main(["detect", "score", str(tmp_path / "m"), str(quiet), "--out", str(out)]) == 2
    assert "the last line has no line end: the file is probably still being written" in capsys.readouterr().err
    assert not (out / "quiet.scores.csv").exists() and not (out / "quiet.png").exists()
    failed = json.loads((out / "summary.json").read_text())["failed"]
    assert [(Path(f["file"]).name, f["exit_code"]) for f in failed] == [("quiet.csv", 2)]


def test_label_like_columns_warn_at_fit_only_when_they_hold_zeros_and_ones(tmp_path):
    from tinyad.detectors.fit_files import labelled_training_rows

    csv = tmp_path / "run.csv"
    # -1/+1 labels mark every row; text labels are not numbers: neither is read as 0/1 anomaly marks
    pd.DataFrame({"a": [1.0, 2, 3, 4], "label": [-1, -1, 1, 1], "anomaly": ["normal", "fault", "fault", "normal"],
                  "changepoint": [0, 1, 0, 0]}).to_csv(csv, index=False)
    item = load_telemetry(csv, drop_label_like=True)
    assert list(item.label_like_marks) == ["changepoint"]
    assert "1 of the 4 training rows are labelled anomalous in column 'changepoint'" in labelled_training_rows(
        item, 4, None)
