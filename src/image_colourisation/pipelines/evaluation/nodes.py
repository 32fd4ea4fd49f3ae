"""Evaluation: colour the test split with every model, score it, and turn the scores into reports.

Rows are the models compared on the same test images: `gan`, `l1` (the L1-only baseline, when
one was trained) and `gray` (ab = 0). `truth` (the original colour images) is scored only where a
reference makes sense: its colourfulness and the classifier's accuracy on it.
"""

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from image_colourisation import metrics
from image_colourisation.classifier import (
    classifier_from_payload,
    classifier_payload,
    lab_images,
    predict,
    train_classifier,
)
from image_colourisation.colour import (
    denormalise_l,
    lab_to_rgb,
    model_arrays_to_rgb,
    normalise_ab,
    normalise_l,
    rgb_to_lab,
    to_uint8,
)
from image_colourisation.models import generator_from_payload

logger = logging.getLogger(__name__)

TRUTH = "truth"
GRAY = "gray"
MODEL_ROWS = ("gan", "l1")
# Reported per row; lower is better for the first and the last two, higher for the rest.
METRICS = (
    "mae",
    "psnr",
    "ssim",
    "auc",
    "accuracy_2pct",
    "semantic_accuracy",
    "delta_e2000",
    "colourfulness",
    "delta_colourfulness",
)


def train_semantic_classifier(
    train_set: dict[str, np.ndarray], parameters: dict[str, Any]
) -> dict[str, Any]:
    """Train the small CIFAR-10 classifier on the colour training images (normalised Lab)."""
    classifier = train_classifier(
        lab_images(train_set["L"], train_set["ab"]),
        train_set["labels"],
        classes=len(train_set["class_names"]),
        **parameters,
    )
    return classifier_payload(classifier)


def gray_rgb(lightness: np.ndarray) -> np.ndarray:
    """The gray baseline as uint8 RGB (N, H, W, 3): ab = 0 rendered, with R = G = B exactly.

    `colour.lab_to_rgb` renders ab = 0 neutral up to float32 rounding, which still tips about
    one pixel in 10^5 to another uint8 level in one channel; averaging the channels keeps the
    baseline exactly gray (colourfulness 0).
    """
    lab = np.zeros((*lightness.shape[:1], *lightness.shape[2:], 3), dtype=np.float32)
    lab[..., 0] = denormalise_l(lightness[:, 0])
    gray = to_uint8(lab_to_rgb(lab).mean(axis=-1, keepdims=True))
    return np.repeat(gray, 3, axis=-1)


def colourise_test_set(
    test_set: dict[str, np.ndarray],
    gan_payload: dict[str, Any] | None,
    l1_payload: dict[str, Any] | None,
    batch_size: int,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Render every row's test images as uint8 RGB, in batches, generators under no_grad.

    Returns the images per row (`truth`, `gan`, `l1` when given, `gray`) and, per scored row,
    the source of its model. Every metric is then computed on these rendered images: the
    pictures a user would see, out-of-gamut colours clipped.
    """
    payloads = {"gan": gan_payload, "l1": l1_payload}
    generators = {  # channels-last (NHWC): faster convolutions on CPU, as in training
        row: generator_from_payload(payload).to(memory_format=torch.channels_last)
        for row, payload in payloads.items()
        if payload is not None
    }
    if not generators:
        raise ValueError(
            "No generator to evaluate: train one with `kedro run --pipeline training`."
        )
    sources = {
        row: payloads[row].get("source", f"generator_{row} from this run") for row in generators
    }
    sources[GRAY] = "ab = 0"

    lightness, ab = test_set["L"], test_set["ab"]
    shape = (len(lightness), *lightness.shape[2:], 3)
    images = {row: np.empty(shape, dtype=np.uint8) for row in (TRUTH, *generators, GRAY)}
    with torch.no_grad(), tqdm(total=len(lightness), desc="colourising", unit="image") as bar:
        for start in range(0, len(lightness), batch_size):
            rows = slice(start, start + batch_size)
            batch = lightness[rows]
            images[TRUTH][rows] = model_arrays_to_rgb(batch, ab[rows])
            images[GRAY][rows] = gray_rgb(batch)
            for row, generator in generators.items():
                inputs = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
                predicted = generator(inputs).numpy()
                images[row][rows] = model_arrays_to_rgb(batch, predicted)
            bar.update(len(batch))
    return images, sources


def _classifier_input(lab: np.ndarray) -> np.ndarray:
    planar = lab.transpose(0, 3, 1, 2)
    return lab_images(normalise_l(planar[:, :1]), normalise_ab(planar[:, 1:]))


def score_colourisations(
    colourisations: dict[str, np.ndarray],
    test_set: dict[str, np.ndarray],
    semantic_classifier: dict[str, Any],
    batch_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-image scores of every row against the truth, and the classifier's hit per image.

    Per image, so that the same arrays give the dataset means and the per-class breakdown.
    """
    classifier = classifier_from_payload(semantic_classifier)
    truth = colourisations[TRUTH]
    labels = test_set["labels"]
    parts: dict[str, dict[str, list[np.ndarray]]] = {row: {} for row in colourisations}

    def add(row: str, name: str, values: np.ndarray) -> None:
        parts[row].setdefault(name, []).append(values)

    with tqdm(total=len(truth), desc="scoring", unit="image") as bar:
        for start in range(0, len(truth), batch_size):
            rows = slice(start, start + batch_size)
            truth_rgb = truth[rows]
            truth_lab = rgb_to_lab(truth_rgb)
            for row, images in colourisations.items():
                rgb = images[rows]
                lab = truth_lab if row == TRUTH else rgb_to_lab(rgb)
                add(row, "colourfulness", metrics.colourfulness(rgb))
                hits = predict(classifier, _classifier_input(lab)) == labels[rows]
                add(row, "semantic_hit", hits.astype(np.float64))
                if row == TRUTH:
                    continue
                add(row, "mae", metrics.absolute_error(truth_rgb, rgb))
                add(row, "mse", metrics.squared_error(truth_rgb, rgb))
                add(row, "ssim", metrics.ssim(truth_rgb, rgb))
                add(row, "delta_e2000", metrics.ciede2000(truth_lab, lab))
                add(row, "auc", metrics.ab_auc(truth_lab, lab))
                add(row, "accuracy_2pct", metrics.accuracy(truth_lab, lab))
            bar.update(len(truth_rgb))
    return {
        row: {name: np.concatenate(values) for name, values in scores.items()}
        for row, scores in parts.items()
    }


def _summary(
    scores: dict[str, np.ndarray], truth: dict[str, np.ndarray], mask: np.ndarray
) -> dict[str, float]:
    """Dataset-level metrics of one row over the images in `mask`."""
    colourfulness = scores["colourfulness"][mask].mean()
    truth_colourfulness = truth["colourfulness"][mask].mean()
    return {
        "images": int(mask.sum()),
        "mae": scores["mae"][mask].mean(),
        "psnr": metrics.psnr(scores["mse"][mask].mean()),
        "ssim": scores["ssim"][mask].mean(),
        "delta_e2000": scores["delta_e2000"][mask].mean(),
        "auc": scores["auc"][mask].mean(),
        "accuracy_2pct": scores["accuracy_2pct"][mask].mean(),
        "colourfulness": colourfulness,
        "colourfulness_truth": truth_colourfulness,
        "delta_colourfulness": colourfulness - truth_colourfulness,
        "semantic_accuracy": scores["semantic_hit"][mask].mean(),
        "semantic_accuracy_truth": truth["semantic_hit"][mask].mean(),
    }


def summarise_scores(
    image_scores: dict[str, dict[str, np.ndarray]],
    sources: dict[str, str],
    test_set: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame]:
    """The metrics table (one row per model), the same as JSON records, and per-class rows."""
    rows = [row for row in (*MODEL_ROWS, GRAY) if row in image_scores]
    truth = image_scores[TRUTH]
    everything = np.ones(len(test_set["labels"]), dtype=bool)
    table = pd.DataFrame(
        [{"model": row, "source": sources[row], **_summary(image_scores[row], truth, everything)}
         for row in rows]
    )  # fmt: skip
    per_class = pd.DataFrame(
        [
            {"model": row, "class": str(name), **_summary(image_scores[row], truth, mask)}
            for label, name in enumerate(test_set["class_names"])
            if (mask := test_set["labels"] == label).any()
            for row in rows
        ]
    )
    for row in table.itertuples():
        logger.info(
            "%s: MAE %.2f, PSNR %.2f dB, SSIM %.4f, ΔE2000 %.2f, AuC %.4f, acc@2%% %.4f, "
            "colourfulness %.1f (truth %.1f), semantic accuracy %.4f (truth %.4f)",
            row.model, row.mae, row.psnr, row.ssim, row.delta_e2000, row.auc, row.accuracy_2pct,
            row.colourfulness, row.colourfulness_truth, row.semantic_accuracy,
            row.semantic_accuracy_truth,
        )  # fmt: skip
    return table, table.to_dict(orient="records"), per_class


def mlflow_metrics(metrics_table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The metrics table as kedro-mlflow metrics `<model>.<metric>`, plus the truth references
    `truth.colourfulness` and `truth.semantic_accuracy` (the catalog adds an `evaluation.` prefix)."""
    logged = {
        f"{row['model']}.{name}": {"value": float(row[name]), "step": 0}
        for row in metrics_table.to_dict(orient="records")
        for name in METRICS
    }
    first = metrics_table.iloc[0]
    for name in ("colourfulness", "semantic_accuracy"):
        logged[f"{TRUTH}.{name}"] = {"value": float(first[f"{name}_truth"]), "step": 0}
    return logged
