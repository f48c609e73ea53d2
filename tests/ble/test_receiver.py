"""The alert receiver fed with bleak AdvertisementData built from the C++ encoder's output."""

from __future__ import annotations

import io
import json
import queue
import threading

from tests.ble._helpers import KEY, MAC, MAC_BYTES
from tinyad._core import bthome as core
from tinyad.ble.alerts import run_alerts
from tinyad.ble.bthome import advertisement_data_from_raw
from tinyad.ble.receiver import Advert, JsonLinesLog, Receiver, consume, format_table

OTHER_MAC = "AA:BB:CC:DD:EE:01"


def adv(packet_id, alert=False, score_centi=0, counter=0, key=None, mac=MAC, running=True, t=0.0, raw=False):
    data = core.encode_advertisement(packet_id, alert, running, score_centi, counter,
                                     bytes.fromhex(mac.replace(":", "")), key, "tinyad")
    return Advert(mac, data if raw else advertisement_data_from_raw(data, rssi=-50), -50, t)


def test_new_readings_become_events_with_decoded_values():
    receiver = Receiver()
    event = receiver.process(adv(1, alert=True, score_centi=321, t=10.0))
    assert (event.packet_id, event.alert, event.running, event.score, event.name) == (1, True, True, 3.21, "tinyad")
    assert receiver.counts["accepted"] == 1


def test_duplicates_are_dropped_and_counted_per_device():
    receiver = Receiver()
    events = [receiver.process(adv(5, t=0.1 * i)) for i in range(4)]  # the board re-broadcasts the same packet
    assert events[0] is not None and events[1:] == [None, None, None]
    assert receiver.counts["duplicate"] == 3
    assert receiver.devices[MAC].skipped["duplicate"] == 3


def test_reordered_older_packet_is_stale_and_wraparound_is_new():
    receiver = Receiver()
    assert receiver.process(adv(254, t=0.0)).packet_id == 254
    assert receiver.process(adv(1, t=0.1)).packet_id == 1   # 254 -> 1 wraps: 3 ahead
    assert receiver.process(adv(255, t=0.2)) is None      # arrived late: behind 1
    assert receiver.counts["stale"] == 1
    assert receiver.process(adv(2, t=0.3)).packet_id == 2


def test_same_packet_id_after_a_long_silence_is_a_new_reading():
    receiver = Receiver()
    assert (receiver.process(adv(7, t=0.0)).packet_id, receiver.process(adv(7, t=0.5))) == (7, None)  # a repeat
    again = receiver.process(adv(7, t=10.0))  # device rebooted: ids restart
    assert (again.packet_id, again.time) == (7, 10.0)
    assert receiver.counts["accepted"] == 2


def test_devices_are_deduplicated_independently():
    receiver = Receiver()
    assert receiver.process(adv(3, mac=MAC)).address == MAC
    other = receiver.process(adv(3, mac=OTHER_MAC))
    assert (other.address, other.packet_id) == (OTHER_MAC, 3)
    assert set(receiver.devices) == {MAC, OTHER_MAC}


def test_encrypted_with_right_key_decodes_wrong_key_and_no_key_are_counted():
    good = Receiver(bind_key=KEY)
    event = good.process(adv(9, alert=True, score_centi=-50, counter=100, key=KEY))
    assert event.encrypted and event.counter == 100 and event.score == -0.5
    wrong = Receiver(bind_key=bytes(16))
    assert wrong.process(adv(9, counter=100, key=KEY)) is None
    assert wrong.counts["wrong_key"] == 1 and wrong.counts["accepted"] == 0
    none = Receiver()
    assert none.process(adv(9, counter=100, key=KEY)) is None
    assert none.counts["no_key"] == 1


def test_replayed_encrypted_counter_is_rejected():
    receiver = Receiver(bind_key=KEY)
    assert receiver.process(adv(10, counter=500, key=KEY, t=0.0)).counter == 500
    # A new packet id but an older counter: not what a board produces (its counter only grows).
    assert receiver.process(adv(11, counter=400, key=KEY, t=0.1)) is None
    assert receiver.counts["replayed"] == 1
    accepted = receiver.process(adv(11, counter=501, key=KEY, t=0.2))
    assert (accepted.packet_id, accepted.counter) == (11, 501)


def test_truncated_and_garbage_payloads_are_counted_never_raised():
    receiver = Receiver()
    raw = core.encode_advertisement(1, True, True, 0, 0, MAC_BYTES, None, "tinyad")
    for cut in range(4, 16):  # inside the service data
        assert receiver.process(Advert(MAC, raw[:cut], None, 0.0)) is None
    assert receiver.process(Advert(MAC, b"\xff\xff\xff", None, 0.0)) is None
    assert receiver.process(Advert(MAC, object(), None, 0.0)) is None        # a source bug
    assert receiver.process(Advert(MAC, None, None, 0.0)) is None
    assert receiver.counts["truncated"] == 12 + 1
    assert receiver.counts["accepted"] == 0
    # Still works afterwards.
    assert receiver.process(Advert(MAC, raw, None, 1.0)).packet_id == 1


def test_non_bthome_and_foreign_bthome_devices_are_ignored():
    from bleak.backends.scanner import AdvertisementData

    receiver = Receiver()
    phone = AdvertisementData("phone", {76: b"\x02\x15"}, {}, [], None, -70, ())
    thermometer = AdvertisementData(None, {}, {"0000fcd2-0000-1000-8000-00805f9b34fb": bytes.fromhex("40000102c409")},
                                    [], None, -70, ())
    assert receiver.process(Advert("11:22:33:44:55:66", phone, -70, 0.0)) is None
    assert receiver.process(Advert("11:22:33:44:55:77", thermometer, -70, 0.0)) is None
    assert receiver.counts["not_bthome"] == 1 and receiver.counts["foreign"] == 1


def test_consumer_drains_queue_and_json_log_appends(tmp_path):
    adverts = queue.Queue()
    for i, pid in enumerate([1, 1, 2, 1, 3]):
        adverts.put(adv(pid, alert=pid == 3, t=0.1 * i))
    stop = threading.Event()
    stop.set()  # already stopped: the consumer must still drain what is queued
    log_path = tmp_path / "alerts.jsonl"
    log_path.write_text('{"earlier": true}\n')
    log = JsonLinesLog(log_path)
    got = []
    receiver = Receiver()
    consume(adverts, receiver, [got.append, log], stop, poll_s=0.01)
    log.close()
    assert [e.packet_id for e in got] == [1, 2, 3]
    lines = log_path.read_text().splitlines()
    assert json.loads(lines[0]) == {"earlier": True}  # appended, not overwritten
    assert [json.loads(line)["packet_id"] for line in lines[1:]] == [1, 2, 3]
    assert json.loads(lines[-1])["alert"] is True
    assert "ALERT" not in format_table(receiver, now=1.0).splitlines()[0]
    assert "ALERT" in format_table(receiver, now=1.0)


def test_run_alerts_with_a_fake_source_stops_after_count_and_prints_json():
    def start_source(adverts, stop):
        def run():
            for pid in (1, 1, 2, 2, 3, 4):
                adverts.put_nowait(adv(pid, raw=True))
            stop.wait(5.0)
        return run

    out = io.StringIO()
    receiver = run_alerts(start_source, json_lines=True, max_events=3, out=out, duration_s=5.0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["packet_id"] for line in lines] == [1, 2, 3]
    assert receiver.counts["duplicate"] == 2


def test_run_alerts_reports_a_failing_source_as_device_error():
    import pytest

    from tinyad.errors import DeviceError

    def start_source(adverts, stop):
        def run():
            raise RuntimeError("No Bluetooth adapters found.")
        return run

    with pytest.raises(DeviceError, match="No Bluetooth adapters"):
        run_alerts(start_source, out=io.StringIO(), duration_s=2.0)


def test_bleak_callback_only_enqueues_and_poll_source_skips_empty_adverts():
    from types import SimpleNamespace

    from tinyad.ble.sources import BleakSource, DevicePollSource

    adverts = queue.Queue()
    stop = threading.Event()
    source = BleakSource(adverts, stop)
    data = advertisement_data_from_raw(core.encode_advertisement(1, True, True, 0, 0, MAC_BYTES), rssi=-42)
    source._on_detection(SimpleNamespace(address=MAC), data)
    item = adverts.get_nowait()
    assert (item.address, item.data, item.rssi) == (MAC, data, -42)  # undecoded: the consumer decodes

    replies = iter([b"", b"\x02\x01\x06", b""])

    class FakeClient:
        def adv(self):
            try:
                return next(replies)
            except StopIteration:
                stop.set()
                return b""

    poll = DevicePollSource(adverts, stop, FakeClient(), address="02:00:00:00:AD:01", interval_s=0.0)
    poll.run()
    assert poll.polls == 4 and adverts.qsize() == 1 and adverts.get_nowait().data == b"\x02\x01\x06"


def test_live_view_redraws_the_table_and_prints_lines_otherwise():
    from tinyad.ble.alerts import LiveView

    receiver = Receiver()
    out = io.StringIO()
    view = LiveView(receiver, out, json_lines=False, table=True, redraw_s=0.0)
    event = receiver.process(adv(4, alert=True, score_centi=150))
    view(event)
    assert out.getvalue() == ""  # the table is drawn from the consumer's idle hook, not per event
    view.idle()
    assert out.getvalue().startswith("\x1b[H\x1b[J") and "ALERT" in out.getvalue() and "1.500" in out.getvalue()
    lines = io.StringIO()
    LiveView(receiver, lines, json_lines=False, table=False)(event)
    assert "ALERT score 1.50 pkt 4" in lines.getvalue()
