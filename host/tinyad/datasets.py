"""From labeled sessions to leakage-safe windowed data sets.

Splits are made on *segments* (a session, or a time block of one) before windowing, so no window can straddle
a split boundary; time blocks cut from one session are separated by a gap of at least one window
(../shared/data/README.md: split by run or recording, never by random overlapping window).

- Classes recorded in >= 2 sessions are split by session (the last sessions in id order go to test).
- Classes recorded in a single session are split by time: first 70 % train, last 30 % test, gap >= one window.
- The validation set (early stopping) is whole training runs (val_fraction of them) where a class has >= 3 runs left
  after the test split, else the tail of every training segment, again with a gap.
Windows are clipped to the sessions' full scale as the board clips them (the firmware's default +-4 g / +-500 dps
when the sessions record none); normalization (per-channel mean and std) is fitted on the training windows only.
Windows that contain a sampling gap (lost samples, a reboot) are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyad.errors import InputError
from tinyad.session import DEFAULT_FULL_SCALE, SAME_RATE_TOLERANCE, Session, clip_to_full_scale, rate_matches

NORMAL_LABEL = "normal"
UNLABELLED = ("unknown", "")  # labels that name no class


@dataclass(frozen=True)
class Segment:
    """Samples [start, stop) of session number `session` assigned to one split."""

    session: int
    start: int
    stop: int
    split: str  # "train" | "val" | "test"


@dataclass
class WindowSet:
    """Windows (n, window, channels) float32 in physical units, integer labels, and where each came from."""

    x: np.ndarray
    y: np.ndarray
    session: np.ndarray  # index into the session list
    start: np.ndarray    # first sample of each window within its session

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class Normalizer:
    """Per-channel standardization fitted on training data only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, min_std: float = 1e-6) -> "Normalizer":
        """Fit on windows (n, window, channels) or samples (n, channels)."""
        flat = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
        return cls(flat.mean(axis=0).astype(np.float32), np.maximum(flat.std(axis=0), min_std).astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)


@dataclass
class DatasetConfig:
    window: int = 64
    hop: int = 32
    task: str = "multiclass"         # "multiclass" or "binary" (normal vs anomaly)
    test_fraction: float = 0.3       # time-block split for single-session classes
    val_fraction: float = 0.15       # tail of each training segment
    max_windows_per_session: int | None = None  # down-sample very long sessions (evenly spaced windows)
    min_samples: int = 0             # curation: skip a data set with fewer samples (the study used 2000)
    min_anomaly_fraction: float = 0.0  # curation: skip a data set with fewer anomalous samples (0.05)
    split_group: str | None = None   # also split within groups of this meta.extra key (e.g. "folder"), so that
    # every condition (a fan speed, say) is represented in train and test


@dataclass
class Dataset:
    """Windowed train/val/test sets with class names, the normalizer and the segments they came from."""

    train: WindowSet
    val: WindowSet
    test: WindowSet
    class_names: list[str]
    channels: list[str]
    sample_rate_hz: float
    normalizer: Normalizer
    segments: list[Segment]
    config: DatasetConfig
    session_ids: list[str] = field(default_factory=list)
    full_scale: dict = field(default_factory=dict)  # sensor ranges of the sessions (first session's)
    dlpf_hz: float = 0.0  # the sessions' sensor low-pass bandwidth (`recorded_dlpf_hz`); 0 when none records it

    def class_weights(self) -> dict[int, float]:
        """Inverse-frequency weights over the training labels (mean weight 1): balances rare fault classes."""
        counts = np.bincount(self.train.y, minlength=len(self.class_names)).astype(np.float64)
        present = counts > 0
        weights = np.zeros_like(counts)
        weights[present] = counts[present].sum() / (present.sum() * counts[present])
        return {i: float(w) for i, w in enumerate(weights)}


def window_starts(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start indices of all full windows in a run of n_samples (none if it is shorter than one window)."""
    if window <= 0 or hop <= 0:
        raise InputError(f"window and hop must be positive, got window={window} hop={hop}")
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, hop, dtype=np.int64)


def make_windows(data: np.ndarray, window: int, hop: int) -> np.ndarray:
    """All full windows (n, window, channels) of `data` (samples, channels), as a copy."""
    starts = window_starts(len(data), window, hop)
    if len(starts) == 0:
        return np.zeros((0, window, data.shape[1]), np.float32)
    idx = starts[:, None] + np.arange(window)[None, :]
    return np.asarray(data, np.float32)[idx]


def label_names(sessions: list[Session], task: str) -> list[str]:
    """Class names, "normal" first: binary -> ["normal", "anomaly"]; multiclass -> normal + sorted faults.

    Sessions labelled "unknown" (an import without --label) or not at all are refused: they would become a
    class of their own (in binary: anomalies, though usually healthy data)."""
    unlabelled = [s.where for s in sessions if (s.meta.label or "").strip() in UNLABELLED]
    if unlabelled:
        more = f" and {len(unlabelled) - 5} more" if len(unlabelled) > 5 else ""
        raise InputError(f"{len(unlabelled)} session(s) have no label (\"unknown\" or empty): "
                         f"{', '.join(unlabelled[:5])}{more}",
                         hint="re-import them with their class, e.g. `tinyad import csv FILE ... --label normal` "
                              "(--overwrite replaces the session files), or leave them out")
    labels = sorted({s.meta.label for s in sessions})
    if NORMAL_LABEL not in labels:
        raise InputError(f"no session is labeled {NORMAL_LABEL!r} (labels: {labels})",
                         hint="record or import at least one normal session")
    if task == "binary":
        return [NORMAL_LABEL, "anomaly"]
    if task != "multiclass":
        raise InputError(f"unknown task {task!r}", hint="use 'binary' or 'multiclass'")
    return [NORMAL_LABEL] + [label for label in labels if label != NORMAL_LABEL]


def require_two_classes(sessions: list[Session], class_names: list[str], task: str) -> None:
    """Refuse data with a single class: a classifier trained on it learns nothing (binary F1 0, ROC-AUC nan),
    yet would quantize and export as if it worked."""
    present = {class_index(s.meta.label, class_names, task) for s in sessions}
    if len(present) < 2:
        labels = sorted({s.meta.label for s in sessions})
        raise InputError(
            f"need at least 2 classes to train a {task} model; found only {[class_names[i] for i in sorted(present)]}"
            f" (session labels {labels})",
            hint="add sessions of a fault class (e.g. `tinyad import csv ... --label imbalance`); with normal data "
                 "only, fit a label-free detector (`tinyad detect fit`)")


def class_index(label: str, class_names: list[str], task: str) -> int:
    if task == "binary":
        return 0 if label == NORMAL_LABEL else 1
    return class_names.index(label)


def _time_block(n: int, fraction: float, gap: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Split [0, n) into a head [0, a) and a tail [a + gap, n) whose length is about `fraction` of n."""
    tail_len = int(round(n * fraction))
    head_stop = max(0, n - tail_len - gap)
    return (0, head_stop), (head_stop + gap, n)


def split_segments(sessions: list[Session], config: DatasetConfig, gap: int | None = None) -> list[Segment]:
    """Assign sessions (or time blocks of them) to train/val/test; see the module docstring for the rules."""
    gap = config.window if gap is None else gap
    by_label: dict[tuple, list[int]] = {}
    for i, s in enumerate(sessions):
        group = str(s.meta.extra.get(config.split_group, "")) if config.split_group else ""
        by_label.setdefault((s.meta.label, group), []).append(i)
    segments: list[Segment] = []
    train_parts: list[tuple[int, int, int]] = []
    for _label_and_group, idxs in sorted(by_label.items()):
        idxs = sorted(idxs, key=lambda i: sessions[i].meta.session_id)
        if len(idxs) >= 2:
            n_test = max(1, int(math.floor(len(idxs) * config.test_fraction + 0.5)))
            n_test = min(n_test, len(idxs) - 1)
            for i in idxs[-n_test:]:
                segments.append(Segment(i, 0, sessions[i].n_samples, "test"))
            rest = idxs[:-n_test]
            if len(rest) >= 3:  # enough runs: validate on whole held-out runs too (early stopping sees
                # generalization to a new run, not to the next minutes of a training run)
                n_val = min(len(rest) - 1, max(1, int(math.floor(len(rest) * config.val_fraction + 0.5))))
                segments += [Segment(i, 0, sessions[i].n_samples, "val") for i in rest[-n_val:]]
                segments += [Segment(i, 0, sessions[i].n_samples, "train") for i in rest[:-n_val]]
                continue
            train_parts += [(i, 0, sessions[i].n_samples) for i in rest]
        else:
            i = idxs[0]
            (a0, a1), (b0, b1) = _time_block(sessions[i].n_samples, config.test_fraction, gap)
            segments.append(Segment(i, b0, b1, "test"))
            train_parts.append((i, a0, a1))
    for i, start, stop in train_parts:
        (a0, a1), (b0, b1) = _time_block(stop - start, config.val_fraction, gap)
        segments.append(Segment(i, start + a0, start + a1, "train"))
        segments.append(Segment(i, start + b0, start + b1, "val"))
    return segments


def spans_gap(session: Session, starts: np.ndarray, window: int, factor: float = 1.5) -> np.ndarray:
    """For each window start, whether the window contains a sampling gap (an interval longer than `factor`
    nominal intervals: lost samples, a reboot). Such a window is not what the sensor delivers in one piece."""
    gaps = np.diff(session.t) > factor / session.meta.sample_rate_hz
    if not gaps.any() or len(starts) == 0:
        return np.zeros(len(starts), bool)
    # gap_count[i] = number of gaps among intervals 0..i-1; a window [s, s+window) holds intervals s..s+window-2
    gap_count = np.concatenate([[0], np.cumsum(gaps)])
    return gap_count[starts + window - 1] - gap_count[starts] > 0


def _windows_of(sessions, segments, split, config, class_names) -> WindowSet:
    xs, ys, sess, starts = [], [], [], []
    for seg in segments:
        if seg.split != split:
            continue
        s = sessions[seg.session]
        local = window_starts(seg.stop - seg.start, config.window, config.hop)
        local = local[~spans_gap(s, seg.start + local, config.window)]
        if config.max_windows_per_session and len(local) > config.max_windows_per_session:
            keep = np.linspace(0, len(local) - 1, config.max_windows_per_session).round().astype(int)
            local = local[keep]
        if len(local) == 0:
            continue
        idx = (seg.start + local)[:, None] + np.arange(config.window)[None, :]
        xs.append(s.data[idx])
        ys.append(np.full(len(local), class_index(s.meta.label, class_names, config.task)))
        sess.append(np.full(len(local), seg.session))
        starts.append(seg.start + local)
    if not xs:
        c = sessions[0].data.shape[1]
        return WindowSet(np.zeros((0, config.window, c), np.float32), np.zeros(0, np.int64),
                         np.zeros(0, np.int64), np.zeros(0, np.int64))
    return WindowSet(np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64),
                     np.concatenate(sess), np.concatenate(starts))


def recorded_dlpf_hz(sessions: list[Session]) -> float:
    """The sensor low-pass bandwidth the sessions were recorded with, 0.0 when none records one. Sessions that
    record different ones are refused: the filter shapes the spectrum a model learns, and the board runs one."""
    known = {float(s.meta.dlpf_hz): s.where for s in sessions if s.meta.dlpf_hz}
    if len(known) > 1:
        (a, first), (b, second) = list(known.items())[:2]
        raise InputError(f"{second}: sensor low-pass (DLPF) {b:g} Hz differs from {first}: {a:g} Hz",
                         hint="train one model per DLPF setting; the board is built with one (CONFIG_TINYAD_DLPF_CFG)")
    return next(iter(known), 0.0)


def check_compatible(sessions: list[Session]) -> None:
    """All sessions must share channels, sample rate and sensor low-pass (a model has one input layout)."""
    if not sessions:
        raise InputError("no sessions given")
    first = sessions[0].meta
    for s in sessions[1:]:
        if s.meta.channels != first.channels:
            raise InputError(
                f"{s.where}: channels {s.meta.channels} differ from "
                f"{sessions[0].where}: {first.channels}", hint="train on sessions with the same channels")
        if not rate_matches(s.meta.sample_rate_hz, first.sample_rate_hz, SAME_RATE_TOLERANCE):
            raise InputError(
                f"{s.where}: {s.meta.sample_rate_hz:.6g} Hz differs from "
                f"{sessions[0].where}: {first.sample_rate_hz:.6g} Hz", hint="resample, or train one model per rate")
    recorded_dlpf_hz(sessions)


def curation_reason(sessions: list[Session], config: DatasetConfig) -> str | None:
    """Why the original study's curation rules would skip this data set, or None to keep it."""
    total = sum(s.n_samples for s in sessions)
    anomalous = sum(s.n_samples for s in sessions if s.meta.label != NORMAL_LABEL)
    if total < config.min_samples:
        return f"{total} samples < {config.min_samples}"
    if total and anomalous / total < config.min_anomaly_fraction:
        return f"{100 * anomalous / total:.1f} % anomalous samples < {100 * config.min_anomaly_fraction:.0f} %"
    return None


def _contains_rows(haystack: bytes, needle: bytes, row_bytes: int) -> bool:
    """Whether `needle` (whole rows) occurs in `haystack` starting on a row boundary."""
    position = haystack.find(needle)
    while position != -1 and position % row_bytes:
        position = haystack.find(needle, position + 1)
    return position != -1


def classes_without_windows(data: "Dataset") -> list[str]:
    """A warning per split (test, validation) that holds no window of a class: its test metrics (macro-F1 over the
    classes present) then say nothing of that class, e.g. "class 'normal' has no test windows: ...". Empty when
    every split holds every class."""
    found = []
    for split, windows in (("test", data.test), ("validation", data.val)):
        counts = np.bincount(np.asarray(windows.y, int), minlength=len(data.class_names))
        missing = [name for name, count in zip(data.class_names, counts) if count == 0]
        if missing and len(windows):
            found.append(f"class(es) {', '.join(map(repr, missing))} have no {split} windows: the {split} metrics "
                         "(macro-F1 over the classes present) say nothing of them; record more or longer sessions "
                         "of each class")
    return found


def repeated_test_data(sessions: list[Session], segments: list[Segment], window: int) -> list[str]:
    """Test segments whose samples occur, exactly and in order, in a training segment: a recording that
    repeats another (a replay looping one clip, a file copied under another name). Test scores on them measure
    memory, not new data. Probes one window from the middle of each test segment; a probe with few distinct
    samples (a stuck or saturated sensor repeats values legitimately) is skipped. Returns one line per segment."""
    train = [(seg, np.ascontiguousarray(sessions[seg.session].data[seg.start:seg.stop], np.float32).tobytes())
             for seg in segments if seg.split == "train"]
    found = []
    for seg in segments:
        if seg.split != "test" or seg.stop - seg.start < window:
            continue
        middle = seg.start + (seg.stop - seg.start - window) // 2
        probe = np.ascontiguousarray(sessions[seg.session].data[middle:middle + window], np.float32)
        if len(np.unique(probe, axis=0)) < window // 2:
            continue
        row_bytes = probe.shape[1] * probe.itemsize
        for train_seg, haystack in train:
            if _contains_rows(haystack, probe.tobytes(), row_bytes):
                test_id, train_id = (sessions[i].where for i in (seg.session, train_seg.session))
                found.append(f"the test samples of {test_id} repeat training samples of {train_id} exactly (a "
                             "replay looping one clip, or a copied file?): test scores on them measure memory, "
                             "not new data")
                break
    return found


def build_dataset(sessions: list, config: DatasetConfig | None = None) -> Dataset:
    """Split, window and normalize labeled sessions (see module docstring): Sessions, paths of session files
    (as `synth_dataset` returns them), or a folder of them."""
    import os

    from tinyad.session import read_session

    if isinstance(sessions, (str, os.PathLike)):  # a folder of session files
        folder = Path(sessions)
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder of session files", hint="give a folder, or a list of sessions")
        sessions = sorted(folder.glob("*.parquet"))
        if not sessions:
            raise InputError(f"{folder}: no session files (*.parquet)", hint="record, synth or import sessions first")
    sessions = [read_session(s) if isinstance(s, (str, os.PathLike)) else s for s in sessions]
    config = config or DatasetConfig()
    check_compatible(sessions)
    reason = curation_reason(sessions, config)
    if reason:
        raise InputError(f"data set skipped by the curation rules: {reason}",
                         hint="lower --min-samples / --min-anomaly-fraction to keep it")
    class_names = label_names(sessions, config.task)
    require_two_classes(sessions, class_names, config.task)
    segments = split_segments(sessions, config)
    sets = {split: _windows_of(sessions, segments, split, config, class_names)
            for split in ("train", "val", "test")}
    if len(sets["train"]) == 0 or len(sets["test"]) == 0:
        raise InputError(
            f"not enough data for window={config.window}: {len(sets['train'])} train and "
            f"{len(sets['test'])} test windows", hint="record longer sessions or use a shorter window")
    full_scale = dict(sessions[0].meta.full_scale or {})
    channels = list(sessions[0].meta.channels)
    # Windows as the board can deliver them: it clips at the full scale, so one absurd value (1e30) must neither
    # inflate a channel's std until every window normalizes to zero nor reach the model. Within the full scale
    # the arrays stay the same objects, bit for bit.
    # Sessions that record no range are clipped at the firmware's default one, as quantize and the board assume.
    limits = {**DEFAULT_FULL_SCALE, **full_scale}
    for window_set in sets.values():
        window_set.x = clip_to_full_scale(window_set.x, channels, limits)
    normalizer = Normalizer.fit(sets["train"].x)
    return Dataset(sets["train"], sets["val"], sets["test"], class_names, channels,
                   float(sessions[0].meta.sample_rate_hz), normalizer, segments, config,
                   [s.meta.session_id for s in sessions], full_scale, recorded_dlpf_hz(sessions))
