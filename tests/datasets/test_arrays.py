"""NpzDataset: round trip, no pickle, a failed save never clobbers the file, damage is named."""

import importlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.io import DatasetError

from image_colourisation.datasets import NpzDataset
from tests.project_copy import PROJECT_ROOT


def test_round_trip_keeps_names_dtypes_and_values(tmp_path: Path) -> None:
    dataset = NpzDataset(str(tmp_path / "nested" / "arrays.npz"))
    data = {
        "L": np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 1, 3, 4),
        "labels": np.array([3, 7], dtype=np.int64),
        "class_names": np.array(["cat", "truck"]),
    }
    dataset.save(data)
    loaded = dataset.load()
    assert loaded.keys() == data.keys()
    for name, array in data.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)
    assert dataset.exists()
    assert [p.name for p in (tmp_path / "nested").iterdir()] == ["arrays.npz"]


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetError, match="allow_pickle"):
        NpzDataset(str(path)).load()


def test_failed_save_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    dataset = NpzDataset(str(tmp_path / "arrays.npz"))
    dataset.save({"x": np.arange(3)})

    class Unsaveable:
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
            raise RuntimeError("disk full")

    with pytest.raises(DatasetError, match="disk full"):
        dataset.save({"x": Unsaveable()})  # type: ignore[dict-item]
    np.testing.assert_array_equal(dataset.load()["x"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="run the pipeline that writes it"):
        NpzDataset(str(tmp_path / "absent.npz")).load()


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "one byte flipped":  # inside the first array's data: the zip CRC notices
        middle = len(data) // 4
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    else:
        path.write_text("not an archive")


@pytest.mark.parametrize("how", ["truncated", "empty", "one byte flipped", "text"])
def test_damaged_file_is_named_with_the_pipeline_that_rebuilds_it(tmp_path: Path, how: str) -> None:
    path = tmp_path / "train_set.npz"
    NpzDataset(str(path)).save({"L": np.ones((64, 64), np.float32), "labels": np.arange(64)})
    _damage(path, how)
    with pytest.raises(DatasetError) as caught:
        NpzDataset(str(path), written_by="preprocessing").load()
    message = str(caught.value)
    assert f"{path} is damaged or was not written by this project" in message
    assert "Delete it, then run `kedro run --pipelines preprocessing` again" in message


def test_every_npz_in_the_catalog_names_the_pipeline_that_really_writes_it() -> None:
    entries = {}
    for file in (PROJECT_ROOT / "conf" / "base").glob("catalog*.yml"):
        entries |= yaml.safe_load(file.read_text()) or {}
    npz = {
        name: entry["written_by"]
        for name, entry in entries.items()
        if isinstance(entry, dict) and entry.get("type", "").endswith("NpzDataset")
    }
    assert {"cifar10_images", "train_set", "test_set"} <= npz.keys()
    for name, pipeline in npz.items():
        module = importlib.import_module(f"image_colourisation.pipelines.{pipeline}")
        assert name in module.create_pipeline().all_outputs(), (name, pipeline)
