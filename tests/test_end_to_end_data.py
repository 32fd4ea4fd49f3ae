"""The real `kedro run --pipelines ingestion,preprocessing` on a tiny archive, checked on disk."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from image_colourisation.imaging.colour import rgb_to_model_arrays
from tests.cifar_archive import CLASS_NAMES
from tests.conftest import archive_params, run_kedro

# 5 training images per class, validation_fraction 0.1: one per class goes to validation.
SPLIT_SIZES = {"train": 40, "validation": 10, "test": 20}


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def test_ingestion_and_preprocessing_write_the_data_contract(
    kedro_project: Path, tiny_archive: tuple[Path, str]
) -> None:
    archive_path, md5 = tiny_archive
    run_kedro(
        kedro_project, "run", "--pipelines", "ingestion,preprocessing",
        "--params", archive_params(tiny_archive),
    )  # fmt: skip
    data = kedro_project / "data"

    # The file:// URL and md5 from --params reached the dataset: the tiny archive was copied.
    assert [p.name for p in (data / "01_raw").iterdir() if p.name != ".gitkeep"] == [
        archive_path.name
    ]
    assert hashlib.md5((data / "01_raw" / archive_path.name).read_bytes()).hexdigest() == md5

    images = _npz(data / "02_intermediate" / "cifar10_images.npz")
    assert images["images"].dtype == np.uint8 and images["images"].shape == (70, 32, 32, 3)
    assert images["labels"].dtype == np.int64
    assert images["split"].tolist() == ["train"] * 50 + ["test"] * 20
    assert images["class_names"].tolist() == CLASS_NAMES

    sets = {name: _npz(data / "05_model_input" / f"{name}_set.npz") for name in SPLIT_SIZES}
    for name, size in SPLIT_SIZES.items():
        split = sets[name]
        assert sorted(split) == ["L", "ab", "class_names", "labels"]
        assert split["L"].dtype == np.float32 and split["L"].shape == (size, 1, 32, 32)
        assert split["ab"].dtype == np.float32 and split["ab"].shape == (size, 2, 32, 32)
        assert split["labels"].dtype == np.int64 and split["labels"].shape == (size,)
        assert split["class_names"].tolist() == CLASS_NAMES
        assert -1 <= split["L"].min() < split["L"].max() <= 1
        assert np.abs(split["ab"]).max() <= 1
        assert np.bincount(split["labels"], minlength=10).tolist() == [size // 10] * 10

    test_lightness, test_ab = rgb_to_model_arrays(images["images"][50:])
    np.testing.assert_array_equal(sets["test"]["L"], test_lightness)
    np.testing.assert_array_equal(sets["test"]["ab"], test_ab)
    np.testing.assert_array_equal(sets["test"]["labels"], images["labels"][50:])

    ingestion = pd.read_csv(data / "08_reporting" / "ingestion_class_counts.csv")
    assert ingestion.columns.tolist() == ["class", "train", "test"]
    assert ingestion.iloc[-1].tolist() == ["all", 50, 20]
    split_report = pd.read_csv(data / "08_reporting" / "split_class_counts.csv")
    assert split_report.columns.tolist() == ["class", "train", "validation", "test"]
    assert split_report["class"].tolist() == [*CLASS_NAMES, "all"]
    assert split_report.iloc[-1].tolist() == ["all", 40, 10, 20]
