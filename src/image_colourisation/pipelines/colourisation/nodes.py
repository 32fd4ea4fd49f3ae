"""Nodes of the colourisation pipeline: pick the model, then map each photo to its colourised twin."""

from collections.abc import Callable
from functools import partial
from typing import Any

from PIL import Image

from image_colourisation.model_sources import load_generator
from image_colourisation.models import Generator, generator_from_payload
from image_colourisation.photos import check_render_size, colourise_image


def choose_generator(latest_payload: dict[str, Any], source: str | None) -> Generator:
    """The generator named by `colourisation.model`, or else the latest `generator_gan`.

    `source` is whatever `model_sources.load_generator` accepts (payload file, versioned folder,
    `runs:/…`, `models:/…`); reading it here is the documented exception to "no I/O in nodes",
    since a run-time choice of model cannot be a fixed catalog entry.
    """
    return load_generator(source) if source else generator_from_payload(latest_payload)


def colourise_photos(
    photos: dict[str, Callable[[], Image.Image]], generator: Generator, render_size: int
) -> dict[str, Callable[[], Image.Image]]:
    """One lazy colourised photo per input photo, under the same relative path.

    Lazy: each photo is read, colourised and written one after another when the output
    folder saves, so a folder of 12-megapixel photos never sits in memory at once.
    """
    check_render_size(render_size)
    return {
        name: partial(_colourise_loaded, load, generator, render_size)
        for name, load in photos.items()
    }


def _colourise_loaded(
    load: Callable[[], Image.Image], generator: Generator, render_size: int
) -> Image.Image:
    return colourise_image(load(), generator, render_size)
