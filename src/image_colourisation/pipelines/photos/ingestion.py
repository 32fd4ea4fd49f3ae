"""Ingestion of a folder of photos: which files train, which are held out, which are skipped.

Each file is read once: hashed (SHA-256 of its bytes, so an exact copy counts once), decoded
(at a reduced scale for JPEGs: enough to find truncated or foreign files and gray pictures),
measured upright (EXIF orientation). The split is by file and seeded: a photo's split follows
from the seed and its content hash alone, so adding photos later never moves a test photo
into training, and no crop of a held-out photo is ever trained on.
"""

import hashlib
import io
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from PIL import ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import printable
from image_colourisation.imaging.photo_files import open_image

from .params import FRACTION, check

logger = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
ORIENTATION = 0x0112  # the EXIF tag
GRAY_TOLERANCE = 3  # uint8 levels a channel may differ from the pixel's mean (JPEG noise)
ROOT_CLASS = "(top folder)"  # the label of photos directly in the folder, not in a sub-folder
SIZE_BINS = (0, 256, 512, 1024, 2048, 4096, np.inf)  # shorter side, pixels
SPLITS = ("train", "validation", "test")
MIN_HELD_OUT = 4  # photos per held-out split: the evaluation's FD floor needs two per half
MIN_PHOTOS = 3 * MIN_HELD_OUT  # usable photos a folder needs: MIN_HELD_OUT for each split
MIN_CLASS_PHOTOS = 2  # training photos per class sub-folder for class-aware training
SPLIT_RULE = (
    "by file: each photo's split is a seeded draw from its content hash (photos.seed, "
    "photos.validation_fraction, photos.test_fraction), so adding photos moves none; a "
    f"held-out split drawn with fewer than {MIN_HELD_OUT} photos is topped up to "
    f"{MIN_HELD_OUT} from the training photos"
)


def inspect_photo(data: bytes, crop_size: int) -> tuple[int, int, tuple[str, str] | None]:
    """(width, height, None) of an image file's bytes, upright; or why it is skipped, as
    (reason, detail)."""
    try:
        with open_image(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                return 0, 0, ("unsupported format", f"{image.format}, not {', '.join(FORMATS)}")
            width, height = image.size
            if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8):  # turned by 90 degrees
                width, height = height, width
            image.draft("RGB", (crop_size, crop_size))  # JPEG: decode at 1/2..1/8 scale
            upright = ImageOps.exif_transpose(image)
            colour = upright.mode not in ("1", "L", "LA", "I", "I;16", "F")
            pixels = np.asarray(upright.convert("RGB"), dtype=np.int16) if colour else None
    except UnidentifiedImageError:
        return 0, 0, ("unreadable", "not an image file that Pillow knows")
    except Exception as error:  # Pillow raises many kinds for truncated or damaged files
        return 0, 0, ("unreadable", f"{type(error).__name__}: {error}")
    if min(width, height) < crop_size:
        return width, height, ("too small", f"{width}x{height}, below photos.crop_size {crop_size}")
    if pixels is None or _is_gray(pixels):
        return width, height, ("already gray", "no colour to learn from")
    return width, height, None


def _is_gray(pixels: np.ndarray) -> bool:
    spread = np.abs(pixels - pixels.mean(axis=-1, keepdims=True))
    return float(np.percentile(spread.max(axis=-1), 99)) <= GRAY_TOLERANCE


def split_of(digest: str, seed: int, validation_fraction: float, test_fraction: float) -> str:
    """The split of the photo with SHA-256 `digest`: a seeded draw from its hash alone."""
    draw = int(hashlib.sha256(f"{seed}:{digest}".encode()).hexdigest()[:15], 16) / 16**15
    if draw < test_fraction:
        return "test"
    return "validation" if draw < test_fraction + validation_fraction else "train"


def index_photos(
    files: dict[str, Callable[[], bytes]],
    crop_size: int,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """The photos to use with their split and label, the ingestion report, the size histogram.

    Labels are the top-level sub-folders (`ROOT_CLASS` for photos directly in the folder): the
    evaluation's per-class table and semantic accuracy use them, and class-aware training
    when they follow the ImageFolder convention (`class_labels`).
    """
    check("crop_size", crop_size)
    for name, value in (
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ):
        problem = FRACTION.problem(f"photos.{name}", value)
        if problem:
            raise UserValueError(f"{problem}: the share of the photos held out for it.")
    if validation_fraction + test_fraction >= 1:
        raise UserValueError(
            f"photos.validation_fraction ({validation_fraction}) and photos.test_fraction "
            f"({test_fraction}) must sum to less than 1: the rest are the training photos."
        )
    rows, skipped, seen = [], [], {}
    for name, read in tqdm(files.items(), desc="checking photos", unit="photo"):
        try:
            data = read()
        except OSError as error:
            skipped.append({"path": name, "reason": "not read", "detail": str(error)})
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            skipped.append({"path": name, "reason": "duplicate", "detail": f"of {seen[digest]}"})
            continue
        seen[digest] = name
        width, height, problem = inspect_photo(data, crop_size)
        if problem:
            skipped.append({"path": name, "reason": problem[0], "detail": problem[1]})
            continue
        label = name.split("/", 1)[0] if "/" in name else ROOT_CLASS
        split = split_of(digest, seed, validation_fraction, test_fraction)
        rows.append({"path": name, "sha256": digest, "width": width, "height": height,
                     "label": label, "split": split})  # fmt: skip
    for entry in skipped:
        logger.warning(
            "Skipped %s", printable(f"{entry['path']}: {entry['reason']} ({entry['detail']})")
        )
    index, drawn = split_photos(pd.DataFrame(rows, columns=[*_COLUMNS]))
    report = ingestion_report(index, drawn, skipped, len(files))
    for line in report["splits"]:
        logger.info("photos: %s", line)
    classes = report["classes"]
    if classes["names"]:
        logger.info("photos: %d classes from the sub-folders: %s", len(classes["names"]),
                    printable(", ".join(classes["names"])))  # fmt: skip
    elif set(index["label"]) != {ROOT_CLASS}:  # sub-folders, but not usable as classes
        logger.warning(
            "photos: the sub-folders cannot be class labels (class-aware training would be "
            "off): %s", printable(classes["why_not"]),
        )  # fmt: skip
    return index, report, size_histogram(index)


_COLUMNS = ("path", "sha256", "width", "height", "label", "split")


def split_photos(index: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The index with every split used, and the held-out splits that were topped up, with the
    photos their hash draw gave them.

    A folder with fewer than MIN_PHOTOS usable photos is refused. A held-out split with fewer
    than MIN_HELD_OUT photos is topped up from the training photos that hash lowest, so small
    folders hold out more than `validation_fraction` / `test_fraction` (14 photos: 6 / 4 / 4).
    """
    if len(index) < MIN_PHOTOS:
        raise UserValueError(
            f"Only {len(index)} usable photo(s) in the folder (see the skipped files above): "
            f"the photos pipeline needs at least {MIN_PHOTOS}, {MIN_HELD_OUT} each for "
            "training, validation and test (the evaluation compares two halves of the test "
            "photos). Add photos to the folder."
        )
    drawn = {}
    for split in ("test", "validation"):
        count = int((index["split"] == split).sum())
        if count < MIN_HELD_OUT:
            drawn[split] = count
            train = index[index["split"] == "train"].sort_values("sha256")
            index.loc[train.index[: MIN_HELD_OUT - count], "split"] = split
    return index, drawn


def class_labels(index: pd.DataFrame) -> tuple[tuple[str, ...], str]:
    """(class names, "") when the photos follow the ImageFolder convention: every photo in a
    top-level sub-folder named after its class, at least 2 classes, each with MIN_CLASS_PHOTOS
    training photos. Else ((), why not and how to fix it): class-aware training is then off."""
    folders = sorted(set(index["label"]) - {ROOT_CLASS})
    loose = index.loc[index["label"] == ROOT_CLASS, "path"].sort_values()
    if not folders:
        return (), "the photos are not in class sub-folders " + _LAYOUT
    if len(loose):
        return (), (
            f"{len(loose)} photo(s) lie directly in the folder beside the class sub-folders "
            f"({_some(loose)}): move each into its class sub-folder, or out of the folder"
        )
    if len(folders) < 2:
        return (), f"all photos are in one sub-folder ({folders[0]}) " + _LAYOUT
    train = index.loc[index["split"] == "train", "label"].value_counts()
    few = [name for name in folders if train.get(name, 0) < MIN_CLASS_PHOTOS]
    if few:
        counts = index["label"].value_counts()
        return (), (
            f"class sub-folder(s) with fewer than {MIN_CLASS_PHOTOS} training photos: "
            + ", ".join(f"{name} ({train.get(name, 0)} of its {counts[name]})" for name in few)
            + ": add photos to them, or merge them into another class"
        )
    return tuple(folders), ""


_LAYOUT = "(the ImageFolder convention: one sub-folder per class, at least 2, named after it)"


def _some(paths: pd.Series, shown: int = 3) -> str:
    names = ", ".join(paths.head(shown))
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def ingestion_report(
    index: pd.DataFrame, drawn: dict[str, int], skipped: list[dict[str, str]], found: int
) -> dict[str, Any]:
    """Counts per split, label and reason, every skipped file with why, the split rules and
    the class labels training can use (JSON-ready). Reasons: not read (a link out of the
    folder, a FIFO, a dangling link), duplicate, unsupported format, unreadable, too small,
    already gray. `drawn`: the topped-up splits' photos before topping up (`split_photos`)."""
    reasons = Counter(entry["reason"] for entry in skipped)
    per_split = {split: int((index["split"] == split).sum()) for split in SPLITS}
    names, why_not = class_labels(index)
    return {
        "files_found": found,
        "photos_used": len(index),
        "minimum_photos": MIN_PHOTOS,
        "split_rule": SPLIT_RULE,
        "per_split": per_split,
        "splits": [
            f"{split}: {count} photos{_topped_up(split, drawn)}"
            for split, count in per_split.items()
        ],
        "per_label": {
            str(k): int(v) for k, v in index["label"].value_counts().sort_index().items()
        },
        "classes": {"names": list(names), "why_not": why_not},
        "skipped": len(skipped),
        "skipped_per_reason": dict(reasons.most_common()),
        "skipped_files": skipped,
    }


def _topped_up(split: str, drawn: dict[str, int]) -> str:
    """How topping up changed `split`'s count, or nothing."""
    if split == "train" and drawn:
        given = sum(MIN_HELD_OUT - count for count in drawn.values())
        return f" ({given} moved to the topped-up held-out splits)"
    if split in drawn:
        return f" (topped up from {drawn[split]} to the minimum of {MIN_HELD_OUT})"
    return ""


def size_histogram(index: pd.DataFrame) -> pd.DataFrame:
    """Photos per range of their shorter side, per split."""
    short = np.minimum(index["width"], index["height"])
    labels = [f"{low}-{high - 1}" if np.isfinite(high) else f">={low}"
              for low, high in zip(SIZE_BINS[:-1], SIZE_BINS[1:], strict=True)]  # fmt: skip
    bins = pd.cut(short, SIZE_BINS, right=False, labels=labels)
    table = pd.crosstab(bins, index["split"]).reindex(index=labels, columns=SPLITS, fill_value=0)
    table.index.name = "shorter_side_px"
    return table.reset_index()
