"""Carve a stratified validation split from training, and convert every split to model input."""

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from image_colourisation.core.errors import UserValueError
from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.pipelines.ingestion.nodes import count_per_class

_IMAGES_PER_CHUNK = 1024  # converting in chunks keeps the float temporaries small


def stratified_validation_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Mark `fraction` of each class's rows (at least one, never all) for validation.

    Drawn per class in label order from one seeded generator, so the same labels, fraction
    and seed always give the same mask.
    """
    # --params passes text it cannot parse as text ("nan"), and numpy refuses a negative seed
    # in its own words: both are named here.
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise UserValueError(
            "preprocessing.validation_fraction must be a number strictly between 0 and 1 "
            f"(e.g. 0.1), got {fraction!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserValueError(
            f"preprocessing.seed must be a whole number of 0 or more (e.g. 42), got {seed!r}."
        )
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        if len(rows) < 2:
            raise ValueError(
                f"Class {label} has {len(rows)} training image(s): at least 2 are needed to "
                "carve a validation split that leaves some for training."
            )
        count = min(len(rows) - 1, max(1, round(fraction * len(rows))))
        mask[rng.choice(rows, size=count, replace=False)] = True
    return mask


def split_train_validation(
    cifar10_images: dict[str, np.ndarray], validation_fraction: float, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split the official training rows into train and validation; the test rows stay test.

    Each split keeps the archive's order and holds `images`, `labels` and `class_names`.
    """
    train_rows = np.flatnonzero(cifar10_images["split"] == "train")
    test_rows = np.flatnonzero(cifar10_images["split"] == "test")
    in_validation = stratified_validation_mask(
        cifar10_images["labels"][train_rows], validation_fraction, seed
    )

    def subset(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "images": cifar10_images["images"][rows],
            "labels": cifar10_images["labels"][rows],
            "class_names": cifar10_images["class_names"],
        }

    return subset(train_rows[~in_validation]), subset(train_rows[in_validation]), subset(test_rows)


def to_model_input(split: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """RGB images -> normalised float32 `L` (N, 1, H, W) and `ab` (N, 2, H, W), plus labels."""
    images = split["images"]
    count, height, width, _ = images.shape
    lightness = np.empty((count, 1, height, width), dtype=np.float32)
    ab = np.empty((count, 2, height, width), dtype=np.float32)
    for start in tqdm(range(0, count, _IMAGES_PER_CHUNK), desc="RGB -> Lab", unit="chunk"):
        stop = start + _IMAGES_PER_CHUNK
        lightness[start:stop], ab[start:stop] = rgb_to_model_arrays(images[start:stop])
    return {
        "L": lightness,
        "ab": ab,
        "labels": split["labels"],
        "class_names": split["class_names"],
    }


def report_split_counts(
    train: dict[str, np.ndarray], validation: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Images per class in each split, with an `all` row."""
    return count_per_class(
        {"train": train["labels"], "validation": validation["labels"], "test": test["labels"]},
        train["class_names"],
    )
