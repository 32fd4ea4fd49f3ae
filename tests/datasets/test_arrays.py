"""NpzDataset: round trip, no pickle, and a failed save never clobbers the file."""

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from image_colourisation.datasets import NpzDataset


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
