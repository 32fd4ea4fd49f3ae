"""Augmentation: reflect-padded random crops and flips, the same for L and ab, seeded."""

import pytest
import torch

from image_colourisation.models import augment


def _images(count: int = 3, size: int = 8) -> torch.Tensor:
    return torch.arange(count * 3 * size * size, dtype=torch.float32).view(count, 3, size, size)


def test_centre_offset_is_the_identity_and_shapes_are_kept() -> None:
    images = _images()
    centre = torch.full((3,), 2)
    cropped = augment.random_crop(images, 2, centre, centre)
    assert cropped.shape == images.shape
    assert torch.equal(cropped, images)


def test_corner_offset_shifts_and_reflects_the_border() -> None:
    images = _images()
    zero = torch.zeros(3, dtype=torch.long)
    cropped = augment.random_crop(images, 2, zero, zero)
    assert torch.equal(cropped[..., 2:, 2:], images[..., :-2, :-2])  # shifted by the padding
    assert torch.equal(cropped[..., 0, 2:], images[..., 2, :-2])  # row -2 reflects row 2
    assert torch.equal(cropped[..., 2:, 1], images[..., :-2, 1])  # column -1 reflects column 1


def test_each_image_gets_its_own_offset() -> None:
    images = _images()
    top = torch.tensor([0, 2, 4])
    cropped = augment.random_crop(images, 2, top, torch.full((3,), 2))
    for index, offset in enumerate(top.tolist()):
        padded = torch.nn.functional.pad(images[index : index + 1], (2,) * 4, mode="reflect")
        assert torch.equal(cropped[index], padded[0, :, offset : offset + 8, 2:10])


def test_same_seed_same_draws_and_flip_off_never_flips() -> None:
    def draws(seed: int, flip: bool = True) -> augment.Draws:
        return augment.draw(64, flip, 4, torch.Generator().manual_seed(seed), torch.device("cpu"))

    first, again, other = draws(0), draws(0), draws(1)
    for name in ("flip", "top", "left"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    assert not torch.equal(first.top, other.top)
    assert 0 <= int(first.top.min()) and int(first.top.max()) <= 8
    assert 0 < int(first.flip.sum()) < 64
    assert not draws(0, flip=False).flip.any()


def test_lightness_and_ab_are_cropped_and_flipped_together() -> None:
    images = _images(count=4)
    lightness, ab = images[:, :1], images[:, :1].repeat(1, 2, 1, 1)  # ab mirrors L
    draws = augment.draw(4, True, 3, torch.Generator().manual_seed(0), torch.device("cpu"))
    index = torch.arange(4)
    out_l, out_ab = augment.apply(lightness, ab, draws, index, 3)
    assert out_l.shape == lightness.shape and out_ab.shape == ab.shape
    assert torch.equal(out_ab, out_l.repeat(1, 2, 1, 1))
    assert not torch.equal(out_l, lightness)


def test_padding_as_large_as_the_image_names_the_parameter() -> None:
    images = _images(size=4)
    zero = torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match="crop padding 4 .* training.crop_padding"):
        augment.random_crop(images, 4, zero, zero)
