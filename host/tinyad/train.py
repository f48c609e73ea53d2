"""Training: a Dataset and a ModelConfig in, a run directory out.

A run directory holds `model.keras`, `run.json` (data set, model and training configuration, class names,
channels, rate, normalization, split segments), `metrics.json`, `data.npz` (the windows of every split, in
physical units, so that quantization and checks use exactly the same split) and PNG plots.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinyad.atomic import outputs_in, remove_outputs
from tinyad.datasets import Dataset, DatasetConfig, Normalizer, WindowSet
from tinyad.errors import InputError
from tinyad.metrics import classification_report
from tinyad.models import ModelConfig, build_model, custom_objects

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# What `train` writes into a run directory, and what `quantize` writes beside it by default. Only these are
# ever removed when a run directory is reused, so that no file of an older run survives a retraining.
RUN_FILES = ("model.keras", "run.json", "metrics.json", "data.npz", "training_curves.png", "confusion_matrix.png")
QUANTIZE_FILES = ("model.tflite", "model_settings.json", "quantize.json", "confusion_matrix_int8.png")


def pipeline_files_in(run_dir: str | Path) -> list[Path]:
    """The files of an earlier train/quantize that exist in `run_dir` (empty for a new or foreign folder)."""
    return outputs_in(run_dir, RUN_FILES + QUANTIZE_FILES)


def refuse_a_used_run_dir(run_dir: str | Path, overwrite: bool,
                          hint: str = "give another run_dir, or overwrite=True to replace that run's files"
                          ) -> list[Path]:
    """The files an earlier train/quantize wrote into `run_dir` (`pipeline_files_in`); InputError with `hint` when
    there are any and not `overwrite` (a kept model.tflite would not belong to the new model.keras)."""
    previous = pipeline_files_in(run_dir)
    if previous and not overwrite:
        raise InputError(f"{run_dir} already holds a run ({', '.join(p.name for p in previous)})", hint=hint)
    return previous


def remove_pipeline_files(run_dir: str | Path) -> list[Path]:
    """Remove the files an earlier train/quantize wrote into `run_dir` (nothing else); returns them."""
    return remove_outputs(pipeline_files_in(run_dir))


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 6          # early stopping on validation loss
    seed: int = 0
    class_weighting: bool = True
    augment_noise: float = 0.0  # std of Gaussian noise added to normalized training windows


@dataclass
class Run:
    """A loaded run directory."""

    path: Path
    info: dict
    data: dict  # split -> WindowSet

    @property
    def class_names(self) -> list[str]:
        return self.info["class_names"]

    @property
    def normalizer(self) -> Normalizer:
        return Normalizer(np.asarray(self.info["norm_mean"], np.float32), np.asarray(self.info["norm_std"], np.float32))

    @property
    def window(self) -> int:
        return int(self.info["dataset"]["window"])

    @property
    def hop(self) -> int:
        return int(self.info["dataset"]["hop"])

    def keras_model(self):
        import keras

        if not (self.path / "model.keras").is_file():
            raise InputError(f"{self.path}: the run has no model.keras (training did not finish, or it was removed)",
                             hint=f"re-train: `tinyad train SESSIONS --out {self.path} --overwrite`")
        return keras.models.load_model(self.path / "model.keras", custom_objects=custom_objects(), compile=False)


class EpochLog:
    """Keras callback keeping each finished epoch's logs: the history also when Ctrl-C ends `fit` early (which
    then returns nothing)."""

    def __new__(cls):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.history: dict[str, list[float]] = {}

            def on_epoch_end(self, epoch, logs=None):
                for key, value in (logs or {}).items():
                    self.history.setdefault(key, []).append(float(value))

        return Callback()


class EpochProgress:
    """Keras callback showing one tqdm bar over epochs with the latest losses."""

    def __new__(cls, epochs: int):
        import keras
        from tqdm.auto import tqdm

        class Callback(keras.callbacks.Callback):
            bar = None

            def on_train_begin(self, logs=None):
                self.bar = tqdm(total=epochs, desc="training", unit="epoch")

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k in
                                      ("loss", "val_loss", "accuracy", "val_accuracy")})
                self.bar.update(1)

            def on_train_end(self, logs=None):
                if self.bar is not None:
                    self.bar.close()

        return Callback()


def train(dataset: Dataset, model_config: ModelConfig, train_config: TrainConfig, run_dir: str | Path,
          progress: bool = True, overwrite: bool = False) -> Run:
    """Train a model on `dataset` and write the run directory. Returns the loaded Run.

    A `run_dir` holding an earlier run is refused unless `overwrite` (as `tinyad train --overwrite`); then its
    files (RUN_FILES, QUANTIZE_FILES, nothing else) are removed once the new model is trained, so a stale
    model.tflite can never sit beside the new model.keras. metrics.json gets `best_epoch`: the 1-based epoch
    whose weights early stopping kept.

    Ctrl-C (KeyboardInterrupt) after the first epoch ends training as early stopping would: the weights of the
    best epoch so far are kept, the run is written, metrics.json's `interrupted` says so. Before the first epoch
    ends it is re-raised, and a run folder this call created is removed again (it is still empty)."""
    import keras

    from tinyad.export import refuse_what_the_core_cannot_hold

    if train_config.epochs < 1:  # before any folder is made: a refused option leaves nothing behind
        raise InputError(f"epochs must be >= 1, got {train_config.epochs}")
    refuse_what_the_core_cannot_hold(dataset.config.window, len(dataset.channels), len(dataset.class_names))
    refuse_a_used_run_dir(run_dir, overwrite)
    keras.utils.set_random_seed(train_config.seed)
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    norm = dataset.normalizer
    x_train, x_val, x_test = (norm.apply(s.x) for s in (dataset.train, dataset.val, dataset.test))
    n_classes = len(dataset.class_names)
    model = build_model(model_config, dataset.config.window, len(dataset.channels), n_classes)
    model.compile(optimizer=keras.optimizers.Adam(train_config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    has_val = len(dataset.val) > 0
    monitor = "val_loss" if has_val else "loss"
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=train_config.patience,
                                            restore_best_weights=True)
    epoch_log = EpochLog()
    bar = EpochProgress(train_config.epochs) if progress else None
    callbacks = [stopper, epoch_log, *([bar] if bar is not None else [])]
    if train_config.augment_noise > 0:
        rng = np.random.default_rng(train_config.seed)
        x_train = x_train + rng.normal(0, train_config.augment_noise, x_train.shape).astype(np.float32)
    t0 = time.time()
    interrupted = None
    try:
        model.fit(
            x_train, dataset.train.y, validation_data=(x_val, dataset.val.y) if has_val else None,
            epochs=train_config.epochs, batch_size=train_config.batch_size, verbose=0, callbacks=callbacks,
            class_weight=dataset.class_weights() if train_config.class_weighting else None, shuffle=True)
    except KeyboardInterrupt as err:
        from tinyad.device.signals import interrupt_reason

        if bar is not None:  # fit ended without on_train_end
            bar.on_train_end()
        if not epoch_log.history.get(monitor) or stopper.best_weights is None:
            if created and not any(run_dir.iterdir()):
                run_dir.rmdir()
            raise
        model.set_weights(stopper.best_weights)  # what restore_best_weights does at a normal end
        interrupted = (f"{interrupt_reason(err)} after {len(epoch_log.history[monitor])} of "
                       f"{train_config.epochs} epochs")
    seconds = time.time() - t0
    try:  # a second Ctrl-C while the run is written: no half-written run (a model.keras without run.json)
        remove_pipeline_files(run_dir)
        model.save(run_dir / "model.keras")
        test_logits = model.predict(x_test, verbose=0, batch_size=256)
        metrics = {"float_test": classification_report(dataset.test.y, test_logits, dataset.class_names),
                   "train_seconds": seconds, "epochs_run": len(epoch_log.history["loss"]), "interrupted": interrupted,
                   # restore_best_weights always restores at the end of training: these are the kept weights
                   "best_epoch": int(stopper.best_epoch) + 1, "best_epoch_monitor": monitor,
                   "params": int(model.count_params())}
        info = {
            "model": model_config.to_dict(), "train": asdict(train_config), "dataset": asdict(dataset.config),
            "class_names": dataset.class_names, "channels": dataset.channels,
            "sample_rate_hz": dataset.sample_rate_hz, "norm_mean": norm.mean.tolist(), "norm_std": norm.std.tolist(),
            "session_ids": dataset.session_ids, "full_scale": dataset.full_scale,
            "dlpf_hz": dataset.dlpf_hz,
            "segments": [asdict(s) for s in dataset.segments],
            "counts": {split: int(len(getattr(dataset, split))) for split in ("train", "val", "test")},
            "history": epoch_log.history,
        }
        (run_dir / "run.json").write_text(json.dumps(info, indent=2))
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        np.savez_compressed(run_dir / "data.npz", **{f"{split}_{k}": getattr(getattr(dataset, split), k)
                                                     for split in ("train", "val", "test")
                                                     for k in ("x", "y", "session", "start")})
        from tinyad.plots import plot_confusion_matrix, plot_training_curves

        plot_training_curves(info["history"], run_dir / "training_curves.png", best_epoch=metrics["best_epoch"])
        plot_confusion_matrix(np.asarray(metrics["float_test"]["confusion_matrix"]), dataset.class_names,
                              run_dir / "confusion_matrix.png", title=f"{model_config.name} float, test split")
    except KeyboardInterrupt:
        remove_pipeline_files(run_dir)
        if created and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise
    return load_run(run_dir)


def load_run(run_dir: str | Path) -> Run:
    """Load a run directory written by `train`."""
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").exists():
        raise InputError(f"{run_dir}: not a training run (no run.json)", hint="create one with `tinyad train`")
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{run_dir / 'run.json'}: not valid JSON ({err})",
                         hint=f"re-train: `tinyad train SESSIONS --out {run_dir} --overwrite`") from err
    if not (run_dir / "data.npz").is_file():
        raise InputError(f"{run_dir}: the run has no data.npz (its train/val/test windows; training did not "
                         "finish, or it was removed)",
                         hint=f"re-train: `tinyad train SESSIONS --out {run_dir} --overwrite`")
    arrays = np.load(run_dir / "data.npz")
    data = {split: WindowSet(*(arrays[f"{split}_{k}"] for k in ("x", "y", "session", "start")))
            for split in ("train", "val", "test")}
    return Run(run_dir, info, data)


def dataset_config_from(info: dict) -> DatasetConfig:
    return DatasetConfig(**info["dataset"])
