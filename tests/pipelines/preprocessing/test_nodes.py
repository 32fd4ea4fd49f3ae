"""Preprocessing: the split is stratified, deterministic and disjoint; Lab model input is exact."""

import re

import numpy as np
import pytest

from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.pipelines.preprocessing import create_pipeline
from image_colourisation.pipelines.preprocessing.nodes import (
    report_split_counts,
    split_train_validation,
    stratified_validation_mask,
    to_model_input,
)
from tests.cifar_archive import CLASS_NAMES

# Uneven classes: class k has 20 + 7k training images.
TRAIN_LABELS = np.repeat(np.arange(10), [20 + 7 * k for k in range(10)])


def _images_with_ids(count: int) -> np.ndarray:
    """Images whose first pixel spells their row number, so rows can be traced after a split."""
    images = np.random.default_rng(1).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = np.divmod(np.arange(count), 256)
    return images


def _row_ids(images: np.ndarray) -> set[int]:
    return set((images[:, 0, 0, 0].astype(int) * 256 + images[:, 0, 0, 1]).tolist())


def _cifar10_images() -> dict[str, np.ndarray]:
    test_labels = np.arange(40) % 10
    labels = np.concatenate([TRAIN_LABELS, test_labels]).astype(np.int64)
    return {
        "images": _images_with_ids(len(labels)),
        "labels": labels,
        "split": np.array(["train"] * len(TRAIN_LABELS) + ["test"] * len(test_labels)),
        "class_names": np.array(CLASS_NAMES),
    }


def test_mask_is_stratified_by_class() -> None:
    mask = stratified_validation_mask(TRAIN_LABELS, fraction=0.2, seed=3)
    for label in range(10):
        in_class = TRAIN_LABELS == label
        assert mask[in_class].sum() == round(0.2 * in_class.sum())


def test_mask_is_deterministic_per_seed() -> None:
    first = stratified_validation_mask(TRAIN_LABELS, fraction=0.2, seed=3)
    np.testing.assert_array_equal(first, stratified_validation_mask(TRAIN_LABELS, 0.2, 3))
    assert not np.array_equal(first, stratified_validation_mask(TRAIN_LABELS, 0.2, 4))


def test_mask_keeps_one_of_each_class_on_both_sides() -> None:
    labels = np.repeat(np.arange(10), 3)
    for fraction in [0.01, 0.99]:
        mask = stratified_validation_mask(labels, fraction, seed=0)
        for label in range(10):
            assert 1 <= mask[labels == label].sum() <= 2


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan"), "nan", "0.1", True])
def test_a_fraction_outside_zero_one_or_no_number_is_refused_by_name(fraction: object) -> None:
    """`--params preprocessing.validation_fraction=nan` passes the text 'nan'."""
    with pytest.raises(
        ValueError,
        match=r"preprocessing.validation_fraction must be a number strictly between 0 and 1 "
        rf"\(e.g. 0.1\), got {re.escape(repr(fraction))}\.",
    ):
        stratified_validation_mask(TRAIN_LABELS, fraction, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, "42", None])
def test_a_seed_numpy_would_refuse_is_refused_by_name(seed: object) -> None:
    with pytest.raises(
        ValueError,
        match=rf"preprocessing.seed must be a whole number of 0 or more \(e.g. 42\), got {re.escape(repr(seed))}\.",
    ):
        stratified_validation_mask(TRAIN_LABELS, 0.1, seed=seed)


def test_class_with_a_single_image_cannot_be_split() -> None:
    labels = np.array([0, 0, 1, 2, 2])
    with pytest.raises(ValueError, match="Class 1 has 1 training image"):
        stratified_validation_mask(labels, 0.5, seed=0)


def test_split_is_disjoint_covers_train_and_keeps_test() -> None:
    data = _cifar10_images()
    train, validation, test = split_train_validation(data, validation_fraction=0.1, seed=42)

    train_ids, validation_ids, test_ids = (_row_ids(s["images"]) for s in (train, validation, test))
    assert not train_ids & validation_ids
    assert train_ids | validation_ids == set(range(len(TRAIN_LABELS)))
    assert test_ids == set(range(len(TRAIN_LABELS), len(data["labels"])))
    np.testing.assert_array_equal(test["images"], data["images"][data["split"] == "test"])
    for split in (train, validation, test):  # labels travel with their images
        rows = split["images"][:, 0, 0, 0].astype(int) * 256 + split["images"][:, 0, 0, 1]
        np.testing.assert_array_equal(split["labels"], data["labels"][rows])
        assert split["class_names"].tolist() == CLASS_NAMES
    expected_validation = [max(1, round(0.1 * (20 + 7 * k))) for k in range(10)]
    assert np.bincount(validation["labels"], minlength=10).tolist() == expected_validation


def test_to_model_input_matches_colour_over_several_chunks() -> None:
    images = _images_with_ids(2500)  # more than one conversion chunk
    labels = np.arange(2500, dtype=np.int64) % 10
    result = to_model_input(
        {"images": images, "labels": labels, "class_names": np.array(CLASS_NAMES)}
    )
    lightness, ab = rgb_to_model_arrays(images)
    assert result["L"].dtype == result["ab"].dtype == np.float32
    assert result["L"].shape == (2500, 1, 32, 32) and result["ab"].shape == (2500, 2, 32, 32)
    np.testing.assert_array_equal(result["L"], lightness)
    np.testing.assert_array_equal(result["ab"], ab)
    assert result["labels"] is labels and result["class_names"].tolist() == CLASS_NAMES


def test_report_counts_per_class_per_split() -> None:
    train, validation, test = split_train_validation(_cifar10_images(), 0.1, seed=42)
    report = report_split_counts(train, validation, test)
    assert report.columns.tolist() == ["class", "train", "validation", "test"]
    assert report["class"].tolist() == [*CLASS_NAMES, "all"]
    assert report["test"].tolist() == [*[4] * 10, 40]
    assert (report["train"] + report["validation"]).tolist()[:10] == [20 + 7 * k for k in range(10)]
    assert report.iloc[-1].tolist() == ["all", len(train["labels"]), len(validation["labels"]), 40]


def test_pipeline_wiring() -> None:
    pipeline = create_pipeline()
    assert sorted(node.name for node in pipeline.nodes) == [
        "report_split_counts",
        "split_train_validation",
        "test_to_lab",
        "train_to_lab",
        "validation_to_lab",
    ]
    assert pipeline.inputs() == {
        "cifar10_images",
        "params:preprocessing.validation_fraction",
        "params:preprocessing.seed",
    }
    assert pipeline.outputs() == {"train_set", "validation_set", "test_set", "split_class_counts"}
