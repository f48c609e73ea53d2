"""The recorder's journal: a recorder killed without warning loses no sample, and `tinyad recover` makes a session
of what it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.device.test_recorder import UPC, FakeClient, _samples, record_for_a_while
from tinyad.device.journal import (MAGIC, JournalHeader, RecordingJournal, journal_path, read_journal,
                                   sequence_gaps, unfinished_journals)
from tinyad.device.recorder import record, recover
from tinyad.errors import InputError
from tinyad.session import read_session


def _header(pid: int | None = None, channels=("ax", "ay", "az")) -> JournalHeader:
    header = JournalHeader(label="normal", sample_rate_hz=100.0, decimation=1, channels=list(channels),
                           units_per_count=[4.0 / 32768] * len(channels),
                           full_scale={"accel_g": 4.0, "gyro_dps": 500.0},
                           dlpf_hz=44.0, device_id="fake:abab", source="tinyad record fake", target="x.parquet")
    if pid is not None:
        header.pid = pid
    return header


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class DiesMidStream(FakeClient):
    """A recorder that stops dead after its frames: no `finally` of the recorder's can write the session (an
    exception the recorder does not handle stands in for kill -9)."""

    def stream(self, seconds=None, decimation=None, idle_timeout_s=2.0):
        yield from self.frames
        raise SystemExit("killed")


def test_the_journal_reads_back_what_was_appended_and_drops_a_cut_record(tmp_path):
    journal = RecordingJournal.create(tmp_path / "s.parquet", _header())
    assert journal.path == tmp_path / "s.parquet.partial"
    journal.append(np.array([100, 101]), np.array([[1, -2, 3], [4, -5, 6]], dtype=np.int16))
    journal.append(np.array([104]), np.array([[32767, -32768, 0]], dtype=np.int16))
    journal.close()
    with open(journal.path, "ab") as f:
        f.write(b"\x01\x02\x03")  # the crash cut the next record after 3 of its 14 bytes
    contents = read_journal(journal.path)
    np.testing.assert_array_equal(contents.sample_numbers, [100, 101, 104])
    np.testing.assert_array_equal(contents.raw, [[1, -2, 3], [4, -5, 6], [32767, -32768, 0]])
    assert contents.cut_bytes == 3 and contents.header.label == "normal" and contents.header.dlpf_hz == 44.0


def test_a_second_journal_under_the_same_name_gets_its_own_file(tmp_path):
    first = RecordingJournal.create(tmp_path / "s.parquet", _header())
    second = RecordingJournal.create(tmp_path / "s.parquet", _header())
    assert (first.path.name, second.path.name) == ("s.parquet.partial", "s-2.parquet.partial")
    first.close()
    second.close()


def test_sequence_gaps_are_found_again_from_the_sample_numbers():
    assert sequence_gaps(np.array([0, 1, 2, 5, 6]), 1) == [
        {"at_sample": 3, "expected_sample_seq": 3, "got_sample_seq": 5, "missing_samples": 2, "frames_missed": None}]
    # decimation 2: 4 -> 10 skips the samples numbered 6 and 8
    assert [g["missing_samples"] for g in sequence_gaps(np.array([0, 2, 4, 10, 12]), 2)] == [2]
    assert sequence_gaps(np.array([7, 8, 9]), 1) == []


@pytest.mark.parametrize("content, message", [
    (b"PAR1 not a journal", "not a tinyad recording journal"),
    (MAGIC + b'{"label": "normal"', "header is damaged"),  # cut inside the header line
    (MAGIC + b'{"label": "normal"}\n', "header is damaged"),  # fields missing
])
def test_a_file_that_is_no_journal_is_named_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "s.parquet.partial"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        recover(path)
    assert path.read_bytes() == content  # kept


def test_a_finished_recording_leaves_no_journal(tmp_path):
    result = record("fake", "normal", 60, tmp_path / "s.parquet",
                    client=FakeClient([_samples(1, 0), _samples(2, 8)], end=KeyboardInterrupt()))
    assert result.n_samples == 16 and sorted(os.listdir(tmp_path)) == ["s.parquet"]


def test_a_recorder_that_died_leaves_a_journal_recover_makes_the_same_session(tmp_path, monkeypatch):
    from tinyad.device import recorder

    real_header = recorder.journal_header

    def written_by_a_process_that_has_died(*args, **kwargs):
        header = real_header(*args, **kwargs)
        header.pid = _dead_pid()
        return header

    monkeypatch.setattr(recorder, "journal_header", written_by_a_process_that_has_died)
    frames = [_samples(1, 0), _samples(2, 8), _samples(4, 24)]  # samples 16..23 lost on the link
    with pytest.raises(SystemExit):
        record("fake", "imbalance", 60, tmp_path / "dead.parquet", client=DiesMidStream(frames))
    header_file = tmp_path / "dead.parquet.partial"
    assert sorted(os.listdir(tmp_path)) == [header_file.name]  # no session, but the samples
    assert unfinished_journals(tmp_path) == [header_file]

    recovered = recover(header_file)
    assert recovered.path == tmp_path / "dead.parquet" and not header_file.exists()
    assert (recovered.n_samples, recovered.lost_samples, recovered.cut_bytes) == (24, 8, 0)
    # The same session a recording stopped by Ctrl-C after these frames writes, but for what only the living
    # recorder knew (frames counted, bad frames) and the reason it stopped.
    record("fake", "imbalance", 60, tmp_path / "alive.parquet", client=FakeClient(frames, end=KeyboardInterrupt()))
    dead, alive = read_session(recovered.path), read_session(tmp_path / "alive.parquet")
    np.testing.assert_array_equal(dead.data, alive.data)
    np.testing.assert_array_equal(dead.t, alive.t)
    assert dead.data[9, 1] == np.float32(18 * 4.0 / 32768) and dead.t[16] - dead.t[15] == pytest.approx(0.09)
    for key in ("sample_rate_hz", "label", "channels", "full_scale", "dlpf_hz", "device_id", "units"):
        assert getattr(dead.meta, key) == getattr(alive.meta, key), key
    gaps = dead.meta.extra["sequence_gaps"]
    assert [(g["at_sample"], g["missing_samples"]) for g in gaps] == [(16, 8)] == \
        [(g["at_sample"], g["missing_samples"]) for g in alive.meta.extra["sequence_gaps"]]
    assert "recovered from its journal" in dead.meta.extra["interrupted"]
    assert dead.meta.extra["lost_frames"] is None and alive.meta.extra["lost_frames"] == 1


def test_recover_refuses_a_journal_still_being_written_and_never_replaces_a_session(tmp_path):
    journal = RecordingJournal.create(tmp_path / "s.parquet", _header(pid=os.getpid()))  # this process: alive
    journal.append(np.arange(3), np.zeros((3, 3), np.int16))
    with pytest.raises(InputError, match="still being written") as err:
        recover(journal.path)
    assert "--force" in err.value.hint and journal.path.exists()
    assert unfinished_journals(tmp_path) == []  # a running recording is no leftover
    (tmp_path / "s.parquet").write_bytes(b"an earlier session")
    with pytest.raises(InputError, match="already exists"):  # a name given is meant as it is
        recover(journal.path, out=tmp_path / "s.parquet", force=True)
    result = recover(journal.path, force=True)
    assert result.path == tmp_path / "s-2.parquet" and (tmp_path / "s.parquet").read_bytes() == b"an earlier session"
    assert read_session(result.path).n_samples == 3


def test_a_journal_with_one_sample_is_kept_and_named(tmp_path):
    journal = RecordingJournal.create(tmp_path / "s.parquet", _header(pid=_dead_pid()))
    journal.append(np.array([5]), np.zeros((1, 3), np.int16))
    journal.close()
    with pytest.raises(InputError, match="holds 1 sample"):
        recover(journal.path)
    assert journal.path.exists()


def test_kill_9_during_record_loses_nothing_the_command_line_recovers_it(start_sil, normal_source, tmp_path):
    sil = start_sil(speed=1.0)  # real time: 100 samples per second
    out = tmp_path / "killed.parquet"
    proc = record_for_a_while(sil, out, 1.5)
    proc.send_signal(signal.SIGKILL)  # no handler runs: the session is never written
    proc.communicate(timeout=30)
    journal = journal_path(out)
    assert not out.exists() and journal.exists()

    # The next recording into that folder points to it; `tinyad recover` makes the session.
    from click.testing import CliRunner

    from tinyad.cli import cli

    noted = CliRunner().invoke(cli, ["record", "-p", str(tmp_path / "no-such-port"), "-l", "normal", "-d", "1",
                                     "-o", str(tmp_path)])
    assert f"`tinyad recover {journal}`" in noted.output
    run = CliRunner().invoke(cli, ["recover", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert f"wrote {out}" in run.output and not journal.exists()
    session = read_session(out)
    assert session.n_samples >= 50  # 1.5 s at 100 Hz, minus what the pty still held
    first = session.meta.extra["first_sample_seq"]
    expected = (normal_source.take(first, session.n_samples).astype(np.float64) * UPC).astype(np.float32)
    np.testing.assert_array_equal(session.data, expected)  # every sample, in physical units
    np.testing.assert_allclose(np.diff(session.t), 0.01)
    assert session.meta.extra["sequence_gaps"] == []


def test_train_and_evaluate_name_a_killed_recording_in_their_folder(tmp_path):
    from tinyad.commands.pipeline import load_session_files

    journal = RecordingJournal.create(tmp_path / "bearing_fault-20261207T231500Z.parquet", _header(pid=_dead_pid()))
    journal.append(np.arange(300), np.zeros((300, 3), np.int16))
    journal.close()
    recover_first = RecordingJournal.create(tmp_path / "recovered.parquet", _header(pid=_dead_pid()))
    recover_first.append(np.arange(300), np.zeros((300, 3), np.int16))
    recover_first.close()
    recover(recover_first.path)  # a session now: read like any other
    notes = []
    loaded = load_session_files([str(tmp_path)], echo=notes.append)
    assert [f.name for f, _ in loaded] == ["recovered.parquet"]
    assert notes == [f"note: {journal.path} is a recording whose recorder was killed before writing it (not used); "
                     f"`tinyad recover {journal.path}` makes it a session"]


def test_recover_on_a_folder_recovers_every_journal_it_can_and_names_the_others(tmp_path, capsys):
    from tinyad.cli import main

    for name, pid in (("a.parquet", _dead_pid()), ("b.parquet", os.getpid()), ("c.parquet", _dead_pid())):
        journal = RecordingJournal.create(tmp_path / name, _header(pid=pid))
        journal.append(np.arange(4), np.ones((4, 3), np.int16))
        journal.close()
    assert main(["recover", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert f"wrote {tmp_path / 'a.parquet'}" in out and f"wrote {tmp_path / 'c.parquet'}" in out
    assert f"{tmp_path / 'b.parquet.partial'} is still being written" in err
    assert "1 of 3 journal(s) could not be recovered" in err
    assert sorted(os.listdir(tmp_path)) == ["a.parquet", "b.parquet.partial", "c.parquet"]


def test_a_killed_recorder_not_yet_reaped_or_a_reused_process_number_is_not_running(tmp_path):
    from tinyad.device.journal import process_start, recorder_alive

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        header = _header(pid=proc.pid)
        header.pid_start = process_start(proc.pid)
        assert recorder_alive(header) is True
        proc.kill()
        time.sleep(0.3)  # killed, not waited for: a zombie until reaped
        assert recorder_alive(header) is False
    finally:
        proc.wait()
    mine = _header(pid=os.getpid())
    assert mine.pid_start == process_start(os.getpid()) and recorder_alive(mine) is True
    mine.pid_start += 1  # the number now belongs to a process that started later: not the recorder
    assert recorder_alive(mine) is False


def test_a_journal_ending_in_a_power_cuts_zeros_recovers_the_samples_before_them(tmp_path):
    journal = RecordingJournal.create(tmp_path / "s.parquet", _header(pid=_dead_pid()))
    journal.append(np.arange(5000, 5050), np.ones((50, 3), np.int16))
    journal.close()
    with open(journal.path, "ab") as f:
        f.write(bytes(200))  # the blocks a power cut left unwritten: zeros (14 whole records and 4 bytes)
    result = recover(journal.path)
    session = read_session(result.path)
    assert (result.n_samples, result.dropped_records, result.cut_bytes) == (50, 14, 4)
    assert session.n_samples == 50 and session.meta.extra["journal_records_dropped"] == 14
    assert session.meta.extra["recording_started_utc"] == ""  # the test header records none; a recorder does
