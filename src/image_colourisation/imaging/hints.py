"""Colour hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization"): the one place
for their maths.

A hint is a person's colour at one pixel of their photo. The generator sees hints as a layer
of three channels at its working size: the hinted a, b (normalised as the model's ab, 0
elsewhere) and a mask (1 at hinted pixels). People give hints in the photo's own pixels
(`Hint`, `parse_hint`, `read_hints_file`; a video's on frames, `read_frame_hints_file`) and
`hint_layer` places them on the working image; training's hints, drawn from the true colours,
are in `hint_sampling.py` (it needs torch; this module must not, so that colourising with ONNX
Runtime starts without it).
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from image_colourisation.core.bounded import json_from_text, whole_number
from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import read_small_text
from image_colourisation.imaging.colour import normalise_ab, rgb_to_lab

HINT_FORM = "X,Y,#rrggbb (the pixel's column and row in the photo, from 0 at the top left)"
HINTS_JSON_FORM = '[{"x": 412, "y": 230, "colour": "#c0392b"}, ...] ("color" also works)'
# A video's hints: each on one frame (from 0, the first), carried from there through its shot.
FRAME_HINTS_JSON_FORM = '[{"frame": 0, "x": 412, "y": 230, "colour": "#c0392b"}, ...]'
# A person's hint covers 3x3 pixels of the working image, centred on the pixel they chose: the
# largest patch training shows the model (`HintSampling.max_patch`), so the hint weighs as much
# as the model knows how to weigh it, and an odd side keeps it centred where it was put.
HINT_RADIUS = 1
# Hints as JSON, from a file, the page or a served row: 45 bytes a hint, so 20,000 hints fit;
# more text is refused before it is read or parsed.
MAX_HINTS_JSON_BYTES = 1 << 20
# Hints per photo, wherever they come from. The page sends them in its URL (about 75 bytes each
# once percent-encoded) and uvicorn refuses request lines past about 64 kB: 500 fit with room
# to spare, far more than people click; the command and the served model take as many.
MAX_HINTS = 500
NO_HINT_INPUTS = (
    "This generator was trained without hint inputs, so it cannot take colour hints: retrain "
    "it with the current training pipeline (training.hints.enabled: true, the default), or "
    "colourise without hints."
)
_HINT_TEXT = re.compile(r"\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*(#[0-9a-fA-F]{6})\s*")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Hint:
    """A colour for one pixel of a photo: x (column) and y (row) from 0 at the top left of the
    upright photo, in its own pixels; the colour as sRGB hex, "#rrggbb"."""

    x: int
    y: int
    colour: str

    def __str__(self) -> str:
        return f"{self.x},{self.y},{self.colour}"

    def normalised_ab(self) -> np.ndarray:
        """The colour's a*, b* (2,), scaled as the generator sees ab. Its L* is not used: the
        photo keeps its own lightness, the hint sets hue and chroma."""
        rgb = np.frombuffer(bytes.fromhex(self.colour[1:]), dtype=np.uint8)
        return normalise_ab(rgb_to_lab(rgb[None])[0, 1:]).astype(np.float32)


def parse_hint(text: str) -> Hint:
    """Read "412,230,#c0392b" as Hint(412, 230, "#c0392b"); anything else raises ValueError."""
    match = _HINT_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"hint {text!r} is not {HINT_FORM}, e.g. 412,230,#c0392b.")
    x, y = whole_number(match[1], "the hint's x"), whole_number(match[2], "the hint's y")
    return Hint(x, y, match[3].lower())


def hints_from_json(text: str, where: str = "hints") -> list[Hint]:
    """Hints from JSON text in the form `HINTS_JSON_FORM`; `where` names the source in errors.

    The one reader of hints as JSON (the command's file, the page, the served model's column),
    bounded in size, nesting and digits before anything is built (`core.bounded`).
    """
    items = _json_items(text, where, HINTS_JSON_FORM)
    return [_hint_from_item(item, f"{where}[{index}]") for index, item in enumerate(items)]


def frame_hints_from_json(text: str, where: str = "hints") -> dict[int, list[Hint]]:
    """A video's hints from JSON text in the form `FRAME_HINTS_JSON_FORM`: frame number (from
    0) -> the hints on that frame, in the file's order; read as `hints_from_json` reads."""
    by_frame: dict[int, list[Hint]] = {}
    for index, item in enumerate(_json_items(text, where, FRAME_HINTS_JSON_FORM)):
        name = f"{where}[{index}]"
        frame = item.get("frame") if isinstance(item, dict) else None
        if not _is_pixel(frame):
            raise ValueError(
                f"{name} is {json.dumps(item)[:80]}, not a hint on a frame: give frame (a whole "
                f"number from 0, the first frame), as in {FRAME_HINTS_JSON_FORM}."
            )
        by_frame.setdefault(frame, []).append(_hint_from_item(item, name))
    return by_frame


def read_hints_file(path: Path) -> list[Hint]:
    """Hints from a JSON file (`HINTS_JSON_FORM`); a file that cannot be read raises ValueError.

    Only a regular file of at most `MAX_HINTS_JSON_BYTES` is read: /dev/zero, a FIFO or a
    huge file given as hints is refused by what it is, as photos and models are.
    """
    what = f"hints file {path}"
    return hints_from_json(read_small_text(path, MAX_HINTS_JSON_BYTES, what), what)


def read_frame_hints_file(path: Path) -> dict[int, list[Hint]]:
    """A video's hints from a JSON file (`FRAME_HINTS_JSON_FORM`), read as `read_hints_file`."""
    what = f"hints file {path}"
    return frame_hints_from_json(read_small_text(path, MAX_HINTS_JSON_BYTES, what), what)


def _json_items(text: str, where: str, form: str) -> list[Any]:
    """The items of a JSON list of hints, read within `MAX_HINTS_JSON_BYTES`; errors say `form`."""
    try:
        items = json_from_text(text, where, max_chars=MAX_HINTS_JSON_BYTES)
    except UserValueError as error:
        raise UserValueError(f"{error}; give {form}.") from error
    if not isinstance(items, list):
        raise ValueError(f"{where} is a JSON {type(items).__name__}; give a list: {form}.")
    return items


def _hint_from_item(item: Any, where: str) -> Hint:
    colour = item.get("colour", item.get("color")) if isinstance(item, dict) else None
    fits = (
        isinstance(item, dict)
        and all(_is_pixel(item.get(key)) for key in ("x", "y"))
        and isinstance(colour, str)
        and _COLOUR.fullmatch(colour)
    )
    if not fits:
        shown = json.dumps(item)[:80]
        raise ValueError(
            f"{where} is {shown}, not a hint: give x and y (whole pixels from 0 at the top left) "
            f'and a colour "#rrggbb", as in {HINTS_JSON_FORM}.'
        )
    return Hint(item["x"], item["y"], colour.lower())


def _is_pixel(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_hint_count(hints: Sequence[Hint]) -> None:
    """Raise ValueError for more than `MAX_HINTS` hints: the one cap of the command, the page
    and the served model."""
    if len(hints) > MAX_HINTS:
        raise ValueError(
            f"{len(hints):,} hints are more than one photo takes ({MAX_HINTS}): remove some "
            "(colour spreads from each hint, so a few well-placed ones do)."
        )


def check_hints(hints: Sequence[Hint], width: int, height: int) -> None:
    """Raise ValueError for too many hints, or naming the first hint that lies outside a
    `width` x `height` photo."""
    check_hint_count(hints)
    for hint in hints:
        if hint.x >= width or hint.y >= height:
            raise ValueError(
                f"hint {hint} is outside the {width}x{height} photo: x must be 0-{width - 1} and "
                f"y 0-{height - 1} (pixels from the top left of the upright photo)."
            )


def hint_layer(
    hints: Sequence[Hint],
    photo_size: tuple[int, int],
    small_size: tuple[int, int],
    padded_shape: tuple[int, int],
) -> np.ndarray:
    """The generator's hint input (3, H, W) float32 for a photo of `photo_size` (width,
    height) shrunk to `small_size` (height, width) and padded with zeros to `padded_shape`.

    Each hint lands on the working pixel whose area holds its photo pixel's centre (the same
    per-axis scale as the resize in `render.photo_ab`) and fills the 3x3 patch around it
    (`HINT_RADIUS`), cut at the image's edge; a later hint covers an earlier one.
    """
    return _painted_layer(tuple(hints), photo_size, small_size, padded_shape).copy()


@lru_cache(maxsize=4)
def _painted_layer(
    hints: tuple[Hint, ...],
    photo_size: tuple[int, int],
    small_size: tuple[int, int],
    padded_shape: tuple[int, int],
) -> np.ndarray:
    """`hint_layer`, painted once for every frame of an animation: a thousand frames with
    500 hints would otherwise paint 500,000 patches."""
    layer = np.zeros((3, *padded_shape), dtype=np.float32)
    width, height = photo_size
    small_height, small_width = small_size
    for hint in hints:
        rows = _patch(hint.y, height, small_height)
        columns = _patch(hint.x, width, small_width)
        layer[:2, rows, columns] = hint.normalised_ab()[:, None, None]
        layer[2, rows, columns] = 1.0
    return layer


def working_index(position: float, photo_length: int, small_length: int) -> int:
    """The working pixel (row or column) whose area holds a photo pixel's centre."""
    return min(int((position + 0.5) * small_length / photo_length), small_length - 1)


def _patch(position: int, photo_length: int, small_length: int) -> slice:
    centre = working_index(position, photo_length, small_length)
    return slice(max(centre - HINT_RADIUS, 0), min(centre + HINT_RADIUS + 1, small_length))


def truth_hints(photo: np.ndarray, count: int, seed: Sequence[int], render_size: int) -> list[Hint]:
    """`count` hints drawn from a photo's true colours (H, W, 3 uint8), as the hints curve draws
    them from CIFAR-10's (Zhang et al. 2017's protocol): each at a uniform place (`seed` alone
    decides where, so every model gets the same hints), holding the mean true colour of the
    patch it covers at the working size, `2 * HINT_RADIUS + 1` working pixels on a side at
    `render_size` pixels on the photo's longer side."""
    height, width = photo.shape[:2]
    half = max(1, round((HINT_RADIUS + 0.5) * max(height, width) / render_size))
    places = np.random.default_rng(list(seed)).integers(0, (width, height), size=(count, 2))
    hints = []
    for x, y in places:
        patch = photo[max(y - half, 0) : y + half, max(x - half, 0) : x + half]
        mean = np.round(patch.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
        hints.append(Hint(int(x), int(y), f"#{mean.tobytes().hex()}"))
    return hints
