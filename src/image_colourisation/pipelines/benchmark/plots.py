"""The benchmark's figures: its table as bars with intervals (plotly, previewed by Kedro-Viz) and
the photos that colour gains and loses most on (matplotlib)."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from image_colourisation.pipelines.evaluation.plots import COLOURS, image_grid, row_title

from .nodes import FIGURES, GRAY, BenchmarkImages, row_label

TITLES = {
    "mae": "MAE, RGB 0-255 (lower is better)",
    "psnr": "PSNR, dB (higher is better)",
    "delta_e2000": "ΔE2000 (lower is better)",
    "colourfulness": "Colourfulness (truth: dashed)",
    "colourfulness_ratio": "Colourfulness / the truth's (1: dashed)",
    "blotch_share": "Blotch share (lower is better)",
    "imagenet_agreement": "ImageNet top-1 agrees with the original's",
    "semantic_recovery": "Semantic recovery (gray 0, truth 1)",
    "kid": "KID, ImageNet features (lower is better)",
}
COLUMNS = 3


def plot_benchmark(summary: pd.DataFrame) -> go.Figure:
    """A bar chart per figure, a bar per row (model, hints) with its 95 % interval; hints
    rows hatched."""
    rows = math.ceil(len(FIGURES) / COLUMNS)
    figure = make_subplots(
        rows=rows, cols=COLUMNS, subplot_titles=[TITLES[name] for name in FIGURES]
    )
    labels = [row_label(row) for row in zip(summary["model"], summary["hints"], strict=True)]
    for index, name in enumerate(FIGURES):
        row, col = (place + 1 for place in divmod(index, COLUMNS))
        figure.add_bar(
            x=labels,
            y=summary[name],
            error_y={
                "type": "data",
                "array": summary[f"{name}_high"] - summary[name],
                "arrayminus": summary[name] - summary[f"{name}_low"],
            },
            marker_color=[COLOURS[model] for model in summary["model"]],
            marker_pattern_shape=["/" if hints else "" for hints in summary["hints"]],
            text=[f"{value:.3g}" for value in summary[name]],
            showlegend=False,
            row=row,
            col=col,
        )
    references = {"colourfulness": summary["colourfulness_truth"], "colourfulness_ratio": [1.0]}
    for name, values in references.items():
        if len(values):
            row, col = (place + 1 for place in divmod(FIGURES.index(name), COLUMNS))
            figure.add_hline(
                y=values[0], line_dash="dash", line_color=COLOURS["truth"], row=row, col=col
            )
    photos = int(summary["photos"].max()) if len(summary) else 0
    figure.update_layout(
        title=f"The real-photo benchmark: {photos} photos turned gray and colourised",
        height=300 * rows,
    )
    return figure


def plot_gains_and_losses(
    images: BenchmarkImages, photo_scores: pd.DataFrame, photos: int
) -> Figure:
    """Gray | automatic | hints | truth for the `photos` photos on which the first model's
    automatic colours lower the MAE most against gray, then the `photos` on which they raise
    it most: where colour helps, and where it blotches."""
    models = [model for model, hints in images.rows if model != GRAY and not hints]
    figure = Figure(figsize=(6, 1.5), layout="tight")
    if not models or not images.names:
        figure.text(0.5, 0.5, "No photos, or no model, to show", ha="center", va="center")
        return figure
    model = models[0]
    change = _mae(photo_scores, model, images.names) - _mae(photo_scores, GRAY, images.names)
    order = np.argsort(change, kind="stable")  # most lowered first, most raised last
    chosen = list(dict.fromkeys([*order[:photos], *order[len(order) - photos :]]))
    columns = {"gray": images.rows[GRAY, 0], row_title(model): images.rows[model, 0]}
    hinted = [hints for name, hints in images.rows if name == model and hints]
    if hinted:
        columns[f"{hinted[0]} hints"] = images.rows[model, hinted[0]]
    columns["truth"] = images.truth
    picks = [
        (f"{Path(images.names[index]).stem[:14]}\nΔMAE {change[index]:+.1f}", int(index))
        for index in chosen
    ]
    grid = image_grid(columns, picks)
    grid.suptitle(
        f"{row_title(model)}: ΔMAE against gray, lowered most (top), raised most (bottom)"
    )
    return grid


def _mae(photo_scores: pd.DataFrame, model: str, names: list[str]) -> np.ndarray:
    """A model's automatic row's MAE per photo, in the order of `names`."""
    rows = photo_scores[(photo_scores["model"] == model) & (photo_scores["hints"] == 0)]
    return rows.set_index("photo")["mae"].loc[names].to_numpy()
