import numpy as np
import pytest

from tinyad.datasets import (DatasetConfig, Normalizer, build_dataset, make_windows, split_segments,
                             window_starts)
from tinyad.errors import InputError
from tinyad.session import Session, SessionMeta


def make_session(label, n, sid, channels=("ax", "ay"), rate=100.0, value=None):
    t = np.arange(n) / rate
    data = np.zeros((n, len(channels)), np.float32)
    data[:, 0] = np.arange(n) if value is None else value  # sample index: tells where a window came from
    data[:, 1] = {"normal": 0.0}.get(label, 1.0)
    # a huge recorded range: training clips windows at the full scale, and these values are sample numbers
    return Session(t, data, SessionMeta(rate, label, list(channels), session_id=sid, full_scale={"accel_g": 1e9}))


def test_window_starts_hand_computed():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(3, 4, 1).tolist() == []
    with pytest.raises(InputError):
        window_starts(10, 0, 1)


def test_make_windows_copies_the_right_samples():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    w = make_windows(data, 3, 2)
    assert w.shape == (2, 3, 2)
    assert w[1, :, 0].tolist() == [4.0, 6.0, 8.0]


def test_split_by_session_and_by_time_block_with_gap():
    sessions = [make_session("normal", 1000, "n1"), make_session("normal", 1000, "n2"),
                make_session("imbalance", 1000, "i1")]
    cfg = DatasetConfig(window=50, hop=25, test_fraction=0.3, val_fraction=0.2)
    segs = split_segments(sessions, cfg)
    by = {(s.session, s.split): (s.start, s.stop) for s in segs}
    assert by[(1, "test")] == (0, 1000)          # normal: the later session is the test run
    assert (0, "test") not in by
    # imbalance has one run: first part train, last 30 % test, gap of one window between them
    assert by[(2, "test")] == (700, 1000)
    train_start, train_stop = by[(2, "train")]
    val_start, val_stop = by[(2, "val")]
    assert train_start == 0 and val_start - train_stop == 50 and 700 - val_stop == 50


def test_no_window_crosses_a_split_boundary():
    sessions = [make_session("normal", 900, "n1"), make_session("imbalance", 777, "i1"),
                make_session("misalignment", 1234, "m1"), make_session("misalignment", 500, "m2")]
    ds = build_dataset(sessions, DatasetConfig(window=64, hop=16))
    segs = ds.segments
    for split in ("train", "val", "test"):
        ws = getattr(ds, split)
        for sess, start, first_value in zip(ws.session, ws.start, ws.x[:, 0, 0]):
            assert first_value == start  # the window really holds samples start..start+63
            inside = [s for s in segs if s.session == sess and s.split == split
                      and s.start <= start and start + 64 <= s.stop]
            assert inside, (split, sess, start)
    # segments of one session never overlap, and time blocks are a window apart
    for sess in range(len(sessions)):
        spans = sorted((s.start, s.stop) for s in segs if s.session == sess)
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            assert b0 - a1 >= 64


def test_normalizer_is_fitted_on_training_windows_only():
    sessions = [make_session("normal", 600, "n1", value=1.0), make_session("normal", 600, "n2", value=100.0),
                make_session("imbalance", 600, "i1", value=1.0)]
    ds = build_dataset(sessions, DatasetConfig(window=20, hop=20))
    assert ds.normalizer.mean[0] == pytest.approx(1.0)  # the test run (value 100) did not leak in
    n = Normalizer(np.array([1.0, 2.0], np.float32), np.array([2.0, 4.0], np.float32))
    assert n.apply(np.array([[3.0, 2.0]])).tolist() == [[1.0, 0.0]]


def test_binary_labels_and_class_weights():
    sessions = [make_session("normal", 3000, "n1"), make_session("normal", 3000, "n2"),
                make_session("imbalance", 600, "i1"), make_session("bearing_fault", 600, "b1")]
    ds = build_dataset(sessions, DatasetConfig(window=50, hop=50, task="binary"))
    assert ds.class_names == ["normal", "anomaly"]
    assert set(np.unique(ds.train.y)) == {0, 1}
    counts = np.bincount(ds.train.y)
    w = ds.class_weights()
    assert w[0] * counts[0] == pytest.approx(w[1] * counts[1])  # each class carries the same total weight


def test_sessions_recorded_with_different_low_pass_filters_are_refused():
    from tinyad.datasets import recorded_dlpf_hz

    def filtered(label, sid, dlpf_hz):
        session = make_session(label, 500, sid)
        session.meta.dlpf_hz = dlpf_hz
        return session

    # unknown (0) beside a known one takes the known one; none known gives 0
    assert recorded_dlpf_hz([filtered("normal", "n1", 0.0), filtered("imbalance", "i1", 44.0)]) == 44.0
    assert recorded_dlpf_hz([filtered("normal", "n1", 0.0), filtered("imbalance", "i1", 0.0)]) == 0.0
    dataset = build_dataset([filtered("normal", "n1", 44.0), filtered("imbalance", "i1", 44.0)],
                            DatasetConfig(window=50, hop=50))
    assert dataset.dlpf_hz == 44.0
    with pytest.raises(InputError,
                       match=r"session i1: sensor low-pass \(DLPF\) 94 Hz differs from session n1: 44 Hz") as err:
        build_dataset([filtered("normal", "n1", 44.0), filtered("imbalance", "i1", 94.0)],
                      DatasetConfig(window=50, hop=50))
    assert "CONFIG_TINYAD_DLPF_CFG" in err.value.hint


def test_curation_rules_and_incompatible_sessions():
    small = [make_session("normal", 500, "n1"), make_session("imbalance", 500, "i1")]
    with pytest.raises(InputError, match="curation"):
        build_dataset(small, DatasetConfig(window=50, hop=50, min_samples=2000))
    with pytest.raises(InputError, match="anomalous"):
        build_dataset([make_session("normal", 5000, "n1"), make_session("imbalance", 100, "i1")],
                      DatasetConfig(window=50, hop=50, min_anomaly_fraction=0.05))
    mixed = [make_session("normal", 500, "n1"), make_session("imbalance", 500, "i1", channels=("ax", "gz"))]
    with pytest.raises(InputError, match="channels"):
        build_dataset(mixed, DatasetConfig(window=50, hop=50))


def test_long_sessions_are_down_sampled_evenly():
    sessions = [make_session("normal", 10000, "n1"), make_session("imbalance", 10000, "i1")]
    ds = build_dataset(sessions, DatasetConfig(window=10, hop=10, max_windows_per_session=5))
    assert np.bincount(ds.test.session).max() == 5


def test_windows_that_contain_a_sampling_gap_are_left_out():
    from tinyad.datasets import spans_gap

    s = make_session("normal", 20, "n1")
    s.t[10:] += 0.5  # 500 ms of lost samples between samples 9 and 10
    starts = np.array([0, 2, 5, 6, 10, 12])
    # a window of 5 samples [s, s+5) spans the gap iff s <= 9 < s + 4, i.e. s in 6..9
    assert spans_gap(s, starts, 5).tolist() == [False, False, False, True, False, False]
    # A second normal session with a gap is the test run as a whole (rows 0..40): the windows starting at 16..19
    # would span its gap (samples 19 -> 20) and must be missing, every other start is there.
    gappy = make_session("normal", 40, "n2")
    gappy.t[20:] += 0.5
    sessions = [make_session("normal", 40, "n1"), gappy, make_session("imbalance", 40, "i1")]
    ds = build_dataset(sessions, DatasetConfig(window=5, hop=1, test_fraction=0.3, val_fraction=0.2))
    assert [(g.start, g.stop, g.split) for g in ds.segments if g.session == 1] == [(0, 40, "test")]
    assert sorted(ds.test.start[ds.test.session == 1].tolist()) == [*range(0, 16), *range(20, 36)]
    assert ds.test.x[ds.test.session == 1, 0, 0].tolist() == ds.test.start[ds.test.session == 1].tolist()


def test_a_single_class_is_refused_naming_the_classes_found():
    only_normal = [make_session("normal", 500, "n1"), make_session("normal", 500, "n2")]
    for task in ("binary", "multiclass"):
        with pytest.raises(InputError, match=r"need at least 2 classes to train a \w+ model; found only "
                                             r"\['normal'\] \(session labels \['normal'\]\)") as err:
            build_dataset(only_normal, DatasetConfig(window=50, hop=50, task=task))
        assert "detect fit" in err.value.hint
    # Two fault labels are two classes in multiclass (and then need "normal", as before).
    with pytest.raises(InputError, match="no session is labeled 'normal'"):
        build_dataset([make_session("imbalance", 500, "i1")], DatasetConfig(window=50, hop=50))


def test_sessions_read_from_files_are_named_by_their_file(tmp_path):
    from tinyad.session import read_session, write_session

    a = write_session(tmp_path / "normal-a.parquet", make_session("normal", 500, "id1"))
    b = write_session(tmp_path / "imbalance-b.parquet", make_session("imbalance", 500, "id2", rate=200.0))
    with pytest.raises(InputError) as err:
        build_dataset([read_session(a), read_session(b)], DatasetConfig(window=50, hop=50))
    assert str(err.value) == f"{b}: 200 Hz differs from {a}: 100 Hz"


def test_rates_in_messages_are_rounded_not_float_noise():
    a = make_session("normal", 500, "good", rate=100.00000000000213)
    b = make_session("imbalance", 500, "r200", rate=200.00000000000426)
    with pytest.raises(InputError) as err:
        build_dataset([a, b], DatasetConfig(window=50, hop=50))
    assert str(err.value) == "session r200: 200 Hz differs from session good: 100 Hz"


def _noisy(label, sid, data):
    return Session(np.arange(len(data)) / 100.0, data.astype(np.float32), SessionMeta(100.0, label, ["ax", "ay"],
                                                                                      session_id=sid))


def test_test_data_that_repeat_training_samples_are_named():
    from tinyad.datasets import repeated_test_data

    rng = np.random.default_rng(0)
    clip = rng.standard_normal((600, 2))
    # two recordings of one looped 600-sample clip (the second starts 37 samples later), and a fresh one
    sessions = [_noisy("normal", "n1", clip), _noisy("normal", "n2", np.roll(clip, -37, axis=0)),
                _noisy("imbalance", "i1", rng.standard_normal((600, 2)))]
    cfg = DatasetConfig(window=50, hop=25)
    segments = split_segments(sessions, cfg)
    found = repeated_test_data(sessions, segments, 50)
    assert len(found) == 1
    assert found[0].startswith("the test samples of session n2 repeat training samples of session n1")
    # i1 is split by time: its test block is new data, not a repeat of its training block
    assert not any("of session i1" in line for line in found)


def test_repeats_need_whole_rows_in_order_and_skip_stuck_sensors():
    from tinyad.datasets import _contains_rows, repeated_test_data

    rows = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert _contains_rows(rows.tobytes(), rows[2:4].tobytes(), 8)
    assert not _contains_rows(rows.tobytes(), rows[[3, 2]].tobytes(), 8)  # same rows, other order
    assert not _contains_rows(rows.tobytes(), rows.tobytes()[4:12], 8)   # bytes across a row boundary
    stuck = np.ones((600, 2))  # a saturated sensor repeats its values in every recording
    sessions = [_noisy("normal", "n1", stuck), _noisy("normal", "n2", stuck),
                _noisy("imbalance", "i1", np.random.default_rng(1).standard_normal((600, 2)))]
    assert repeated_test_data(sessions, split_segments(sessions, DatasetConfig(window=50, hop=25)), 50) == []


@pytest.mark.parametrize("label", ["unknown", "", "  "])
def test_sessions_without_a_label_are_refused_naming_them(label):
    sessions = [make_session("normal", 500, "n1"), make_session(label, 500, "imported_a"),
                make_session("imbalance", 500, "i1"), make_session(label, 500, "imported_b")]
    for task in ("binary", "multiclass"):  # binary would train the healthy "unknown" data as anomalies
        with pytest.raises(InputError, match=r"(?m)2 session\(s\) have no label \(\"unknown\" or empty\): "
                                             r"session imported_a, session imported_b$") as err:
            build_dataset(sessions, DatasetConfig(window=50, hop=50, task=task))
        assert "--label" in err.value.hint and "re-import" in err.value.hint


def _scaled_sessions(full_scale, spike=None):
    """Two normal and one imbalance session of noise within +-1 g; `spike` replaces one training sample of ax."""
    rng = np.random.default_rng(3)
    out = []
    for label, sid in (("normal", "n1"), ("normal", "n2"), ("imbalance", "i1")):
        data = rng.uniform(-1, 1, (600, 2)).astype(np.float32)
        out.append(Session(np.arange(600) / 100.0, data, SessionMeta(100.0, label, ["ax", "gz"], session_id=sid,
                                                                     full_scale=dict(full_scale))))
    if spike is not None:
        out[0].data[100, 0] = spike  # n1 is a training session
    return out


def test_windows_and_normalizer_are_clipped_to_the_full_scale():
    cfg = DatasetConfig(window=50, hop=25)
    spiked = build_dataset(_scaled_sessions({"accel_g": 2.0, "gyro_dps": 250.0}, spike=1e30), cfg)
    assert spiked.train.x.max() == np.float32(2.0)  # the windows hold what the board delivers: +2 g
    # fitted as if the board had delivered +2 g (its full scale) for that sample
    clipped = [s for s in _scaled_sessions({"accel_g": 2.0, "gyro_dps": 250.0}, spike=2.0)]
    expected = build_dataset(clipped, cfg).normalizer
    assert np.array_equal(spiked.normalizer.mean, expected.mean)
    assert np.array_equal(spiked.normalizer.std, expected.std)
    assert 0.5 < spiked.normalizer.std[0] < 0.7  # not 1e28: the channel still varies after normalization
    # Within the full scale: bit-identical to a fit on the windows themselves.
    plain = build_dataset(_scaled_sessions({"accel_g": 2.0, "gyro_dps": 250.0}), cfg)
    reference = Normalizer.fit(plain.train.x)
    assert np.array_equal(plain.normalizer.mean, reference.mean)
    assert np.array_equal(plain.normalizer.std, reference.std)
    # No full scale recorded (a CSV import): clipped at the firmware's default +-4 g, as quantize assumes
    unscaled = build_dataset(_scaled_sessions({}, spike=1e30), cfg)
    assert unscaled.train.x.max() == np.float32(4.0) and unscaled.normalizer.std[0] < 1.0


def test_a_class_without_test_or_validation_windows_is_warned_about():
    from types import SimpleNamespace

    from tinyad.datasets import classes_without_windows

    class Windows(SimpleNamespace):  # a split's labels, as WindowSet holds them
        def __len__(self):
            return len(self.y)

    def data(test, val):
        return SimpleNamespace(class_names=["normal", "imbalance", "misalignment"], test=Windows(y=test),
                               val=Windows(y=val))

    # windows of classes 1 and 2 only in the test split, of every class in validation
    found = classes_without_windows(data(np.array([1, 1, 2]), np.array([0, 1, 2])))
    assert found == ["class(es) 'normal' have no test windows: the test metrics (macro-F1 over the classes present) "
                     "say nothing of them; record more or longer sessions of each class"]
    both = classes_without_windows(data(np.array([2, 2]), np.array([1])))
    assert [line.split(":")[0] for line in both] == ["class(es) 'normal', 'imbalance' have no test windows",
                                                      "class(es) 'normal', 'misalignment' have no validation windows"]
    assert classes_without_windows(data(np.array([0, 1, 2]), np.array([2, 1, 0]))) == []
    assert classes_without_windows(data(np.array([0, 1, 2]), np.array([], int))) == []  # no validation split at all
