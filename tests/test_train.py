"""`tinyad.train`: Ctrl-C ends training as early stopping would - after the first epoch the best weights so far
are kept and the run is written; before it, nothing is left behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_pipeline_guards import imu_session
from tinyad.datasets import DatasetConfig, build_dataset
from tinyad.models import ModelConfig
from tinyad.train import TrainConfig, load_run, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset():
    """Two classes of the same noise: nothing to learn, so the validation loss soon rises (overfitting) and the
    last epoch is not the best."""
    sessions = [imu_session("normal", sid, seed=i) for i, sid in enumerate(["n1", "n2", "i1", "i2"])]
    for session in sessions[2:]:
        session.meta.label = "imbalance"
    return build_dataset(sessions, DatasetConfig(window=64, hop=32))


def ctrl_c_at(where: str, epoch: int = 0):
    """A stand-in for the progress bar that presses Ctrl-C at the start of training ("begin"), at the end of
    `epoch` ("epoch"), or at the end of the first epoch whose validation loss is worse than an earlier one's
    ("worse": the last epoch is then not the best)."""
    def factory(epochs):
        import keras

        class CtrlC(keras.callbacks.Callback):
            closed = False
            losses: list[float] = []

            def on_train_begin(self, logs=None):
                if where == "begin":
                    raise KeyboardInterrupt

            def on_epoch_end(self, index, logs=None):
                if where == "epoch" and index == epoch:
                    raise KeyboardInterrupt
                if where == "worse" and self.losses and logs["val_loss"] > min(self.losses):
                    raise KeyboardInterrupt
                self.losses.append(logs["val_loss"])

            def on_train_end(self, logs=None):
                CtrlC.closed = True

        factory.callback = CtrlC
        return CtrlC()
    return factory


def test_ctrl_c_after_some_epochs_keeps_the_best_of_them(dataset, tmp_path, monkeypatch):
    import keras

    import tinyad.train as train_module

    monkeypatch.setattr(train_module, "EpochProgress", ctrl_c_at("worse"))
    run = train(dataset, ModelConfig(name="cnn_gru"), TrainConfig(epochs=40, seed=0), tmp_path / "run")
    metrics = json.loads((run.path / "metrics.json").read_text())
    history = run.info["history"]
    n = metrics["epochs_run"]
    assert metrics["interrupted"] == f"interrupted (Ctrl-C) after {n} of 40 epochs" and 2 <= n < 40
    assert len(history["val_loss"]) == len(history["accuracy"]) == n
    assert metrics["best_epoch"] == int(np.argmin(history["val_loss"])) + 1 < n  # the last one was worse
    assert train_module.EpochProgress.callback.closed  # the progress bar was closed
    # The saved weights are the best epoch's: they give its validation loss again.
    model = keras.models.load_model(run.path / "model.keras")
    x_val = run.normalizer.apply(run.data["val"].x)
    logits = model.predict(x_val, verbose=0)
    loss = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(run.data["val"].y, logits))
    assert loss == pytest.approx(history["val_loss"][metrics["best_epoch"] - 1], rel=1e-4)
    assert load_run(run.path).info["history"] == history
    assert (run.path / "data.npz").is_file() and (run.path / "training_curves.png").is_file()


def test_ctrl_c_before_the_first_epoch_leaves_no_run_folder(dataset, tmp_path, monkeypatch):
    import tinyad.train as train_module

    monkeypatch.setattr(train_module, "EpochProgress", ctrl_c_at("begin"))
    with pytest.raises(KeyboardInterrupt):
        train(dataset, ModelConfig(name="cnn_gru"), TrainConfig(epochs=40, seed=0), tmp_path / "new" / "run")
    assert not (tmp_path / "new" / "run").exists()
    # a folder the user made is kept
    (tmp_path / "mine").mkdir()
    with pytest.raises(KeyboardInterrupt):
        train(dataset, ModelConfig(name="cnn_gru"), TrainConfig(epochs=40, seed=0), tmp_path / "mine")
    assert (tmp_path / "mine").is_dir()


def test_the_train_command_says_it_was_interrupted_and_exits_0(tmp_path, monkeypatch, capsys):
    import tinyad.train as train_module
    from tests.test_pipeline_guards import write_sessions_to
    from tinyad.cli import main

    write_sessions_to(tmp_path / "data", [("normal", "n1"), ("normal", "n2"), ("imbalance", "i1"),
                                          ("imbalance", "i2")])
    monkeypatch.setattr(train_module, "EpochProgress", ctrl_c_at("epoch", epoch=1))
    assert main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert ("warning: training interrupted (Ctrl-C) after 2 of 40 epochs: the run is written with the best of "
            "them") in captured.err
    assert "of 2 run (lowest val_loss" in captured.out


def test_a_second_ctrl_c_while_the_run_is_written_leaves_no_half_run(dataset, tmp_path, monkeypatch):
    import tinyad.plots
    import tinyad.train as train_module

    def pressed_again(*args, **kwargs):  # Ctrl-C once more while the files are being written
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "EpochProgress", ctrl_c_at("epoch", epoch=1))
    monkeypatch.setattr(tinyad.plots, "plot_training_curves", pressed_again)
    with pytest.raises(KeyboardInterrupt):
        train(dataset, ModelConfig(name="cnn_gru"), TrainConfig(epochs=40, seed=0), tmp_path / "run")
    assert not (tmp_path / "run").exists()  # was: model.keras, run.json, metrics.json, data.npz, no plots
