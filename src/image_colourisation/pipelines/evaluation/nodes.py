"""Evaluation: colour the test split with every model, score it, and turn the scores into reports.

Rows are the models compared on the same test images: `gan`, `l1` (the L1-only baseline, when
one was trained) and `gray` (ab = 0). `truth` (the original colour images) is scored only where a
reference makes sense: its colourfulness, the classifier's accuracy on it, and the Fréchet
distance between two random halves of it (the floor of `fd_classifier`).

The nodes take any split in the model-input format (a dict with `L`, `ab`, `labels` and
`class_names`), not only the test split.
"""

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import (
    model_arrays_to_rgb,
    rgb_to_lab,
)
from image_colourisation.models.networks import predict_ab
from image_colourisation.models.payloads import generator_from_payload
from image_colourisation.pipelines.evaluation.classifier import (
    classifier_from_payload,
    classifier_payload,
    classify_features,
    features,
    lab_images,
    train_classifier,
)

from .helpers import GRAY, NHWC, TRUTH, classifier_input, gray_rgb

logger = logging.getLogger(__name__)

MODEL_ROWS = ("gan", "l1")
# Reported per row. Higher is better for psnr, ssim, auc, accuracy_2pct and semantic_accuracy;
# lower for mae, delta_e2000 and fd_classifier; colourfulness is best close to the truth's
# (delta_colourfulness close to 0).
METRICS = (
    "mae",
    "psnr",
    "ssim",
    "auc",
    "accuracy_2pct",
    "semantic_accuracy",
    "semantic_recovery",
    "delta_e2000",
    "colourfulness",
    "delta_colourfulness",
    "fd_classifier",
    "critic_accuracy",
    "mse_ratio_l1",
    "fd_ratio_floor",
)
# semantic_recovery: the share of colour's class information a row restores (gray 0, truth 1),
# with a paired bootstrap 95 % interval (semantic_recovery_low/high). critic_accuracy: a
# two-sample classifier test (critic.py; 0.5 = indistinguishable from the truth). mse_ratio_l1
# and fd_ratio_floor: the row's place on the perception-distortion plane (Blau & Michaeli
# 2018): its MSE over the L1 baseline's, its FD over the floor.
# The references logged as `truth.<name>`, from these columns of the metrics table.
TRUTH_REFERENCES = {
    "colourfulness": "colourfulness_truth",
    "semantic_accuracy": "semantic_accuracy_truth",
    "fd_classifier_floor": "fd_classifier_floor",
}
# Seeds the random split of the true images into the two halves that give the FD floor.
FD_FLOOR_SEED = 0
BOOTSTRAP_DRAWS, BOOTSTRAP_SEED = 1000, 0
# Bump when `train_classifier` changes what it trains from the same data and parameters, so
# that classifiers saved by the older code are retrained rather than reused.
CLASSIFIER_RECIPE = 2


def classifier_training_record(
    train_set: dict[str, np.ndarray], parameters: dict[str, Any]
) -> dict[str, Any]:
    """What a semantic classifier was trained from: a SHA-256 of the training arrays (`L`,
    `ab`, `labels`, `class_names`: dtype, shape and bytes), their number of images, the
    parameters and the training recipe's version. Equal records mean the same classifier."""
    digest = hashlib.sha256()
    for name in ("L", "ab", "labels", "class_names"):
        array = np.ascontiguousarray(train_set[name])
        digest.update(f"{name} {array.dtype.str} {array.shape};".encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return {
        "recipe": CLASSIFIER_RECIPE,
        "data": digest.hexdigest(),
        "images": len(train_set["labels"]),
        "parameters": json.loads(json.dumps(dict(parameters), sort_keys=True)),
    }


def _why_retrain(previous: dict[str, Any] | None, record: dict[str, Any]) -> str | None:
    """Why `previous` cannot stand for a classifier trained as `record` says; None if it can."""
    if previous is None:
        return "no classifier was saved before (or the saved file could not be read)"
    saved = previous.get("training")
    if not isinstance(saved, dict):
        return "the saved classifier does not record what it was trained on"
    if saved.get("recipe") != record["recipe"]:
        return f"the training code changed (recipe {saved.get('recipe')} -> {record['recipe']})"
    if saved.get("data") != record["data"]:
        return (
            f"the training data changed ({saved.get('images')} images, SHA-256 "
            f"{str(saved.get('data'))[:12]}... -> {record['images']} images, "
            f"{record['data'][:12]}...)"
        )
    old, new = saved.get("parameters") or {}, record["parameters"]
    changed = [
        f"{name} {old.get(name)} -> {new.get(name)}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
    return f"its parameters changed ({', '.join(changed)})" if changed else None


def train_semantic_classifier(
    train_set: dict[str, np.ndarray],
    parameters: dict[str, Any],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The small CIFAR-10 classifier, trained on the colour training images (normalised Lab),
    or `previous` (the classifier saved by an earlier run) unchanged when it was trained on
    the same data with the same parameters.

    The payload records what it was trained from (`classifier_training_record`) under
    `training`; the catalog hands the saved one back as `previous`, None when there is none
    or it cannot be read. The log says which happened, and why a classifier is retrained.
    """
    record = classifier_training_record(train_set, parameters)
    reason = _why_retrain(previous, record)
    if reason is None:
        logger.info(
            "Reusing the semantic classifier trained on the same %d training images (SHA-256 "
            "%s...) with the same parameters %s.",
            record["images"], record["data"][:12], record["parameters"],
        )  # fmt: skip
        return previous
    logger.info(
        "Training the semantic classifier on %d training images because %s.",
        record["images"], reason,
    )  # fmt: skip
    classifier = train_classifier(
        lab_images(train_set["L"], train_set["ab"]),
        train_set["labels"],
        classes=len(train_set["class_names"]),
        **parameters,
    )
    return {**classifier_payload(classifier), "training": record}


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
    generators = {
        row: generator_from_payload(payload).to(memory_format=NHWC)
        for row, payload in payloads.items()
        if payload is not None
    }
    if not generators:
        raise ValueError(
            "No generator to evaluate: train one with `kedro run --pipelines training`."
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
                predicted = predict_ab(generator, torch.from_numpy(batch), len(batch), NHWC)
                images[row][rows] = model_arrays_to_rgb(batch, predicted.numpy())
            bar.update(len(batch))
    return images, sources


def score_colourisations(
    colourisations: dict[str, np.ndarray],
    test_set: dict[str, np.ndarray],
    semantic_classifier: dict[str, Any],
    batch_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-image scores of every row against the truth, the classifier's hit per image and its
    pooled features per image (`features`, (N, D) float32, for the Fréchet distance).

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
                embedded = features(classifier, classifier_input(lab))
                add(row, "features", embedded)
                hits = classify_features(classifier, embedded) == labels[rows]
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


def fd_floor(truth_features: np.ndarray, seed: int = FD_FLOOR_SEED) -> float:
    """The Fréchet distance between two halves of the true images' features, split at random
    (seeded): what two samples of real photographs score, the noise floor of `fd_classifier`.

    Each half has half the images, so its estimate carries about twice the small-sample bias
    of a row's distance over all of them: read it as a reference, not as a bound.
    """
    order = np.random.default_rng(seed).permutation(len(truth_features))
    half = len(order) // 2
    return metrics.frechet_distance(truth_features[order[:half]], truth_features[order[half:]])


def summarise_scores(
    image_scores: dict[str, dict[str, np.ndarray]],
    sources: dict[str, str],
    test_set: dict[str, np.ndarray],
    critic_scores: dict[str, dict[str, Any]] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame]:
    """The metrics table (one row per model), the same as JSON records, and per-class rows.

    The table's `fd_classifier` is the Fréchet distance between the classifier features of the
    true images and of the row's (lower is better), `fd_classifier_floor` that of two halves of
    the true images. The per-class rows leave the FD, the recovery's interval and the critic
    out: about 100 images per class are too few for a covariance of 4·width features.
    `critic_scores` (`critic.critic_test`) may be left out (a quick study): critic_accuracy
    is then NaN.
    """
    rows = [row for row in (*MODEL_ROWS, GRAY) if row in image_scores]
    truth = image_scores[TRUTH]
    everything = np.ones(len(test_set["labels"]), dtype=bool)
    floor = fd_floor(truth["features"])
    l1_mse = image_scores["l1"]["mse"].mean() if "l1" in image_scores else float("nan")

    def frontier(row: str) -> dict[str, float]:
        fd = metrics.frechet_distance(truth["features"], image_scores[row]["features"])
        hits = [image_scores[name]["semantic_hit"] for name in (row, GRAY, TRUTH)]
        low, high = metrics.paired_bootstrap(
            metrics.semantic_recovery, hits, BOOTSTRAP_DRAWS, BOOTSTRAP_SEED
        )
        return {
            "fd_classifier": fd,
            "fd_classifier_floor": floor,
            "semantic_recovery": metrics.semantic_recovery(*hits),
            "semantic_recovery_low": low,
            "semantic_recovery_high": high,
            "critic_accuracy": (critic_scores or {}).get(row, {}).get("accuracy", float("nan")),
            "mse_ratio_l1": image_scores[row]["mse"].mean() / l1_mse,
            "fd_ratio_floor": fd / floor,
        }

    table = pd.DataFrame(
        [
            {
                "model": row,
                "source": sources[row],
                **_summary(image_scores[row], truth, everything),
                **frontier(row),
            }
            for row in rows
        ]
    )
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
            "colourfulness %.1f (truth %.1f), semantic accuracy %.4f (truth %.4f), semantic "
            "recovery %.2f [%.2f, %.2f], FD %.3f (floor %.3f), critic accuracy %.3f, MSE / L1's "
            "%.2f",
            row.model, row.mae, row.psnr, row.ssim, row.delta_e2000, row.auc, row.accuracy_2pct,
            row.colourfulness, row.colourfulness_truth, row.semantic_accuracy,
            row.semantic_accuracy_truth, row.semantic_recovery, row.semantic_recovery_low,
            row.semantic_recovery_high, row.fd_classifier, row.fd_classifier_floor,
            row.critic_accuracy, row.mse_ratio_l1,
        )  # fmt: skip
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return table, records, per_class  # records: strict JSON, a figure not measured is null


def _curve_points(hints_curve: pd.DataFrame | None) -> Iterator[tuple[str, int, str, float]]:
    """(model, hints, metric, value) for every figure of the hints curve; none without one."""
    if hints_curve is None:
        return
    names = hints_curve.columns.drop(["model", "hints"])
    for point in hints_curve.to_dict(orient="records"):
        for name in names:
            yield point["model"], int(point["hints"]), name, float(point[name])


def mlflow_metrics(
    metrics_table: pd.DataFrame, hints_curve: pd.DataFrame | None = None
) -> dict[str, dict[str, float]]:
    """The metrics table as kedro-mlflow metrics `<model>.<metric>`, plus the truth references
    `truth.colourfulness`, `truth.semantic_accuracy` and `truth.fd_classifier_floor`, and the
    hints curve's points as `hints<k>.<model>.<metric>` (the catalog adds an `evaluation.`
    prefix)."""
    logged = {
        f"{row['model']}.{name}": {"value": float(row[name]), "step": 0}
        for row in metrics_table.to_dict(orient="records")
        for name in METRICS
    }
    first = metrics_table.iloc[0]
    for name, column in TRUTH_REFERENCES.items():
        logged[f"{TRUTH}.{name}"] = {"value": float(first[column]), "step": 0}
    for model, hints, name, value in _curve_points(hints_curve):
        logged[f"hints{hints}.{model}.{name}"] = {"value": value, "step": 0}
    return logged


def model_run_metrics(
    metrics_table: pd.DataFrame, hints_curve: pd.DataFrame | None = None
) -> dict[str, dict[str, Any]]:
    """Each row's figures for its own MLflow run, named `test_<metric>` (the split they were
    measured on), with the truth's references (`test_colourfulness_truth`, ...) beside them:
    ticking the gan, l1 and gray runs in MLflow's Compare puts them side by side. The gan and
    l1 runs also get their hints curve, `test_hints<k>_<metric>` (e.g. test_hints10_psnr)."""
    names = (*METRICS, *TRUTH_REFERENCES.values())
    figures = {
        row["model"]: {
            "source": row["source"],
            "metrics": {f"test_{name}": float(row[name]) for name in names},
        }
        for row in metrics_table.to_dict(orient="records")
    }
    for model, hints, name, value in _curve_points(hints_curve):
        if model in figures:  # the naive baseline has no run of its own
            figures[model]["metrics"][f"test_hints{hints}_{name}"] = value
    return figures
