"""Photo-folder labels (the ImageFolder convention): which layouts label the training photos,
what a bad layout is told, and a short training that uses the labels."""

import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro_datasets.pandas import CSVDataset

from image_colourisation.datasets.photo_training import (
    PhotoSourceDataset,
    WorkingImageCacheDataset,
)
from image_colourisation.pipelines.photos.ingestion import class_labels, index_photos
from image_colourisation.pipelines.photos.preprocessing import (
    training_crops,
    validation_set,
    working_size_images,
)
from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from image_colourisation.pipelines.training.nodes import train_gan, train_l1_baseline
from tests.imagenet_weights import shared_imagenet_weights
from tests.photo_folders import write_class_folders
from tests.project_copy import PROJECT_ROOT


def index_of(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """An index of (path, label, split) rows, as `index_photos` makes them."""
    return pd.DataFrame(rows, columns=["path", "label", "split"])


def photos(label: str, *splits: str) -> list[tuple[str, str, str]]:
    folder = "" if label == "(top folder)" else f"{label}/"
    return [(f"{folder}{label}{n}.png", label, split) for n, split in enumerate(splits)]


@pytest.mark.parametrize(
    ("rows", "names", "problem"),
    [
        (photos("cats", *["train"] * 2) + photos("dogs", "train", "train", "test"), ("cats", "dogs"), ""),
        (photos("(top folder)", "train", "train"), (), "not in class sub-folders"),
        (photos("cats", "train", "train"), (), "all photos are in one sub-folder (cats)"),
        (
            photos("cats", "train", "train") + photos("dogs", "train", "train")
            + photos("(top folder)", "train"),
            (),
            "1 photo(s) lie directly in the folder beside the class sub-folders "
            "((top folder)0.png): move each into its class sub-folder, or out of the folder",
        ),
        (
            photos("cats", "train", "train") + photos("dogs", "train", "test", "validation"),
            (),
            "fewer than 2 training photos: dogs (1 of its 3): add photos to them, or merge",
        ),
    ],
    ids=["classes", "no-sub-folders", "one-sub-folder", "mixed", "class-too-small"],
)  # fmt: skip
def test_only_the_image_folder_layout_labels_the_photos(
    rows: list[tuple[str, str, str]], names: tuple[str, ...], problem: str
) -> None:
    found, why_not = class_labels(index_of(*rows))
    assert found == names
    assert (problem in why_not) if problem else why_not == ""


def test_a_mixed_folder_is_reported_and_the_training_says_why_the_options_are_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_class_folders(tmp_path / "pictures", {"red": 6, "blue": 6}, loose=2)
    with caplog.at_level(logging.INFO):
        index, report, _ = index_photos(PhotoSourceDataset(str(folder)).load(), 32, 0.1, 0.1, 0)
    assert report["classes"]["names"] == []
    assert "lie directly in the folder" in report["classes"]["why_not"]
    assert "sub-folders cannot be class labels" in caplog.text
    crops = training_crops(
        _cache(tmp_path, index, folder), index, 32, crops_per_photo=1, flip=False, workers=0
    )
    assert crops.class_names == () and crops.labels == ()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        train_l1_baseline(
            crops, _validation(tmp_path, index), shared_imagenet_weights, _params(tmp_path)
        )
    assert "class_weight and class_conditional are off for this run: 2 photo(s) lie" in caplog.text


def test_class_sub_folders_label_the_crops_and_train_the_class_options(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_class_folders(tmp_path / "pictures", {"red": 8, "blue": 8})
    index, report, _ = index_photos(PhotoSourceDataset(str(folder)).load(), 32, 0.1, 0.1, 0)
    assert report["classes"] == {"names": ["blue", "red"], "why_not": ""}
    crops = training_crops(
        _cache(tmp_path, index, folder), index, 32, crops_per_photo=2, flip=False, workers=0
    )
    assert crops.class_names == ("blue", "red")
    assert [crops.class_names[label] for label in crops.labels] == [
        path.split("/")[0] for path in sorted(index.loc[index["split"] == "train", "path"])
    ]
    validation = _validation(tmp_path, index)
    params = _params(tmp_path)
    with caplog.at_level(logging.INFO):
        l1 = train_l1_baseline(crops, validation, shared_imagenet_weights, params)
        gan = train_gan(crops, validation, l1, shared_imagenet_weights, params)
    assert "are off" not in caplog.text
    assert l1["architecture"]["classes"] == gan["architecture"]["classes"] == 2


def _cache(tmp_path: Path, index: pd.DataFrame, folder: Path) -> dict[str, Path]:
    cache = WorkingImageCacheDataset(str(tmp_path / "cache"))
    cache.save(working_size_images(index, PhotoSourceDataset(str(folder)).load(), 32, 1.0))
    return cache.load()


def _validation(tmp_path: Path, index: pd.DataFrame) -> dict:
    return validation_set(WorkingImageCacheDataset(str(tmp_path / "cache")).load(), index, 32, 8)


def _params(tmp_path: Path) -> TrainingParams:
    return project_training_params(PROJECT_ROOT,
        epochs=1, gan_epochs=1, batch_size=4, width=4, discriminator_width=4, device="cpu",
        checkpoint_dir=str(tmp_path / "checkpoints"), class_weight=0.5, class_conditional=True,
    )  # fmt: skip


def test_a_class_folder_named_na_is_a_name_not_a_missing_label(tmp_path: Path) -> None:
    """The index CSV is read back through the catalog's own entry: pandas would read `NA`
    (and `None`, `null`) as a missing value, and `1` as a number."""
    entry = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog_photos.yml").read_text())
    entry = {**entry["photos.index"], "filepath": str(tmp_path / "index.csv")}
    dataset = CSVDataset(**{key: entry.get(key) for key in ("filepath", "load_args", "save_args")})
    folder = write_class_folders(tmp_path / "pictures", {"NA": 6, "None": 6, "1": 6})
    index, _, _ = index_photos(PhotoSourceDataset(str(folder)).load(), 32, 0.1, 0.1, 0)
    dataset.save(index)
    assert class_labels(dataset.load()) == (("1", "NA", "None"), "")
