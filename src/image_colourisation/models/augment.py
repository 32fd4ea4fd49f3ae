"""Augmentation: mirror images and shift them by a few pixels, L and ab together.

An epoch's draws come from the loop's seeded generator before its first step, so a resumed run
repeats them exactly; `apply` then transforms each batch with its images' draws.
"""

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class Draws:
    """Per-image choices for one epoch: mirror or not, and the crop's top-left corner."""

    flip: torch.Tensor  # (N,) bool
    top: torch.Tensor  # (N,) long, 0..2*padding
    left: torch.Tensor  # (N,) long, 0..2*padding


def draw(
    images: int, flip: bool, padding: int, generator: torch.Generator, device: torch.device
) -> Draws:
    """One epoch's random flips (when `flip`) and crop offsets for `images` images."""
    flip_draw = torch.rand(images, generator=generator) < 0.5
    flips = flip_draw if flip else torch.zeros_like(flip_draw)
    offsets = torch.randint(0, 2 * padding + 1, (2, images), generator=generator)
    return Draws(flips.to(device), offsets[0].to(device), offsets[1].to(device))


def random_crop(
    images: torch.Tensor, padding: int, top: torch.Tensor, left: torch.Tensor
) -> torch.Tensor:
    """Reflect-pad (N, C, H, W) by `padding` and cut each image's H x W window at its offset.

    Reflection, not zeros: a black or colourless border would teach the generator that image
    edges are gray.
    """
    if padding == 0:
        return images
    height, width = images.shape[-2:]
    if padding >= min(height, width):
        raise ValueError(
            f"crop padding {padding} must be smaller than the {height}x{width} images: lower "
            "training.crop_padding / training.gan_crop_padding."
        )
    padded = F.pad(images, (padding,) * 4, mode="reflect")
    rows = (top[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
    cols = (left[:, None] + torch.arange(width, device=images.device))[:, None, None, :]
    batch = torch.arange(len(images), device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def apply(
    lightness: torch.Tensor, ab: torch.Tensor, draws: Draws, index: torch.Tensor, padding: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch `index` of L and ab, flipped and cropped with those images' draws."""
    images = torch.cat([lightness, ab], dim=1)
    images = torch.where(draws.flip[index, None, None, None], images.flip(-1), images)
    images = random_crop(images, padding, draws.top[index], draws.left[index])
    return images[:, :1], images[:, 1:]
