"""PNG figures for reports (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmforge.html_report import pyplot as _pyplot


def confusion_matrix_png(matrix: list[list[int]], labels: list[str], path: Path) -> Path:
    """Row-normalised confusion matrix with counts; readable up to ~40 classes, a heat map beyond."""
    plt = _pyplot()
    cm = np.asarray(matrix, dtype=float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    k = len(labels)
    size = min(4 + 0.35 * k, 24)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ticks = np.arange(k)
    ax.set_xticks(ticks, labels=labels, rotation=90 if k > 6 else 0, fontsize=8 if k > 20 else 10)
    ax.set_yticks(ticks, labels=labels, fontsize=8 if k > 20 else 10)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 25:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability_png(bins: list[dict], ece: float, path: Path) -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with bin counts."""
    plt = _pyplot()
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(5.5, 6), height_ratios=[3, 1], sharex=True)
    centers = [(b["low"] + b["high"]) / 2 for b in bins]
    width = bins[0]["high"] - bins[0]["low"]
    acc = [b["accuracy"] if b["accuracy"] is not None else 0 for b in bins]
    ax.bar(centers, acc, width=width * 0.9, color="#4c72b0", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"Reliability (ECE = {ece:.3f})")
    ax.legend(loc="upper left")
    ax_count.bar(centers, [b["count"] for b in bins], width=width * 0.9, color="#999999")
    ax_count.set_xlabel("confidence")
    ax_count.set_ylabel("examples")
    ax_count.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
