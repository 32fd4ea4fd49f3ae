"""colour.py against scikit-image on real photographs and on the whole RGB cube, and round trips."""

from pathlib import Path

import numpy as np
import pytest
import skimage.color
import skimage.data

from image_colourisation.datasets import CIFAR10ArchiveDataset
from image_colourisation.imaging import colour

SHARED_ARCHIVE = (
    Path(__file__).resolve().parents[2] / "../shared/data/cifar-10-subset-python.tar.gz"
)
SHARED_MD5 = "6c9bc4d9db7e170d984047b75e787a60"
FIRST_BATCH_ROWS = 4000  # data_batch_1 of the shared subset


@pytest.fixture(scope="module")
def cifar_first_batch(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The shared subset's first training batch, read through the ingestion's own dataset."""
    if not SHARED_ARCHIVE.is_file():
        pytest.skip(f"{SHARED_ARCHIVE} is not on this machine")
    directory = tmp_path_factory.mktemp("raw")
    data = CIFAR10ArchiveDataset(
        str(directory), SHARED_ARCHIVE.resolve().as_uri(), SHARED_MD5
    ).load()
    return data["images"][:FIRST_BATCH_ROWS]


def _rgb_cube(step: int = 5) -> np.ndarray:
    levels = np.arange(0, 256, step, dtype=np.uint8)
    return np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)


def test_rgb_to_lab_matches_skimage_on_astronaut() -> None:
    image = skimage.data.astronaut()
    lab = colour.rgb_to_lab(image)
    assert lab.dtype == np.float32 and lab.shape == image.shape
    assert np.abs(lab - skimage.color.rgb2lab(image)).max() < 1e-3


def test_rgb_to_lab_matches_skimage_on_cifar_images(cifar_first_batch: np.ndarray) -> None:
    assert cifar_first_batch.shape == (FIRST_BATCH_ROWS, 32, 32, 3)
    lab = colour.rgb_to_lab(cifar_first_batch)
    assert np.abs(lab - skimage.color.rgb2lab(cifar_first_batch)).max() < 1e-3


def test_rgb_to_lab_matches_skimage_across_the_rgb_cube() -> None:
    cube = _rgb_cube()
    assert np.abs(colour.rgb_to_lab(cube) - skimage.color.rgb2lab(cube)).max() < 1e-3
    floats = cube / 255.0  # the float path ([0, 1] input) agrees too
    assert np.abs(colour.rgb_to_lab(floats) - skimage.color.rgb2lab(floats)).max() < 1e-3


def test_round_trip_rgb_lab_rgb_within_one_level() -> None:
    for image in [skimage.data.astronaut(), _rgb_cube()]:
        back = colour.lab_to_rgb(colour.rgb_to_lab(image))
        assert np.abs(back - image / 255.0).max() <= 1 / 255
        np.testing.assert_array_equal(colour.to_uint8(back), image)


def test_model_arrays_round_trip_and_ranges(cifar_first_batch: np.ndarray) -> None:
    images = cifar_first_batch[:500]
    lightness, ab = colour.rgb_to_model_arrays(images)
    assert lightness.shape == (500, 1, 32, 32) and ab.shape == (500, 2, 32, 32)
    assert lightness.dtype == ab.dtype == np.float32
    assert -1.0 <= lightness.min() and lightness.max() <= 1.0
    assert np.abs(ab).max() <= 1.0
    back = colour.model_arrays_to_rgb(lightness, ab)
    assert np.abs(back.astype(int) - images).max() <= 1


def test_lightness_alone_is_rgb_to_labs_to_the_bit():
    """Photos' and video frames' L* come from `rgb_to_lightness`, a third of `rgb_to_lab`'s
    work: the results must not move by a bit, for bytes (every colour) and floats."""
    every = np.arange(1 << 24, dtype=np.uint32)
    colours = np.stack([every >> 16, (every >> 8) & 255, every & 255], axis=-1).astype(np.uint8)
    assert np.array_equal(colour.rgb_to_lightness(colours), colour.rgb_to_lab(colours)[..., 0])
    floats = np.random.default_rng(6).random((300, 200, 3), dtype=np.float32)
    assert np.array_equal(colour.rgb_to_lightness(floats), colour.rgb_to_lab(floats)[..., 0])
