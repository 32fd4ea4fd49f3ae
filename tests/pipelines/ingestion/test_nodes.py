"""validate_cifar10: passes good data through with its counts, names whatever is wrong."""

from collections.abc import Callable

import numpy as np
import pytest

from image_colourisation.pipelines.ingestion import create_pipeline
from image_colourisation.pipelines.ingestion.nodes import validate_cifar10
from tests.cifar_archive import CLASS_NAMES


def _archive(train: int = 20, test: int = 10) -> dict[str, np.ndarray]:
    rows = train + test
    return {
        "images": np.random.default_rng(0).integers(0, 256, (rows, 32, 32, 3), dtype=np.uint8),
        "labels": np.arange(rows, dtype=np.int64) % 10,
        "split": np.array(["train"] * train + ["test"] * test),
        "class_names": np.array(CLASS_NAMES),
    }


def test_valid_data_passes_through_with_counts_per_class_and_split() -> None:
    archive = _archive(train=30, test=10)
    archive["labels"][:30] = [0] * 12 + [1, 2, 3, 4, 5, 6, 7, 8, 9] * 2
    validated, counts = validate_cifar10({**archive, "extra": np.zeros(3)})

    assert sorted(validated) == ["class_names", "images", "labels", "split"]
    for key, array in validated.items():
        assert array is archive[key]
    assert counts.columns.tolist() == ["class", "train", "test"]
    assert counts["class"].tolist() == [*CLASS_NAMES, "all"]
    assert counts["train"].tolist() == [12, *[2] * 9, 30]
    assert counts["test"].tolist() == [*[1] * 10, 10]


def _set(key: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], dict]:
    return lambda archive: {**archive, key: value(archive[key])}


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda a: {k: v for k, v in a.items() if k != "split"}, r"lacks \['split'\]"),
        (_set("images", lambda x: x.astype(np.float32)), r"uint8 of shape .* got float32"),
        (_set("images", lambda x: x[:, :16]), r"got uint8 \(30, 16, 32, 3\)"),
        (_set("labels", lambda x: x.astype(np.int32)), r"labels must be int64 of shape \(30,\)"),
        (_set("labels", lambda x: x[:-1]), r"labels must be int64 .* \(29,\)"),
        (_set("split", lambda x: x[:-1]), r"split must have shape \(30,\)"),
        (_set("class_names", lambda x: x[:9]), "class_names must be 10 distinct names"),
        (
            _set("labels", lambda x: np.where(x == 3, 10, x)),
            r"3 labels lie outside 0-9 \(for example 10\)",
        ),
        (_set("labels", lambda x: np.where(x == 3, -1, x)), r"outside 0-9 \(for example -1\)"),
        (_set("split", lambda x: np.where(x == "test", "val", x)), r"unknown names \['val'\]"),
        (_set("split", lambda x: np.full_like(x, "train")), "The test split is empty"),
        (_set("split", lambda x: np.full_like(x, "test")), "The train split is empty"),
        (_set("labels", lambda x: np.where(x == 7, 6, x)), r"train split has no .* \['horse'\]"),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(
    break_it: Callable[[dict], dict], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_cifar10(break_it(_archive()))


def test_pipeline_wiring() -> None:
    (node,) = create_pipeline().nodes
    assert node.name == "validate_cifar10"
    assert node.inputs == ["cifar10_archive"]
    assert node.outputs == ["cifar10_images", "ingestion_class_counts"]
