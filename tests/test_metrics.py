import numpy as np
import pytest

from tinyad.metrics import anomaly_score_from_logits, classification_report, confusion_matrix, per_class_prf


def test_confusion_matrix_and_prf_by_hand():
    cm = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    prf = per_class_prf(cm)
    assert prf["precision"].tolist() == pytest.approx([1.0, 2 / 3, 0.5])
    assert prf["recall"].tolist() == pytest.approx([0.5, 2 / 3, 1.0])
    assert prf["f1"][0] == pytest.approx(2 / 3)


def test_anomaly_score_is_one_minus_normal_probability():
    s = anomaly_score_from_logits(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]))
    assert s.tolist() == pytest.approx([0.5, 0.25])


def test_report_binary_view_merges_fault_classes():
    logits = np.array([[5, 0, 0], [0, 5, 0], [0, 0, 5], [0, 0, 5]], float)
    r = classification_report([0, 1, 2, 1], logits, ["normal", "a", "b"])
    assert r["binary_f1"] == 1.0            # every fault was called a fault...
    assert r["per_class"]["a"]["recall"] == 0.5  # ...but one with the wrong fault class
    assert r["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
