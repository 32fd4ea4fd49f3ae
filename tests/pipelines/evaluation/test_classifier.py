"""The semantic-accuracy classifier: shapes, augmentation, learning a separable task, features,
payload round trip, and payloads that do not fit their architecture."""

import numpy as np
import pytest
import torch

from image_colourisation.models.payloads import ModelFileError
from image_colourisation.pipelines.evaluation.classifier import (
    Classifier,
    augment,
    classifier_from_payload,
    classifier_payload,
    classify_features,
    features,
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


def test_training_with_random_crops_learns_it_too() -> None:
    images, labels = reddish_or_bluish(128)
    classifier = train_classifier(
        images, labels, classes=2, width=4, epochs=3, batch_size=16, learning_rate=1e-2, seed=0,
        crop_padding=4, weight_decay=1e-4,
    )  # fmt: skip
    held_out, truth = reddish_or_bluish(64, seed=1)
    assert (predict(classifier, held_out) == truth).mean() >= 0.95


def test_augment_flips_and_crops_windows_of_the_reflect_padded_image() -> None:
    """Every output is a (possibly mirrored) 6×6 window of its own image padded by 2."""
    torch.manual_seed(0)
    images = torch.arange(40 * 2 * 6 * 6, dtype=torch.float32).reshape(40, 2, 6, 6)
    augmented = augment(images, crop_padding=2)
    assert augmented.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="reflect")

    def window(index: int, top: int, left: int, mirror: bool) -> torch.Tensor:
        crop = padded[index, :, top : top + 6, left : left + 6]
        return crop.flip(-1) if mirror else crop

    offsets, flipped = set(), 0
    for index, image in enumerate(augmented):
        windows = {
            (top, left, mirror)
            for top in range(5)
            for left in range(5)
            for mirror in (False, True)
            if torch.equal(image, window(index, top, left, mirror))
        }
        assert windows, f"image {index} is no window of its padded original"
        offsets |= {window[:2] for window in windows}
        flipped += any(window[2] for window in windows)
    assert len(offsets) > 5 and 0 < flipped < 40  # random, not one fixed crop or flip
    unflipped = augment(images, crop_padding=0)
    assert all(
        torch.equal(a, b) or torch.equal(a, b.flip(-1))
        for a, b in zip(unflipped, images, strict=True)
    )


def test_features_are_what_the_head_classifies() -> None:
    torch.manual_seed(0)
    classifier = Classifier(width=4, classes=3).eval()
    images, _ = reddish_or_bluish(10)
    embedded = features(classifier, images, batch_size=3)
    assert embedded.shape == (10, 16) and embedded.dtype == np.float32
    with torch.no_grad():
        logits = classifier(torch.from_numpy(images)).numpy()
    np.testing.assert_array_equal(classify_features(classifier, embedded), logits.argmax(axis=1))
    np.testing.assert_array_equal(predict(classifier, images), logits.argmax(axis=1))
    np.testing.assert_allclose(features(classifier, images, batch_size=10), embedded, atol=1e-6)
    assert features(classifier, images[:0]).shape == (0, 16)


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


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"architecture": ["width", 4]}, "architecture record is a list"),
        ({"architecture": {"width": 4, "classes": 10**7}}, "classes is 10000000"),
        ({"architecture": {"width": 4, "classes": 2, "depth": 3}}, r"unknown keys \['depth'\]"),
        ({"architecture": {"width": 8, "classes": 2}}, r"weights do not fit .*features\.0\.weight"),
    ],
)
def test_a_payload_that_does_not_fit_its_architecture_is_refused(change, problem) -> None:
    payload = {**classifier_payload(Classifier(width=4, classes=2)), **change}
    with pytest.raises(ModelFileError, match=problem) as error:
        classifier_from_payload(payload, "data/06_models/semantic_classifier.pt")
    assert str(error.value).startswith(
        "data/06_models/semantic_classifier.pt is not a usable classifier: "
    )
    assert str(error.value).endswith("this project's evaluation pipeline.")
