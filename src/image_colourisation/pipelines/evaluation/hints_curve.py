"""The hints curve (Zhang et al. 2017, "Real-Time User-Guided Image Colorization", section
4.1): how much a few true colours help each colouriser.

Every row sees the same hints, drawn from the test images' true colours with a fixed seed
(`hint_sampling.evaluation_hints`): 0 hints is automatic colourisation, and each larger count adds
hints to a smaller one's rather than drawing new ones. The rows are the generators that take
hints (`gan`, `l1`); `gan_propagation`, the GAN's colours with the hints carried along the
image's edges as every rendered photo gets them (`imaging/propagation.py`, Levin et al. 2004);
`propagation`, Levin's colourisation alone (a gray prior, no model); and `naive`, which copies
the nearest hint's colour. They are scored on the rendered images as the metrics table scores
its rows: MAE and PSNR (of the dataset's mean squared error) on RGB, ΔE2000 and colourfulness.
"""

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure
from plotly.subplots import make_subplots
from scipy.ndimage import distance_transform_edt
from tqdm.auto import tqdm

from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import (
    denormalise_ab,
    denormalise_l,
    model_arrays_to_rgb,
    normalise_ab,
    rgb_to_lab,
)
from image_colourisation.imaging.propagation import propagate
from image_colourisation.models.hint_sampling import evaluation_hints
from image_colourisation.models.networks import Generator, predict_ab
from image_colourisation.models.payloads import generator_from_payload

from .helpers import GRAY, NHWC, TRUTH, gray_rgb
from .plots import COLOURS, REFERENCES, TITLES, image_grid, reference_line, row_title

logger = logging.getLogger(__name__)

NAIVE = "naive"
PROPAGATED = "gan_propagation"  # the GAN, then its colours carried along edges with the hints
LEVIN = "propagation"  # Levin et al.'s colourisation alone: hints carried along edges, no model
# Levin alone: a hint's colour fades over 100 times the image's long side, i.e. not within it.
LEVIN_FADE = 100.0
CURVE_METRICS = ("mae", "psnr", "delta_e2000", "colourfulness")
CURVE_TITLES = {
    "mae": "MAE, RGB 0-255 (lower is better; gray: dashed)",
    "psnr": "PSNR, dB (higher is better; gray: dashed)",
    "delta_e2000": "ΔE2000 (lower is better; gray: dashed)",
    "colourfulness": TITLES["colourfulness"],
}
# Each panel's dashed line: the gray row of the metrics table (no colour at all, where every
# curve should start to fall from) for the errors, the truth's for colourfulness.
CURVE_REFERENCES = {"mae": GRAY, "psnr": GRAY, "delta_e2000": GRAY, "colourfulness": TRUTH}
CURVE_COLOURS = COLOURS | {NAIVE: "#9467bd", PROPAGATED: "#ff7f0e", LEVIN: "#8c564b"}
# Normalised L (N, 1, H, W) and hints (N, 3, H, W) -> normalised ab (N, 2, H, W).
Colouriser = Callable[[np.ndarray, np.ndarray], np.ndarray]


def naive_ab(lightness: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """The naive baseline's ab: each pixel takes the colour of its nearest hinted pixel
    (Euclidean distance), and with no hints every pixel is gray (ab = 0). L is not used.

    It is simple and honest: it uses exactly what the generators are given, the hints, and
    nothing learnt (no training data, not even the edges in L*), so it cannot flatter itself.
    A generator's lead over it is what the generator adds to copying the hinted colours:
    knowing where an object ends and what colour its unhinted parts have. Without hints it is
    the gray baseline, so its curve starts where a colouriser with nothing to go on would.
    """
    ab = np.zeros_like(hints[:, :2])
    for image, layer in zip(ab, hints, strict=True):
        hinted = layer[2] > 0
        if hinted.any():
            rows, columns = distance_transform_edt(
                ~hinted, return_distances=False, return_indices=True
            )
            image[:] = layer[:2, rows, columns]
    return ab


def propagated_ab(
    lightness: np.ndarray, prior: np.ndarray, hints: np.ndarray, **settings: Any
) -> np.ndarray:
    """Normalised ab (N, 2, H, W): `prior` (normalised ab) with each image's hints carried
    along its edges by `propagation.propagate` (its defaults, or `settings`), on the image as
    it is: a CIFAR-10 image is smaller than the renderer's working size, so a photo's renderer
    would solve on it whole too."""
    light, prior_lab = denormalise_l(lightness[:, 0]), denormalise_ab(prior)
    hint_lab = denormalise_ab(hints[:, :2])
    result = np.empty_like(prior_lab)
    for index in range(len(prior)):
        result[index] = propagate(
            light[index], prior_lab[index], hint_lab[index], hints[index, 2] > 0, **settings
        )
    return normalise_ab(result).astype(prior.dtype)


def levin_ab(lightness: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """Levin et al.'s colourisation without a model: the hints carried along the edges of a
    gray image, with no fade inside it. Gray without hints, like `naive_ab`."""
    gray = np.zeros((len(lightness), 2, *lightness.shape[2:]), lightness.dtype)
    return propagated_ab(lightness, gray, hints, fade=LEVIN_FADE)


def generator_ab(generator: Generator, lightness: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """A generator's ab for one batch of L with its hints."""
    return predict_ab(
        generator, torch.from_numpy(lightness), len(lightness), NHWC, hints=torch.from_numpy(hints)
    ).numpy()


def hint_generators(
    gan_payload: dict[str, Any] | None, l1_payload: dict[str, Any] | None
) -> tuple[dict[str, Generator], list[str]]:
    """The given generators that take hints, by row, and the rows whose generator does not
    (trained before hints existed). A missing payload (no L1 baseline) is neither."""
    payloads = {"gan": gan_payload, "l1": l1_payload}
    built = {
        row: generator_from_payload(payload).to(memory_format=NHWC)
        for row, payload in payloads.items()
        if payload is not None
    }
    hinted = {row: generator for row, generator in built.items() if generator.takes_hints}
    return hinted, [row for row in built if row not in hinted]


def colourisers(generators: dict[str, Generator]) -> dict[str, Colouriser]:
    """The curve's rows: each generator fed the hints, the GAN's colours with propagation,
    propagation alone, then the naive baseline."""
    rows: dict[str, Colouriser] = {
        row: partial(generator_ab, generator) for row, generator in generators.items()
    }
    if "gan" in rows:
        rows[PROPAGATED] = partial(_with_propagation, rows["gan"])
    return rows | {LEVIN: levin_ab, NAIVE: naive_ab}


def _with_propagation(
    colourise: Colouriser, lightness: np.ndarray, hints: np.ndarray
) -> np.ndarray:
    return propagated_ab(lightness, colourise(lightness, hints), hints)


def score_curve(
    test_set: dict[str, np.ndarray],
    rows: dict[str, Colouriser],
    counts: list[int],
    *,
    seed: int,
    max_patch: int,
    batch_size: int,
) -> pd.DataFrame:
    """Every row's dataset-level scores at every count of hints, one table row per (model,
    hints): mae, psnr, delta_e2000, colourfulness. In batches; the hints of an image do not
    depend on its batch (`evaluation_hints` places them by the seed alone)."""
    lightness, ab = test_set["L"], test_set["ab"]
    parts: dict[tuple[str, int], dict[str, list[np.ndarray]]] = {
        (row, count): {} for row in rows for count in counts
    }
    with tqdm(total=len(lightness), desc="hints curve", unit="image") as bar:
        for start in range(0, len(lightness), batch_size):
            batch = slice(start, start + batch_size)
            gray_l, true_ab = lightness[batch], ab[batch]
            truth_rgb = model_arrays_to_rgb(gray_l, true_ab)
            truth_lab = rgb_to_lab(truth_rgb)
            for count in counts:
                hints = evaluation_hints(true_ab, count, seed, max_patch)
                for row, colourise in rows.items():
                    rgb = model_arrays_to_rgb(gray_l, colourise(gray_l, hints))
                    for name, values in _image_scores(truth_rgb, truth_lab, rgb).items():
                        parts[row, count].setdefault(name, []).append(values)
            bar.update(len(gray_l))
    return pd.DataFrame(
        [
            {"model": row, "hints": count, **_summary(scores)}
            for (row, count), scores in parts.items()
        ]
    )


def _image_scores(
    truth_rgb: np.ndarray, truth_lab: np.ndarray, rgb: np.ndarray
) -> dict[str, np.ndarray]:
    return {
        "mae": metrics.absolute_error(truth_rgb, rgb),
        "mse": metrics.squared_error(truth_rgb, rgb),
        "delta_e2000": metrics.ciede2000(truth_lab, rgb_to_lab(rgb)),
        "colourfulness": metrics.colourfulness(rgb),
    }


def _summary(scores: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """Means over the images; PSNR of the mean squared error, as the metrics table has it."""
    mean = {name: float(np.concatenate(values).mean()) for name, values in scores.items()}
    return {
        "mae": mean["mae"],
        "psnr": metrics.psnr(mean["mse"]),
        "delta_e2000": mean["delta_e2000"],
        "colourfulness": mean["colourfulness"],
    }


def hints_curve(
    test_set: dict[str, np.ndarray],
    gan_payload: dict[str, Any] | None,
    l1_payload: dict[str, Any] | None,
    batch_size: int,
    parameters: dict[str, Any],
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The hints curve of the gan, l1, propagation and naive rows at `parameters["counts"]`
    hints (seed `parameters["seed"]`), as a table and as JSON records. A generator trained
    without hint inputs is left out, and the log says so."""
    generators, without_hints = hint_generators(gan_payload, l1_payload)
    for row in without_hints:
        logger.info(
            "hints curve: %s is left out: its generator was trained without hint inputs (an "
            "older payload); retrain it with the current training pipeline to put it on the "
            "curve.",
            row,
        )
    table = score_curve(
        test_set,
        colourisers(generators),
        parameters["counts"],
        seed=parameters["seed"],
        max_patch=parameters["max_patch"],
        batch_size=batch_size,
    )
    for row, points in table.groupby("model", sort=False):
        logger.info(
            "hints curve, %s: PSNR %s dB, ΔE2000 %s at %s hints",
            row,
            " / ".join(f"{value:.2f}" for value in points["psnr"]),
            " / ".join(f"{value:.2f}" for value in points["delta_e2000"]),
            " / ".join(str(count) for count in points["hints"]),
        )
    return table, table.to_dict(orient="records")


def plot_hints_curve(curve: pd.DataFrame, metrics_table: pd.DataFrame) -> go.Figure:
    """Four panels against the number of hints, a line per row, the counts evenly spaced as
    in Zhang et al. 2017's figure; dashed, the metrics table's gray row or the truth."""
    figure = make_subplots(
        rows=2, cols=2, subplot_titles=[CURVE_TITLES[name] for name in CURVE_METRICS]
    )
    references = metrics_table.set_index("model")
    for index, name in enumerate(CURVE_METRICS):
        row, col = (place + 1 for place in divmod(index, 2))
        for model, points in curve.groupby("model", sort=False):
            figure.add_scatter(
                x=points["hints"], y=points[name], mode="lines+markers", name=row_title(model),
                legendgroup=model, line_color=CURVE_COLOURS[model], showlegend=index == 0,
                row=row, col=col,
            )  # fmt: skip
        reference = CURVE_REFERENCES[name]
        value = (
            references[REFERENCES[name]].iloc[0]
            if reference == TRUTH
            else references.loc[GRAY, name]
        )
        reference_line(figure, value, row, col, reference)
    figure.update_xaxes(type="category", title_text="hints")
    figure.update_layout(title="The hints curve on the test split", height=700)
    return figure


def plot_hint_samples(
    test_set: dict[str, np.ndarray], gan_payload: dict[str, Any] | None, parameters: dict[str, Any]
) -> Figure:
    """Gray | hints | the curve's rows (GAN, GAN + propagation, propagation alone, naive) |
    truth at `sample_hints` hints on `sample_images` test
    images spread evenly over the split (fixed, so runs compare). The hints column is the gray
    image with each hinted pixel in its hint's colour. Without a generator that takes hints
    the GAN column is left out (the curve's log says why)."""
    count = len(test_set["labels"])
    picked = np.linspace(0, count - 1, min(count, parameters["sample_images"])).astype(int)
    lightness, ab = test_set["L"][picked], test_set["ab"][picked]
    hints = evaluation_hints(
        ab, parameters["sample_hints"], parameters["seed"], parameters["max_patch"]
    )
    gray = gray_rgb(lightness)
    hinted = hints[:, 2, ..., None] > 0
    columns = {
        GRAY: gray,
        "hints": np.where(hinted, model_arrays_to_rgb(lightness, hints[:, :2]), gray),
        **{
            row_title(row): model_arrays_to_rgb(lightness, colourise(lightness, hints))
            for row, colourise in colourisers(hint_generators(gan_payload, None)[0]).items()
        },
        TRUTH: model_arrays_to_rgb(lightness, ab),
    }
    names = test_set["class_names"]
    picks = [(str(names[test_set["labels"][index]]), row) for row, index in enumerate(picked)]
    figure = image_grid(columns, picks)
    figure.suptitle(f"{parameters['sample_hints']} hints from the truth")
    return figure
