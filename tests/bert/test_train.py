"""A 20-step training smoke test with checkpoints and evaluation, transfer to another channel count, the
method's score on hand-computed arrays, and scoring bad input."""

import json
import warnings

import numpy as np
import pytest

from tinyad.bert import evaluate
from tinyad.bert.train import TrainOptions, load_checkpoint, train
from tinyad.errors import InputError


def normal_telemetry(steps=400, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    return (np.sin(t / 15.0 + np.arange(channels)) + 0.05 * rng.normal(size=(steps, channels))).astype(np.float32)


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    data = normal_telemetry()
    evaluator = evaluate.CheckpointEvaluator(normal_telemetry(200, seed=1), stride=8, seeds=(0,))
    run_dir = tmp_path_factory.mktemp("run")
    options = TrainOptions(preset="tiny", max_steps=20, checkpoint_every=10, batch_size=8, lr=3e-3,
                           length_adjusting=0.1)
    return train([data[:250], data[250:]], ["a", "b", "c"], options, run_dir, evaluator, progress=False)


def test_training_writes_evaluated_checkpoints(source_run):
    assert [row["step"] for row in source_run.history] == [10, 20]
    assert all(0.0 <= row["score"] <= 1.0 and np.isfinite(row["loss"]) for row in source_run.history)
    assert json.loads((source_run.run_dir / "history.json").read_text())[1]["step"] == 20
    checkpoint = load_checkpoint(source_run.run_dir)  # a run directory resolves to its last checkpoint
    assert checkpoint.step == 20 and checkpoint.channels == ["a", "b", "c"] and checkpoint.config.n_channels == 3
    assert checkpoint.meta["scores"]["score"] == source_run.history[-1]["score"]
    x = np.zeros((1, checkpoint.config.window, 3), np.float32)
    np.testing.assert_allclose(np.asarray(checkpoint.model(x)), np.asarray(source_run.model(x)), rtol=1e-5,
                               atol=1e-6)


def test_transfer_to_other_channel_count_reinitializes_embedding_and_says_so(source_run, tmp_path):
    messages = []
    options = TrainOptions(preset="tiny", max_steps=4, checkpoint_every=4, batch_size=8,
                           checkpoint=str(source_run.final_checkpoint))
    two_channels = normal_telemetry(200, channels=2)
    result = train([two_channels], ["x", "y"], options, tmp_path / "ft", progress=False, log=messages.append)
    assert any("re-initialized input_embedding" in m and "checkpoint 3" in m and "data 2" in m for m in messages)
    assert result.notes == messages
    tuned = load_checkpoint(result.final_checkpoint)
    assert tuned.config.n_channels == 2 and tuned.config.window == load_checkpoint(source_run.run_dir).config.window
    assert "re-initialized" in " ".join(tuned.meta["train"]["notes"])


def test_fine_tuning_with_other_patch_size_or_window_is_refused(source_run, tmp_path):
    options = TrainOptions(preset="tiny", max_steps=2, patch_size=8, checkpoint=str(source_run.final_checkpoint))
    with pytest.raises(InputError, match="patch_size"):
        train([normal_telemetry()], ["a", "b", "c"], options, tmp_path / "x", progress=False)
    window = load_checkpoint(source_run.run_dir).config.window
    options = TrainOptions(preset="tiny", max_steps=2, window=2 * window, checkpoint=str(source_run.final_checkpoint))
    with pytest.raises(InputError, match=f"--window {2 * window} differs from the checkpoint's {window}"):
        train([normal_telemetry()], ["a", "b", "c"], options, tmp_path / "y", progress=False)


def test_an_explicit_preset_with_a_checkpoint_is_refused(source_run, tmp_path, capsys):
    from tinyad.cli import main

    code = main(["bert", "train", "--dataset", "unused.csv", "--out", str(tmp_path / "ft"), "--preset", "small",
                 "--checkpoint", str(source_run.final_checkpoint)])
    assert code == 2 and "--preset does not apply when fine-tuning" in capsys.readouterr().err
    assert not (tmp_path / "ft").exists()


def test_bad_training_input_is_rejected(tmp_path):
    import pandas as pd

    data = normal_telemetry()
    data[5, 1] = np.nan
    with pytest.raises(InputError, match=r"training data: row 5 \(from 0\), channel 'b': NaN or inf"):
        train([data], ["a", "b", "c"], TrainOptions(preset="tiny", max_steps=1), tmp_path, progress=False)
    stamped = pd.DataFrame(data, columns=["a", "b", "c"], index=pd.date_range("2026-01-01", periods=400, freq="5s"))
    with pytest.raises(InputError, match=r"training data: row 2026-01-01 00:00:25, channel 'b': NaN"):
        train(stamped, ["a", "b", "c"], TrainOptions(preset="tiny", max_steps=1), tmp_path, progress=False)
    with pytest.raises(InputError, match=r"shape \(400, 3\); the channels \['a', 'b'\] take \(steps, 2\)"):
        train([normal_telemetry()], ["a", "b"], TrainOptions(preset="tiny", max_steps=1), tmp_path, progress=False)
    with pytest.raises(InputError, match=r"channel name\(s\) \['a'\] given more than once"):
        train([normal_telemetry()], ["a", "b", "a"], TrainOptions(preset="tiny", max_steps=1), tmp_path,
              progress=False)
    with pytest.raises(InputError, match=r"400 one-dimensional arrays of 3 values each") as err:  # list(array)
        train(list(normal_telemetry()), ["a", "b", "c"], TrainOptions(preset="tiny", max_steps=1), tmp_path,
              progress=False)
    assert "numpy.asarray(rows)" in err.value.hint
    with pytest.raises(InputError, match="contiguous run"):
        train([normal_telemetry(20)], ["a", "b", "c"], TrainOptions(preset="tiny", max_steps=1), tmp_path,
              progress=False)


def test_one_channel_may_come_as_a_1d_array():
    from tinyad.bert.train import as_channel_segments

    parts = as_channel_segments(np.array([1.0, 2.0, 4.0]), ["volts"])
    assert [part.tolist() for part in parts] == [[[1.0], [2.0], [4.0]]]
    # a list of rows is one array, also for one channel (not three one-step segments)
    assert [part.tolist() for part in as_channel_segments([[1.0], [2.0], [4.0]], ["volts"])] == [[[1.0], [2.0], [4.0]]]
    with pytest.raises(InputError, match=r"shape \(3,\); the channels \['volts', 'amps'\] take \(steps, 2\)"):
        as_channel_segments(np.array([1.0, 2.0, 4.0]), ["volts", "amps"])


def test_damaged_checkpoint_is_a_clear_error(source_run, tmp_path):
    import shutil

    copy = tmp_path / "ckpt"
    shutil.copytree(source_run.final_checkpoint, copy)
    weights = copy / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(InputError, match="weights"):
        load_checkpoint(copy)
    with pytest.raises(InputError, match="not a checkpoint"):
        load_checkpoint(tmp_path)


def test_method_score_by_hand():
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7, 0.1, 0.0, 0.2, 0.1])
    labels = np.array([0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
    # rate 0.3 -> the top 3 scores (0.9, 0.8, 0.7) are flagged: TP 2, FP 1, FN 1 -> P = R = 2/3
    result = evaluate.method_score(scores, labels, 0.3)
    assert result["precision"] == pytest.approx(2 / 3) and result["recall"] == pytest.approx(2 / 3)
    assert result["score"] == pytest.approx(2 / 3)
    # point adjustment: the event 2..4 was hit, so step 4 counts too -> TP 3, FP 1: P 0.75, R 1
    adjusted = evaluate.method_score(scores, labels, 0.3, adjust=True)
    assert adjusted["score"] == pytest.approx((0.75 + 1.0) / 2)
    history = [{"step": 10, "score": 0.5}, {"step": 20, "score": 0.91}, {"step": 30, "score": 0.95}]
    assert evaluate.first_reaching(history) == 20 and evaluate.first_reaching(history[:1]) is None


def test_compiled_inference_is_the_eager_model_up_to_rounding_and_follows_assigned_weights():
    import keras

    from tinyad.bert.model import build_model, preset_config

    keras.utils.set_random_seed(0)
    model = build_model(preset_config("tiny", 2))
    windows = np.random.default_rng(0).normal(size=(5, 32, 2)).astype(np.float32)
    infer = evaluate.compiled_inference(model)
    # float32 rounding only (grappler's arithmetic rewrites); logits are of order 1
    np.testing.assert_allclose(infer(windows), np.asarray(model(windows, training=False)), rtol=0, atol=1e-5)
    before = infer(windows[:3])
    for variable in model.trainable_variables:  # as an EMA swap or a checkpoint load does
        variable.assign(variable * 0.5)
    after = evaluate.compiled_inference(model)(windows[:3])  # the traced function is kept on the model
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, np.asarray(model(windows[:3], training=False)), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(evaluate.compiled_inference(model)(windows[:3]), after)  # deterministic


def test_score_series_averages_overlapping_windows():
    class Constant:  # a "model" whose logit is the window's first value at every step
        input_shape = (None, 4, 1)

        def __call__(self, windows, training=False):
            return np.repeat(windows[:, :1, 0], windows.shape[1], axis=1)

    series = np.zeros((6, 1), np.float32)
    series[0, 0] = 100.0  # window 0..3 -> sigmoid(100) ~ 1; windows 2..5 -> sigmoid(0) = 0.5
    scores = evaluate.score_series(Constant(), series, window=4, stride=2)
    np.testing.assert_allclose(scores, [1.0, 1.0, 0.75, 0.75, 0.5, 0.5], atol=1e-6)
    with pytest.raises(InputError, match="NaN"):
        evaluate.score_series(Constant(), np.full((6, 1), np.nan, np.float32), 4, 2)


def _fine_tune_on_columns(source_run, tmp_path, columns: dict, name: str):
    """(values, frame, result, messages): the source run fine-tuned for 2 steps on a CSV `name` whose columns
    `columns` (file name -> index into a ~0, b ~10, c ~20) come in the order given."""
    import pandas as pd

    from tinyad.bert.train import train_on_dataset

    values = normal_telemetry(300) + np.array([0.0, 10.0, 20.0], np.float32)  # a ~0, b ~10, c ~20
    frame = pd.DataFrame({"time": pd.date_range("2026-01-01", periods=300, freq="5s"),
                          **{column: values[:, index] for column, index in columns.items()}})
    frame.to_csv(tmp_path / name, index=False)
    messages = []
    options = TrainOptions(preset="tiny", max_steps=2, checkpoint_every=2, batch_size=8,
                           checkpoint=str(source_run.final_checkpoint))
    result = train_on_dataset(str(tmp_path / name), options, tmp_path / "ft", train_range=(0.0, 1.0),
                              eval_range=None, progress=False, log=messages.append)
    return values, frame, result, messages


def test_fine_tuning_on_the_same_channels_in_another_order_reorders_the_data(source_run, tmp_path, capsys):
    values, frame, result, messages = _fine_tune_on_columns(source_run, tmp_path, {"c": 2, "a": 0, "b": 1},
                                                            "reordered.csv")
    assert any("reordered to the checkpoint's order ['a', 'b', 'c']" in m for m in messages)
    assert not any("channel names differ" in m for m in messages)
    tuned = load_checkpoint(result.final_checkpoint)
    assert tuned.channels == ["a", "b", "c"]
    np.testing.assert_allclose(tuned.standardizer.mean, values.mean(axis=0), atol=0.05)

    from tinyad.cli import main  # `bert evaluate` takes the same file the same way (it used to refuse it)

    frame[["time", "a", "b", "c"]].to_csv(tmp_path / "ordered.csv", index=False)  # the checkpoint's own order
    evaluated = {}
    for name in ("reordered", "ordered"):
        capsys.readouterr()
        assert main(["bert", "evaluate", str(result.final_checkpoint), "--dataset", str(tmp_path / f"{name}.csv"),
                     "--range", "0:1", "--seeds", "1", "--json"]) == 0
        evaluated[name] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the reordered file is scored exactly as the same data in the checkpoint's order (the warnings name the file)
    warned = {name: result.pop("warnings") for name, result in evaluated.items()}
    assert evaluated["reordered"] == evaluated["ordered"] and evaluated["ordered"]["range"] == [0.0, 1.0]
    assert [text.replace("reordered.csv", "ordered.csv") for text in warned["reordered"]] == warned["ordered"]


def test_checkpoint_positions_match_shared_names_first():
    from tinyad.bert.train import checkpoint_positions

    # i and v swapped and t renamed: v and i keep their places, t2 takes t's
    assert checkpoint_positions(["v", "i", "t"], ["i", "v", "t2"]) == ["v", "i", "t2"]
    assert checkpoint_positions(["v", "i", "t"], ["t", "v", "i"]) == ["v", "i", "t"]  # a reorder
    assert checkpoint_positions(["v", "i", "t"], ["x", "y", "z"]) is None  # all renamed: by position
    assert checkpoint_positions(["v", "i"], ["v", "i", "t"]) is None  # another count: a new input embedding


def test_fine_tuning_on_a_renamed_and_reordered_table_keeps_shared_channels_in_place(source_run, tmp_path):
    values, _, result, messages = _fine_tune_on_columns(source_run, tmp_path, {"c2": 2, "b": 1, "a": 0},
                                                        "renamed.csv")
    assert any("put at the checkpoint's positions by name: ['a', 'b', 'c2']" in m for m in messages)
    assert any("channel names differ at the same positions ('c' -> 'c2')" in m for m in messages)
    tuned = load_checkpoint(result.final_checkpoint)
    assert tuned.channels == ["a", "b", "c2"]  # a in a's slot, b in b's: not a in c's as the file's order had it
    np.testing.assert_allclose(tuned.standardizer.mean, values.mean(axis=0), atol=0.05)


def test_a_run_folder_resolves_to_its_own_last_checkpoint_not_a_stray_one(tmp_path):
    from tinyad.bert.train import resolve_checkpoint

    for step in (10, 50, 100):  # 50 and 100 left over from an earlier run in the same folder
        (tmp_path / f"step_{step:06d}").mkdir()
        (tmp_path / f"step_{step:06d}" / "config.json").write_text("{}")
    assert resolve_checkpoint(tmp_path) == tmp_path / "step_000100"  # no history: the highest step
    (tmp_path / "history.json").write_text(json.dumps([{"step": 0}, {"step": 10}]))
    assert resolve_checkpoint(tmp_path) == tmp_path / "step_000010"


def test_run_files_lists_and_removes_only_what_train_writes(tmp_path):
    from tinyad.bert.train import remove_run_files, run_files

    (tmp_path / "step_000002").mkdir()
    (tmp_path / "history.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("mine")
    assert [p.name for p in run_files(tmp_path)] == ["step_000002", "history.json"]
    remove_run_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("changes, message", [
    (dict(soft_replacing=0.0, uniform_replacing=0.0, peak_noising=0.0), "no synthetic outlier"),
    (dict(lr=0.0), "--lr must be > 0"),
    (dict(lr=-1e-3), "--lr must be > 0"),
    (dict(window_sliding=0), "--window_sliding must be >= 1"),
])
def test_degenerate_training_options_are_refused_with_a_hint(changes, message):
    from dataclasses import replace

    from tinyad.bert.train import validate_options

    with pytest.raises(InputError, match=message) as err:
        validate_options(replace(TrainOptions(), **changes))
    assert err.value.hint


def test_a_huge_learning_rate_is_warned_and_bad_probabilities_print_plain_numbers():
    from dataclasses import replace

    from tinyad.bert.train import validate_options

    assert validate_options(TrainOptions()) == []
    assert "very large" in validate_options(replace(TrainOptions(), lr=5.0))[0]
    with pytest.raises(InputError) as err:
        validate_options(replace(TrainOptions(), soft_replacing=0.9))
    assert "soft_replacing 0.9, uniform_replacing 0.15" in str(err.value) and "np.float64" not in str(err.value)


def test_evaluation_blocks_need_one_window():
    blocks, note = evaluate.blocks_for_evaluation([np.zeros((40, 2)), np.zeros((10, 2))], 32, "range", "--range")
    assert [len(b) for b in blocks] == [40] and "1 segment(s) shorter than a window (32 steps)" in note
    with pytest.raises(InputError, match="no contiguous run of 32 steps") as err:
        evaluate.blocks_for_evaluation([np.zeros((20, 2)), np.zeros((10, 2))], 32, "range", "--range")
    assert "--range" in err.value.hint


def test_train_on_dataset_reads_every_csv_data_set_with_decimal_and_dayfirst(tmp_path, monkeypatch):
    import pandas as pd

    from tinyad.bert import train as train_module

    # a European export: ';' between fields, decimal commas, dotted day-first dates (13.03.2024 = 13 March)
    times = pd.date_range("2024-03-12 23:59:00", periods=8, freq="10s")
    volts = [3.25, 3.5, 3.75, 3.5, 3.25, 3.5, 3.75, 3.5]
    euro = tmp_path / "euro.csv"
    euro.write_text("time;volts\n" + "".join(f"{t:%d.%m.%Y %H:%M:%S};{str(v).replace('.', ',')}\n"
                                             for t, v in zip(times, volts)))
    seen = {}

    def record_instead_of_training(segments, channels, options, run_dir, evaluator, donor, **kwargs):
        seen.update(segments=segments, channels=channels, donor=donor, period_s=kwargs["period_s"])
        return train_module.TrainResult(run_dir, None, [], [], 0.0)

    monkeypatch.setattr(train_module, "train", record_instead_of_training)
    options = TrainOptions(preset="tiny", max_steps=2, checkpoint_every=2, batch_size=4)
    train_module.train_on_dataset(str(euro), options, tmp_path / "run", (0.0, 1.0), eval_range=None,
                                  donor_dataset=str(euro), progress=False, decimal=",", dayfirst=True)
    assert seen["channels"] == ["volts"] and seen["period_s"] == 10.0  # one 10-s segment across midnight
    np.testing.assert_allclose(np.concatenate(seen["segments"])[:, 0], volts)
    np.testing.assert_allclose(seen["donor"][:, 0], volts)  # the donor is read the same way
    with pytest.raises(InputError, match="decimal commas") as err:  # without it: refused, with the option named
        train_module.train_on_dataset(str(euro), options, tmp_path / "run", (0.0, 1.0), eval_range=None)
    assert "--decimal ," in err.value.hint
    with pytest.raises(InputError, match="--monthfirst, but '13.03.2024 00:00:00' has no month 13"):
        train_module.train_on_dataset(str(euro), options, tmp_path / "run", (0.0, 1.0), eval_range=None,
                                      decimal=",", dayfirst=False)  # passed on to the reader, not dropped


def test_train_on_dataset_reads_every_file_data_set_with_its_time_column(tmp_path, monkeypatch):
    import pandas as pd

    from tinyad.bert import train as train_module

    times = pd.date_range("2024-03-12 23:59:00", periods=8, freq="10s")
    volts = [3.25, 3.5, 3.75, 3.5, 3.25, 3.5, 3.75, 3.5]
    csv = tmp_path / "zeit.csv"
    pd.DataFrame({"Zeitstempel": times.strftime("%Y-%m-%d %H:%M:%S"), "volts": volts}).to_csv(csv, index=False)
    seen = {}

    def record_instead_of_training(segments, channels, options, run_dir, evaluator, donor, **kwargs):
        seen.update(segments=segments, channels=channels, donor=donor)
        return train_module.TrainResult(run_dir, None, [], [], 0.0)

    monkeypatch.setattr(train_module, "train", record_instead_of_training)
    options = TrainOptions(preset="tiny", max_steps=2, checkpoint_every=2, batch_size=4)
    train_module.train_on_dataset(str(csv), options, tmp_path / "run", (0.0, 1.0), eval_range=None,
                                  donor_dataset=str(csv), progress=False, time_column="Zeitstempel")
    assert seen["channels"] == ["volts"]
    np.testing.assert_allclose(np.concatenate(seen["segments"])[:, 0], volts)
    np.testing.assert_allclose(seen["donor"][:, 0], volts)  # the donor is read the same way
    with pytest.raises(InputError, match="no time column 'time'") as err:
        train_module.train_on_dataset(str(csv), options, tmp_path / "run", (0.0, 1.0), eval_range=None)
    assert "add --time-column NAME (this command takes it" in err.value.hint


def test_a_script_scores_dataframes_by_name_and_gives_checkpoints_by_path(source_run):
    import pandas as pd

    data = normal_telemetry(200, seed=4)
    checkpoint = load_checkpoint(source_run.run_dir)
    expected = evaluate.score_segments(checkpoint, [data], 8)
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    # a DataFrame alone, columns in another order and one more: matched by name; a path for the checkpoint
    shuffled = frame[["c", "a", "b"]].assign(note=0.0)
    np.testing.assert_array_equal(evaluate.score_segments(str(source_run.run_dir), shuffled, 8), expected)
    scores, threshold, flags = evaluate.score_unlabelled(source_run.run_dir, shuffled, 8, 0.08)
    np.testing.assert_array_equal(scores, expected)
    with pytest.raises(InputError, match=r"scoring data: no column\(s\) \['b'\]"):
        evaluate.score_segments(checkpoint, frame.drop(columns="b"), 8)
    with pytest.raises(InputError, match=r"scoring data: shape \(200, 2\); the channels \['a', 'b', 'c'\] "
                                         r"take \(steps, 3\)"):
        evaluate.score_segments(checkpoint, data[:, :2], 8)
    with_gap = data.copy()
    with_gap[7, 1] = np.nan
    with pytest.raises(InputError, match=r"scoring data: segment 1 \(from 0\), row 7 \(from 0\), channel 'b': "
                                         r"NaN or inf \(1 such cell"):
        evaluate.score_segments(checkpoint, [data, with_gap], 8)
    with pytest.raises(InputError, match=r"scoring data: column 'b' is not numbers"):
        evaluate.score_segments(checkpoint, frame.astype({"b": str}), 8)


def test_training_from_a_script_warns_instead_of_dropping_warnings(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(normal_telemetry(300), columns=["a", "b", "c"])
    options = TrainOptions(preset="tiny", max_steps=2, checkpoint_every=2, batch_size=8, lr=5.0)
    with warnings.catch_warnings(record=True) as caught:  # (pytest.warns would re-raise Keras' own warnings)
        warnings.simplefilter("always")
        result = train(frame, ["a", "b", "c"], options, tmp_path / "run", progress=False)
    warned = [str(w.message) for w in caught if w.category is UserWarning]  # no log given: a warning, not silence
    assert len(warned) == 1 and "very large" in warned[0] and result.history[-1]["step"] == 2


def test_a_script_training_into_a_used_run_folder_is_refused_unless_overwrite(source_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(source_run.run_dir, run_dir)  # steps 10 and 20
    options = TrainOptions(preset="tiny", max_steps=2, checkpoint_every=2, batch_size=8)
    with pytest.raises(InputError, match="already holds a run \\(step_000010, step_000020, history.json"):
        train(normal_telemetry(300), ["a", "b", "c"], options, run_dir, progress=False)
    result = train(normal_telemetry(300), ["a", "b", "c"], options, run_dir, progress=False, overwrite=True)
    assert sorted(p.name for p in run_dir.glob("step_*")) == ["step_000002"]  # no stale checkpoints beside it
    assert load_checkpoint(run_dir).step == 2 and result.history[-1]["step"] == 2


def test_a_loss_that_is_no_longer_a_number_stops_training_and_keeps_the_history(tmp_path, monkeypatch):
    from tinyad.bert import train as train_module

    real = train_module.synthesize_batch

    def poisoned(*args, **kwargs):  # what weights gone to inf do: every loss NaN
        windows, labels = real(*args, **kwargs)
        return np.full_like(windows, np.nan), labels

    monkeypatch.setattr(train_module, "synthesize_batch", poisoned)
    options = TrainOptions(preset="tiny", max_steps=4, checkpoint_every=2, batch_size=4)
    with pytest.raises(InputError, match=r"training diverged by step 2: the mean loss of its last 2 steps is nan") \
            as err:
        train([normal_telemetry()], ["a", "b", "c"], options, tmp_path / "run", progress=False)
    assert "no checkpoint was written" in str(err.value) and "lower --lr" in err.value.hint
    assert json.loads((tmp_path / "run" / "history.json").read_text())[-1]["step"] == 2
