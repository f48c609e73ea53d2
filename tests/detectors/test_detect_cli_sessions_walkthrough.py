"""`tinyad detect` on IMU sessions and CSVs exported from them, as a first-time user meets it: a fault that lasts
is marked in the summary, sessions labelled as faults are not fitted on, the NaN hint at scoring does not loop,
folders of sessions are read, a `t` column is the time, and the PNG names the time unit and shows the threshold
when it lies on the training p99. PCA model throughout (no training time)."""

import numpy as np
import pandas as pd
import pytest

from tinyad.cli import main
from tinyad.commands.detect import expand_folders
from tinyad.detectors.fit_files import labelled_faults
from tinyad.detectors.pipeline import ScoreResult, whole_file_departure_note
from tinyad.detectors.scored_plot import plot_scored, threshold_is_training_p99, time_axis_label
from tinyad.detectors.telemetry import load_telemetry, Telemetry
from tinyad.errors import InputError
from tinyad.session import Session, SessionMeta, write_session
from tinyad.timestamps import reads_as_time

CHANNELS = ["ax", "ay", "gz"]


def _signals(n=300, seed=0):
    """Three channels, the second tied to the first (PCA sees a broken tie at once)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=n)
    return x


def _session(folder, name, label, values=None, seed=0):
    """A tinyad session file at 100 Hz with `label` in its metadata."""
    values = _signals(seed=seed) if values is None else values
    t = np.arange(len(values)) / 100.0
    meta = SessionMeta(sample_rate_hz=100.0, label=label, channels=CHANNELS)
    folder.mkdir(parents=True, exist_ok=True)
    return write_session(folder / name, Session(t, values.astype(np.float32), meta))


def _csv(path, values, columns=("a", "b", "c"), **extra):
    frame = pd.DataFrame(values, columns=list(columns))
    for column, data in extra.items():
        frame[column] = data
    frame.to_csv(path, index=False)
    return path


def _fit(inputs, model, *options):
    return main(["detect", "fit", *map(str, inputs), "--out", str(model), "--model", "pca-t2q", *options])


# --- 1: a fault that lasts is marked in the summary ------------------------------------------------------------

def test_summary_marks_a_file_that_departs_from_the_training_data_as_a_whole(tmp_path, capsys):
    normal = _signals()
    faulty = normal.copy()
    faulty[:, 1] -= 4.0  # the tie is broken from the first row to the last: nothing stands out within the file
    normal_csv, faulty_csv = _csv(tmp_path / "normal.csv", normal), _csv(tmp_path / "faulty.csv", faulty)
    assert _fit([normal_csv], tmp_path / "model", "--threshold", "dynamic", "--span", "3") == 0
    capsys.readouterr()
    assert main(["detect", "score", str(tmp_path / "model"), str(normal_csv), str(faulty_csv)]) == 0
    printed = capsys.readouterr().out
    summary = printed[printed.index("summary:"):].splitlines()
    faulty_line = next(line for line in summary if "faulty.csv" in line)
    normal_line = next(line for line in summary if "normal.csv" in line)
    assert "departs from the training data as a whole" in faulty_line
    assert normal_line.endswith("region(s)  [fitted on rows 1..300]")  # the file fitted on: no departure mark
    note = printed[printed.index("faulty.csv: "):printed.index("summary:")]
    assert "x the training p99" in note and "--threshold sigma" in note and "--threshold quantile" in note


def test_whole_file_departure_note_names_both_static_thresholds():
    smoothed = np.full(10, 6.4)
    result = ScoreResult(smoothed, smoothed, np.full(10, 7.0), np.zeros(10, bool), "dynamic")
    note = whole_file_departure_note(result, training_p99=1.0)
    assert "6.4x the training p99" in note and "`--threshold sigma`" in note and "`--threshold quantile`" in note


# --- 2: sessions labelled as faults are not fitted on -----------------------------------------------------------

def test_fit_refuses_sessions_labelled_as_faults_naming_them(tmp_path, capsys):
    sessions = tmp_path / "sessions"
    _session(sessions, "normal-1.parquet", "normal")
    fault = _session(sessions, "bearing_fault-1.parquet", "bearing_fault", seed=1)
    model = tmp_path / "model"
    assert _fit([sessions], model) == 2
    err = capsys.readouterr().err
    assert f"{fault} (bearing_fault)" in err and "1 of 2 files" in err and "--allow-labelled-faults" in err
    assert not (model / "pipeline.json").exists()
    # on purpose: fitted, with a warning that still names them
    assert _fit([sessions], model, "--allow-labelled-faults") == 0
    assert f"{fault} (bearing_fault)" in capsys.readouterr().err
    assert (model / "pipeline.json").exists()


def test_normal_and_unlabelled_sessions_and_csv_files_are_fitted_on(tmp_path, capsys):
    sessions = tmp_path / "sessions"
    files = [_session(sessions, "n.parquet", "normal"), _session(sessions, "u.parquet", "unknown", seed=1),
             _session(sessions, "e.parquet", "", seed=2)]
    assert labelled_faults([load_telemetry(f) for f in files]) == []
    assert labelled_faults([load_telemetry(_csv(tmp_path / "x.csv", _signals()))]) == []  # no label to read
    fault = load_telemetry(_session(tmp_path / "other", "f.parquet", "imbalance"))
    assert labelled_faults([fault]) == [(fault.source, "imbalance")]
    assert _fit(files, tmp_path / "model") == 0
    assert "warning" not in capsys.readouterr().err


# --- 3: at scoring time the NaN hint does not offer --drop -------------------------------------------------------

def test_score_nan_hint_says_to_fill_or_refit_and_drop_of_an_input_is_refused(tmp_path, capsys):
    model = tmp_path / "model"
    assert _fit([_csv(tmp_path / "normal.csv", _signals())], model) == 0
    holes = _signals()
    holes[100, 1] = np.nan
    holes_csv = _csv(tmp_path / "holes.csv", holes)
    capsys.readouterr()
    assert main(["detect", "score", str(model), str(holes_csv)]) == 2
    err = capsys.readouterr().err
    assert "data row 101, column 'b'" in err and "fill or interpolate the missing values of 'b'" in err
    assert "refit without the column" in err and "leave the column out with --drop" not in err
    # what the old hint said: --drop at scoring cannot leave out a column the model was fitted on
    assert main(["detect", "score", str(model), str(holes_csv), "--drop", "b"]) == 2
    err = capsys.readouterr().err
    assert "--drop b" in err and "needs every one of them" in err and "refit without them" in err
    # at fit, leaving the column out is the answer
    with pytest.raises(InputError) as raised:
        load_telemetry(holes_csv)
    assert "leave the column out with --drop 'b'" in raised.value.hint


# --- 4: a folder of sessions -------------------------------------------------------------------------------------

def test_fit_and_score_take_a_folder_of_sessions_in_sorted_order(tmp_path, capsys):
    sessions = tmp_path / "sessions"
    second = _session(sessions, "normal-b.parquet", "normal", seed=2)
    first = _session(sessions, "normal-a.parquet", "normal", seed=1)
    single = tmp_path / "single.parquet"
    single.write_bytes(first.read_bytes())
    assert expand_folders([sessions, single]) == [first, second, single]
    notes = []
    assert expand_folders([first, sessions], echo=notes.append) == [first, second]  # each file once
    assert notes == [f"note: 1 file(s) given more than once, used once: {first}"]
    model = tmp_path / "model"
    assert _fit([sessions], model) == 0
    assert "fitting pca-t2q on 600 rows x 3 channels (ax, ay, gz)" in capsys.readouterr().out
    assert main(["detect", "score", str(model), str(sessions)]) == 0
    assert "summary: 2 files" in capsys.readouterr().out


def test_a_folder_without_sessions_is_refused_with_a_hint_at_its_csv_files(tmp_path, capsys):
    folder = tmp_path / "csv"
    folder.mkdir()
    _csv(folder / "good.csv", _signals())
    assert _fit([folder], tmp_path / "model") == 2
    err = capsys.readouterr().err
    assert "a folder without session or Parquet files" in err and str(folder / "*.csv") in err


# --- 5: a column named like a time column is the time --------------------------------------------------------------

def test_fit_takes_a_t_column_as_the_time_column_and_says_so(tmp_path, capsys):
    t = np.arange(300) / 100.0
    csv = _csv(tmp_path / "exported.csv", _signals(), columns=CHANNELS, t=t)
    model = tmp_path / "model"
    assert _fit([csv], model) == 0
    out = capsys.readouterr().out
    assert "took column 't' as the time column" in out and "3 channels (ax, ay, gz)" in out
    assert (model / "columns.txt").read_text().split() == CHANNELS
    out_dir = tmp_path / "scored"
    assert main(["detect", "score", str(model), str(csv), "--out", str(out_dir)]) == 0
    assert list(pd.read_csv(out_dir / "exported.scores.csv").columns[:2]) == ["row", "t"]  # the time, remembered
    # named with --columns, t is the user's signal: used, with a warning that it only ever increases
    assert _fit([csv], tmp_path / "model2", "--columns", "t,ax,ay") == 0
    captured = capsys.readouterr()
    assert "took column" not in captured.out and "column(s) t increase on every row" in captured.err


def test_a_column_named_like_time_stays_a_signal_unless_it_reads_as_time_stamps(tmp_path, capsys):
    assert reads_as_time([0.0, 0.01, 0.01, 0.02]) and reads_as_time(["2020-01-01 00:00", "2020-01-01 00:01"])
    assert not reads_as_time([21.5, 21.4, 21.6]) and not reads_as_time(["on", "off"])
    assert not reads_as_time([0.0, np.nan, 0.02]) and not reads_as_time(["2020-01-02", "2020-01-01"])
    temperature = 20.0 + np.random.default_rng(1).normal(size=300)  # "T": a name like time, values that are not
    csv = _csv(tmp_path / "motor.csv", _signals(), columns=CHANNELS, T=temperature)
    assert _fit([csv], tmp_path / "model") == 0
    out = capsys.readouterr().out
    assert "took column" not in out and "note: column(s) T named like time do not read as time stamps" in out
    assert (tmp_path / "model" / "columns.txt").read_text().split() == [*CHANNELS, "T"]


# --- 6: the PNG: the time unit, and a threshold on the training p99 ------------------------------------------------

def test_plot_axis_names_seconds_for_sessions_and_the_row_otherwise(tmp_path, saved_figures):
    session = load_telemetry(_session(tmp_path, "s.parquet", "normal"))
    plot_scored(session, np.ones(300), np.full(300, 2.0), np.zeros(300, bool), tmp_path / "s.png")
    assert saved_figures[-1].axes[1].get_xlabel() == "time (s, column t)"
    assert time_axis_label(np.arange(3.0), "time", "t", None) == "time (column t; unit as in the file)"
    assert time_axis_label(np.array(["2024-01-01"], "datetime64[ns]"), "time", "stamp", None) == "time (column stamp)"
    assert time_axis_label(np.arange(1, 4), "data row", None, None) == "data row"


def test_a_threshold_on_the_training_p99_is_drawn_on_top_and_named_in_the_legend(tmp_path, saved_figures):
    telemetry = Telemetry("f.csv", ["a"], np.zeros((50, 1)))
    plot_scored(telemetry, np.linspace(0, 2, 50), np.full(50, 1.5), np.zeros(50, bool), tmp_path / "q.png",
                training_p99=1.5)
    bottom = saved_figures[-1].axes[1]
    lines = {line.get_label(): line for line in bottom.lines}
    threshold, p99 = lines["threshold (= training p99)"], lines["training p99"]
    assert threshold.get_zorder() > p99.get_zorder() and p99.get_linewidth() > threshold.get_linewidth()
    plot_scored(telemetry, np.linspace(0, 2, 50), np.full(50, 1.8), np.zeros(50, bool), tmp_path / "d.png",
                training_p99=1.5)
    assert {line.get_label() for line in saved_figures[-1].axes[1].lines} >= {"threshold", "training p99"}
    assert threshold_is_training_p99([2.0, 2.0], 2.0) and not threshold_is_training_p99([2.0, 2.1], 2.0)
    assert not threshold_is_training_p99([np.nan, 2.0], 2.0) and not threshold_is_training_p99([2.0], None)


def test_sessions_are_evaluated_by_their_own_label_and_the_training_session_is_marked(tmp_path, capsys):
    healthy = _session(tmp_path / "s", "healthy.parquet", "normal")
    faulty = _signals(seed=2)
    faulty[:, 1] -= 4.0
    fault = _session(tmp_path / "s", "fault.parquet", "bearing_fault", faulty)
    other = _session(tmp_path / "s", "healthy2.parquet", "normal", seed=5)
    assert _fit([healthy], tmp_path / "model") == 0
    printed = capsys.readouterr().out
    assert "note: the dynamic threshold is set on each scored file's own errors" in printed  # sessions: a hint
    assert main(["detect", "score", str(tmp_path / "model"), str(healthy), str(other), str(fault),
                 "--label-column", "label", "--threshold", "quantile"]) == 0
    printed = capsys.readouterr().out
    assert "labels from the session's own label 'bearing_fault' (1 for every row" in printed
    assert "labels from the session's own label 'normal' (0 for every row" in printed
    # the training session is left out of the evaluation and marked in the summary
    assert "all 300 rows of this file trained the detector: no evaluation" in printed
    assert "[fitted on rows 1..300]" in printed
    assert "all files concatenated: pca-t2q: F1" in printed and "(0 of 0" not in printed
    assert "ROC-AUC 1.000" in printed.split("all files concatenated")[1]  # the broken tie ranks above healthy2
