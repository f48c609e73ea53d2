"""`tinyad evaluate`: what an exported model would do on new recordings, computed the board's way.

Each session is cut into windows at the model's hop, converted to raw counts at the model's full scale, turned
into the int8 input by the core's preprocessing (tinyad.device.reference, bit-exact with the board), run under
TFLM, scored (the logit margin, or the probability as with the board's SCORE_KIND 1), smoothed (EWMA) and fed to
the alert state machine with the model's alert settings (or the ones given). Per session: the predicted classes,
the alert onsets and when the first alert came. Over all sessions: window-level confusion matrix and F1 for the
labels the model knows, and the alert view a reliability engineer asks for: false alert onsets per hour on normal
sessions, detected fault sessions and their delay.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from tinyad.alert import AlertConfig, AlertState, alert_trace
from tinyad.errors import InputError
from tinyad.paths import distinct_stems
from tinyad.scoring import SCORE_KIND_MARGIN, SCORE_KIND_PROBABILITY

NORMAL_LABEL = "normal"
SCORE_KINDS = {"margin": SCORE_KIND_MARGIN, "probability": SCORE_KIND_PROBABILITY}  # the board's SCORE_KIND
MAX_NAME_WIDTH = 40  # the report's session column; longer names keep their end


@dataclass
class SessionEvaluation:
    """One session replayed through the model: per window its end time, prediction, smoothed score, state."""

    session_id: str
    label: str
    windows: int
    gaps: int                        # gaps in the recording: the window grid restarts after each, as on the board
    predicted: dict[str, int]        # class name -> windows predicted as it
    alert_onsets: int                # OK/PENDING/COOLDOWN -> ALERT transitions
    alert_share: float               # share of windows in ALERT
    first_alert_s: float | None      # session time (s from its start) of the first window in ALERT
    hours: float                     # recorded time, gaps left out
    name: str = ""                   # what the user sees: `paths.distinct_stems` of its file, else the id
    file: str | None = None          # the session file, when read from one
    warnings: list[str] = field(default_factory=list)  # values the model's full scale clips, m/s^2 read as g
    end_s: np.ndarray = field(repr=False, default=None)
    smoothed: np.ndarray = field(repr=False, default=None)
    states: np.ndarray = field(repr=False, default=None)
    outputs: np.ndarray = field(repr=False, default=None)  # int8 logits per window

    @property
    def shown_name(self) -> str:
        return self.name or self.session_id

    @property
    def is_normal(self) -> bool:
        return self.label == NORMAL_LABEL

    @property
    def is_fault(self) -> bool:
        """A labelled fault session (not normal, and not "unknown" or unlabelled)."""
        from tinyad.datasets import UNLABELLED

        return not self.is_normal and (self.label or "").strip() not in UNLABELLED

    def to_dict(self) -> dict:
        fields = {k: v for k, v in asdict(self).items() if k not in ("end_s", "smoothed", "states", "outputs")}
        return {**fields, "name": self.shown_name}


@dataclass
class SkippedSession:
    """A session file left out: unreadable, or a recording the model cannot take (too short, missing channels,
    another sample rate). `error` names the file."""

    file: str
    error: InputError

    def to_dict(self) -> dict:
        return {"file": self.file, "reason": str(self.error), "hint": self.error.hint}


@dataclass
class Evaluation:
    """All sessions, the alert settings used, and the window-level metrics where the labels are model classes."""

    model: str
    class_names: list[str]
    alert: AlertConfig
    ewma_alpha: float
    sessions: list[SessionEvaluation]
    window_metrics: dict | None = None  # tinyad.metrics.classification_report over windows with known labels
    score_kind: str = "margin"          # what the alert sees: "margin" (SCORE_KIND 0) or "probability" (1)
    skipped: list[SkippedSession] = field(default_factory=list)

    def alert_summary(self) -> dict:
        """False alert onsets per hour on normal sessions; fault sessions with at least one alert and the median
        delay of their first alert."""
        normal = [s for s in self.sessions if s.is_normal]
        faults = [s for s in self.sessions if s.is_fault]
        hours = sum(s.hours for s in normal)
        delays = [s.first_alert_s for s in faults if s.first_alert_s is not None]
        return {
            "normal_sessions": len(normal), "normal_hours": hours,
            "false_alert_onsets": sum(s.alert_onsets for s in normal),
            "false_alerts_per_hour": sum(s.alert_onsets for s in normal) / hours if hours else None,
            "fault_sessions": len(faults), "fault_sessions_alerted": len(delays),
            "median_first_alert_s": float(np.median(delays)) if delays else None,
        }

    def to_dict(self) -> dict:
        return {"model": self.model, "class_names": self.class_names, "alert": asdict(self.alert),
                "score_kind": self.score_kind, "ewma_alpha": self.ewma_alpha,
                "sessions": [s.to_dict() for s in self.sessions], "skipped": [s.to_dict() for s in self.skipped],
                "window_metrics": self.window_metrics, "alerts": self.alert_summary()}


def class_of(label: str, class_names: list[str]) -> int | None:
    """The model class a session label stands for: itself, or for a binary model (normal, anomaly) any fault
    label -> anomaly. None when the model has no such class (a fault it was never trained on)."""
    if label in class_names:
        return class_names.index(label)
    if list(class_names) == [NORMAL_LABEL, "anomaly"]:
        return 1
    return None


def alert_onsets(states) -> int:
    """How many times the state enters ALERT (a run of ALERT windows is one onset)."""
    in_alert = np.asarray([s == AlertState.ALERT for s in states], bool)
    return int(np.sum(in_alert[1:] & ~in_alert[:-1]) + (in_alert[0] if len(in_alert) else 0))


def first_alert_time(end_s: np.ndarray, states) -> float | None:
    """End time of the first window in ALERT, None without one."""
    hits = [i for i, s in enumerate(states) if s == AlertState.ALERT]
    return float(end_s[hits[0]]) if hits else None


def session_counts(session, settings, where: str | None = None) -> np.ndarray:
    """The session's samples as the sensor's raw counts in the model's channel order (saturating at the rails,
    as the board's int16 registers do). Refuses missing channels and another sample rate, naming the session
    `where` (its file; the session id without one)."""
    from tinyad.preprocess import physical_to_counts
    from tinyad.session import model_channels, rate_matches

    where = where or session.meta.session_id
    data = model_channels(session, settings.channels, where)
    rate, model_rate = float(session.meta.sample_rate_hz), float(settings.sample_rate_hz)
    if not rate_matches(rate, model_rate):
        raise InputError(f"{where}: sampled at {rate:g} Hz, the model at {model_rate:g} Hz",
                         hint="evaluate recordings made at the model's rate (the board samples at it)")
    return physical_to_counts(data, settings.units_per_count)


def input_warnings(session, settings, where: str) -> list[str]:
    """Why a session may score worse than the model is: values beyond the model's full scale (clipped in the
    replay, as on the board), an accelerometer that reads like m/s^2 (the same lines import, train and the SIL
    give), or a recording low-pass filtered otherwise than the model's training recordings (where both say)."""
    from tinyad.session import gravity_units_warnings, low_pass_differs, model_channels
    from tinyad.sil.sources import clip_warnings

    data = model_channels(session, settings.channels, where)
    warnings = (gravity_units_warnings(data, settings.channels, where)
                + clip_warnings(data, settings.channels, settings.units_per_count, where))
    recorded, trained = float(session.meta.dlpf_hz), float(settings.dlpf_hz)
    if low_pass_differs(recorded, trained):
        warnings.append(f"{where}: recorded with a sensor low-pass (DLPF) of {recorded:g} Hz, the model's training "
                        f"recordings with {trained:g} Hz: the board is built with the model's, so its scores on "
                        "this recording say little about the board's")
    return warnings


def evaluate_session(reference, session, alert: AlertConfig, ewma_alpha: float, score_kind: str = "margin",
                     file: str | os.PathLike | None = None, name: str | None = None) -> SessionEvaluation:
    """Replay one session through the model the board's way (see the module docstring); `score_kind` is what
    the alert sees, as the board's SCORE_KIND: "margin" (0) or "probability" (1). `file` (the session's file)
    names it in errors, `name` in the results (default: the file's stem, else the session id). InputError for a
    session the model cannot take: missing channels, another sample rate, no whole window."""
    from tinyad.datasets import window_starts
    from tinyad.scoring import ewma
    from tinyad.session import GAP_FACTOR

    settings = reference.settings
    where = str(file) if file is not None else session.meta.session_id
    counts = session_counts(session, settings, where)
    # After a gap the board starts its next window at the first sample after it (the core's FIFO-overflow path);
    # the smoothing and the alert state carry on across it.
    after_gap = np.flatnonzero(np.diff(session.t) > GAP_FACTOR / settings.sample_rate_hz) + 1
    bounds = np.concatenate([[0], after_gap, [len(counts)]]).astype(int)
    starts = np.concatenate([a + window_starts(b - a, settings.window, settings.hop)
                             for a, b in zip(bounds[:-1], bounds[1:])]).astype(int)
    seconds = sum(float(session.t[b - 1] - session.t[a]) + 1.0 / settings.sample_rate_hz
                  for a, b in zip(bounds[:-1], bounds[1:]))
    if not len(starts):
        raise InputError(f"{where}: {len(counts)} samples, no whole window of "
                         f"{settings.window} without a gap", hint="evaluate longer recordings")
    outputs = np.stack([reference.output_for(reference.input_for(counts[s:s + settings.window]))
                        for s in starts])
    scores = np.array([reference.score_for(o, SCORE_KINDS[score_kind]) for o in outputs], np.float32)
    smoothed = ewma(scores, ewma_alpha)
    end_s = session.t[starts + settings.window - 1] - session.t[0]
    predicted = np.argmax(outputs.astype(np.int16), axis=1)
    names = list(settings.class_names)
    return SessionEvaluation(
        session_id=session.meta.session_id, label=session.meta.label, windows=len(starts), gaps=len(after_gap),
        name=name or (Path(file).stem if file is not None else session.meta.session_id),
        file=str(file) if file is not None else None,
        predicted={names[k]: int(n) for k, n in zip(*np.unique(predicted, return_counts=True))},
        hours=seconds / 3600.0, end_s=end_s, smoothed=smoothed, outputs=outputs,
        warnings=input_warnings(session, settings, where), **alert_fields(smoothed, end_s, alert))


def alert_fields(smoothed: np.ndarray, end_s: np.ndarray, alert: AlertConfig) -> dict:
    """The SessionEvaluation fields the alert settings decide, from the smoothed scores: the state per window,
    alert onsets, share of windows in ALERT and the time of the first."""
    states = np.asarray(alert_trace(smoothed, alert), np.int8)
    return {"states": states, "alert_onsets": alert_onsets(states),
            "alert_share": float(np.mean(states == AlertState.ALERT)),
            "first_alert_s": first_alert_time(end_s, states)}


def with_alert(evaluation: Evaluation, alert: AlertConfig) -> Evaluation:
    """`evaluation` with other alert settings: the same smoothed scores (the model does not run again) through
    the alert state machine with `alert`."""
    sessions = [replace(s, **alert_fields(s.smoothed, s.end_s, alert)) for s in evaluation.sessions]
    return replace(evaluation, alert=alert, sessions=sessions)


def threshold_sweep(evaluation: Evaluation, on_values) -> list[tuple[AlertConfig, dict]]:
    """For each THRESHOLD_ON of `on_values` (ascending; THRESHOLD_OFF the evaluation's, lowered to ON where it
    is above; MIN_WINDOWS and COOLDOWN_WINDOWS the evaluation's) the alert settings and their
    `Evaluation.alert_summary` over the same smoothed scores."""
    base = evaluation.alert
    rows = []
    for on in sorted({float(v) for v in on_values}):
        alert = AlertConfig(on, min(base.threshold_off, on), base.min_windows, base.cooldown_windows)
        rows.append((alert, with_alert(evaluation, alert).alert_summary()))
    return rows


def format_sweep(evaluation: Evaluation, rows: list[tuple[AlertConfig, dict]]) -> str:
    """The sweep as a table: per THRESHOLD_ON the alert onsets on normal sessions (and per hour), the fault
    sessions alerted and the median time of their first alert; then what the numbers may and may not say."""
    a = evaluation.alert
    lines = [f"THRESHOLD_ON sweep over the same smoothed scores (THRESHOLD_OFF {a.threshold_off:g}, or ON where "
             f"lower; MIN_WINDOWS {a.min_windows}, COOLDOWN_WINDOWS {a.cooldown_windows}):",
             f"{'THRESHOLD_ON':>12s}  {'THRESHOLD_OFF':>13s}  {'normal: alert onsets (per hour)':>31s}  "
             f"{'faults alerted':>14s}  median first alert"]
    for alert, summary in rows:
        rate = summary["false_alerts_per_hour"]
        normal = (f"{summary['false_alert_onsets']}" + (f" ({rate:.1f})" if rate is not None else "")
                  if summary["normal_sessions"] else "-")
        faults = (f"{summary['fault_sessions_alerted']} of {summary['fault_sessions']}"
                  if summary["fault_sessions"] else "-")
        delay = summary["median_first_alert_s"]
        lines.append(f"{alert.threshold_on:12g}  {alert.threshold_off:13g}  {normal:>31s}  {faults:>14s}  "
                     + (f"{delay:.1f} s" if delay is not None else "-"))
    lines.append("note: the sweep is judged on these labelled sessions, so a threshold picked from it has seen "
                 "them: confirm it on recordings it has not seen before setting it with `tinyad config`")
    return "\n".join(lines)


def evaluate_model(model_path: str | Path, sessions: list, threshold_on: float | None = None,
                   threshold_off: float | None = None, min_windows: int | None = None,
                   cooldown_windows: int | None = None, progress: bool = False,
                   score_kind: str = "margin", files: list | None = None, skip_unusable: bool = False) -> Evaluation:
    """Evaluate an exported model (.tflite with model_settings.json beside it) on labelled sessions; alert
    settings default to the model's (what the firmware uses unless menuconfig or CONFIG_SET changes them).
    With `score_kind` "probability" both thresholds must be given: the model's are logit margins.

    `files` (one per session) name the sessions: in errors the file, in the results `paths.distinct_stems`. A
    session the model cannot take (missing channels, another sample rate, too short) raises InputError, or with
    `skip_unusable` is left out and listed in `Evaluation.skipped` - even all of them (the caller decides)."""
    from tinyad.device.reference import HostReference
    from tinyad.metrics import classification_report

    check_thresholds_for(score_kind, threshold_on, threshold_off)
    if files is not None and len(files) != len(sessions):
        raise ValueError(f"{len(files)} files for {len(sessions)} sessions")
    reference = HostReference(model_path)
    settings = reference.settings
    alert = alert_config_for(settings, threshold_on, threshold_off, min_windows, cooldown_windows)
    files = list(files) if files is not None else [None] * len(sessions)
    names = distinct_stems(files) if all(f is not None for f in files) else [None] * len(sessions)
    results, skipped = [], []
    with contextlib.ExitStack() as stack:
        iterator = zip(sessions, files, names)
        if progress:
            from tqdm import tqdm

            # closed when the loop ends or raises, so an error is not printed on the bar's line
            iterator = stack.enter_context(tqdm(iterator, total=len(sessions), desc="sessions", unit="session",
                                                leave=False))
        for session, file, name in iterator:
            try:
                results.append(evaluate_session(reference, session, alert, settings.ewma_alpha, score_kind,
                                                file, name))
            except InputError as err:
                if not skip_unusable:
                    raise
                skipped.append(SkippedSession(str(file) if file is not None else session.meta.session_id, err))
    evaluation = Evaluation(str(model_path), list(settings.class_names), alert, settings.ewma_alpha, results,
                            score_kind=score_kind, skipped=skipped)
    known = [r for r in results if class_of(r.label, evaluation.class_names) is not None]
    if known:  # window-level metrics over the sessions whose label is a class of the model
        logits = np.concatenate([(r.outputs.astype(np.float32) - settings.output_zero_point) * settings.output_scale
                                 for r in known])
        y_true = np.concatenate([np.full(r.windows, class_of(r.label, evaluation.class_names)) for r in known])
        evaluation.window_metrics = classification_report(y_true, logits, evaluation.class_names)
    return evaluation


def alert_config_for(settings, threshold_on: float | None = None, threshold_off: float | None = None,
                     min_windows: int | None = None, cooldown_windows: int | None = None) -> AlertConfig:
    """The alert settings to evaluate with: the ones given, the model's (`settings`) for the rest; an off
    threshold left to the model never exceeds the on threshold given. Errors name the command's options."""
    for option, value in (("--threshold-on", threshold_on), ("--threshold-off", threshold_off)):
        if value is not None and not math.isfinite(value):
            raise InputError(f"{option} {value:g} is not a finite number", hint="give a number, e.g. 2.5")
    on = settings.threshold_on if threshold_on is None else threshold_on
    off = min(settings.threshold_off, on) if threshold_off is None else threshold_off
    if off > on:
        on_named = f"--threshold-on {on:g}" if threshold_on is not None else f"the model's THRESHOLD_ON {on:g}"
        raise InputError(f"--threshold-off {off:g} is above {on_named}",
                         hint="the off threshold must not exceed the on threshold (hysteresis): lower "
                              "--threshold-off or raise --threshold-on")
    return AlertConfig(on, off, settings.min_windows if min_windows is None else min_windows,
                       settings.cooldown_windows if cooldown_windows is None else cooldown_windows)


def parse_sweep(text: str, score_kind: str = "margin") -> list[float]:
    """The THRESHOLD_ON values of `--sweep`: comma-separated numbers, e.g. "0.5,1,2" -> [0.5, 1.0, 2.0];
    finite, and within [0, 1] for the probability."""
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"--sweep {text!r}: {item.strip()!r} is not a finite number",
                             hint="give THRESHOLD_ON values separated by commas, e.g. --sweep 0.5,1,1.5,2,3")
        if score_kind == "probability" and not 0.0 <= value <= 1.0:
            raise InputError(f"--sweep {text!r}: {value:g} is not a probability",
                             hint="with --score-kind probability give values in [0, 1], e.g. --sweep 0.5,0.7,0.9")
        values.append(value)
    return values


def check_thresholds_for(score_kind: str, threshold_on: float | None, threshold_off: float | None) -> None:
    """Refuse alert thresholds that cannot work with the score kind: the model's thresholds are logit margins,
    so the probability needs both given, each in [0, 1] (a probability threshold above 1 never fires)."""
    if score_kind not in SCORE_KINDS:
        raise InputError(f"unknown score kind {score_kind!r}", hint=f"use one of {', '.join(SCORE_KINDS)}")
    if score_kind != "probability":
        return
    if threshold_on is None or threshold_off is None:
        raise InputError("the probability needs --threshold-on and --threshold-off: the model's thresholds are "
                         "logit margins", hint="e.g. --threshold-on 0.9 --threshold-off 0.7 (the values you would "
                                              "CONFIG_SET on the board with SCORE_KIND 1)")
    for name, value in (("--threshold-on", threshold_on), ("--threshold-off", threshold_off)):
        if not 0.0 <= value <= 1.0:
            raise InputError(f"{name} {value:g} is not a probability", hint="give a value in [0, 1]")


def shorten(name: str, width: int) -> str:
    """`name` within `width` characters, keeping its end (where file names and paths differ)."""
    return name if len(name) <= width else "..." + name[len(name) - width + 3:]


def format_evaluation(evaluation: Evaluation) -> str:
    """The terminal report: one row per session, then the window metrics and the alert summary."""
    a = evaluation.alert
    width = max([len("session"), *(len(s.shown_name) for s in evaluation.sessions)])
    width = min(width, MAX_NAME_WIDTH)
    lines = [f"alert settings: SCORE_KIND {SCORE_KINDS[evaluation.score_kind]} ({evaluation.score_kind}), "
             f"THRESHOLD_ON {a.threshold_on:g}, THRESHOLD_OFF {a.threshold_off:g}, MIN_WINDOWS "
             f"{a.min_windows}, COOLDOWN_WINDOWS {a.cooldown_windows}, EWMA_ALPHA {evaluation.ewma_alpha:g}",
             f"{'session':{width}s} {'label':14s} {'windows':>7s}  {'predicted as label':>18s}  {'alerts':>6s}  "
             f"{'in alert':>8s}  first alert"]
    for s in evaluation.sessions:
        index = class_of(s.label, evaluation.class_names)
        share = None if index is None else s.predicted.get(evaluation.class_names[index], 0) / s.windows
        shown = f"{share:.0%}" if share is not None else "(not a class)"
        first = f"{s.first_alert_s:.1f} s" if s.first_alert_s is not None else "-"
        lines.append(f"{shorten(s.shown_name, width):{width}s} {s.label[:14]:14s} {s.windows:7d}  {shown:>18s}  "
                     f"{s.alert_onsets:6d}  {s.alert_share:8.0%}  {first}")
    m = evaluation.window_metrics
    if m is not None:
        faults = sum(sum(row) for row in m["confusion_matrix"][1:])  # windows whose true class is a fault
        binary = f"{m['binary_f1']:.3f}" if faults else "n/a (no fault windows)"
        total = sum(s.windows for s in evaluation.sessions)
        left_out = (f"; {total - m['n']} of {total} windows left out: their sessions' labels are not model classes"
                    if total > m["n"] else "")
        lines.append(f"windows: macro-F1 {m['macro_f1']:.3f}, binary F1 (normal vs fault) {binary}, "
                     f"accuracy {m['accuracy']:.3f}{left_out}")
    summary = evaluation.alert_summary()
    if summary["normal_sessions"]:
        rate = summary["false_alerts_per_hour"]
        per_hour = f" ({rate:.1f} per hour)" if rate is not None else ""
        lines.append(f"normal sessions: {summary['false_alert_onsets']} alert onset(s) in "
                     f"{summary['normal_hours'] * 60:.1f} min{per_hour}")
    if summary["fault_sessions"]:
        delay = summary["median_first_alert_s"]
        lines.append(f"fault sessions: {summary['fault_sessions_alerted']} of {summary['fault_sessions']} alerted"
                     + (f", first alert after {delay:.1f} s (median, from the session's start)" if delay is not None
                        else ""))
    gaps = sum(s.gaps for s in evaluation.sessions)
    if gaps:
        lines.append(f"note: {gaps} gap(s) in the recordings: the windows restart after each, as on the board, and "
                     "the time in gaps does not count in the hours")
    unlabelled = [s.shown_name for s in evaluation.sessions if not s.is_normal and not s.is_fault]
    if unlabelled:
        lines.append(f"note: {len(unlabelled)} session(s) without a label count neither as normal nor as fault")
    return "\n".join(lines)


def plot_evaluation(evaluation: Evaluation, path, max_sessions: int = 12) -> Path:
    """PNG: per session the smoothed score over time, the on/off thresholds, windows in ALERT shaded."""
    from tinyad.plots import new_figure

    shown = evaluation.sessions[:max_sessions]
    fig, axes = new_figure(len(shown), 1, figsize=(11, 1.7 * len(shown) + 0.8), squeeze=False)
    a = evaluation.alert
    for axis, s in zip(axes[:, 0], shown):
        axis.plot(s.end_s, s.smoothed, lw=0.8, color="k")
        axis.axhline(a.threshold_on, color="tab:red", ls="--", lw=0.8, label=f"on {a.threshold_on:g}")
        axis.axhline(a.threshold_off, color="tab:orange", ls=":", lw=0.8, label=f"off {a.threshold_off:g}")
        alert = s.states == AlertState.ALERT
        if alert.any():
            axis.fill_between(s.end_s, 0, 1, where=alert, transform=axis.get_xaxis_transform(), color="tab:red",
                              alpha=0.15, lw=0, label="ALERT")
        axis.set_title(f"{s.shown_name} ({s.label}): {s.alert_onsets} alert onset(s)", fontsize=8, loc="left")
        axis.set_ylabel(f"smoothed {evaluation.score_kind}", fontsize=7)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.25)
    axes[0, 0].legend(loc="upper right", fontsize=7, frameon=False, ncol=3)
    axes[-1, 0].set_xlabel("session time, s (end of each window)")
    if len(evaluation.sessions) > max_sessions:
        fig.suptitle(f"first {max_sessions} of {len(evaluation.sessions)} sessions", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
