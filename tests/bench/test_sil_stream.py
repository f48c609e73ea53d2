"""sil_stream checks every streamed sample against the source it believes `tinyad sim` replays: the two must be
the same recording, or every sample 'differs' (the benchmark once compared against another seed)."""

import numpy as np

from tinyad.bench.sil_stream import SimProcess, _content_mismatches, reference_source
from tinyad.device.recorder import record
from tinyad.device.reference import load_settings_for
from tinyad.paths import default_model_dir
from tinyad.session import read_session


def test_the_reference_is_what_the_sim_process_streams(tmp_path):
    model = default_model_dir() / "model.tflite"
    settings = load_settings_for(model)
    source = reference_source(settings)
    sim = SimProcess(model, speed=0)
    try:
        rec = record(sim.port, "normal", 30, tmp_path / "x.parquet", max_samples=2000)
    finally:
        stats = sim.stop()
    session = read_session(rec.path)
    upc = np.asarray(settings.units_per_count, np.float64)
    assert session.n_samples >= 2000 and stats["pty_dropped_bytes"] == 0
    assert _content_mismatches(session, source, upc) == 0
    # and the check can fail: another recording of the same machine differs in (nearly) every sample
    from tinyad.sil.sources import synth_source

    other = synth_source("normal", settings.channels, settings.units_per_count, 1000.0, seconds=30.0)
    assert _content_mismatches(session, other, upc) > 1900
