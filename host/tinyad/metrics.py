"""Classification metrics for the supervised models (the label-free detectors use tinyad.evaluation)."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (true class, predicted class), shape (n_classes, n_classes)."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class_prf(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined)."""
    tp = np.diag(cm).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    true = cm.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": true}


def anomaly_score_from_logits(logits: np.ndarray) -> np.ndarray:
    """P(not normal) = 1 - softmax(logits)[:, 0] (class 0 is "normal")."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return 1.0 - p[:, 0]


def classification_report(y_true: np.ndarray, logits: np.ndarray, class_names: list[str]) -> dict:
    """Everything `tinyad train` and `tinyad quantize` report: confusion matrix, per-class P/R/F1, macro-F1,
    accuracy, and the binary view (normal vs any fault: F1 of the anomaly class and ROC-AUC of the score)."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, int)
    logits = np.asarray(logits, np.float64)
    y_pred = logits.argmax(axis=1)
    n = len(class_names)
    cm = confusion_matrix(y_true, y_pred, n)
    prf = per_class_prf(cm)
    present = prf["support"] > 0
    is_anomaly = y_true != 0
    pred_anomaly = y_pred != 0
    bcm = confusion_matrix(is_anomaly.astype(int), pred_anomaly.astype(int), 2)
    bprf = per_class_prf(bcm)
    score = anomaly_score_from_logits(logits)
    auc = float(roc_auc_score(is_anomaly, score)) if 0 < is_anomaly.sum() < len(is_anomaly) else float("nan")
    return {
        "class_names": list(class_names),
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else float("nan"),
        "confusion_matrix": cm.tolist(),
        "per_class": {name: {k: float(prf[k][i]) for k in ("precision", "recall", "f1", "support")}
                      for i, name in enumerate(class_names)},
        "macro_f1": float(prf["f1"][present].mean()) if present.any() else float("nan"),
        "binary_f1": float(bprf["f1"][1]),
        "binary_precision": float(bprf["precision"][1]),
        "binary_recall": float(bprf["recall"][1]),
        "roc_auc": auc,
    }
