"""Evaluation figures: plotly charts that Kedro-Viz previews, matplotlib figures for the eye."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure  # not pyplot: no backend, no global figure to close
from plotly.subplots import make_subplots

from image_colourisation.imaging.colour import rgb_to_lab

from .helpers import GRAY, TRUTH

COLOURS = {"gan": "#d62728", "l1": "#1f77b4", GRAY: "#7f7f7f", TRUTH: "#2ca02c"}
ROW_TITLES = {"gan": "GAN", "l1": "L1", "gan_propagation": "GAN + propagation",
              "propagation": "propagation alone"}  # fmt: skip
TITLES = {
    "mae": "MAE, RGB 0-255 (lower is better)",
    "psnr": "PSNR, dB (higher is better)",
    "ssim": "SSIM (higher is better)",
    "delta_e2000": "ΔE2000 (lower is better)",
    "auc": "AuC, ab ≤ 0…150 (higher is better)",
    "accuracy_2pct": "Accuracy @ 2% (higher is better)",
    "colourfulness": "Colourfulness (truth: dashed)",
    "semantic_accuracy": "Classifier accuracy (truth: dashed)",
    "semantic_recovery": "Semantic recovery, 95 % interval (gray 0, truth 1)",
    "fd_classifier": "FD, classifier features (lower; floor: dashed)",
    "critic_accuracy": "Critic accuracy (0.5: indistinguishable, dashed)",
    "mse_ratio_l1": "MSE / the L1 baseline's (realistic: ≤ 2×, dashed)",
}
# The dashed reference line of a metric's chart: the column of the metrics table it comes from.
REFERENCES = {
    "colourfulness": "colourfulness_truth",
    "semantic_accuracy": "semantic_accuracy_truth",
    "fd_classifier": "fd_classifier_floor",
}
# Dashed lines at fixed values: chance for the critic, Blau & Michaeli's 2x MSE bound.
LEVELS = {"critic_accuracy": 0.5, "mse_ratio_l1": 2.0}
# Error bars: the metric's interval columns (low, high).
INTERVALS = {"semantic_recovery": ("semantic_recovery_low", "semantic_recovery_high")}
METRIC_COLUMNS = 3
PER_CLASS = ("mae", "delta_e2000", "colourfulness", "semantic_accuracy")
SAMPLE_COLUMNS = (GRAY, "l1", "gan", TRUTH)


def reference_line(
    figure: go.Figure, value: float, row: int, col: int, reference: str = TRUTH
) -> None:
    """A dashed reference line at `value`, in the colour of the row it stands for (by default the truth)."""
    figure.add_hline(y=value, line_dash="dash", line_color=COLOURS[reference], row=row, col=col)


def row_title(row: str) -> str:
    """How figures name a row: the models in capitals (GAN, L1), the references as they are."""
    return ROW_TITLES.get(row, row)


def plot_metrics(metrics_table: pd.DataFrame) -> go.Figure:
    """One small bar chart per metric, the models side by side (scales differ per metric)."""
    names = list(TITLES)
    rows = math.ceil(len(names) / METRIC_COLUMNS)
    figure = make_subplots(
        rows=rows, cols=METRIC_COLUMNS, subplot_titles=[TITLES[name] for name in names]
    )
    for index, name in enumerate(names):
        row, col = divmod(index, METRIC_COLUMNS)
        error = None
        if name in INTERVALS:
            low, high = (metrics_table[column] for column in INTERVALS[name])
            error = {"type": "data", "array": high - metrics_table[name],
                     "arrayminus": metrics_table[name] - low}  # fmt: skip
        figure.add_bar(
            x=metrics_table["model"],
            y=metrics_table[name],
            error_y=error,
            marker_color=[COLOURS[model] for model in metrics_table["model"]],
            text=[f"{value:.3g}" for value in metrics_table[name]],
            showlegend=False,
            row=row + 1,
            col=col + 1,
        )
        if name in REFERENCES:
            reference_line(figure, metrics_table[REFERENCES[name]].iloc[0], row + 1, col + 1)
        if name in LEVELS:
            reference_line(figure, LEVELS[name], row + 1, col + 1)
    figure.update_layout(title="Colourisation metrics on the test split", height=300 * rows)
    return figure


def plot_per_class(per_class: pd.DataFrame) -> go.Figure:
    """Grouped bars per CIFAR-10 class for the main metrics, one row of plots per metric."""
    figure = make_subplots(
        rows=len(PER_CLASS), cols=1, subplot_titles=[TITLES[name] for name in PER_CLASS]
    )
    for index, name in enumerate(PER_CLASS, start=1):
        for model, rows in per_class.groupby("model", sort=False):
            figure.add_bar(
                x=rows["class"], y=rows[name], name=model, legendgroup=model,
                marker_color=COLOURS[model], showlegend=index == 1, row=index, col=1,
            )  # fmt: skip
        if name in ("colourfulness", "semantic_accuracy"):
            truth = per_class.drop_duplicates("class")
            figure.add_scatter(
                x=truth["class"], y=truth[f"{name}_truth"], mode="markers", name=TRUTH,
                legendgroup=TRUTH, marker={"color": COLOURS[TRUTH], "symbol": "line-ew-open",
                "size": 18, "line": {"width": 3}}, showlegend=name == "colourfulness",
                row=index, col=1,
            )  # fmt: skip
    figure.update_layout(
        title="Per-class metrics on the test split", barmode="group", height=250 * len(PER_CLASS)
    )
    return figure


def plot_samples(colourisations: dict[str, np.ndarray], test_set: dict[str, np.ndarray]) -> Figure:
    """Gray | L1 | GAN | truth on the first test image of every class (fixed, so runs compare)."""
    labels, names = test_set["labels"], test_set["class_names"]
    picks = [(str(names[label]), int(np.argmax(labels == label)))
             for label in range(len(names)) if (labels == label).any()]  # fmt: skip
    columns = {
        row_title(column): colourisations[column]
        for column in SAMPLE_COLUMNS
        if column in colourisations
    }
    return image_grid(columns, picks)


def image_grid(columns: dict[str, np.ndarray], picks: list[tuple[str, int]]) -> Figure:
    """A grid of uint8 RGB images: a column per entry of `columns` (titled with its key), a row
    per (label, index into every column's stack) of `picks`, pixels shown as they are."""
    figure = Figure(figsize=(1.6 * len(columns), 1.6 * len(picks)), layout="tight")
    axes = figure.subplots(len(picks), len(columns), squeeze=False)
    for row, (label, index) in enumerate(picks):
        for col, (title, images) in enumerate(columns.items()):
            axis = axes[row, col]
            axis.imshow(images[index], interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title)
            if col == 0:
                axis.set_ylabel(label)
    return figure


def plot_ab_distribution(colourisations: dict[str, np.ndarray], max_images: int) -> Figure:
    """Where each row's pixels fall in the ab plane (log density), against the truth's.

    On an evenly spaced subset of at most `max_images` test images: the density barely changes
    with more, and the Lab conversion of all of them would dominate the evaluation's time.
    """
    rows = [row for row in (TRUTH, "gan", "l1", GRAY) if row in colourisations]
    count = len(colourisations[TRUTH])
    subset = np.linspace(0, count - 1, min(count, max_images)).astype(int)
    edges = np.arange(-110, 111, 2)
    figure = Figure(figsize=(3.4 * len(rows), 3.6), layout="constrained")
    axes = figure.subplots(1, len(rows), squeeze=False)
    for axis, row in zip(axes[0], rows, strict=True):
        ab = rgb_to_lab(colourisations[row][subset])[..., 1:].reshape(-1, 2)
        histogram, _, _ = np.histogram2d(ab[:, 0], ab[:, 1], bins=[edges, edges])
        density = histogram / len(ab)
        image = axis.imshow(
            density.T, origin="lower", extent=(-110, 110, -110, 110), cmap="magma",
            norm=LogNorm(vmin=1e-6, vmax=1e-1),
        )  # fmt: skip
        axis.set_title(row_title(row))
        axis.set_xlabel("a*")
        axis.set_ylabel("b*")
    figure.colorbar(image, ax=axes[0].tolist(), label="share of pixels per 2×2 bin")
    figure.suptitle(f"ab distribution of {len(subset)} test images")
    return figure
