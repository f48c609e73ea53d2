"""tinyad.plots: figures drawn without pyplot leave the caller's matplotlib backend as it was."""

import matplotlib

from tinyad.plots import new_figure, plot_confusion_matrix, plot_training_curves


def test_plots_leave_the_callers_backend_alone(tmp_path):
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # as a notebook sets its inline backend
    try:
        history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
        curves = plot_training_curves(history, tmp_path / "curves.png", best_epoch=2)
        matrix = plot_confusion_matrix([[3, 1], [0, 4]], ["normal", "fault"], tmp_path / "cm.png")
        assert matplotlib.get_backend() == "svg"
        assert curves.read_bytes()[:8] == matrix.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        matplotlib.use(before)
    fig, axes = new_figure(2, 1, figsize=(4, 3), sharex=True)
    assert len(axes) == 2 and tuple(fig.get_size_inches()) == (4.0, 3.0)
