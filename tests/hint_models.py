"""A tiny generator that follows colour hints, for the page's tests of guided colourisation.

`tests/photo_models.py`'s tiny generator learns the four photos' own colours in 60 steps;
given hints too, it would learn to ignore them, because it already knows every answer. Here
each training image's a*b* is turned by a random hue angle, as training.hints' hints are drawn
from it (`hints.sample_hints`, mostly hinted): the hue cannot be learnt from L* alone, so the
only way to fit it is to carry the hinted colour to the pixels around the hint. 150 steps,
about 5 s on one busy thread, give a generator whose red hint turns its region red (a* from
about 0 to 20-70) and leaves the rest of the photo within 0.1 a*b* units. Its automatic
colouring is nearly gray: the hue it learnt to expect is any.
"""

from functools import cache
from pathlib import Path

import numpy as np
import torch

from image_colourisation.colour import rgb_to_model_arrays
from image_colourisation.hints import HintSampling, sample_hints
from image_colourisation.models import Generator
from image_colourisation.payloads import generator_payload
from tests.photo_models import PHOTO_NAMES, real_photo


@cache
def tiny_hint_generator(steps: int = 150) -> Generator:
    """A width-8 hint U-Net fitted for `steps` L1 steps to hue-turned ab of the four photos."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    draws = torch.Generator().manual_seed(0)
    photos = np.stack([np.asarray(real_photo(name).resize((64, 64))) for name in PHOTO_NAMES])
    lightness, ab = (torch.from_numpy(array) for array in rgb_to_model_arrays(photos))
    sampling = HintSampling(p_none=0.2)  # most examples hinted: following hints is the lesson
    generator = Generator(width=8, dropout=0.0, hints=True)
    optimiser = torch.optim.Adam(generator.parameters(), lr=3e-3)
    for _ in range(steps):
        angle = torch.rand(len(ab), generator=draws)[:, None, None] * 2 * torch.pi
        turned = torch.stack(
            [
                angle.cos() * ab[:, 0] - angle.sin() * ab[:, 1],
                angle.sin() * ab[:, 0] + angle.cos() * ab[:, 1],
            ],
            dim=1,
        )
        optimiser.zero_grad()
        prediction = generator(lightness, sample_hints(turned, sampling, draws))
        loss = torch.nn.functional.l1_loss(prediction, turned)
        loss.backward()
        optimiser.step()
    torch.set_num_threads(threads)
    return generator.eval()


def hint_model(folder: Path) -> Path:
    """`tiny_hint_generator` as a payload file, as the training pipeline writes one."""
    path = folder / "generator_hints.pt"
    torch.save(generator_payload(tiny_hint_generator()), path)
    return path
