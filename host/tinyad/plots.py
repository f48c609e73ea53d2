"""PNG plots for training runs, and `new_figure`, which every plot in tinyad draws on."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, figsize=None, **subplots_kwargs):
    """(figure, axes) for a PNG: a matplotlib Figure made without pyplot, so no display is needed and the caller's
    backend (a notebook's inline plots) is left as it was; `fig.savefig` writes it, and it is freed with its last
    reference. `subplots_kwargs` as for Figure.subplots (sharex, squeeze, ...)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplots_kwargs)


def plot_training_curves(history: dict, path: str | Path, best_epoch: int | None = None) -> Path:
    """Loss and accuracy per epoch, train and validation; `best_epoch` (1-based, the epoch whose weights early
    stopping kept) is marked with a vertical line, since the curves run on past it."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = new_figure(1, 2, figsize=(9, 3.5))
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
    return Path(path)


def plot_confusion_matrix(cm: np.ndarray, class_names: list[str], path: str | Path, title: str = "") -> Path:
    """Confusion matrix with counts and row-normalized shading (rows: true class)."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    fig, ax = new_figure(figsize=(1.2 * len(class_names) + 2.5, 1.0 * len(class_names) + 2))
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
    return Path(path)
