"""The semantic-accuracy classifier: shapes, learning a separable task, payload round trip."""

import numpy as np
import pytest
import torch

from image_colourisation.classifier import (
    Classifier,
    classifier_from_payload,
    classifier_payload,
    lab_images,
    predict,
    train_classifier,
)


def reddish_or_bluish(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Lab images whose class is the sign of a*: separable by colour alone."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=count)
    lightness = rng.uniform(-1, 1, size=(count, 1, 16, 16)).astype(np.float32)
    ab = rng.normal(0, 0.05, size=(count, 2, 16, 16)).astype(np.float32)
    ab[:, 0] += np.where(labels == 1, 0.3, -0.3)[:, None, None]
    return lab_images(lightness, ab), labels


def test_the_classifier_maps_lab_images_to_class_logits() -> None:
    logits = Classifier(width=4, classes=10)(torch.zeros(3, 3, 32, 32))
    assert logits.shape == (3, 10)


def test_training_learns_a_task_colour_decides() -> None:
    images, labels = reddish_or_bluish(128)
    classifier = train_classifier(
        images, labels, classes=2, width=4, epochs=3, batch_size=16, learning_rate=1e-2, seed=0
    )
    held_out, truth = reddish_or_bluish(64, seed=1)
    assert (predict(classifier, held_out) == truth).mean() >= 0.95


def test_the_payload_round_trips_to_the_same_predictions() -> None:
    images, labels = reddish_or_bluish(32)
    classifier = train_classifier(
        images, labels, classes=2, width=4, epochs=1, batch_size=16, learning_rate=1e-2, seed=0
    )
    rebuilt = classifier_from_payload(classifier_payload(classifier))
    np.testing.assert_array_equal(predict(rebuilt, images), predict(classifier, images))
    assert predict(rebuilt, images[:0]).shape == (0,)


def test_training_needs_one_label_per_image() -> None:
    images, labels = reddish_or_bluish(8)
    with pytest.raises(ValueError, match="one label per image"):
        train_classifier(
            images,
            labels[:4],
            classes=2,
            width=4,
            epochs=1,
            batch_size=4,
            learning_rate=1e-2,
            seed=0,
        )
