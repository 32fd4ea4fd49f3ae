"""The colourisation nodes: a folder of photos to colourised twins, and the served model's
request table (base64 image files) to an answer table (base64 PNGs), both through `render.py`."""

import base64
import binascii
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from image_colourisation.core.ranges import shortened
from image_colourisation.imaging.hints import (
    HINTS_JSON_FORM,
    NO_HINT_INPUTS,
    Hint,
    check_hints,
    hints_from_json,
)
from image_colourisation.imaging.photo_files import (
    frame_count,
    open_image,
    too_many_pixels,
    upright_size,
)
from image_colourisation.imaging.render import (
    AbModel,
    check_render_size,
    colourise_frames,
    colourise_image,
)
from image_colourisation.imaging.video import Clip, ColouredClip, coloured_clip
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_runtime import OnnxGenerator, Runtime
from image_colourisation.models.payloads import generator_from_payload

IMAGE_COLUMN = "image"
RENDER_SIZE_COLUMN = "render_size"
HINTS_COLUMN = "hints"  # optional: JSON text of hints in the photo's pixels, or empty
# Pixels one request's photos may hold in all, decoded: one photo at Pillow's largest (8 rows
# of a 169-MP PNG were decoded together into 7.0 GB). Rows past it are answered with an error.
MAX_REQUEST_PIXELS = 180_000_000


@dataclass(frozen=True)
class RequestPhoto:
    """One request row, read: its photo (None when the row cannot be colourised), render size
    and hints, or what is wrong with the row."""

    photo: Image.Image | None
    render_size: int
    hints: tuple[Hint, ...] = ()
    error: str | None = None


def colourise_photos(
    photos: dict[str, Callable[[], Image.Image | Clip]],
    generator_payload: dict[str, Any],
    render_size: int,
    key_every: int,
) -> dict[str, Callable[[], list[Image.Image] | ColouredClip]]:
    """One lazy colourised photo or clip per input file, under the same relative path.

    A photo becomes a list of frames: one for a still photo, every frame of an animated GIF or
    a multi-page TIFF (with their durations), as `render.colourise_frames` makes them. A video
    becomes a `video.ColouredClip` whose frames are coloured as it is written: the model on key
    frames every `key_every` frames and at cuts, colour carried between them (docs/video.md).

    `generator_payload` is what the catalog's GeneratorChoiceDataset loaded: the latest GAN, or
    the model named with `--params colourisation.model=...`.

    Lazy: each file is read, colourised and written one after another when the output folder
    saves, so a folder of 12-megapixel photos or long clips never sits in memory at once.
    """
    check_render_size(render_size)
    generator = generator_from_payload(generator_payload)
    return {
        name: partial(_colourise_loaded, load, generator, render_size, key_every)
        for name, load in photos.items()
    }


def _colourise_loaded(
    load: Callable[[], Image.Image | Clip], generator: Generator, render_size: int, key_every: int
) -> list[Image.Image] | ColouredClip:
    loaded = load()
    if isinstance(loaded, Clip):
        return coloured_clip(loaded, generator, render_size, key_every)
    return colourise_frames(loaded, generator, render_size)


def decode_request_photos(requests: pd.DataFrame, default_render_size: int) -> list[RequestPhoto]:
    """Each request row, read: the `image` column's base64 bytes opened by Pillow, its own
    `render_size` when given, else `default_render_size`, and its `hints` when given (JSON
    text, `hints.HINTS_JSON_FORM`, in the upright photo's own pixels).

    A row that cannot be read keeps its place with an error saying what is wrong and what to
    send instead, so the other rows are still answered.
    """
    if IMAGE_COLUMN not in requests.columns:
        raise ValueError(
            f"The request has columns {list(requests.columns)}; it needs an {IMAGE_COLUMN!r} "
            "column of base64-encoded image files (PNG, JPEG, WebP, ...), one photo per row, "
            f"and optionally {RENDER_SIZE_COLUMN!r} and {HINTS_COLUMN!r}."
        )
    missing = pd.Series([None] * len(requests))
    sizes = requests.get(RENDER_SIZE_COLUMN, missing)
    hints = requests.get(HINTS_COLUMN, missing)
    rows, left = [], MAX_REQUEST_PIXELS
    for encoded, size, hint_text in zip(requests[IMAGE_COLUMN], sizes, hints, strict=True):
        row, pixels = _decode_row(encoded, size, hint_text, default_render_size, left)
        left -= pixels
        rows.append(row)
    return rows


def _decode_row(
    encoded: Any, size: Any, hint_text: Any, default_render_size: int, pixels_left: int
) -> tuple[RequestPhoto, int]:
    """One row read, and the pixels its decoded photo holds (0 when it was not decoded); the
    photo is decoded only when its pixels fit in what the request has left."""
    try:
        render_size = _row_render_size(size, default_render_size)
        hints = _row_hints(hint_text)
    except ValueError as error:
        return RequestPhoto(None, default_render_size, error=str(error)), 0
    try:
        photo = _request_image(encoded)
        check_hints(hints, *upright_size(photo))
        pixels = _pixels(photo)
        if pixels > pixels_left:
            raise ValueError(
                f"image holds {pixels / 1e6:,.3g} megapixels, more than the "
                f"{max(pixels_left, 0) / 1e6:,.3g} left of the {MAX_REQUEST_PIXELS / 1e6:,.3g} "
                "one request may hold in all (the rows before it took the rest); send it in a "
                "request of its own"
            )
        photo.load()
    except ValueError as error:
        return RequestPhoto(None, render_size, error=str(error)), 0
    except Exception as error:  # Pillow raises many kinds for truncated or foreign bytes
        return RequestPhoto(None, render_size, error=_unreadable(error)), 0
    return RequestPhoto(photo, render_size, hints), pixels


def _pixels(photo: Image.Image) -> int:
    """Pixels of every frame a photo's header claims (frames counted up to their limit)."""
    return photo.width * photo.height * frame_count(photo)


def _row_render_size(size: Any, default_render_size: int) -> int:
    """A row's render size: its own when given, else the default; checked."""
    if size is None or (isinstance(size, float) and math.isnan(size)):
        return check_render_size(default_render_size)
    # 64.0 is a whole number: pandas stores a column whose rows mix sizes and none as floats.
    number = isinstance(size, int | float | np.number) and not isinstance(size, bool)
    if not number or not math.isfinite(size) or size != int(size):
        raise ValueError(
            f"render_size {shortened(size)} is not a whole number; give one such as 64, or "
            "leave it out for the model's own"
        )
    return check_render_size(int(size))


def _request_image(encoded: Any) -> Image.Image:
    """A row's picture, opened (not yet decoded); ValueError says what is wrong with the bytes."""
    if not isinstance(encoded, str | bytes):
        raise ValueError(f"image is {type(encoded).__name__}, not base64 text")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("image is not valid base64: encode the file's bytes") from error
    try:
        return open_image(io.BytesIO(data))  # the header alone: decoded once its pixels fit
    except Exception as error:  # Pillow raises many kinds for truncated or foreign bytes
        raise ValueError(_unreadable(error)) from error


def _unreadable(error: Exception) -> str:
    problem = (
        f"has {too_many_pixels(error)}"
        if isinstance(error, Image.DecompressionBombError)
        else f"is not a readable picture ({type(error).__name__})"
    )
    return f"image {problem}"


def _row_hints(text: Any) -> tuple[Hint, ...]:
    """A row's hints: none for an empty or missing cell, else its JSON text read."""
    if isinstance(text, str):
        return tuple(hints_from_json(text)) if text.strip() else ()
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ()
    raise ValueError(f"hints is {type(text).__name__}, not JSON text such as {HINTS_JSON_FORM}.")


def colourise_request_photos(
    decoded: list[RequestPhoto],
    generator_payload: dict[str, Any],
    generator_onnx: bytes | None = None,
    runtime: Runtime = "torch",
) -> list[tuple[Image.Image | None, str | None]]:
    """Colourise each readable photo with `render.colourise_image`, as `colourise` does: the
    photo's own full-size L* with ab predicted at its render size, guided by its hints. A
    failure stays its row's; hints for a generator without hint inputs are such a failure.

    The generator runs as its ONNX export with ONNX Runtime when `runtime` is "onnx"
    (`colourisation.runtime`), else with PyTorch. Versions registered before ONNX export
    existed pass neither (their pipeline has two inputs) and run with PyTorch.
    """
    generator: AbModel = (
        OnnxGenerator(generator_onnx, "the served generator's ONNX export")
        if runtime == "onnx" and generator_onnx is not None
        else generator_from_payload(generator_payload)
    )
    results: list[tuple[Image.Image | None, str | None]] = []
    for row in decoded:
        if row.photo is None:
            results.append((None, row.error))
        elif row.hints and not generator.takes_hints:
            results.append((None, NO_HINT_INPUTS))
        else:
            results.append(_colourised(row, generator))
    return results


def _colourised(row: RequestPhoto, generator: AbModel) -> tuple[Image.Image | None, str | None]:
    try:
        return colourise_image(row.photo, generator, row.render_size, row.hints), None
    except Exception as failure:  # one bad photo must not fail the others
        return None, f"{type(failure).__name__}: {failure}"


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
