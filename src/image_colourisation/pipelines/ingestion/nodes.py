"""Check that the archive holds what every later pipeline assumes, and count it."""

import numpy as np
import pandas as pd

IMAGE_SHAPE = (32, 32, 3)
NUM_CLASSES = 10
SPLITS = ("train", "test")
CONTRACT_KEYS = ("images", "labels", "split", "class_names")


def count_per_class(
    labels_by_split: dict[str, np.ndarray], class_names: np.ndarray
) -> pd.DataFrame:
    """A table of images per class (rows) and split (columns), with an `all` row of totals."""
    table = pd.DataFrame(
        {
            split: np.bincount(labels, minlength=len(class_names))
            for split, labels in labels_by_split.items()
        },
        index=pd.Index(class_names, name="class"),
    )
    table.loc["all"] = table.sum()
    return table.reset_index()


def validate_cifar10(archive: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Check shapes, dtypes, labels and split contents; return the arrays and their counts.

    Raises ValueError naming the first problem found, so a broken archive stops the run
    here instead of surfacing as a confusing failure in training.
    """
    missing = [key for key in CONTRACT_KEYS if key not in archive]
    if missing:
        raise ValueError(f"The archive data lacks {missing}; expected keys {list(CONTRACT_KEYS)}.")
    images, labels, split, class_names = (archive[key] for key in CONTRACT_KEYS)

    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"images must be uint8 of shape (N, 32, 32, 3), got {images.dtype} {images.shape}."
        )
    rows = len(images)
    if labels.dtype != np.int64 or labels.shape != (rows,):
        raise ValueError(
            f"labels must be int64 of shape ({rows},), got {labels.dtype} {labels.shape}."
        )
    if split.shape != (rows,):
        raise ValueError(f"split must have shape ({rows},), got {split.shape}.")
    if class_names.shape != (NUM_CLASSES,) or len(set(class_names.tolist())) != NUM_CLASSES:
        raise ValueError(f"class_names must be {NUM_CLASSES} distinct names, got {class_names}.")
    out_of_range = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if out_of_range.size:
        raise ValueError(
            f"{out_of_range.size} labels lie outside 0-{NUM_CLASSES - 1} "
            f"(for example {out_of_range[0]})."
        )
    unknown = sorted(set(np.unique(split).tolist()) - set(SPLITS))
    if unknown:
        raise ValueError(f"split holds unknown names {unknown}; expected only {list(SPLITS)}.")

    labels_by_split = {name: labels[split == name] for name in SPLITS}
    counts = count_per_class(labels_by_split, class_names)
    for name in SPLITS:
        if not labels_by_split[name].size:
            raise ValueError(f"The {name} split is empty: the archive holds no {name} images.")
        absent = counts.loc[counts[name] == 0, "class"].tolist()
        if absent:
            raise ValueError(f"The {name} split has no images of class {absent}.")
    return {key: archive[key] for key in CONTRACT_KEYS}, counts
