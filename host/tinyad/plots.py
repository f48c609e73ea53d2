"""PNG plots for training runs (matplotlib, Agg backend: works without a display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(history: dict, path: str | Path, best_epoch: int | None = None) -> Path:
    """Loss and accuracy per epoch, train and validation; `best_epoch` (1-based, the epoch whose weights early
    stopping kept) is marked with a vertical line, since the curves run on past it."""
    from matplotlib.ticker import MaxNLocator

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in history:
                ax.plot(np.arange(1, len(history[prefix + key]) + 1), history[prefix + key], style,
                        label=(prefix or "train_") + key)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="tab:green", lw=1.0, ls=":", label=f"kept: epoch {best_epoch}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_confusion_matrix(cm: np.ndarray, class_names: list[str], path: str | Path, title: str = "") -> Path:
    """Confusion matrix with counts and row-normalized shading (rows: true class)."""
    plt = _plt()
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2.5, 1.0 * len(class_names) + 2))
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=30, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if frac[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
