"""Real photographs and a tiny generator that has learnt some colour from them, for photo tests."""

from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from image_colourisation.colour import rgb_to_model_arrays
from image_colourisation.models import Generator
from image_colourisation.payloads import generator_payload

PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket")


def real_photo(name: str) -> Image.Image:
    """One of scikit-image's real RGB photographs, at its own size (300-640 pixels a side)."""
    return Image.fromarray(getattr(data, name)())


@cache
def tiny_trained_generator(steps: int = 60) -> Generator:
    """A width-8 U-Net fitted for a few dozen L1 steps to the ab of the four photos at 64x64.

    Not a good colouriser, but its ab is learnt from real photos (warm, far from gray), so a
    test can see predicted colour carried through to the output. About a second on one thread
    (two threads fighting other jobs on a 2-core machine were ten times slower).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    photos = np.stack([np.asarray(real_photo(name).resize((64, 64))) for name in PHOTO_NAMES])
    lightness, ab = (torch.from_numpy(array) for array in rgb_to_model_arrays(photos))
    generator = Generator(width=8, dropout=0.0)
    optimiser = torch.optim.Adam(generator.parameters(), lr=3e-3)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.l1_loss(generator(lightness), ab)
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
