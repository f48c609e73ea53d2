"""The software-in-the-loop (SIL) device: the firmware's own request handler (tinyad._core.Device, the C++ that
runs on the ESP32: framing, dispatcher, config, sample ring, preprocessing, scoring, EWMA, alert state machine)
on a pseudo-terminal, fed by a replay clock, with the model invoked by the TFLM interpreter of the
`tflite-micro` wheel. Python only does the pty plumbing, the clock and the invoke.

    with SilDevice(model_path, source=synth_source(...), speed=10).running() as sil:
        DeviceClient(sil.port).info()
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from pathlib import Path

import numpy as np

from tinyad.errors import InputError
from tinyad.sil.pty import PtyPort
from tinyad.sil.sources import ReplayClock, SampleSource, synth_source

FLAG_STREAMING, FLAG_BLE, FLAG_SIL = 1, 2, 4
# At "as fast as possible" speed the stream is paced by the reader: stop producing samples while this many
# bytes wait in the pty queue (a board cannot do this; it drops, and so does the SIL at a finite speed).
BACKPRESSURE_BYTES = 32 * 1024
# Samples produced per loop turn at most (keeps request latency low while streaming fast).
MAX_SAMPLES_PER_TURN = 256
SIL_MAC = bytes.fromhex("02000000AD01")  # as printed: tinyad.ble.sources.SIL_ADDRESS, 02:00:00:00:AD:01
DEFAULT_THRESHOLDS = {"threshold_on": 1.0, "threshold_off": 0.5, "min_windows": 3, "cooldown_windows": 10,
                      "ewma_alpha": 0.5}


class SilDevice:
    """A board in software. `serve_forever()` in the foreground (Ctrl-C stops it) or `running()` in a thread.

    settings: the ModelSettings (default: model_settings.json beside the model; its hash must match the file).
    source: raw counts to replay in a loop (default: 60 s of the synthetic normal motor).
    speed: 1 = real time, 10 = ten times faster, 0 = as fast as the host reads (only while it streams).
    sample_rate_hz: the simulated sensor rate (default: the model's).
    alert: overrides of the alert defaults (threshold_on/off, min_windows, cooldown_windows, ewma_alpha; the
        firmware's Kconfig defaults otherwise).
    stream_when_idle: keep sampling and scoring while nobody streams (default: yes unless speed is 0).
    corrupt_invokes: ordinal numbers (0-based) of model invokes whose output is deliberately corrupted (one bit
        of the first logit flipped) - the parity check must catch and name them.
    """

    def __init__(self, model_path: str | Path, settings=None, source: SampleSource | None = None,
                 speed: float = 1.0, sample_rate_hz: float | None = None, board: str = "tinyad-sil",
                 corrupt_invokes=(), alert: dict | None = None, stream_when_idle: bool | None = None):
        from tinyad import _core
        from tinyad.device.reference import load_settings_for
        from tinyad.preprocess import preprocess_constants
        from tinyad.model_settings import sha256_file
        from tinyad.tflm import TflmModel

        self.model_path = Path(model_path)
        if not self.model_path.exists():
            raise InputError(f"{model_path}: no such model file",
                             hint="export one with `tinyad export`, or pass --model")
        self.settings = settings or load_settings_for(self.model_path)
        self.model_sha256 = sha256_file(self.model_path)
        if self.settings.tflite_sha256 and self.settings.tflite_sha256 != self.model_sha256:
            raise InputError(
                f"{self.model_path}: sha256 {self.model_sha256[:16]}... differs from the one in its model settings "
                f"({self.settings.tflite_sha256[:16]}...)", hint="the settings belong to another export; re-export")
        self.tflm = TflmModel.from_file(self.model_path)
        self.sample_rate_hz = float(sample_rate_hz or self.settings.sample_rate_hz)
        self.speed = float(speed)
        self.source = source or synth_source("normal", self.settings.channels, self.settings.units_per_count,
                                             self.sample_rate_hz, seconds=60.0)
        if self.source.counts.shape[1] != self.settings.n_channels:
            raise InputError(f"{self.source.description}: {self.source.counts.shape[1]} channels, the model "
                             f"needs {self.settings.n_channels}")
        self.corrupt_invokes = set(corrupt_invokes)
        self.invokes = 0
        self.samples_produced = 0
        self.replay_lag_samples = 0  # samples the replay clock is behind (the SIL could not keep up)
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._final_counters: dict = {}
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self._adv = b""
        self._bthome = getattr(_core, "bthome", None)
        # The board's beacon: packet id, encryption counter (one per advertisement) and the bind key set over
        # serial (BIND_KEY_SET), with the address receivers use in the nonce (tinyad.ble.sources.SIL_ADDRESS).
        self._beacon = self._bthome.Beacon(mac=SIL_MAC, name="tinyad-sil") if self._bthome is not None else None
        self._sample_msg_types = (0x05, 0x06)  # SAMPLES, SCORE: droppable like the board's TX ring
        # Without pacing (speed <= 0) a device that nobody streams from would only burn CPU: idle instead.
        self.stream_when_idle = (self.speed > 0) if stream_when_idle is None else stream_when_idle

        a, b, zero_point = preprocess_constants(self.settings)
        alert_config = {**DEFAULT_THRESHOLDS, **{k: getattr(self.settings, k) for k in DEFAULT_THRESHOLDS
                                                  if hasattr(self.settings, k)}, **(alert or {})}
        full_scale = self.settings.full_scale
        self.pty = PtyPort()
        try:
            self.core = _core.Device(
                self._write, self._invoke,
                window=self.settings.window, hop=self.settings.hop, channels=self.settings.n_channels,
                n_classes=self.settings.n_classes, affine_scale=[float(v) for v in a],
                affine_offset=[float(v) for v in b], input_zero_point=int(zero_point),
                input_scale=float(self.settings.input_scale), output_scale=float(self.settings.output_scale),
                output_zero_point=int(self.settings.output_zero_point),
                threshold_on=float(alert_config["threshold_on"]), threshold_off=float(alert_config["threshold_off"]),
                min_windows=int(alert_config["min_windows"]), cooldown_windows=int(alert_config["cooldown_windows"]),
                ewma_alpha=float(alert_config["ewma_alpha"]), board=board, sensor="MPU6050 (SIL)",
                accel_full_scale_g=float(full_scale.get("accel_g", 0.0)),
                gyro_full_scale_dps=float(full_scale.get("gyro_dps", 0.0)), sample_rate_hz=self.sample_rate_hz,
                dlpf_bandwidth_hz=float(self.source.dlpf_hz or self.settings.dlpf_hz),
                model_sha256=bytes.fromhex(self.model_sha256), arena_bytes=int(self.settings.arena_bytes),
                flags=FLAG_SIL | (FLAG_BLE if self._bthome is not None else 0), now_us=self._now_us,
                advertisement=self._advertisement if self._bthome is not None else None,
                window_scored=self._window_scored if self._bthome is not None else None,
                set_bind_key=self._set_bind_key if self._bthome is not None else None)
        except (ValueError, TypeError) as err:
            self.pty.close()
            from tinyad.export import core_limit_hint, core_limit_problems

            problems = core_limit_problems(self.settings.window, self.settings.n_channels, self.settings.n_classes)
            raise InputError(f"the firmware core rejects this model for the SIL: {'; '.join(problems) or err}",
                             hint=core_limit_hint(problems) if problems else
                             "check the model settings and the alert thresholds (THRESHOLD_OFF <= THRESHOLD_ON)"
                             ) from err

    @property
    def port(self) -> str:
        return self.pty.path

    # -- hooks called by the C++ core -------------------------------------------------------------------
    def _write(self, frame: bytes) -> None:
        # A wire frame starts with a COBS code byte >= 3 (version and type are never 0), so byte 2 is the type.
        droppable = len(frame) > 2 and frame[2] in self._sample_msg_types
        self.pty.write(frame, droppable=droppable)

    def _invoke(self, input_bytes: bytes):
        start = time.perf_counter_ns()
        output = self.tflm.invoke(np.frombuffer(input_bytes, dtype=np.int8))
        invoke_us = (time.perf_counter_ns() - start) // 1000
        if self.invokes in self.corrupt_invokes:
            output = output.copy()
            output[0] ^= 0x01
        self.invokes += 1
        return output.tobytes(), int(invoke_us)

    def _now_us(self) -> int:
        return int((time.monotonic() - self._t0) * 1e6)

    def _advertisement(self) -> bytes:
        return self._adv

    def _window_scored(self, state: int, smoothed: float, alerts_raised: int) -> None:
        self._adv = self._beacon.publish(alert=(state == 2), running=True, score=float(smoothed))

    def _set_bind_key(self, key: bytes) -> bytes:
        # Like the board: the key stays in the beacon (RAM only here, NVS there); only its check value goes back.
        self._beacon.set_bind_key(key or None)
        return self._bthome.bind_key_check_value(key).to_bytes(4, "big") if key else b""

    # -- serving ----------------------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Answer the protocol and replay samples until stop() (or Ctrl-C in the foreground)."""
        clock = ReplayClock(self.sample_rate_hz, self.speed)
        unpaced = math.isinf(clock.rate)
        period_us = 1e6 / self.sample_rate_hz
        try:
            while not self._stop.is_set():
                producing = self.core.streaming or self.stream_when_idle
                if unpaced:
                    wait = 0.0 if producing and self.pty.pending_bytes < BACKPRESSURE_BYTES else 0.01
                else:
                    wait = min(0.01, clock.seconds_until_next()) if producing else 0.01
                data = self.pty.read(wait)
                if data:
                    self.core.on_rx(data)
                producing = self.core.streaming or self.stream_when_idle
                if not producing:
                    clock.restart()  # the replay resumes where it was, without a burst of overdue samples
                    self.pty.flush()
                    continue
                if unpaced and self.pty.pending_bytes >= BACKPRESSURE_BYTES:
                    self.pty.flush()
                    continue
                due = clock.due(MAX_SAMPLES_PER_TURN)
                if due:
                    block = self.source.take(self.samples_produced, due).tolist()
                    for i, sample in enumerate(block):
                        self.core.on_sample(sample, int((self.samples_produced + i) * period_us))
                    self.samples_produced += due
                    clock.released += due
                self.replay_lag_samples = clock.lag()
                self.pty.flush()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Close the pty and release the core. The core holds our hooks (bound methods) and we hold the core:
        the cycle is broken here, or nanobind reports the Device as leaked at exit."""
        self.pty.close()
        core = getattr(self, "core", None)
        if core is not None:
            self._final_counters = dict(core.counters)
            self.core = None

    def stop(self) -> None:
        """Stop serving and close the pty (a connected client sees the port vanish)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @contextlib.contextmanager
    def stop_on_signals(self, signals=(signal.SIGINT, signal.SIGTERM)):
        """Within the block, Ctrl-C and `kill` only ask serve_forever() to stop; it finishes the current turn.

        A KeyboardInterrupt raised by a signal handler lands wherever Python happens to be, often inside the
        invoke hook the C++ core calls, and the core counts that as an inference failure. A no-op outside the
        main thread (signal handlers can only be installed there)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            self._stop.set()

        previous = {signum: signal.signal(signum, handler) for signum in signals}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def start(self) -> "SilDevice":
        """Serve in a background thread; returns self (the port is `self.port`)."""

        def target():
            try:
                self.serve_forever()
            except BaseException as err:  # kept for the caller: a hook or the core failed
                self.error = err

        self._thread = threading.Thread(target=target, name=f"tinyad-sil {self.port}", daemon=True)
        self._thread.start()
        return self

    @contextlib.contextmanager
    def running(self):
        """Context manager: serve in a thread, yield self, stop and close the pty on exit."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
        if self.error is not None:
            raise self.error

    def stats(self) -> dict:
        """Counters of the core plus the SIL's own (samples produced, invokes, bytes dropped at the pty)."""
        counters = dict(self.core.counters) if self.core is not None else dict(self._final_counters)
        counters.update(samples_produced=self.samples_produced, invokes=self.invokes,
                        pty_dropped_bytes=self.pty.dropped_bytes, replay_lag_samples=self.replay_lag_samples)
        return counters


@contextlib.contextmanager
def running_sil(model_path: str | Path | None = None, **kwargs):
    """Run a SIL device in a background thread and yield its port (e.g. "/dev/pts/5"); stops it on exit.

    model_path defaults to models/default/model.tflite; kwargs go to SilDevice (source, speed, ...)."""
    if model_path is None:
        from tinyad.paths import default_model_dir

        model_path = default_model_dir() / "model.tflite"
    with SilDevice(model_path, **kwargs).running() as device:
        yield device.port
