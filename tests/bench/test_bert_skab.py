"""A quick run of `tinyad bench bert_skab` end to end: the transformer rows beside the LSTM-AE's (a change to
`tinyad.bench.skab.evaluate_detector` once broke it without a test noticing)."""


def test_quick_run_puts_both_transformers_beside_the_lstm_ae_and_marks_the_oracle(shared_data):
    from tinyad.bench import bert_skab

    result = bert_skab.run(quick=True)
    figures = result.figures
    assert figures["quick"] and figures["steps"] == 200
    for key in ("bert_f1", "bert_not_centered_f1", "lstm_ae_f1", "bert_method_score"):
        assert 0.0 <= figures[key] <= 1.0
    rows = [line for line in result.markdown.splitlines() if line.startswith("| ")][1:]  # after the header
    assert [row.split(" | ")[0][2:] for row in rows] == [
        "AnomalyBERT-style (centered windows, default) + EWMA + normal-calibrated threshold",
        "variant: AnomalyBERT-style without window centering + EWMA + normal-calibrated threshold",
        "LSTM-AE + EWMA + normal-calibrated threshold, raw channels",  # skab's own row differences temperatures
        "AnomalyBERT-style, oracle threshold (reference)"]
    # only the oracle row saw the test labels; the LSTM-AE row is the one the text compares with
    assert [row.rstrip(" |").endswith("YES") for row in rows] == [False, False, False, True]
    assert f"vs LSTM-AE {figures['lstm_ae_f1']:.3f}" in result.markdown
