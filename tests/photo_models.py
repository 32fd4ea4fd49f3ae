"""Real photographs and a tiny generator that has learnt some colour from them, for photo tests."""

import base64
import io
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from image_colourisation.imaging.colour import rgb_to_lab, rgb_to_model_arrays
from image_colourisation.imaging.hints import Hint
from image_colourisation.models.hint_sampling import sample_hints
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from tests.models.test_hint_sampling import sampling

PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket")
Batch = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]  # L, hints, ab


def real_photo(name: str) -> Image.Image:
    """One of scikit-image's real RGB photographs, at its own size (300-640 pixels a side)."""
    return Image.fromarray(getattr(data, name)())


def ab_distance_near(encoded_png: str, x: int, y: int, colour: str, radius: int = 8) -> float:
    """Mean Lab ab distance to `colour` (sRGB hex) of a base64 PNG's pixels within `radius` of
    (x, y): how far a colourised photo is from a hinted colour around the hint."""
    png = Image.open(io.BytesIO(base64.b64decode(encoded_png)))
    window = np.asarray(png.convert("RGB"))[y - radius : y + radius, x - radius : x + radius]
    target = Hint(0, 0, colour).normalised_ab() * 110
    return float(np.hypot(*(rgb_to_lab(window)[..., 1:] - target).transpose(2, 0, 1)).mean())


def photo_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    """The four photos at 64x64 as the model sees them: normalised L and ab."""
    photos = np.stack([np.asarray(real_photo(name).resize((64, 64))) for name in PHOTO_NAMES])
    lightness, ab = rgb_to_model_arrays(photos)
    return torch.from_numpy(lightness), torch.from_numpy(ab)


@cache
def tiny_trained_generator(steps: int = 60) -> Generator:
    """A width-8 U-Net fitted for a few dozen L1 steps to the ab of the four photos at 64x64.

    Not a good colouriser, but its ab is learnt from real photos (warm, far from gray), so a
    test can see predicted colour carried through to the output. About a second on one thread
    (two threads fighting other jobs on a 2-core machine were ten times slower).
    """
    lightness, ab = photo_arrays()
    return _fitted(lambda: Generator(width=8, dropout=0.0), steps, lambda: (lightness, None, ab))


@cache
def tiny_hint_generator(steps: int = 300, p_none: float = 0.0) -> Generator:
    """A width-8 hint U-Net that has learnt to follow hints on the four photos at 64x64.

    Each step turns every photo's colours by a random hue angle, so L* alone cannot tell the
    colour and only the hints (drawn from the turned colours; none for a share `p_none` of the
    photos) can: the model must read them and spread them. 3-8 seconds on one thread of a busy
    2-core machine; a hint at the centre of the coffee photo then halves the ab distance to the
    hinted colour around it. Its automatic colouring is nearly gray: any hue is as likely.
    """
    lightness, ab = photo_arrays()
    draws = torch.Generator().manual_seed(0)
    hint_sampling = sampling(p_none=p_none)

    def batch() -> Batch:
        angle = torch.rand(len(ab), 1, 1, generator=draws) * 2 * math.pi
        turned = torch.stack(
            [
                angle.cos() * ab[:, 0] - angle.sin() * ab[:, 1],
                angle.sin() * ab[:, 0] + angle.cos() * ab[:, 1],
            ],
            dim=1,
        )
        return lightness, sample_hints(turned, hint_sampling, draws), turned

    return _fitted(lambda: Generator(width=8, dropout=0.0, hints=True), steps, batch)


def page_hint_generator() -> Generator:
    """The page tests' hint generator: 150 steps, a fifth of the photos shown no hints. Its
    red hint turns its region red (a* from about 0 to 20-70) and leaves the rest of the photo
    within 0.1 a*b* units."""
    return tiny_hint_generator(150, p_none=0.2)


def hint_model(folder: Path) -> Path:
    """`page_hint_generator` as a payload file, as the training pipeline writes one."""
    path = folder / "generator_hints.pt"
    torch.save(generator_payload(page_hint_generator()), path)
    return path


def _fitted(build: Callable[[], Generator], steps: int, batch: Callable[[], Batch]) -> Generator:
    """A generator built after seeding, then fitted by `steps` Adam steps of L1 on `batch()`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    generator = build()
    optimiser = torch.optim.Adam(generator.parameters(), lr=3e-3)
    for _ in range(steps):
        lightness, hints, ab = batch()
        optimiser.zero_grad()
        loss = torch.nn.functional.l1_loss(generator(lightness, hints), ab)
        loss.backward()
        optimiser.step()
    torch.set_num_threads(threads)
    return generator.eval()


def photo_model(folder: Path, render_size: int | None) -> Path:
    """A payload file as the photos pipeline writes it: with the crop size it was trained at."""
    path = folder / "generator_gan.pt"
    payload = generator_payload(tiny_trained_generator())
    torch.save(payload if render_size is None else payload | {"render_size": render_size}, path)
    return path
