"""Preprocessing of a folder of photos: working-size copies, training crops, held-out sets.

Training reads the working-size copies through `photo_crops.PhotoCrops` (random crops, Lab on
the fly). Validation and test are small model-input arrays, like CIFAR-10's: the centre square
of each held-out photo resized to `crop_size`, at most `held_out_limit` photos per split.
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.imaging.crops import centre_square, decode_at_working_size
from image_colourisation.imaging.photo_files import open_image
from image_colourisation.pipelines.photos.ingestion import class_labels
from image_colourisation.pipelines.training.photo_crops import PhotoCrops

from .params import check, check_epoch_size

NO_OTHER_FOLDER = "(no other sub-folder)"  # second class name of a folder with one label


def working_size_images(
    index: pd.DataFrame,
    files: dict[str, Callable[[], bytes]],
    crop_size: int,
    working_scale: float,
) -> dict[str, Callable[[], Image.Image]]:
    """Lazy working-size copies (shorter side `working_scale * crop_size`) of the indexed
    photos, named `<split>/<path>`: decoded one at a time while the cache is written."""
    check("crop_size", crop_size)
    check("working_scale", working_scale)
    short_side = round(working_scale * crop_size)
    return {
        f"{row.split}/{row.path}": partial(_working_copy, files[row.path], short_side)
        for row in index.itertuples()
    }


def _working_copy(read: Callable[[], bytes], short_side: int) -> Image.Image:
    return decode_at_working_size(read(), short_side)


def training_crops(
    cache: dict[str, Path],
    index: pd.DataFrame,
    crop_size: int,
    *,
    crops_per_photo: int,
    flip: bool,
    workers: int,
) -> PhotoCrops:
    """The training photos' random crops, as the training loop's data source, labelled by
    their class sub-folders when the folder follows the ImageFolder convention
    (`ingestion.class_labels`; else the crops say why they are not)."""
    for name, value in (
        ("crop_size", crop_size),
        ("crops_per_photo", crops_per_photo),
        ("flip", flip),
        ("workers", workers),
    ):
        check(name, value)
    rows = index[index["split"] == "train"].sort_values("path")
    if rows.empty:
        raise ValueError("No training photos in the photo index: rerun the photos pipeline.")
    check_epoch_size(crops_per_photo, len(rows))
    files = tuple(cache[f"train/{path}"] for path in rows["path"])
    names, why_not = class_labels(index)
    if not names:
        return PhotoCrops(files, crop_size, crops_per_photo, flip, workers, unlabelled=why_not)
    labels = tuple(names.index(label) for label in rows["label"])
    return PhotoCrops(files, crop_size, crops_per_photo, flip, workers, labels, names)


def validation_set(
    cache: dict[str, Path], index: pd.DataFrame, crop_size: int, limit: int
) -> dict[str, np.ndarray]:
    return held_out_set(cache, index, crop_size, limit, "validation")


def test_set(
    cache: dict[str, Path], index: pd.DataFrame, crop_size: int, limit: int
) -> dict[str, np.ndarray]:
    return held_out_set(cache, index, crop_size, limit, "test")


def held_out_set(
    cache: dict[str, Path], index: pd.DataFrame, crop_size: int, limit: int, split: str
) -> dict[str, np.ndarray]:
    """Model input of a held-out split (`L`, `ab`, `labels`, `class_names`): the centre square
    of its first `limit` photos (in path order), resized to `crop_size`. The class names are
    the labels, with NO_OTHER_FOLDER added (no photo has it) when all photos share one."""
    check("crop_size", crop_size)
    check("held_out_limit", limit)
    labels = set(index["label"])
    if len(labels) < 2:  # the evaluation's classifier needs two classes to exist
        labels.add(NO_OTHER_FOLDER)
    class_names = np.array(sorted(labels))
    rows = index[index["split"] == split].sort_values("path").head(limit)
    rgb = np.stack([_centre(cache[f"{split}/{path}"], crop_size) for path in rows["path"]])
    lightness, ab = rgb_to_model_arrays(rgb)
    labels = np.searchsorted(class_names, rows["label"].to_numpy()).astype(np.int64)
    return {"L": lightness, "ab": ab, "labels": labels, "class_names": class_names}


def _centre(path: Path, crop_size: int) -> np.ndarray:
    with open_image(path) as image:
        return centre_square(image.convert("RGB"), crop_size)
