"""The critic test: can a small CNN tell a row's colourised images from the true ones?

A two-sample classifier test (Lopez-Paz & Oquab 2017): the classifier's architecture with two
classes learns true (1) against colourised (0) on one half of the test split, split at random
(seeded, the same halves for every row), and is scored on the other half. Accuracy 0.5 means
the two cannot be told apart; 1.0 that every image gives itself away (gray ones always do).
It reads realism from pictures, where the FD reads it from the classifier's features.

Training a critic takes a few seconds per row; a row whose images and parameters are
unchanged reuses the previous run's result (`previous`, the catalog's cache).
"""

import hashlib
import json
import logging
from typing import Any

import numpy as np

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.pipelines.evaluation.classifier import predict, train_classifier

from .helpers import TRUTH, classifier_input

logger = logging.getLogger(__name__)

MIN_IMAGES_PER_HALF = 4  # fewer: no test worth its name (a tiny photo folder); NaN then


def critic_test(
    colourisations: dict[str, np.ndarray],
    parameters: dict[str, Any],
    previous: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per row (not the truth): {"accuracy": held-out accuracy of its critic, "record": what it
    was trained on (SHA-256 of the true and the row's images, and the parameters)}."""
    truth = colourisations[TRUTH]
    order = np.random.default_rng(parameters["seed"]).permutation(len(truth))
    halves = order[: len(order) // 2], order[len(order) // 2 :]
    results = {}
    for row, images in colourisations.items():
        if row == TRUTH:
            continue
        record = _record(truth, images, parameters)
        cached = (previous or {}).get(row)
        if isinstance(cached, dict) and cached.get("record") == record:
            logger.info("critic test, %s: reusing the result for the same images", row)
            results[row] = cached
            continue
        accuracy = _held_out_accuracy(truth, images, halves, parameters)
        logger.info(
            "critic test, %s: held-out accuracy %.3f (0.5: indistinguishable)", row, accuracy
        )
        results[row] = {"accuracy": accuracy, "record": record}
    return results


def _held_out_accuracy(
    truth: np.ndarray,
    images: np.ndarray,
    halves: tuple[np.ndarray, np.ndarray],
    parameters: dict[str, Any],
) -> float:
    train, test = halves
    if min(len(train), len(test)) < MIN_IMAGES_PER_HALF:
        logger.warning(
            "critic test: %d test images are too few (at least %d per half); reported as NaN",
            len(truth), 2 * MIN_IMAGES_PER_HALF,
        )  # fmt: skip
        return float("nan")

    def pairs(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs = np.concatenate(
            [classifier_input(rgb_to_lab(part[index])) for part in (truth, images)]
        )
        labels = np.repeat(np.array([1, 0], dtype=np.int64), len(index))
        return inputs, labels

    critic = train_classifier(*pairs(train), classes=2, **parameters)
    inputs, labels = pairs(test)
    return float((predict(critic, inputs) == labels).mean())


def _record(truth: np.ndarray, images: np.ndarray, parameters: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256()
    for array in (truth, images):
        digest.update(f"{array.dtype.str} {array.shape};".encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return {
        "images": digest.hexdigest(),
        "parameters": json.loads(json.dumps(dict(parameters), sort_keys=True)),
    }
