"""Training crops of photos, torch-free: the U-Net depth a crop size needs, and photos decoded
at a working size and cut into random or centre squares.

A photo of any size is decoded once, turned upright (EXIF orientation) and shrunk so that its
shorter side is `working_scale * crop_size`: the disk cache that the training loader reads.
Training draws from each a random square (side between `crop_size` and the shorter side, so
the scale varies by up to `working_scale`), mirrored at random and resized to `crop_size`.
Evaluation sees the centre square, resized to `crop_size`: the whole photo's width or height,
at the coarsest scale training draws. The photos pipeline's ingestion and preprocessing and
training's `PhotoCrops` all cut them here.
"""

import io
import math

import numpy as np
from PIL import Image, ImageOps

from image_colourisation.imaging.photo_files import open_image

MAX_DEPTH = 8  # deeper U-Nets gain nothing at these sizes and cost 8x width per level


def generator_depth(crop_size: int) -> int:
    """U-Net levels for `crop_size`: halve while the size stays whole, down to 1x1 at most
    (32 -> 5, as for CIFAR-10; 128 -> 7; 96 -> 5, a 3x3 bottleneck), capped at MAX_DEPTH."""
    return min((crop_size & -crop_size).bit_length() - 1, MAX_DEPTH)


def upright(data: bytes) -> Image.Image:
    """The first picture of an image file's bytes, decoded, EXIF orientation applied, RGB."""
    with open_image(io.BytesIO(data)) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def working_size(image: Image.Image, short_side: int) -> Image.Image:
    """`image` shrunk (never enlarged) so that its shorter side is `short_side` pixels."""
    scale = short_side / min(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def decode_at_working_size(data: bytes, short_side: int) -> Image.Image:
    """Decode an image file straight to its working size; JPEGs decode at a reduced scale
    (Pillow's `draft`), which makes a 12-megapixel photo several times cheaper."""
    with open_image(io.BytesIO(data)) as image:
        scale = short_side / min(image.size)
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        picture = ImageOps.exif_transpose(image).convert("RGB")
    return working_size(picture, short_side)


def centre_square(image: Image.Image, crop_size: int) -> np.ndarray:
    """The centred square of `image` (its shorter side), resized to `crop_size`: uint8 RGB."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    box = (left, top, left + side, top + side)
    return np.asarray(image.resize((crop_size, crop_size), Image.Resampling.BILINEAR, box=box))


def random_square(
    image: Image.Image, crop_size: int, rng: np.random.Generator, flip: bool
) -> np.ndarray:
    """A random square of side in [crop_size, shorter side], resized to `crop_size`, mirrored
    left-right half of the time when `flip`: uint8 RGB (crop_size, crop_size, 3)."""
    side = int(rng.integers(crop_size, min(image.size) + 1))
    left = int(rng.integers(0, image.width - side + 1))
    top = int(rng.integers(0, image.height - side + 1))
    box = (left, top, left + side, top + side)
    crop = np.asarray(image.resize((crop_size, crop_size), Image.Resampling.BILINEAR, box=box))
    return crop[:, ::-1] if flip and rng.random() < 0.5 else crop
