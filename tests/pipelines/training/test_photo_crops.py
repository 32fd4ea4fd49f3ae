"""Training crops of photos: depth per crop size, seeded crops whatever the workers, Lab."""

import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from image_colourisation.imaging.crops import decode_at_working_size, generator_depth
from image_colourisation.pipelines.training.data import PhotoImages
from image_colourisation.pipelines.training.photo_crops import PhotoCrops
from image_colourisation.pipelines.training.world import ALONE
from tests.photo_folders import PHOTOGRAPHS, photograph


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    folder = tmp_path_factory.mktemp("cache")
    paths = []
    for name in PHOTOGRAPHS:
        paths.append(folder / f"{name}.png")
        photograph(name).save(folder / f"{name}.jpg")
        decode_at_working_size((folder / f"{name}.jpg").read_bytes(), 64).save(paths[-1])
    return tuple(paths)


def test_depth_follows_the_crop_size() -> None:
    assert [generator_depth(size) for size in (32, 64, 96, 128, 256, 1024)] == [5, 6, 5, 7, 8, 8]
    images = PhotoImages(PhotoCrops((), 128))
    assert (images.depth, images.render_size) == (7, 128)


def test_working_size_keeps_the_aspect_and_never_enlarges(cached: tuple[Path, ...]) -> None:
    with Image.open(cached[1]) as coffee:  # 600x400
        assert coffee.size == (96, 64)
    tiny = photograph("rocket").resize((64, 43))
    assert decode_at_working_size(_jpeg(tiny), 128).size == (64, 43)


def test_crops_are_seeded_lab_and_the_same_with_or_without_workers(
    cached: tuple[Path, ...],
) -> None:
    crops = PhotoCrops(cached, 32, crops_per_photo=2, workers=0)
    cpu = torch.device("cpu")
    inline = PhotoImages(crops).batches(4, True, 0, cpu, ALONE)
    workers = PhotoImages(PhotoCrops(cached, 32, crops_per_photo=2, workers=2)).batches(
        4, True, 0, cpu, ALONE
    )
    first = list(inline.epoch(torch.Generator().manual_seed(1)))
    assert len(first) == inline.steps == 2
    second = list(workers.epoch(torch.Generator().manual_seed(1)))
    for (l1, ab1, labels, context), (l2, ab2, _, _) in zip(first, second, strict=True):
        assert l1.shape == (4, 1, 32, 32) and ab1.shape == (4, 2, 32, 32) and labels is None
        assert context is None  # a crop differs each epoch: the generator encodes it itself
        assert PhotoImages(crops).unlabelled == "the photos carry no class labels"
        assert torch.equal(l1, l2) and torch.equal(ab1, ab2)
        assert l1.min() >= -1 and l1.max() <= 1 and ab1.abs().max() <= 1
    other = next(inline.epoch(torch.Generator().manual_seed(2)))[0]
    assert not torch.equal(other, first[0][0])


def test_labelled_crops_carry_their_photos_class(cached: tuple[Path, ...]) -> None:
    crops = PhotoCrops(cached, 32, workers=0, labels=(0, 1, 2, 3), class_names=tuple("abcd"))
    images = PhotoImages(crops)
    assert (images.classes, images.unlabelled) == (4, "")
    plan = crops.epoch_plan(torch.Generator().manual_seed(3))
    (_, _, labels, _), *_ = images.batches(4, True, 0, torch.device("cpu"), ALONE).epoch(
        torch.Generator().manual_seed(3)
    )
    assert labels.tolist() == [photo for photo, _ in plan]  # each photo its own class here
    with pytest.raises(ValueError, match="3 labels for 4 photos"):
        PhotoCrops(cached, 32, labels=(0, 1, 0))


def test_colour_bins_are_refused_for_photos(cached: tuple[Path, ...]) -> None:
    with pytest.raises(ValueError, match="colour_bins"):
        PhotoImages(PhotoCrops(cached, 32)).colour_sample()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()
