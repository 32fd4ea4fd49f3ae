"""Ingestion of a folder of photos: what is used, what is skipped and why, the seeded split."""

import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from image_colourisation.core.errors import UserValueError
from image_colourisation.datasets.photo_training import PhotoSourceDataset
from image_colourisation.pipelines.photos.ingestion import (
    MIN_HELD_OUT,
    index_photos,
    inspect_photo,
    split_of,
)
from image_colourisation.pipelines.photos.params import check_all
from image_colourisation.pipelines.photos.preprocessing import training_crops
from tests.photo_folders import photograph


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def test_broken_files_are_skipped_with_their_reason_and_the_folder_is_untouched(
    photo_folder: tuple[Path, dict[str, str]],
) -> None:
    folder, broken = photo_folder
    before = fingerprint(folder)
    index, report, sizes = index_photos(PhotoSourceDataset(str(folder)).load(), 64, 0.1, 0.1, 7)
    skipped = {
        entry["path"]: f"{entry['reason']} {entry['detail']}" for entry in report["skipped_files"]
    }
    assert skipped.keys() == broken.keys()
    for name, word in broken.items():
        assert word in skipped[name], (name, skipped[name])
    assert report["photos_used"] == len(index) == 14
    assert report["files_found"] == 14 + len(broken)
    assert set(index["label"]) == {"people", "things", "(top folder)"}
    assert sizes[["train", "validation", "test"]].to_numpy().sum() == len(index)
    assert fingerprint(folder) == before


def test_the_split_is_by_file_seeded_and_stable_when_photos_are_added(
    photo_folder: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, _ = photo_folder
    files = PhotoSourceDataset(str(folder)).load()
    first, _, _ = index_photos(files, 64, 0.3, 0.3, 7)
    again, _, _ = index_photos(files, 64, 0.3, 0.3, 7)
    assert first.equals(again)
    assert (first["split"].value_counts() >= MIN_HELD_OUT).all()
    other_seed, _, _ = index_photos(files, 64, 0.3, 0.3, 8)
    assert not first["split"].equals(other_seed["split"])
    more = dict(files) | {"new.png": lambda: _png(photograph("rocket").rotate(180))}
    grown, _, _ = index_photos(more, 64, 0.3, 0.3, 7)
    # A photo's split is its own seeded hash draw; adding photos moves none, except that
    # a tiny folder's held-out splits are topped up to MIN_HELD_OUT from training photos.
    for row in (*first.itertuples(), *grown.itertuples()):
        drawn = split_of(row.sha256, 7, 0.3, 0.3)
        assert drawn in (row.split, "train")


def test_a_small_folders_report_says_the_minimum_and_names_the_topped_up_splits(
    photo_folder: tuple[Path, dict[str, str]],
) -> None:
    folder, _ = photo_folder
    _, report, _ = index_photos(PhotoSourceDataset(str(folder)).load(), 64, 0.1, 0.1, 42)
    assert report["minimum_photos"] == 12 and "topped up to 4" in report["split_rule"]
    assert report["per_split"] == {"train": 6, "validation": 4, "test": 4}
    assert report["splits"] == [
        "train: 6 photos (4 moved to the topped-up held-out splits)",
        "validation: 4 photos (topped up from 3 to the minimum of 4)",
        "test: 4 photos (topped up from 1 to the minimum of 4)",
    ]


def test_exif_orientation_turns_the_size_and_gray_pictures_are_found() -> None:
    upright = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    photograph("coffee").save(upright, format="JPEG", exif=exif)
    assert inspect_photo(upright.getvalue(), 64) == (400, 600, None)
    gray = _png(photograph("coffee").convert("L"))
    assert inspect_photo(gray, 64)[2][0] == "already gray"


def test_too_few_photos_say_how_many_are_needed() -> None:
    """A user error: `kedro run` ends with this one message, not ~300 lines of traceback."""
    few = {f"{n}.png": (lambda n=n: _png(photograph(n))) for n in ("coffee", "rocket")}
    with pytest.raises(UserValueError, match="needs at least 12"):
        index_photos(few, 64, 0.1, 0.1, 0)


def test_a_missing_folder_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="photos.folder"):
        PhotoSourceDataset(str(tmp_path / "nowhere")).load()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("validation", "test", "message"),
    [
        ("nan", 0.1, r"photos.validation_fraction is 'nan' \(str\); allowed: a number in \(0, 1\)"),
        (0.1, float("nan"), r"photos.test_fraction is nan; allowed: a number in \(0, 1\)"),
        (0.0, 0.1, r"photos.validation_fraction is 0.0; allowed"),
        (0.6, 0.5, r"must sum to less than 1: the rest are the training photos"),
    ],
)
def test_split_fractions_out_of_range_are_named(validation, test, message: str) -> None:
    """`--params photos.validation_fraction=nan` passes the text 'nan': named, not a TypeError."""
    with pytest.raises(UserValueError, match=message):
        index_photos({}, 64, validation, test, 7)


GOOD = {"crop_size": 128, "working_scale": 2.0, "crops_per_photo": 8, "flip": True,
        "workers": 2, "held_out_limit": 500}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("workers", -1, "photos.workers is -1; allowed: an integer in [0, 64]"),
        ("workers", 2.5, "photos.workers is 2.5 (float); allowed: an integer in [0, 64]"),
        ("crops_per_photo", 1e9, "photos.crops_per_photo is 1000000000.0 (float); allowed: an integer in [1, 10000]"),
        ("crops_per_photo", 10**9, "photos.crops_per_photo is 1000000000; allowed: an integer in [1, 10000]"),
        ("held_out_limit", -1, "photos.held_out_limit is -1; allowed: an integer in [1, 10000]"),
        ("working_scale", float("nan"), "photos.working_scale is nan; allowed: a number in [1, 8]"),
        ("working_scale", 0.5, "photos.working_scale is 0.5; allowed: a number in [1, 8]"),
        ("crop_size", 48, "photos.crop_size is 48; allowed: a multiple of 32 in [32, 1024]"),
        ("crop_size", 2048, "photos.crop_size is 2048; allowed: a multiple of 32 in [32, 1024]"),
        ("crop_size", "64", "photos.crop_size is '64' (str); allowed: a multiple of 32 in [32, 1024]"),
        ("flip", "yes", "photos.flip is 'yes' (str); allowed: True or False"),
    ],
)  # fmt: skip
def test_bad_photo_parameters_are_named_in_one_line(name: str, value, message: str) -> None:
    """Each bad value is refused before any work, naming the parameter, the value and the range."""
    with pytest.raises(UserValueError) as raised:
        check_all({**GOOD, name: value})
    assert str(raised.value) == f"invalid photos parameters:\n  {message}"


def test_the_nodes_check_their_parameters_and_the_epoch_fits_memory() -> None:
    """A node called from code says the same line; crops x photos is bounded too (an epoch
    plan of a million crops is ~130 MB)."""
    index = pd.DataFrame(
        {"path": [f"{n}.png" for n in range(200)], "label": "(top folder)", "split": "train"}
    )
    with pytest.raises(UserValueError, match=r"^photos.workers is -1; allowed: an integer in"):
        training_crops({}, index, 64, crops_per_photo=1, flip=False, workers=-1)
    with pytest.raises(UserValueError, match=r"^photos.crop_size is 48; allowed: a multiple of 32"):
        index_photos({}, 48, 0.1, 0.1, 7)
    with pytest.raises(
        UserValueError, match=r"photos.crops_per_photo is 10000; allowed: at most 5000 with 200"
    ):
        training_crops({}, index, 64, crops_per_photo=10_000, flip=False, workers=0)
