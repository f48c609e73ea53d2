"""The alert-latency analysis (tinyad.ble.latency) on hand-made window states and ADV observations."""

from __future__ import annotations

from tinyad.ble.latency import AdvObservation, analyse, window_of_packet

OK, ALERT = 0, 2


def test_window_of_packet_wraps_around_256():
    assert window_of_packet(packet_id=1, latest_window=0) == 0
    assert window_of_packet(packet_id=10, latest_window=9) == 9
    assert window_of_packet(packet_id=9, latest_window=9) == 8       # one window behind
    assert window_of_packet(packet_id=0, latest_window=300) == 255   # (255 + 1) mod 256 == 0
    assert window_of_packet(packet_id=45, latest_window=300) == 300


def test_alert_visible_in_the_same_window_is_zero_hops():
    states = {0: OK, 1: OK, 2: ALERT, 3: ALERT, 4: OK}
    obs = [AdvObservation(w, (w + 1) % 256, states[w] == ALERT) for w in range(5)]
    report = analyse(states, obs)
    assert report.onsets == [2] and report.latencies == [0] and report.mismatches == 0


def test_late_advertisement_counts_hops_and_mismatches():
    states = {0: OK, 1: ALERT, 2: ALERT, 3: ALERT}
    # The advertisement of window 1 still says "no alert": the flag shows up one window later.
    obs = [AdvObservation(0, 1, False), AdvObservation(1, 2, False), AdvObservation(2, 3, True)]
    report = analyse(states, obs)
    assert report.latencies == [1] and report.mismatches == 1 and report.max_hops == 1


def test_onset_whose_window_was_never_polled_is_not_measured():
    states = {0: OK, 1: ALERT, 2: ALERT}
    obs = [AdvObservation(0, 1, False), AdvObservation(2, 3, True)]  # window 1 never pinned
    report = analyse(states, obs)
    assert report.onsets == [1] and report.latencies == [] and report.unobserved_onsets == 1
