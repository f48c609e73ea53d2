"""Training loop of the AnomalyBERT-style detector: synthetic outliers, checkpoints, transfer learning.

A checkpoint is a directory with `config.json` (architecture, channel names, standardization, step, the scores
of its evaluation, how it was trained) and `model.weights.h5`. A run directory holds `step_NNNNNN/` checkpoints
and `history.json` (one row per checkpoint).

Transfer: `TrainOptions.checkpoint` loads a checkpoint; the architecture (preset, window, patch size) is kept,
the standardization is refitted on the new data, and when the channel count differs the input embedding is
re-initialized (and the run says so in its `notes`).
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyad.bert.model import BertConfig, build_model, preset_config, transfer_weights
from tinyad.bert.outliers import OutlierProbabilities, synthesize_batch
from tinyad.atomic import outputs_in, remove_outputs, write_text_atomic
from tinyad.errors import InputError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
HISTORY_FILE = "history.json"
HISTORY_PLOT = "history.png"
# Learning rates above this are accepted with a warning: AdamW on this body trains at 1e-4 .. 1e-2.
LARGE_LEARNING_RATE = 1.0


@dataclass
class Standardizer:
    """Per-channel z-score fitted on training rows; constant channels get std 1 (they stay at 0)."""

    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, values: np.ndarray) -> "Standardizer":
        values = np.asarray(values, np.float64)
        std = values.std(axis=0)
        return cls(values.mean(axis=0).tolist(), np.where(std > 1e-9, std, 1.0).tolist())

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, np.float32)
        if values.shape[-1] != len(self.mean):
            raise InputError(f"data has {values.shape[-1]} channels, the standardizer {len(self.mean)}")
        return ((values - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32)


def constant_channels_warning(values: np.ndarray, channels: list[str]) -> str | None:
    """A warning naming the channels that hold one value throughout the training rows (a stuck sensor, a value the
    historian repeats): standardized with std 1 in their own units, a later change in them reaches the model at
    its size in those units (a 62 mV step in volts: 0.062), too small to score. None when every channel varies."""
    values = np.asarray(values, np.float64)
    constant = [f"{name} ({values[0, i]:g})" for i, name in enumerate(channels) if values[:, i].std() <= 1e-9]
    if not constant:
        return None
    return (f"channel(s) {', '.join(constant)} hold one value in all the training rows: the model learns nothing "
            "of them and a later change in them goes unnoticed; train on a span where they vary, or leave them out "
            "(tinyad bert load-bms --column)")


@dataclass
class TrainOptions:
    """Options of `tinyad bert train` (names mirror AnomalyBERT's train.py where it has them)."""

    preset: str = "small"
    patch_size: int | None = None
    window: int | None = None
    window_sliding: int = 16  # stride of the evaluation windows
    soft_replacing: float = 0.5
    uniform_replacing: float = 0.15
    peak_noising: float = 0.15
    length_adjusting: float = 0.0
    checkpoint: str | None = None  # initialize from this checkpoint (transfer / resume)
    lr: float = 1e-3
    max_steps: int = 2000
    batch_size: int = 32
    checkpoint_every: int = 200
    seed: int = 0
    center_windows: bool = True  # subtract each window's per-channel mean inside the model
    # Exponential moving average of the weights (0 = off). When on, checkpoints, their evaluation and the
    # returned model hold the averaged weights: checkpoint-to-checkpoint jitter of the raw weights averages out.
    ema_decay: float = 0.0

    def probabilities(self) -> OutlierProbabilities:
        return OutlierProbabilities(self.soft_replacing, self.uniform_replacing, self.peak_noising,
                                    self.length_adjusting)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, after history.json was written for the checkpoints done so far; `result` holds
    them (`final_checkpoint` is None when no checkpoint was written yet)."""

    def __init__(self, result: "TrainResult"):
        super().__init__("training interrupted")
        self.result = result


def validate_options(options: TrainOptions) -> list[str]:
    """Refuse options that cannot train a useful model (InputError with a hint); return warnings for options
    that are allowed but probably a mistake. Pure: reads the options only."""
    probabilities = options.probabilities().as_array()  # negative or summing above 1: refused there
    if probabilities.sum() <= 0:
        raise InputError("all four outlier probabilities are 0: training would see no synthetic outlier",
                         hint="the model learns from injected outliers: keep at least one of --soft_replacing, "
                              "--uniform_replacing, --peak_noising, --length_adjusting above 0 (defaults 0.5, "
                              "0.15, 0.15, 0)")
    if not np.isfinite(options.lr) or options.lr <= 0:
        raise InputError(f"--lr must be > 0, got {options.lr:g}", hint="e.g. --lr 1e-3 (the default)")
    if options.window_sliding < 1:
        raise InputError(f"--window_sliding must be >= 1, got {options.window_sliding}",
                         hint="the stride of evaluation windows in steps, e.g. --window_sliding 16 (the default)")
    if options.batch_size < 1:
        raise InputError(f"--batch_size must be >= 1, got {options.batch_size}",
                         hint="e.g. --batch_size 32 (the default)")
    if options.max_steps < 1 or options.checkpoint_every < 1:
        raise InputError("--max_steps and --checkpoint_every must be >= 1",
                         hint="e.g. --max_steps 2000 --checkpoint_every 200")
    if not 0.0 <= options.ema_decay < 1.0:
        raise InputError(f"--ema-decay must be in [0, 1), got {options.ema_decay}", hint="e.g. 0.98, or 0 for off")
    warnings = []
    if options.lr > LARGE_LEARNING_RATE:
        warnings.append(f"--lr {options.lr:g} is very large (this model trains at 1e-4 .. 1e-2): the loss will "
                        f"probably diverge")
    return warnings


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, its architecture, channels and standardization, and its metadata."""

    model: object
    config: BertConfig
    channels: list[str]
    standardizer: Standardizer
    step: int
    meta: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a run produced: its directory, the final checkpoint, the per-checkpoint history, notes, time."""

    run_dir: Path
    final_checkpoint: Path
    history: list[dict]
    notes: list[str]
    seconds: float
    model: object = None


def _atomic_json(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, default=float))


def save_checkpoint(directory: Path, model, config: BertConfig, channels: list[str], standardizer: Standardizer,
                    step: int, meta: dict | None = None) -> Path:
    """Write a checkpoint directory (weights first, config last: a config.json means a complete checkpoint)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_weights = directory / ("tmp." + WEIGHTS_FILE)
    model.save_weights(tmp_weights)
    os.replace(tmp_weights, directory / WEIGHTS_FILE)
    _atomic_json(directory / CONFIG_FILE, {
        "format": "tinyad.bert.checkpoint/1", "model": config.to_dict(), "channels": list(channels),
        "standardizer": asdict(standardizer), "step": int(step), **(meta or {}),
    })
    return directory


def _step_number(directory: Path) -> int:
    try:
        return int(directory.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return -1


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint directory, or a run directory (-> its run's last checkpoint: the last row of its
    history.json, so a step folder left over from another run cannot win; without a usable history, the
    highest step folder)."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        return path
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint or run directory",
                         hint="pass a directory written by `tinyad bert train` (a run folder or its step_NNNNNN)")
    if path.is_file():
        raise InputError(f"{path}: a file, not a checkpoint directory",
                         hint=f"pass the folder that holds {CONFIG_FILE} ({path.parent}), or its run folder")
    try:
        last_step = int(json.loads((path / HISTORY_FILE).read_text())[-1]["step"])
        recorded = path / f"step_{last_step:06d}"
        if (recorded / CONFIG_FILE).is_file():
            return recorded
    except (OSError, ValueError, LookupError, TypeError):
        pass  # no history (or a damaged one): fall back to the folders
    steps = sorted((p for p in path.glob("step_*") if (p / CONFIG_FILE).is_file()), key=_step_number)
    if not steps:
        raise InputError(f"{path}: not a checkpoint (no {CONFIG_FILE}) nor a run directory with step_*/",
                         hint="pass a directory written by `tinyad bert train`")
    return steps[-1]


def run_files(run_dir: Path) -> list[Path]:
    """What `train` writes into a run directory that is there now: step_* checkpoint folders, history.json/png,
    and a checkpoint's own config.json/weights (a checkpoint folder given as --out). Other files are not
    listed (and never removed)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    steps = sorted((p for p in run_dir.glob("step_*") if p.is_dir() and _step_number(p) >= 0), key=_step_number)
    # a config.json is a checkpoint's only when it says so (another program's config.json is the user's file), and
    # the weights beside it are then its weights
    checkpoint = (CONFIG_FILE, WEIGHTS_FILE) if is_checkpoint_config(run_dir / CONFIG_FILE) else ()
    return steps + outputs_in(run_dir, (HISTORY_FILE, HISTORY_PLOT, *checkpoint))


def is_checkpoint_config(path: Path) -> bool:
    """Whether `path` is a checkpoint's config.json (`"format": "tinyad.bert.checkpoint/N"`); a damaged one, cut
    inside its text, counts as one when its start says so."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return False
    try:
        saved = json.loads(text)
    except ValueError:
        return '"format": "tinyad.bert.checkpoint/' in text[:200]
    return isinstance(saved, dict) and str(saved.get("format", "")).startswith("tinyad.bert.checkpoint/")


def refuse_a_used_run_dir(run_dir: Path, overwrite: bool, hint: str = "give another run_dir, or overwrite=True to "
                                                                     "remove the earlier run's files first"):
    """The earlier run's files in `run_dir` (`run_files`); InputError with `hint` when there are any and not
    `overwrite`: its checkpoints would mix with the new run's."""
    existing = run_files(run_dir)
    if existing and not overwrite:
        listed = ", ".join(p.name for p in existing[:6]) + (" ..." if len(existing) > 6 else "")
        raise InputError(f"{run_dir} already holds a run ({listed}): its checkpoints would mix with this one's",
                         hint=hint)
    return existing


def remove_run_files(run_dir: Path) -> list[Path]:
    """Remove what `run_files` lists (an earlier run's output) and return it; everything else stays."""
    return remove_outputs(run_files(run_dir))


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load a checkpoint directory (or the last checkpoint of a run directory)."""
    path = resolve_checkpoint(Path(path))
    try:
        meta = json.loads((path / CONFIG_FILE).read_text())
        config = BertConfig.from_dict(meta["model"])
        standardizer = Standardizer(**meta["standardizer"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(f"{path / CONFIG_FILE}: not a valid checkpoint config ({err})",
                         hint="the file is damaged; use another checkpoint of the run") from None
    model = build_model(config)
    try:
        model.load_weights(path / WEIGHTS_FILE)
    except (OSError, ValueError) as err:
        raise InputError(f"{path / WEIGHTS_FILE}: cannot load weights ({err})",
                         hint="the weights file is missing or truncated") from None
    return Checkpoint(model, config, list(meta["channels"]), standardizer, int(meta["step"]), meta)


class WindowSampler:
    """Random training contexts (window + margin for length adjusting) from standardized segments."""

    def __init__(self, segments: list[np.ndarray], window: int, margin: int, rng: np.random.Generator):
        self.window, self.rng = window, rng
        self.context = window + margin
        usable = [s for s in segments if len(s) >= window]
        if not usable:
            longest = max((len(s) for s in segments), default=0)
            raise InputError(f"no contiguous run of {window} steps to train on (longest: {longest})",
                             hint="use a smaller --window or a preset with a shorter window")
        # Segments too short for the margin are padded by repeating their last row (length adjusting then
        # only sees a flat continuation, which is rare and harmless).
        self.segments = [s if len(s) >= self.context else
                         np.concatenate([s, np.repeat(s[-1:], self.context - len(s), axis=0)]) for s in usable]
        sizes = np.array([len(s) - self.context + 1 for s in self.segments], float)
        self.weights = sizes / sizes.sum()

    def sample(self, batch: int) -> np.ndarray:
        picks = self.rng.choice(len(self.segments), size=batch, p=self.weights)
        out = np.empty((batch, self.context, self.segments[0].shape[1]), np.float32)
        for i, k in enumerate(picks):
            seg = self.segments[k]
            start = int(self.rng.integers(0, len(seg) - self.context + 1))
            out[i] = seg[start:start + self.context]
        return out


def prepare_model(n_channels: int, channels: list[str], options: TrainOptions) -> tuple:
    """The model to train: fresh from the preset, or from `options.checkpoint` (transfer).

    Returns (model, config, notes). With a checkpoint the architecture is the checkpoint's;
    a different channel count re-initializes the input embedding, and the notes say so.
    """
    notes: list[str] = []
    if not options.checkpoint:
        config = preset_config(options.preset, n_channels, patch_size=options.patch_size, window=options.window,
                               center_windows=options.center_windows)
        return build_model(config), config, notes
    source = load_checkpoint(Path(options.checkpoint))
    if options.patch_size is not None and options.patch_size != source.config.patch_size:
        raise InputError(f"--patch_size {options.patch_size} differs from the checkpoint's "
                         f"{source.config.patch_size}", hint="leave --patch_size out when fine-tuning")
    if options.window is not None and options.window != source.config.window:
        raise InputError(f"--window {options.window} differs from the checkpoint's {source.config.window}",
                         hint="leave --window out when fine-tuning")
    config = BertConfig.from_dict({**source.config.to_dict(), "n_channels": n_channels})
    model = build_model(config)
    reinitialized = transfer_weights(source.model, model)
    notes.append(f"loaded checkpoint {resolve_checkpoint(Path(options.checkpoint))} (step {source.step})")
    if reinitialized:
        notes.append(f"channel count differs (checkpoint {source.config.n_channels}: {source.channels}; "
                     f"data {n_channels}: {channels}): re-initialized {', '.join(reinitialized)}")
    elif source.channels != list(channels):
        pairs = [(was, now) for was, now in zip(source.channels, channels) if was != now]
        renamed = ", ".join(f"{was!r} -> {now!r}" for was, now in pairs)
        if len(pairs) == 1:
            notes.append(f"channel names differ at the same positions ({renamed}); same count, weights kept: each "
                         "takes the input weights of the checkpoint's channel at its position")
        else:  # which new name is which old signal is only a guess from the column order
            notes.append(f"warning: {len(pairs)} channels are not named as in the checkpoint and were paired by the "
                         f"data's column order ({renamed}); each takes the input weights of its pair: check that "
                         "each pair is the same signal, else name the columns as the checkpoint does")
    return model, config, notes


Evaluator = Callable[[object, "Standardizer"], dict]


def library_log(message: str) -> None:
    """Where messages go when a script calls the API without a `log`: warnings as Python warnings (a learning rate
    that will diverge must not pass unseen), notes (a re-initialized embedding, gaps) to the "tinyad" logger."""
    if message.startswith("warning: "):
        warnings.warn(message.removeprefix("warning: "), UserWarning, stacklevel=3)
    else:
        logging.getLogger("tinyad").info(message)


def as_channel_segments(segments, channels: list[str], where: str = "data") -> list[np.ndarray]:
    """Telemetry as a list of (steps, channels) float arrays in the order of `channels`: a list of arrays or
    DataFrames, or one of them alone, or a list of rows (one array; `as_segments`). DataFrame columns are picked
    by name (others left out; a missing one is an InputError), arrays are taken as they are (a 1-D array is one
    channel's steps). InputError for repeated channel names, another channel count, or NaN/inf (naming the
    segment, row and channel of the first)."""
    import pandas as pd

    from tinyad.detectors.common import as_segments, columns_by_name

    repeated = sorted({name for name in channels if list(channels).count(name) > 1})
    if repeated:
        raise InputError(f"{where}: channel name(s) {repeated} given more than once in {list(channels)}",
                         hint="name each channel once")
    segments = as_segments(segments)  # a list of arrays or DataFrames is segments; a list of rows is one array
    parts = []
    for number, part in enumerate(segments):
        index = None  # a DataFrame's, to name a bad row by it
        if hasattr(part, "columns"):
            picked = columns_by_name(part, channels, where, "the channels are")
            for name, column in picked.items():
                if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
                    raise InputError(f"{where}: column {name!r} is not numbers (dtype {column.dtype})",
                                     hint="give numeric channels; convert text with pandas.to_numeric")
            index, part = picked.index, picked.to_numpy(dtype=float, na_value=np.nan)
        try:
            array = np.asarray(part, dtype=float)
        except (TypeError, ValueError) as err:
            raise InputError(f"{where}: not numbers ({err})", hint="give (steps, channels) arrays of numbers") from err
        segment = f"segment {number} (from 0), " if len(segments) > 1 else ""
        if array.ndim == 1 and len(channels) == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != len(channels):
            hint = ("give one (steps, channels) array per contiguous run; a list of rows is one array: "
                    "numpy.asarray(rows)" if array.ndim < 2 else "give (steps, channels) arrays")
            raise InputError(f"{where}: {segment}shape {array.shape}; the channels {list(channels)} take "
                             f"(steps, {len(channels)})", hint=hint)
        bad = ~np.isfinite(array)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            at = f"row {index[row]!s}" if index is not None else f"row {row} (from 0)"
            raise InputError(f"{where}: {segment}{at}, channel {channels[col]!r}: NaN or inf "
                             f"({int(bad.sum())} such cell(s))",
                             hint="fill or drop the gaps first (tinyad.battery's loader interpolates short ones)")
        parts.append(array)
    return parts


def train(segments, channels: list[str], options: TrainOptions, run_dir: Path,
          evaluator: Evaluator | None = None, donor: np.ndarray | None = None, source: str = "",
          progress: bool = True, log: Callable[[str], None] | None = None, period_s: float | None = None,
          extra_notes: list[str] | tuple = (), on_checkpoint: Callable[[dict], None] | None = None,
          before_first_write: Callable[[], None] | None = None, overwrite: bool = False,
          probe: dict | None = None) -> TrainResult:
    """Train on normal telemetry `segments` (raw units: a list of (n_i, channels) arrays or DataFrames, or one;
    `as_channel_segments`) with synthetic outliers. Without `log`, warnings are Python warnings (`library_log`).

    Every `checkpoint_every` steps (and at the end) a checkpoint is written to `run_dir/step_NNNNNN` and, if
    given, `evaluator(model, standardizer)` scores it; its dict goes into the checkpoint and `history.json`,
    and `on_checkpoint(row)` is called with it (also for step 0 of a fine-tuning run).
    `donor` (raw units) is another data set to take soft-replacing segments from (default: the training data).
    `period_s` (the data's sampling period), `extra_notes` (e.g. the loader's gap report) and `probe` (rows of
    the training data, `training_probe`) are stored in every checkpoint. `before_first_write()` runs after every
    check passed, just before `run_dir` is first written.
    A `run_dir` holding an earlier run (`run_files`) is refused, its checkpoints would mix with these, unless
    `overwrite`: then that run's files are removed just before the first write.
    Ctrl-C raises TrainingInterrupted after writing history.json for the checkpoints done.
    """
    import tensorflow as tf
    import keras
    from tqdm import tqdm

    log = log or library_log
    refuse_a_used_run_dir(Path(run_dir), overwrite)
    segments = as_channel_segments(segments, channels, "training data")
    if not segments:
        raise InputError(f"training data: no segments for channels {channels}")
    stacked = np.concatenate(segments)
    for warning in validate_options(options):
        log(f"warning: {warning}")
    probabilities = options.probabilities()
    keras.utils.set_random_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    standardizer = Standardizer.fit(stacked)
    if warning := constant_channels_warning(stacked, channels):
        log(f"warning: {warning}")
    standardized = [standardizer.apply(s) for s in segments]
    if donor is not None:
        donor_std = Standardizer.fit(donor).apply(donor)  # its own scale: only its shapes are borrowed
    else:  # as in AnomalyBERT, soft replacing borrows from anywhere in the training data, not just the window
        donor_std = np.concatenate(standardized)

    model, config, model_notes = prepare_model(len(channels), channels, options)
    for note in model_notes:
        log(note)
    notes = [*extra_notes, *model_notes]
    sampler = WindowSampler(standardized, config.window, config.window // 2, rng)
    optimizer = keras.optimizers.AdamW(learning_rate=options.lr, weight_decay=1e-4, clipnorm=1.0)
    # Built here, not in the first step: creating its variables inside train_step makes tf.function trace the
    # step twice (2-3 s each); the updates are bit-identical.
    optimizer.build(model.trainable_variables)
    # The average starts at the initial weights (for fine-tuning: the checkpoint's).
    averaged = ([tf.Variable(v, trainable=False) for v in model.trainable_variables]
                if options.ema_decay > 0 else None)

    @tf.function(reduce_retracing=True)
    def train_step(windows, labels):
        with tf.GradientTape() as tape:
            logits = model(windows, training=True)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if averaged is not None:
            for average, variable in zip(averaged, model.trainable_variables):
                average.assign(options.ema_decay * average + (1.0 - options.ema_decay) * variable)
        return loss

    def with_averaged_weights(action):
        """Run `action()` with the averaged weights in the model, then put the raw weights back."""
        if averaged is None:
            return action()
        raw = [v.numpy() for v in model.trainable_variables]
        for variable, average in zip(model.trainable_variables, averaged):
            variable.assign(average)
        try:
            return action()
        finally:
            for variable, value in zip(model.trainable_variables, raw):
                variable.assign(value)

    run_dir = Path(run_dir)
    if before_first_write is not None:
        before_first_write()
    if overwrite:
        remove_run_files(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history: list[dict] = []
    meta = {"train": {**asdict(options), "source": source, "notes": notes}}
    if probe is not None:
        meta["train"]["probe"] = probe
    if options.checkpoint:  # the rows of the runs this one fine-tunes, so that evaluate can tell them too
        parent = json.loads((resolve_checkpoint(Path(options.checkpoint)) / CONFIG_FILE).read_text()).get("train", {})
        earlier = ([parent["probe"]] if parent.get("probe") else []) + parent.get("earlier_probes", [])
        if earlier:
            meta["train"]["earlier_probes"] = earlier
    if period_s is not None:
        meta["period_s"] = float(period_s)
    losses: list[float] = []
    started = time.perf_counter()
    report = on_checkpoint or (lambda row: None)
    last_dir: Path | None = None
    bar = None
    try:
        if evaluator is not None and options.checkpoint:
            # Step 0 of a fine-tuning run: the loaded weights with the new data's standardization, before any
            # update (with a re-initialized input embedding this is near chance).
            history.append({"step": 0, "loss": float("nan"), "seconds": 0.0, **evaluator(model, standardizer)})
            report(history[-1])
        bar = tqdm(range(1, options.max_steps + 1), desc="bert train", unit="step", disable=not progress,
                   mininterval=1.0)
        for step in bar:
            windows, labels = synthesize_batch(sampler.sample(options.batch_size), config.window, probabilities,
                                               rng, donor_std)
            losses.append(float(train_step(tf.constant(windows), tf.constant(labels))))
            if step % options.checkpoint_every == 0 or step == options.max_steps:
                row = {"step": step, "loss": float(np.mean(losses[-options.checkpoint_every:])),
                       "seconds": time.perf_counter() - started}
                if not np.isfinite(row["loss"]):  # the weights are no longer numbers: nothing later can recover
                    history.append(row)
                    _atomic_json(run_dir / HISTORY_FILE, history)
                    kept = f"the checkpoints before step {step} are kept" if last_dir else "no checkpoint was written"
                    raise InputError(f"training diverged by step {step}: the mean loss of its last "
                                     f"{options.checkpoint_every} steps is {row['loss']} (the weights are no longer "
                                     f"finite); {kept}, history in {run_dir / HISTORY_FILE}",
                                     hint=f"retrain with a lower --lr (this run: {options.lr:g})")
                if evaluator is not None:
                    row.update(with_averaged_weights(lambda: evaluator(model, standardizer)))
                history.append(row)
                last_dir = with_averaged_weights(lambda: save_checkpoint(
                    run_dir / f"step_{step:06d}", model, config, channels, standardizer, step,
                    {**meta, "scores": row}))
                _atomic_json(run_dir / HISTORY_FILE, history)
                bar.set_postfix({k: round(v, 3) for k, v in row.items() if k in ("loss", "score", "f1")})
                with tqdm.external_write_mode():  # the bar is cleared first: the line never lands inside it
                    report(row)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        # Keep the rows whose checkpoint is complete (a config.json is written last): Ctrl-C may have landed
        # between a row and its checkpoint.
        done = [row for row in history
                if row["step"] == 0 or (run_dir / f"step_{row['step']:06d}" / CONFIG_FILE).is_file()]
        _atomic_json(run_dir / HISTORY_FILE, done)
        saved = [run_dir / f"step_{row['step']:06d}" for row in done if row["step"] > 0]
        raise TrainingInterrupted(TrainResult(run_dir, saved[-1] if saved else None, done, notes,
                                              time.perf_counter() - started, model)) from None
    if averaged is not None:  # the returned model is the final checkpoint's (averaged) model
        for variable, average in zip(model.trainable_variables, averaged):
            variable.assign(average)
    return TrainResult(run_dir, last_dir, history, notes, time.perf_counter() - started, model)


def parse_range(text: str) -> tuple[float, float]:
    """'0:0.75' -> (0.0, 0.75): a fraction of the time span."""
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"bad time range {text!r}", hint="use START:END fractions of the time span, e.g. 0:0.75")
    if not 0.0 <= lo < hi <= 1.0:
        as_fractions = f"; in fractions that is {lo / 100:g}:{hi / 100:g}" if 0.0 <= lo < hi <= 100.0 else ""
        raise InputError(f"bad time range {text!r}",
                         hint=f"START:END are fractions of the time span, 0 <= START < END <= 1{as_fractions}")
    return lo, hi


def checkpoint_positions(saved: list[str], channels: list[str]) -> list[str] | None:
    """The data's `channels` in the order that puts each at the checkpoint's position for it: a name the
    checkpoint has (`saved`) at that name's position, the others in the positions left, in data order. None when
    the counts differ (the input embedding is re-initialized) or no name is shared (all renamed: by position).
    E.g. saved [v, i, t], channels [i, v, t2] -> [v, i, t2]: t2 takes t's place."""
    if len(saved) != len(channels) or not set(saved) & set(channels):
        return None
    others = iter([name for name in channels if name not in saved])
    return [name if name in channels else next(others) for name in saved]


def _in_checkpoint_order(data, checkpoint: Path, log=None):
    """`data` with its channels at the checkpoint's positions (`checkpoint_positions`: the input weights belong
    to positions, so a shared name must keep its place even when another channel is renamed); otherwise unchanged
    (a different count is handled by prepare_model)."""
    try:
        saved = list(json.loads((resolve_checkpoint(checkpoint) / CONFIG_FILE).read_text())["channels"])
    except (OSError, ValueError, KeyError, TypeError):
        return data  # a damaged checkpoint: load_checkpoint reports it with a hint
    order = checkpoint_positions(saved, list(data.channels))
    reordered = data.in_order_of(order) if order else data
    if log and reordered is not data:
        log(f"channels reordered to the checkpoint's order {saved} (the data had {data.channels})" if order == saved
            else f"channels put at the checkpoint's positions by name: {order} (the checkpoint has {saved}, the data "
                 f"had {data.channels})")
    return reordered


def window_of(options: TrainOptions, n_channels: int) -> int:
    """The window length a run with `options` will use: the checkpoint's when fine-tuning, else the preset's
    (or --window)."""
    if options.checkpoint:
        try:
            return int(json.loads((resolve_checkpoint(Path(options.checkpoint)) / CONFIG_FILE).read_text())
                       ["model"]["window"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged checkpoint: load_checkpoint reports it with a hint
    return preset_config(options.preset, n_channels, patch_size=options.patch_size, window=options.window,
                         center_windows=options.center_windows).window


def period_note(checkpoint_meta: dict, data_period_s: float, source: str) -> str | None:
    """A note when data is sampled at another period than the checkpoint's training data (its windows then
    span another time and its shapes mean something else); None when they agree or the checkpoint predates
    recording it."""
    trained = checkpoint_meta.get("period_s")
    if trained is None or np.isclose(float(trained), float(data_period_s)):
        return None
    return (f"{source} is sampled every {data_period_s:g} s, the checkpoint was trained on {float(trained):g} s "
            f"data: a window spans another time (resample with tinyad bert load-bms --period {float(trained):g})")


# Rows of the training range recorded in a checkpoint (time and values), so that `bert evaluate` can tell
# when the range it scores holds the very rows trained on.
PROBE_ROWS = 64


def training_probe(data, range_=None, eval_range=None) -> dict:
    """{"rows": [[ISO time, value, ...], ...] PROBE_ROWS rows spread over `data` (the training slice),
    "range": the fractions trained on, "eval_range": those evaluated on, "span": its first and last time}: a
    fingerprint of the training rows."""
    from tinyad.battery.bms import TIME_COLUMN

    frame = data.frame
    picks = np.unique(np.linspace(0, len(frame) - 1, min(PROBE_ROWS, len(frame))).astype(int))
    rows = [[str(frame[TIME_COLUMN].iloc[i]), *map(float, frame[data.channels].iloc[i])] for i in picks]
    return {"rows": rows, "range": list(range_) if range_ else None,
            "eval_range": list(eval_range) if eval_range else None,
            "span": [str(frame[TIME_COLUMN].iloc[0]), str(frame[TIME_COLUMN].iloc[-1])]}


def trained_rows_in(data, probe: dict | None) -> int:
    """How many of a checkpoint's probe rows (`training_probe`) `data` holds: at the same time, the same values
    in the same channels (another rack at the same times differs). 0 without a probe or shared channels."""
    import pandas as pd

    from tinyad.battery.bms import TIME_COLUMN

    if not probe or not probe.get("rows"):
        return 0
    times = pd.to_datetime(data.frame[TIME_COLUMN])
    index = pd.Index(times)
    found = 0
    for time, *values in probe["rows"]:
        at = index.get_indexer([pd.Timestamp(time)])[0]
        if at >= 0 and len(values) == len(data.channels) and np.allclose(
                data.frame[data.channels].iloc[at].to_numpy(float), values, rtol=1e-6, atol=1e-9, equal_nan=True):
            found += 1
    return found


def holds_the_trained_data(data, probe: dict | None) -> bool:
    """Whether `data` is the data a run trained on: at least half of the probe rows whose times `data` has match
    (one row alike, such as a first row at time 0 of two files on one clock, is no proof)."""
    import pandas as pd

    from tinyad.battery.bms import TIME_COLUMN

    if not probe or not probe.get("rows"):
        return False
    index = pd.Index(pd.to_datetime(data.frame[TIME_COLUMN]))
    present = int((index.get_indexer([pd.Timestamp(row[0]) for row in probe["rows"]]) >= 0).sum())
    found = trained_rows_in(data, probe)
    return found > 0 and 2 * found >= present


def trained_steps_in(data, scored, probe: dict | None) -> int:
    """How many steps of `scored` (a range of `data`) a run trained on: those inside the training span `probe`
    records, when `data` is that run's data (it holds the probe's rows; another rack at the same times does
    not). 0 without a probe. A probe without a span (an older checkpoint): the probe rows `scored` holds."""
    import pandas as pd

    from tinyad.battery.bms import TIME_COLUMN

    if not probe or not holds_the_trained_data(data, probe):
        return 0
    if not probe.get("span"):
        return trained_rows_in(scored, probe)
    times = pd.to_datetime(scored.frame[TIME_COLUMN])
    first, last = (pd.Timestamp(text) for text in probe["span"])
    return int(((times >= first) & (times <= last)).sum())


def train_on_dataset(dataset: str, options: TrainOptions, run_dir: Path, train_range=(0.0, 0.75),
                     eval_dataset: str | None = None, eval_range=(0.75, 1.0), donor_dataset: str | None = None,
                     anomaly_rate: float = 0.08, progress: bool = True, log=None,
                     on_checkpoint: Callable[[dict], None] | None = None,
                     before_first_write: Callable[[], None] | None = None, dayfirst: bool | None = None,
                     decimal: str = ".", time_column: str = "time", overwrite: bool = False) -> TrainResult:
    """`tinyad bert train`: train on the `train_range` of `dataset` (ess_lfp:N, bess, or a file) and evaluate
    every checkpoint on the `eval_range` of `eval_dataset` (default: the same data) with injected anomalies,
    including types never used in training. Writes the run directory and `history.png` (also on Ctrl-C, for the
    checkpoints done). Data loaded and resampled on the fly has its gap report logged and kept in the notes.
    `dayfirst`, `decimal` and `time_column` say how a CSV's dates and numbers are written and which column holds
    the times (as `load_any`), for every data set read now. `overwrite` as for `train`."""
    from tinyad.battery.bms import is_tidy_file, load_any, loading_messages
    from tinyad.bert.evaluate import CheckpointEvaluator, blocks_for_evaluation, check_stride, plot_history

    log = log or library_log
    dataset = str(dataset)  # a Path names a file as the string does
    validate_options(options)  # a refused option fails before any loading; train() logs the warnings
    notes: list[str] = []

    def load(spec: str):
        data = load_any(spec, dayfirst=dayfirst, decimal=decimal, time_column=time_column)
        for level, text in loading_messages(data, is_tidy_file(spec)):
            log(f"warning: {text}" if level == "warning" else text)
            notes.append(text)
        return data

    data = load(dataset)
    if options.checkpoint:
        data = _in_checkpoint_order(data, Path(options.checkpoint), log)
        try:
            saved_meta = json.loads((resolve_checkpoint(Path(options.checkpoint)) / CONFIG_FILE).read_text())
        except (OSError, ValueError):
            saved_meta = {}
        if note := period_note(saved_meta, data.period_s, data.source):
            log(note)
            notes.append(note)
    training = data.time_slice(*train_range)
    evaluator = None
    if eval_range is not None:
        held_out_source = (load(eval_dataset) if eval_dataset else data).in_order_of(data.channels)
        if held_out_source.channels != data.channels:
            raise InputError(f"evaluation data channels {held_out_source.channels} differ from {data.channels}",
                             hint="evaluate on data with the training channels (the same columns), or leave "
                                  "--eval-dataset out to hold out a time range of --dataset")
        if not eval_dataset and eval_range[0] < train_range[1] and eval_range[1] > train_range[0]:
            raise InputError(f"evaluation range {eval_range} overlaps the training range {train_range}",
                             hint="hold out a later time range, e.g. --train-range 0:0.75 --eval-range 0.75:1")
        check_stride(options.window_sliding, window_of(options, len(data.channels)))  # before any training step
        # One block per contiguous segment: an injected test window never spans a gap in the data.
        blocks, left_out = blocks_for_evaluation(held_out_source.time_slice(*eval_range).segments(),
                                                 window_of(options, len(data.channels)),
                                                 f"evaluation range {eval_range[0]:g}:{eval_range[1]:g}",
                                                 "--eval-range")
        if left_out:
            log(left_out)
            notes.append(left_out)
        evaluator = CheckpointEvaluator(blocks, options.window_sliding, anomaly_rate=anomaly_rate)
    donor = load(donor_dataset).values() if donor_dataset else None

    def plot(history):
        if evaluator is not None and history:
            plot_history({Path(run_dir).name: history}, Path(run_dir) / HISTORY_PLOT,
                         title=f"{dataset}: score vs steps", extra_keys=("score_pa", "f1"), with_loss=True)

    try:
        result = train(training.segments(), data.channels, options, run_dir, evaluator, donor,
                       source=f"{data.source} range {train_range}", progress=progress, log=log,
                       period_s=data.period_s, extra_notes=notes, on_checkpoint=on_checkpoint,
                       before_first_write=before_first_write, overwrite=overwrite,
                       probe=training_probe(training, train_range, None if eval_dataset else eval_range))
    except TrainingInterrupted as interrupted:
        plot(interrupted.result.history)
        raise
    plot(result.history)
    return result
