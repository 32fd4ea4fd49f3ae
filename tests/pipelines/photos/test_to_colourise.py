"""What the photos pipeline colourises: the held-out test photos, or a folder named for the run."""

import io
import logging
from pathlib import Path

import pandas as pd
import pytest

from image_colourisation.core.errors import UserDatasetError, UserValueError
from image_colourisation.datasets.photo_folder import NamedPhotoFolderDataset
from image_colourisation.pipelines.photos.to_colourise import photos_to_colourise
from tests.photo_folders import photograph


def png(name: str) -> bytes:
    buffer = io.BytesIO()
    photograph(name).save(buffer, format="PNG")
    return buffer.getvalue()


INDEX = pd.DataFrame(
    {"path": ["a/cat.png", "b/coffee.png", "rocket.png"], "split": ["test", "train", "test"]}
)
FOLDER = {"a/cat.png": lambda: png("chelsea"), "b/coffee.png": lambda: png("coffee"),
          "rocket.png": lambda: png("rocket")}  # fmt: skip


def test_by_default_the_held_out_test_photos_are_colourised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert NamedPhotoFolderDataset(folder="").load() is None  # no folder named for the run
    with caplog.at_level(logging.INFO):
        chosen = photos_to_colourise(None, INDEX, FOLDER)
    assert sorted(chosen) == ["a/cat.png", "rocket.png"]
    assert chosen["a/cat.png"]().size == photograph("chelsea").size
    assert "colourising the 2 held-out test photos of the training folder" in caplog.text


def test_a_named_folder_is_colourised_instead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photograph("coffee").save(tmp_path / "old.jpg")
    with caplog.at_level(logging.INFO):
        named = NamedPhotoFolderDataset(folder=str(tmp_path)).load()
        chosen = photos_to_colourise(named, INDEX, FOLDER)
    assert list(chosen) == ["old.jpg"]
    assert f"1 photos to colourise in {tmp_path}" in caplog.text
    assert (
        "colourising the 1 photos of the folder that photos.colourise_folder names" in caplog.text
    )


def test_a_named_folder_without_photos_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserDatasetError, match="is not a folder of photos"):
        NamedPhotoFolderDataset(folder=str(tmp_path / "nowhere")).load()
    with pytest.raises(UserValueError, match="holds no photos"):
        photos_to_colourise(NamedPhotoFolderDataset(folder=str(tmp_path)).load(), INDEX, FOLDER)
