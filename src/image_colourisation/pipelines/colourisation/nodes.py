"""The colourisation nodes: a folder of photos to colourised twins, and the served model's
request table (base64 image files) to an answer table (base64 PNGs), both through `render.py`."""

import base64
import binascii
import io
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
from PIL import Image

from image_colourisation.models import Generator
from image_colourisation.payloads import generator_from_payload
from image_colourisation.photo_files import too_many_pixels
from image_colourisation.render import check_render_size, colourise_frames, colourise_image

IMAGE_COLUMN = "image"
RENDER_SIZE_COLUMN = "render_size"


def colourise_photos(
    photos: dict[str, Callable[[], Image.Image]],
    generator_payload: dict[str, Any],
    render_size: int,
) -> dict[str, Callable[[], list[Image.Image]]]:
    """One lazy colourised photo per input photo, under the same relative path.

    Each is a list of frames: one for a still photo, every frame of an animated GIF or a
    multi-page TIFF (with their durations), as `render.colourise_frames` makes them.

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


def decode_request_photos(
    requests: pd.DataFrame, default_render_size: int
) -> list[tuple[Image.Image | None, int, str | None]]:
    """Each request row as (photo, render size, error): the `image` column's base64 bytes
    opened by Pillow, its own `render_size` when given, else `default_render_size`.

    A row that cannot be read keeps its place with an error saying what is wrong and what to
    send instead, so the other rows are still answered.
    """
    if IMAGE_COLUMN not in requests.columns:
        raise ValueError(
            f"The request has columns {list(requests.columns)}; it needs an {IMAGE_COLUMN!r} "
            "column of base64-encoded image files (PNG, JPEG, WebP, ...), one photo per row, "
            "and optionally 'render_size'."
        )
    sizes = requests.get(RENDER_SIZE_COLUMN, pd.Series([None] * len(requests)))
    return [
        _decode_row(encoded, size, default_render_size)
        for encoded, size in zip(requests[IMAGE_COLUMN], sizes, strict=True)
    ]


def _decode_row(
    encoded: Any, size: Any, default_render_size: int
) -> tuple[Image.Image | None, int, str | None]:
    render_size = default_render_size if size is None or pd.isna(size) else size
    try:
        whole = int(render_size)
    except (TypeError, ValueError):
        return None, default_render_size, f"render_size {size!r} is not a whole number"
    try:
        render_size = check_render_size(whole)
    except ValueError as error:
        return None, default_render_size, str(error)
    if not isinstance(encoded, str | bytes):
        return None, render_size, f"image is {type(encoded).__name__}, not base64 text"
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None, render_size, "image is not valid base64: encode the file's bytes"
    try:
        photo = Image.open(io.BytesIO(data))
        photo.load()
    except Exception as error:  # Pillow raises many kinds for truncated or foreign bytes
        problem = (
            f"has {too_many_pixels(error)}"
            if isinstance(error, Image.DecompressionBombError)
            else f"is not a readable picture ({type(error).__name__})"
        )
        return None, render_size, f"image {problem}"
    return photo, render_size, None


def colourise_request_photos(
    decoded: list[tuple[Image.Image | None, int, str | None]], generator_payload: dict[str, Any]
) -> list[tuple[Image.Image | None, str | None]]:
    """Colourise each readable photo with `render.colourise_image`, as `colourise` does: the
    photo's own full-size L* with ab predicted at its render size. A failure stays its row's."""
    generator = generator_from_payload(generator_payload)
    results: list[tuple[Image.Image | None, str | None]] = []
    for photo, render_size, error in decoded:
        if photo is None:
            results.append((None, error))
            continue
        try:
            results.append((colourise_image(photo, generator, render_size), None))
        except Exception as failure:  # one bad photo must not fail the others
            results.append((None, f"{type(failure).__name__}: {failure}"))
    return results


def encode_colourised_photos(results: list[tuple[Image.Image | None, str | None]]) -> pd.DataFrame:
    """One answer row per request row: the PNG base64-encoded, its width and height, or the
    row's error (and an empty image)."""
    rows = []
    for photo, error in results:
        if photo is None:
            rows.append({IMAGE_COLUMN: "", "width": 0, "height": 0, "error": error})
            continue
        buffer = io.BytesIO()
        photo.save(buffer, format="PNG")
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        rows.append(
            {IMAGE_COLUMN: encoded, "width": photo.width, "height": photo.height, "error": ""}
        )
    return pd.DataFrame(rows, columns=[IMAGE_COLUMN, "width", "height", "error"])


def keep_served_generator(generator_payload: dict[str, Any]) -> dict[str, Any]:
    """The trained GAN, handed to an unversioned dataset that kedro-mlflow packs into the
    registered model: given a versioned dataset, it would copy the folder of every version."""
    return generator_payload
