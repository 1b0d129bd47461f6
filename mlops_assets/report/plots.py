"""PNG plots of a trained model's behaviour on the held-out split (matplotlib, no display)."""

from pathlib import Path

import numpy as np


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(5, 4), dpi=100)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def learning_curve(history: dict[str, list[float]], path: Path) -> Path:
    plt, fig, ax = _figure()
    for name in ("loss", "val_loss"):
        if history.get(name):
            ax.plot(range(1, len(history[name]) + 1), history[name], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title("Learning curve")
    ax.legend()
    return _save(plt, fig, path)


def predicted_vs_actual(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    plt, fig, ax = _figure()
    ax.scatter(y_true, y_pred, s=10, alpha=0.6)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title("Predicted vs actual (held-out)")
    return _save(plt, fig, path)


def residuals(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    plt, fig, ax = _figure()
    ax.scatter(y_pred, y_true - y_pred, s=10, alpha=0.6)
    ax.axhline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual - predicted")
    ax.set_title("Residuals (held-out)")
    return _save(plt, fig, path)


def roc_curve(y_true: np.ndarray, y_score: np.ndarray, path: Path) -> Path:
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc_curve

    fpr, tpr, _ = sk_roc_curve(y_true, y_score)
    plt, fig, ax = _figure()
    ax.plot(fpr, tpr, label=f"AUC = {roc_auc_score(y_true, y_score):.3f}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (held-out)")
    ax.legend(loc="lower right")
    return _save(plt, fig, path)


def confusion_matrix(
    y_true: np.ndarray, y_score: np.ndarray, path: Path, classes: list | None = None
) -> Path:
    """Counts of actual against predicted class, labelled with the original labels;
    ``y_score`` is the positive probability (binary) or a row of class probabilities."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    y_pred = y_score.argmax(axis=1) if y_score.ndim == 2 else (y_score >= 0.5).astype(int)
    n = y_score.shape[1] if y_score.ndim == 2 else 2
    labels = [str(c) for c in (classes or range(n))]
    matrix = sk_confusion_matrix(y_true, y_pred, labels=list(range(n)))
    plt, fig, ax = _figure()
    if n > 6:
        fig.set_size_inches(0.5 * n + 2, 0.5 * n + 1.5)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center")
    ax.set_xticks(range(n), labels=labels, rotation=45 if n > 6 else 0)
    ax.set_yticks(range(n), labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title("Confusion matrix (held-out)")
    return _save(plt, fig, path)


def task_plots(
    task: str,
    y_true: np.ndarray,
    y_out: np.ndarray,
    history: dict[str, list[float]],
    directory: Path,
    classes: list | None = None,
) -> dict[str, Path]:
    """Every plot for ``task``, written into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    plots = {"learning_curve": learning_curve(history, directory / "learning_curve.png")}
    if task == "binary_classification":
        plots["roc_curve"] = roc_curve(y_true, y_out, directory / "roc_curve.png")
    if task in ("binary_classification", "multiclass_classification"):
        plots["confusion_matrix"] = confusion_matrix(
            y_true, y_out, directory / "confusion_matrix.png", classes
        )
    else:
        plots["predicted_vs_actual"] = predicted_vs_actual(
            y_true, y_out, directory / "predicted_vs_actual.png"
        )
        plots["residuals"] = residuals(y_true, y_out, directory / "residuals.png")
    return plots
