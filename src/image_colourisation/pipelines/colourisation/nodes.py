"""The colourisation pipeline's node: map each photo to its colourised twin."""

from collections.abc import Callable
from functools import partial
from typing import Any

from PIL import Image

from image_colourisation.models import Generator, generator_from_payload
from image_colourisation.photos import check_render_size, colourise_frames


def colourise_photos(
    photos: dict[str, Callable[[], Image.Image]],
    generator_payload: dict[str, Any],
    render_size: int,
) -> dict[str, Callable[[], list[Image.Image]]]:
    """One lazy colourised photo per input photo, under the same relative path.

    Each is a list of frames: one for a still photo, every frame of an animated GIF or a
    multi-page TIFF (with their durations), as `photos.colourise_frames` makes them.

    `generator_payload` is what the catalog's GeneratorChoiceDataset loaded: the latest GAN, or
    the model named with `--params colourisation.model=...`.

    Lazy: each photo is read, colourised and written one after another when the output
    folder saves, so a folder of 12-megapixel photos never sits in memory at once.
    """
    check_render_size(render_size)
    generator = generator_from_payload(generator_payload)
    return {
        name: partial(_colourise_loaded, load, generator, render_size)
        for name, load in photos.items()
    }


def _colourise_loaded(
    load: Callable[[], Image.Image], generator: Generator, render_size: int
) -> list[Image.Image]:
    return colourise_frames(load(), generator, render_size)
