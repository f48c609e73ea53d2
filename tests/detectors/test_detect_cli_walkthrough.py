"""`tinyad detect fit|score` as a first-time user meets it: labels never become inputs, read options are
remembered, bad options fail before loading data, files fail one at a time, the notes and plots say what the
threshold did not. PCA model throughout (no training time)."""

import json

import numpy as np
import pandas as pd
import pytest

from tinyad.cli import main
from tinyad.detectors.pipeline import (LabelFreeDetector, ScoreResult, no_threshold_note, unflagged_excess_note,
                                       whole_file_window_note)
from tinyad.detectors.scored_plot import error_axis_scale, plot_scored, visible_region
from tinyad.detectors.telemetry import load_telemetry, Telemetry
from tinyad.errors import InputError


def _signals(n=300, seed=0):
    """Three channels, the second tied to the first (PCA sees a broken tie at once)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=n)
    return x


def _write(tmp_path, name, values, columns=("a", "b", "c"), sep=",", **extra):
    frame = pd.DataFrame(values, columns=list(columns))
    for column, data in extra.items():
        frame[column] = data
    path = tmp_path / name
    frame.to_csv(path, index=False, sep=sep)
    return path


def _fit(tmp_path, csv, *options, out="model"):
    model = tmp_path / out
    code = main(["detect", "fit", str(csv), "--out", str(model), "--model", "pca-t2q", *options])
    return model, code


# --- 1: labels never become inputs --------------------------------------------------------------------------

def test_fit_leaves_well_known_label_columns_out_and_says_so(tmp_path, capsys):
    labels = np.zeros(300, int)
    labels[200:240] = 1
    csv = _write(tmp_path, "run.csv", _signals(), Anomaly=labels, changepoint=0)
    model, code = _fit(tmp_path, csv, "--train-rows", "150")
    assert code == 0
    assert (model / "columns.txt").read_text().split() == ["a", "b", "c"]
    assert "left out label column(s) Anomaly, changepoint" in capsys.readouterr().out
    # named explicitly with --columns, a label-like column is the user's choice
    model, code = _fit(tmp_path, csv, "--columns", "a,b,Anomaly", out="explicit")
    assert code == 0 and (model / "columns.txt").read_text().split() == ["a", "b", "Anomaly"]


def test_score_evaluates_a_labelled_file_without_the_rows_the_detector_was_fitted_on(tmp_path, capsys):
    labels = np.zeros(300, int)
    labels[200:240] = 1
    csv = _write(tmp_path, "run.csv", _signals(), anomaly=labels)
    model, _ = _fit(tmp_path, csv, "--train-rows", "150")
    copy = tmp_path / "copy.csv"  # the same data under another name is recognised by its content
    copy.write_bytes(csv.read_bytes())
    other = _write(tmp_path, "other.csv", _signals(seed=1), anomaly=labels)
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(copy), str(other), "--label-column", "anomaly", "--out",
                 str(tmp_path / "scored")]) == 0
    out = capsys.readouterr().out
    assert (pd.read_csv(tmp_path / "scored" / "other.scores.csv")["label"] == labels).all()  # beside the alarms
    fitted_on = pd.read_csv(tmp_path / "scored" / "copy.scores.csv")["fitted_on"]
    assert fitted_on.tolist() == [1] * 150 + [0] * 150  # the rows left out of the evaluation
    assert "rows 1..150 of this file trained the detector: left out of the evaluation" in out
    assert ("evaluation, rows 151..300 (AUC-PR, VUS-PR and ROC-AUC rank the smoothed error; the dynamic threshold "
            "was set on this file's own errors, without its labels)") in out
    assert "evaluation, rows 1..300 " in out  # the other file: every row
    # normal rows: the copy's rows 151..300 hold 110 (40 anomalous), the other file 260; together 370
    assert "of 110 normal rows" in out and "of 260 normal rows" in out
    assert "all files concatenated, without the 150 rows fitted on: pca-t2q:" in out and "of 370 normal rows" in out
    whole, _ = _fit(tmp_path, csv, out="whole")  # fitted on every row: nothing left to evaluate
    capsys.readouterr()
    assert main(["detect", "score", str(whole), str(csv), str(other), "--label-column", "anomaly"]) == 0
    out = capsys.readouterr().out
    assert "all 300 rows of this file trained the detector: no evaluation" in out
    assert f"left out of the evaluation (every row trained the detector): {csv}" in out
    assert "all files concatenated: pca-t2q:" in out and "of 260 normal rows" in out


def test_score_offers_a_label_like_column_and_names_a_bad_label_cell(tmp_path, capsys):
    labels = np.zeros(300, int)
    labels[200:240] = 1
    csv = _write(tmp_path, "run.csv", _signals(), anomaly=labels)
    model, _ = _fit(tmp_path, csv, "--train-rows", "150")
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(csv)]) == 0
    assert ("column 'anomaly' looks like labels: --label-column anomaly evaluates the alarms against it"
            in capsys.readouterr().out)
    gap = labels.astype(float)
    gap[[7, 9]] = np.nan
    holed = _write(tmp_path, "holed.csv", _signals(), anomaly=gap)
    assert main(["detect", "score", str(model), str(holed), "--label-column", "anomaly"]) == 2
    assert ("label column 'anomaly' must hold only 0 and 1: data row 8 holds an empty cell (2 such row(s))"
            in capsys.readouterr().err)


def test_score_refuses_a_label_column_that_the_model_takes_as_input(tmp_path, capsys):
    labels = np.zeros(300, int)
    labels[200:240] = 1
    csv = _write(tmp_path, "run.csv", _signals(), anomaly=labels)
    model, _ = _fit(tmp_path, csv, "--columns", "a,b,c,anomaly", "--train-rows", "150")
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(csv), "--label-column", "anomaly"]) == 2
    err = capsys.readouterr().err
    assert "--label-column 'anomaly' is one of the model's input columns" in err and "--drop anomaly" in err


def test_fit_refuses_the_label_column_among_the_columns(tmp_path, capsys):
    csv = _write(tmp_path, "run.csv", _signals(), y=0)
    _, code = _fit(tmp_path, csv, "--columns", "a,y", "--label-column", "y")
    assert code == 2 and "labels are never inputs" in capsys.readouterr().err


# --- 2: notes when the threshold cannot flag -----------------------------------------------------------------

def _result(smoothed, flags=None, threshold=None, method="dynamic"):
    smoothed = np.asarray(smoothed, float)
    flags = np.zeros(len(smoothed), bool) if flags is None else np.asarray(flags, bool)
    threshold = np.full(len(smoothed), np.nan) if threshold is None else np.asarray(threshold, float)
    return ScoreResult(smoothed, smoothed, threshold, flags, method)


def test_no_threshold_note_says_when_no_level_was_found():
    assert "no threshold could be set" in no_threshold_note(_result([1.0, 2.0, 3.0]))
    partly = _result([1.0, 2.0, 3.0, 4.0], threshold=[np.nan, np.nan, 5.0, 5.0])
    assert "for 2 of 4 rows" in no_threshold_note(partly) and no_threshold_note(partly).endswith("data rows 1..2")
    twice = _result(np.ones(6), threshold=[5.0, np.nan, np.nan, 5.0, np.nan, 5.0])
    assert no_threshold_note(twice, time=np.arange(6) * 10.0).endswith(
        "data rows 2..3 (10 .. 20), and 1 more stretch(es)")
    assert no_threshold_note(_result([1.0, 2.0], threshold=[3.0, 3.0])) is None
    assert no_threshold_note(_result([1.0, 2.0], method="covering")) is None  # NaN by design there


def test_whole_file_window_note_when_the_error_window_is_not_shorter_than_the_file():
    assert whole_file_window_note("dynamic", 300, 300) == (
        "the error window (300 rows) covers all 300 rows of this file: one threshold over the whole file, as "
        "without --error-window")
    assert whole_file_window_note("dynamic", 500, 300).startswith("the error window (500 rows) covers all 300")
    assert whole_file_window_note("dynamic", 299, 300) is None
    assert whole_file_window_note("dynamic", None, 300) is None  # the whole file already, as asked
    assert whole_file_window_note("quantile", 500, 300) is None  # no error windows


def test_unflagged_excess_note_names_the_longest_stretch_in_rows_and_times():
    smoothed = np.ones(100)
    smoothed[40:60] = 50.0  # 20 % of the rows at 50x a training p99 of 1
    smoothed[80:83] = 50.0
    time = np.arange(100) * 10
    note = unflagged_excess_note(_result(smoothed), training_p99=1.0, time=time)
    assert "23 unflagged rows (23%)" in note
    assert "the longest stretches are data rows 41..60 (400 .. 590) and 81..83 (800 .. 820)," in note
    assert "--threshold quantile" in note and note.endswith("score with `--error-window N` (a dynamic threshold "
                                                           "per N rows, as telemanom sets one per batch)")
    assert "with `--min-rows 10` their short blips are dropped" in note
    assert "your --min-rows 5 s drops their short blips" in unflagged_excess_note(_result(smoothed), 1.0,
                                                                                  min_rows="5 s")
    assert "--error-window" not in unflagged_excess_note(_result(smoothed), training_p99=1.0, error_window=50)
    assert "--error-window" not in unflagged_excess_note(_result(smoothed, method="quantile"), training_p99=1.0)
    flags = np.zeros(100, bool)
    flags[40:60] = True  # flagged: only 3 % left, under the 5 % bar
    assert unflagged_excess_note(_result(smoothed, flags), training_p99=1.0) is None
    assert unflagged_excess_note(_result(np.full(100, 9.0)), training_p99=1.0) is None  # under 10x


def test_score_marks_a_file_whose_fault_goes_unflagged_in_notes_and_summary(tmp_path, capsys):
    normal = _signals()
    faulty = normal.copy()
    faulty[100:280, 1] -= 40.0  # 60 % of the file: the dynamic threshold's guard rails flag none of it
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", normal), "--span", "3")
    capsys.readouterr()
    files = [str(_write(tmp_path, "normal.csv", normal)), str(_write(tmp_path, "faulty.csv", faulty))]
    assert main(["detect", "score", str(model), *files]) == 0
    printed = capsys.readouterr().out
    faulty_part = printed[printed.index("faulty.csv: "):printed.index("summary:")]
    assert "have a smoothed error above 10x the training p99" in faulty_part
    # the first line read says so too; the normal file's does not
    assert faulty_part.splitlines()[0].endswith("; rows far above the training errors left unflagged, see the notes")
    normal_part = printed[printed.index("normal.csv: "):printed.index("faulty.csv: ")]
    assert "left unflagged" not in normal_part
    summary_line = next(line for line in printed.splitlines() if "faulty.csv" in line and " rows " in line
                        and "flagged (" in line)
    assert "unflagged excess" in summary_line


# --- 3: --columns at score are matched by name ---------------------------------------------------------------

def test_score_columns_are_checked_by_name_and_matched_in_any_order(tmp_path, capsys):
    data = _signals()
    data[200:240, 1] -= 4.0
    csv = _write(tmp_path, "run.csv", data)
    model, _ = _fit(tmp_path, csv, "--train-rows", "150", "--threshold", "quantile")
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(csv), "--out", str(out)]) == 0
    reference = pd.read_csv(out / "run.scores.csv")
    # the same columns in another order in the file, and given reordered: the same scores
    reordered = _write(tmp_path, "reordered.csv", data[:, [2, 0, 1]], columns=("c", "a", "b"))
    assert main(["detect", "score", str(model), str(reordered), "--columns", "c,b,a", "--out", str(out)]) == 0
    np.testing.assert_allclose(pd.read_csv(out / "reordered.scores.csv")["error"], reference["error"])
    capsys.readouterr()
    other = _write(tmp_path, "other.csv", data, columns=("a", "b", "z"))
    assert main(["detect", "score", str(model), str(other), "--columns", "a,b,z"]) == 2
    err = capsys.readouterr().err
    assert "expected a, b, c" in err and "missing ['c']" in err and "not in the model ['z']" in err


# --- 4: fit options are checked before the data is read -----------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (["--quantile", "1.5"], "--quantile"),
    (["--train-rows", "0"], "--train-rows"),
    (["--train-rows", "-5"], "--train-rows"),
    (["--p", "-1"], "--p"),
    (["--span", "0.5"], "--span"),
    (["--window", "20"], "--window does not apply to --model pca-t2q"),
    (["--lstm-units", "8"], "--lstm-units does not apply to --model pca-t2q"),
])
def test_fit_refuses_bad_options_before_reading_data(tmp_path, capsys, options, message):
    missing = tmp_path / "never-read.csv"  # a read would fail with "no such file"
    model, code = _fit(tmp_path, missing, *options)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "no such file" not in err
    assert not model.exists()


def test_model_option_error_names_the_models_that_take_it(tmp_path, capsys):
    _fit(tmp_path, tmp_path / "x.csv", "--window", "20")
    assert "--window is taken by lstm-ae, conv-ae, forecaster" in capsys.readouterr().err


# --- 5: read options are remembered ----------------------------------------------------------------------------

def test_score_defaults_to_the_read_options_given_at_fit(tmp_path, capsys):
    data = _signals()
    data[200:240, 1] -= 4.0
    stamps = pd.date_range("2024-05-01 12:00:00", periods=300, freq="s").astype(str)
    csv = _write(tmp_path, "run.csv", data, sep=";", stamp=stamps, junk="x", y=0)
    model, code = _fit(tmp_path, csv, "--time-column", "stamp", "--sep", ";", "--drop", "junk", "--label-column",
                       "y", "--train-rows", "150", "--threshold", "quantile", "--span", "3")
    assert code == 0
    saved = json.loads((model / "read_options.json").read_text())
    assert (saved["time_column"], saved["sep"], saved["drop"], saved["label_column"]) == ("stamp", ";", ["junk"], "y")
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(2024-05-01 12:03:" in printed  # times printed without --time-column
    assert "threshold saw test labels: no" in printed  # the remembered label column y is evaluated
    scores = pd.read_csv(out / "run.scores.csv")
    assert list(scores.columns[:2]) == ["row", "stamp"] and scores["stamp"].iloc[0] == "2024-05-01 12:00:00"
    # a scored file without the remembered label column is scored (the same signals: the same scores and alarms),
    # without evaluation
    plain = _write(tmp_path, "plain.csv", data, sep=";", stamp=stamps)
    assert main(["detect", "score", str(model), str(plain), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "plain.csv: 300 rows" in printed and "threshold saw test labels" not in printed
    # (its first 150 rows hold the values fitted on, so they are marked fitted_on as in the labelled file)
    pd.testing.assert_frame_equal(pd.read_csv(out / "plain.scores.csv"), scores.drop(columns=["label"]))
    # a folder fitted before read options were saved still loads
    (model / "read_options.json").unlink()
    plain_comma = _write(tmp_path, "plain2.csv", data)
    assert main(["detect", "score", str(model), str(plain_comma), "--out", str(out)]) == 0
    assert list(pd.read_csv(out / "plain2.scores.csv").columns[:2]) == ["row", "error"]


# --- 6: the PNG ----------------------------------------------------------------------------------------------

def test_plot_uses_training_statistics_log_axis_legends_and_names_hidden_channels(tmp_path, saved_figures):
    n = 2000
    values = np.full((n, 10), 5.0)  # 5 training sigmas above the training mean on every channel
    labels = np.zeros(n, np.int8)
    labels[100:300] = 1
    telemetry = Telemetry("f.csv", [f"c{i}" for i in range(10)], values, np.arange(n) * 2.0, labels,
                          time_name="seconds")
    smoothed = np.linspace(1.0, 1000.0, n)  # up to 1000x the training p99 of 1
    flags = np.zeros(n, bool)
    flags[1500] = True  # one row of 2000
    plot_scored(telemetry, smoothed, np.full(n, 500.0), flags, tmp_path / "p.png", training_p99=1.0,
                signal_mean=np.zeros(10), signal_std=np.ones(10))
    fig = saved_figures[-1]
    top, bottom = fig.axes
    assert np.allclose(top.lines[0].get_ydata(), 5.0)  # own statistics would have shown 0
    assert "training mean/std" in top.get_ylabel()
    assert bottom.get_yscale() == "log"
    assert bottom.get_xlabel() == "time (s, column seconds)"  # the unit, from the column's name
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert "flagged" in legend and "labelled anomaly" in legend
    assert "first 8 of 10 channels" in fig._suptitle.get_text()
    assert len(top.lines) == 8


def test_short_regions_get_a_visible_width_and_linear_axes_stay_linear():
    assert visible_region(500, 501, 10_000) == (490, 510)  # 0.2 % of the rows
    assert visible_region(0, 1, 10_000) == (0, 20)
    assert visible_region(9999, 10_000, 10_000) == (9980, 10_000)
    assert visible_region(100, 400, 10_000) == (100, 400)  # wide enough already
    assert error_axis_scale(np.array([0.5, 2.0, 40.0]), 1.0) == "linear"
    assert error_axis_scale(np.array([0.5, 2.0, 400.0]), 1.0) == "log"
    assert error_axis_scale(np.array([0.0, 2.0, 400.0]), 1.0) == "symlog"
    assert error_axis_scale(np.array([0.5, 400.0]), None) == "linear"


def test_plot_without_time_counts_data_rows_from_1(tmp_path, saved_figures):
    telemetry = Telemetry("f.csv", ["a"], np.zeros((5, 1)))
    plot_scored(telemetry, np.ones(5), np.full(5, 2.0), np.zeros(5, bool), tmp_path / "p.png")
    bottom = saved_figures[-1].axes[1]
    assert bottom.get_xlabel() == "data row" and bottom.lines[0].get_xdata()[0] == 1
    assert "this file's mean/std" in saved_figures[-1].axes[0].get_ylabel()


# --- 7: one bad file does not stop the batch -------------------------------------------------------------------

def test_score_goes_on_after_a_bad_file_names_it_and_fails_at_the_end(tmp_path, capsys):
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", _signals()), "--threshold", "quantile")
    short = _write(tmp_path, "short.csv", _signals(n=1))
    good = [_write(tmp_path, f"good{i}.csv", _signals(seed=i)) for i in (1, 2)]
    capsys.readouterr()
    out = tmp_path / "out"
    code = main(["detect", "score", str(model), str(good[0]), str(short), str(good[1]), "--out", str(out)])
    assert code == 2  # an InputError's exit code
    captured = capsys.readouterr()
    assert (out / "good1.scores.csv").exists() and (out / "good2.scores.csv").exists()
    assert f"{short}: scoring data: 1 rows" in captured.err
    assert "1 of 3 file(s) could not be scored" in captured.err and "summary: 2 files" in captured.out
    # alone, the file's error names it too
    assert main(["detect", "score", str(model), str(short)]) == 2
    assert f"error: {short}: scoring data" in capsys.readouterr().err


def test_a_nightly_run_refused_before_scoring_leaves_no_summary_and_each_failed_file_says_its_hint(tmp_path, capsys):
    import json

    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", _signals()), "--threshold", "quantile")
    good = _write(tmp_path, "good.csv", _signals(seed=1))
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(good), "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["alarms"] is not None
    # refused before any file is scored (a threshold the model cannot use): yesterday's summary is gone
    assert main(["detect", "score", str(model), str(good), "--out", str(out), "--threshold", "covering"]) == 2
    assert not (out / "summary.json").exists()
    # every file failing: "alarms" is null (nothing was looked at), and each error comes with its own hint
    renamed = _write(tmp_path, "renamed.csv", _signals(seed=2), columns=("a", "b", "x"))
    short = _write(tmp_path, "short.csv", _signals(n=1))
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(renamed), str(short), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["alarms"] is None and len(summary["failed"]) == 2
    assert err.count("hint: ") == 3  # the renamed file's, the short file's, and the summary's pointer to them
    assert "hint: each file's hint is printed with its error above" in err


def test_a_folder_of_parquet_and_csv_files_names_the_csv_files_it_leaves_out(tmp_path, capsys):
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", _signals()), "--threshold", "quantile")
    folder = tmp_path / "plant"
    folder.mkdir()
    pd.DataFrame(_signals(seed=3), columns=["a", "b", "c"]).to_parquet(folder / "new.parquet")
    for i in range(4):
        _write(folder, f"day{i}.csv", _signals(seed=10 + i))
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    import json

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())  # a nightly job sees them too
    assert summary["left_out"] == [str(folder / f"day{i}.csv") for i in range(4)]
    assert (f"note: {folder}: 4 CSV file(s) left out (day0.csv, day1.csv, day2.csv, ...): a folder gives its "
            f"*.parquet files; name CSV files themselves, e.g. {folder / '*.csv'}") in out
    assert f"{folder / 'new.parquet'}: 300 rows" in out


# --- 8: errors that say what is wrong ---------------------------------------------------------------------------

def test_wrong_separator_empty_file_and_nan_cell_get_specific_errors(tmp_path):
    semicolons = _write(tmp_path, "skab.csv", _signals(n=5), sep=";")
    with pytest.raises(InputError, match="read as a single column") as err:
        load_telemetry(semicolons, columns=["a", "b"], sep=",")
    assert "--sep ';'" in err.value.hint
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        load_telemetry(empty)
    holes = tmp_path / "holes.csv"
    holes.write_text("a,b\n1,2\n3,\n")
    with pytest.raises(InputError, match="data row 2, column 'b'") as err:
        load_telemetry(holes)
    assert "fill or interpolate the missing values of 'b'" in err.value.hint and "--drop 'b'" in err.value.hint


# --- 9: one row numbering ------------------------------------------------------------------------------------------

def test_printed_regions_and_the_csv_row_column_count_data_rows_from_1(tmp_path, capsys):
    data = _signals()
    data[200:240, 1] -= 4.0  # data rows 201..240
    csv = _write(tmp_path, "run.csv", data)
    model, _ = _fit(tmp_path, csv, "--train-rows", "150", "--threshold", "quantile", "--span", "1")
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["detect", "score", str(model), str(csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "data rows counted from 1" in printed
    scores = pd.read_csv(out / "run.scores.csv")
    alarm_rows = scores.loc[scores["alarm"] == 1, "row"]
    first_region = next(line.split()[1] for line in printed.splitlines() if line.strip().startswith("rows 2"))
    first, last = (int(v) for v in first_region.split(".."))
    assert (first, last) == (201, 240)
    assert {201, 240} <= set(alarm_rows) and scores["row"].iloc[0] == 1


# --- 10: a refit, the progress bar, undefined rates ---------------------------------------------------------------

def test_refit_into_a_used_folder_removes_the_previous_model_files_only(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.keras").write_text("an LSTM-AE of an earlier fit")
    (model / "notes.txt").write_text("the user's own file")
    _, code = _fit(tmp_path, _write(tmp_path, "n.csv", _signals()))
    assert code == 0 and not (model / "model.keras").exists() and (model / "notes.txt").exists()
    assert "replaced the previous fit" in capsys.readouterr().out
    assert LabelFreeDetector.load(model).kind == "pca-t2q"


def test_fit_shows_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    seen = []
    original = LabelFreeDetector.fit
    monkeypatch.setattr(LabelFreeDetector, "fit", lambda self, normal, **kw: seen.append(kw) or original(self, normal))
    _, code = _fit(tmp_path, _write(tmp_path, "n.csv", _signals()))  # pytest captures stderr: no TTY
    assert code == 0 and seen == [{"progress": False}]


def test_report_prints_undefined_rates_as_na_and_gives_none_in_json():
    from tinyad.evaluation import report

    quiet = report(np.zeros(50, int), np.zeros(50, int), np.linspace(0, 1, 50), threshold_saw_test_labels=False)
    text = str(quiet)
    assert "F1 n/a (point-adjusted n/a), precision n/a, recall n/a" in text and "FAR 0.0%" in text
    values = quiet.to_dict()
    assert values["precision"] is None and values["f1"] is None and values["far"] == 0.0
    json.dumps(values)  # JSON-ready
    assert quiet.f1 == 0.0  # numeric field kept for tables and sums
    # flagged but nothing labelled: precision is 0 (all false alarms), recall still undefined
    noisy = report(np.zeros(50, int), np.r_[np.ones(5, int), np.zeros(45, int)], threshold_saw_test_labels=False)
    assert "precision 0.000, recall n/a" in str(noisy)
    labelled = np.r_[np.zeros(40, int), np.ones(10, int)]
    missed = report(labelled, np.zeros(50, int), threshold_saw_test_labels=False)
    assert "F1 0.000" in str(missed) and "precision n/a" in str(missed)  # a miss is a real 0


def test_score_notes_a_gap_and_rows_sampled_at_another_interval_than_the_fit(tmp_path, capsys):
    # fitted on rows 1 s apart (the column's name says seconds); scored on rows 10 s apart with a 5-min hole
    model, code = _fit(tmp_path, _write(tmp_path, "fit.csv", _signals(), time_s=np.arange(300.0)))
    assert code == 0 and json.loads((model / "read_options.json").read_text())["sampling"] == {
        "interval": 1.0, "unit": "s"}
    seconds = np.arange(300.0) * 10
    seconds[150:] += 300
    assert main(["detect", "score", str(model), str(_write(tmp_path, "slow.csv", _signals(seed=1),
                                                            time_s=seconds))]) == 0
    out = capsys.readouterr().out
    assert ("note: 1 gap(s) longer than 5 sampling intervals (10 s); the largest, 5.17 min, at rows 150 -> 151 "
            "(1490 -> 1800)") in out
    assert ("note: rows are 10 s apart (median), the detector was fitted on rows 1 s apart: windows and smoothing "
            "count rows, so resample the file to the fitted interval") in out
    # among several files, the summary marks the one sampled at another interval, not the one like the fit
    assert main(["detect", "score", str(model), str(tmp_path / "slow.csv"), str(tmp_path / "fit.csv")]) == 0
    summary = capsys.readouterr().out.split("summary: 2 files")[1].splitlines()
    assert "[sampled at another interval: see its notes]" in next(line for line in summary if "slow.csv" in line)
    assert "another interval" not in next(line for line in summary if "fit.csv" in line)


def test_unflagged_excess_note_names_a_sustained_run_a_larger_transient_hid():
    # The dynamic threshold flagged a start-up transient (rows 1-10); 40 rows at 2.5x the training p99 later on
    # are only 4 % of the file and under 10x, yet one sustained excursion: worth a note. 29 rows are not.
    smoothed = np.ones(1000)
    smoothed[:10], smoothed[500:540] = 30.0, 2.5
    flags = np.zeros(1000, bool)
    flags[:10] = True
    note = unflagged_excess_note(_result(smoothed, flags), training_p99=1.0)
    assert note.startswith("40 consecutive unflagged rows have a smoothed error above 2x the training p99 1 (up to "
                           "2.5x); the longest stretch is data rows 501..540, and the")
    smoothed[700:735] = 3.0  # a second sustained excursion, higher: both are named, the longest first
    note = unflagged_excess_note(_result(smoothed, flags), training_p99=1.0)
    assert note.startswith("2 runs of 30 or more consecutive unflagged rows have a smoothed error above 2x the "
                           "training p99 1 (up to 3x); the longest stretches are data rows 501..540 and 701..735,")
    smoothed[700:735] = 1.0
    smoothed[529:540] = 1.0
    assert unflagged_excess_note(_result(smoothed, flags), training_p99=1.0) is None


def test_fit_warns_about_columns_that_never_change(tmp_path, capsys):
    model, code = _fit(tmp_path, _write(tmp_path, "fit.csv", _signals(), rated_rpm=1450.0, running=1))
    assert code == 0
    assert ("warning: column(s) rated_rpm, running never change in the training data (a setting or a status flag?)"
            in capsys.readouterr().err)


def test_every_column_with_a_bad_cell_is_named_at_once(tmp_path):
    csv = _write(tmp_path, "run.csv", _signals(n=5), status="on", spare=np.nan)
    with pytest.raises(InputError) as refused:
        load_telemetry(csv)
    assert str(refused.value) == (f"{csv}: data row 1, column 'status': missing, non-numeric or NaN ('on') (also "
                                  "in column(s) 'spare'); 10 such cell(s) in all, the longest run 5 row(s)")
    assert refused.value.hint == ("a time or date column: name it with --time-column; a label or other text: leave "
                                  "it out with --drop 'status,spare' (or --label-column); else clean the file")


def test_scoring_a_file_with_two_bad_fitted_columns_offers_a_refit_without_both(tmp_path):
    csv = _write(tmp_path, "run.csv", _signals(n=5), status="on", spare=np.nan)
    with pytest.raises(InputError) as refused:
        load_telemetry(csv, columns=["a", "status", "spare"], needed_by_model=True)
    assert refused.value.hint.endswith("or refit without the columns (`tinyad detect fit ... --drop 'status,spare'`)")


def test_a_date_and_time_of_day_pair_is_the_time_column_at_fit_and_at_score(tmp_path, capsys):
    # Datum;Uhrzeit (one stamp in two columns): fit joins them, saves the pair, score reads it and writes it
    stamps = pd.date_range("2024-03-11", periods=300, freq="min")
    columns = {"Datum": stamps.strftime("%d.%m.%Y"), "Uhrzeit": stamps.strftime("%H:%M:%S")}
    model, code = _fit(tmp_path, _write(tmp_path, "fit.csv", _signals(), sep=";", **columns))
    assert code == 0 and json.loads((model / "read_options.json").read_text())["time_column"] == "Datum+Uhrzeit"
    assert json.loads((model / "read_options.json").read_text())["sampling"] == {"interval": 60.0, "unit": "s"}
    assert (model / "columns.txt").read_text().split() == ["a", "b", "c"]
    assert main(["detect", "score", str(model), str(_write(tmp_path, "new.csv", _signals(seed=1), sep=";",
                                                           **columns)), "--out", str(tmp_path / "out")]) == 0
    assert "repeated" not in capsys.readouterr().out
    scores = pd.read_csv(tmp_path / "out" / "new.scores.csv")
    assert scores["Datum+Uhrzeit"].iloc[[0, -1]].tolist() == ["11.03.2024 00:00:00", "11.03.2024 04:59:00"]


def test_many_regions_list_the_highest_in_file_order(tmp_path, capsys):
    from tinyad.detectors.score_files import regions_to_list

    smoothed = np.array([1, 1, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 4])
    assert regions_to_list([(0, 2), (5, 9), (12, 13)], smoothed, most=2) == [(5, 9), (12, 13)]
    assert regions_to_list([(0, 2), (5, 9)], smoothed, most=2) == [(0, 2), (5, 9)]
    # a quantile threshold's blips before a fault: the fault is listed, with how many are not
    normal = _signals(n=4000)
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", normal), "--span", "1", "--threshold", "quantile")
    faulty = _signals(n=4000, seed=3)
    faulty[3900:3950, 1] -= 40.0
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(_write(tmp_path, "faulty.csv", faulty))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("settings: ")
    lines = lines[1:]
    regions = int(lines[0].split(" flagged in ")[1].split()[0])
    assert regions > 20 and "the 20 of" in lines[1] and "with the highest smoothed error, in file order" in lines[1]
    assert any(line.startswith("  rows 3901..") for line in lines[2:22])
    assert lines[22] == f"  ... {regions - 20} more (--out writes them all to a scores CSV)"  # no --out given


def test_an_over_range_stretch_stays_flagged_and_is_not_called_a_stuck_sensor(tmp_path, capsys):
    normal = _signals(n=600)
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", normal), "--threshold", "sigma")
    faulty = pd.DataFrame(_signals(n=600, seed=2), columns=["a", "b", "c"])
    faulty.loc[400:460, "a"] = 6.0
    faulty = faulty.astype({"a": object})
    faulty.loc[420:450, "a"] = "OVF"  # the logger's range ends below the fault's peak
    faulty.to_csv(tmp_path / "faulty.csv", index=False)
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(tmp_path / "faulty.csv"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "column 'a': read 31 over-range cell(s) (e.g. 'OVF') as its largest reading, 6" in out
    assert "holds one value" not in out
    alarm = pd.read_csv(tmp_path / "out" / "faulty.scores.csv")["alarm"].to_numpy()
    assert alarm[420:451].all()


# --- settings in rows and time; one channel; little training data ----------------------------------------------

def test_settings_line_gives_rows_and_their_time():
    from tinyad.commands.detect import settings_line
    from tinyad.detectors.pipeline import ThresholdConfig

    five_minutes = {"interval": 300.0, "unit": "s"}
    forecaster = LabelFreeDetector("forecaster", ThresholdConfig(window=2016), {})
    assert settings_line(forecaster, five_minutes) == (
        "settings: history 30 rows (2.5 h) predicts 5 rows (25 min), EWMA span 10 rows (50 min), dynamic threshold "
        "(p 0.13) per 2016 rows (7 days) (--error-window)")
    covering = LabelFreeDetector("conv-ae", ThresholdConfig(method="covering"), {})
    assert settings_line(covering, None) == ("settings: window 60 rows, covering threshold: 1.33 x the 0.999 quantile "
                                             "of the training windows' residuals (no smoothing)")
    # numbers in unknown units: rows only
    sigma = LabelFreeDetector("pca-t2q", ThresholdConfig(method="sigma"), {})
    assert settings_line(sigma, {"interval": 2.0, "unit": ""}) == (
        "settings: EWMA span 10 rows, threshold: mean + 3 sigma of the training errors")


def test_fit_on_one_channel_and_on_few_rows_says_so(tmp_path, capsys):
    stamps = pd.date_range("2024-03-11", periods=300, freq="5min").strftime("%Y-%m-%d %H:%M")
    one = _write(tmp_path, "one.csv", _signals()[:, :1], columns=("value",), timestamp=stamps)
    _, code = _fit(tmp_path, one)
    captured = capsys.readouterr()
    assert code == 0 and ("settings: EWMA span 10 rows (50 min), dynamic threshold (p 0.13) over the whole scored "
                          "file") in captured.out
    assert "note: one channel: PCA's T2 is the squared z-score and Q is 0" in captured.out
    assert "windows" not in captured.err
    few = _write(tmp_path, "few.csv", _signals()[:40])
    _, code = _fit(tmp_path, few, "--model", "lstm-ae", "--window", "8", "--epochs", "1", out="few")
    captured = capsys.readouterr()
    assert code == 0 and "warning: 40 training rows span 5 windows of 8 rows (fewer than 10)" in captured.err
    from tinyad.detectors.fit_files import few_training_rows_warning

    assert few_training_rows_warning(12, 1, 8).startswith("12 training rows for 8 channels (fewer than 10 per channel)")
    assert few_training_rows_warning(80, 1, 8) is None and few_training_rows_warning(80, 8, 3) is None
    assert "one channel" not in captured.out


def test_a_label_column_asked_for_at_scoring_that_a_file_lacks_only_skips_its_evaluation(tmp_path, capsys):
    model, _ = _fit(tmp_path, _write(tmp_path, "normal.csv", _signals()), "--threshold", "quantile")
    labelled = _write(tmp_path, "labelled.csv", _signals(seed=1), anomaly=[0] * 300)
    plain = _write(tmp_path, "plain.csv", _signals(seed=2))
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(labelled), str(plain), "--label-column", "anomaly"]) == 0
    out = capsys.readouterr().out
    assert f"{plain}: 300 rows" in out  # scored: its alarms are not lost to an evaluation-only option
    assert "no label column 'anomaly' (given with --label-column): no evaluation" in out
