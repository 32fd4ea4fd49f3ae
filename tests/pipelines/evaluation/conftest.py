"""A tiny colour test split and tiny models for the evaluation node tests."""

import numpy as np
import pytest
import torch

from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.pipelines.evaluation.classifier import Classifier, classifier_payload


@pytest.fixture
def test_set() -> dict[str, np.ndarray]:
    """12 smooth 32×32 colour images of 3 classes, in the model-input format."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, size=(12, 4, 4, 3), dtype=np.uint8)
    lightness, ab = rgb_to_model_arrays(coarse.repeat(8, axis=1).repeat(8, axis=2))
    return {
        "L": lightness,
        "ab": ab,
        "labels": np.array([0, 1, 2] * 4, dtype=np.int64),
        "class_names": np.array(["cat", "dog", "ship"]),
    }


@pytest.fixture
def classifier() -> dict:
    torch.manual_seed(0)
    return classifier_payload(Classifier(width=4, classes=3).eval())
