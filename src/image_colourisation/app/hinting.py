"""What the colourise page needs to guide the colours: the colours the model predicts around a
point, which the page offers as swatches for a hint there (`POST /api/suggest`). Hints are in
the upright photo's pixels (`photo_files.upright_size`).

Suggestions come from the model's own working image (its a*b* at the render size, before
upsampling, given the hints the person keeps), not from a colour distribution: most
generators here predict one a*b* per pixel, so the choice comes from the neighbourhood.
"""

import numpy as np
from PIL import Image, ImageOps

from image_colourisation.imaging.colour import lab_to_rgb, rgb_to_lab, to_uint8
from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.render import AbModel, photo_ab, photo_lightness

# Suggestions: the model's a*b* in the (2r+1)^2 working pixels around a point; the colour at
# the point first, then each the one farthest from those already offered, while it differs by
# at least SUGGESTION_SPREAD (a*b* units; about 2.3 is a just-noticeable difference).
SUGGESTION_RADIUS = 3
SUGGESTIONS = 4
SUGGESTION_SPREAD = 10.0
# A swatch shows its a*b* at the photo's L* there, kept in this range so that a near-black or
# near-white pixel still shows a colour one can tell apart (the hint uses only a*b*).
SWATCH_LIGHTNESS = (40.0, 80.0)


def predicted_colours(
    image: Image.Image,
    generator: AbModel,
    render_size: int,
    x: int,
    y: int,
    *,
    hints: list[Hint] | tuple[Hint, ...] = (),
) -> list[str]:
    """The model's colours around pixel (x, y) of the upright photo, as "#rrggbb", the one at
    the point first: what it predicts there given `hints` (the working image's a*b*, before
    upsampling), then up to `SUGGESTIONS` - 1 others from the neighbourhood that differ from
    those before (`SUGGESTION_SPREAD`), so a point on an edge offers both sides' colours."""
    lightness = upright_lightness(image)
    ab = photo_ab(generator, lightness, render_size, hints)
    height, width = lightness.shape
    row = min(int((y + 0.5) * ab.shape[1] / height), ab.shape[1] - 1)
    column = min(int((x + 0.5) * ab.shape[2] / width), ab.shape[2] - 1)
    around = ab[
        :,
        max(row - SUGGESTION_RADIUS, 0) : row + SUGGESTION_RADIUS + 1,
        max(column - SUGGESTION_RADIUS, 0) : column + SUGGESTION_RADIUS + 1,
    ]
    around = around.reshape(2, -1).T
    chosen = [ab[:, row, column]]
    while len(chosen) < SUGGESTIONS:
        distances = np.min([np.linalg.norm(around - colour, axis=1) for colour in chosen], axis=0)
        farthest = int(distances.argmax())
        if distances[farthest] < SUGGESTION_SPREAD:
            break
        chosen.append(around[farthest])
    shown = float(np.clip(lightness[y, x], *SWATCH_LIGHTNESS))
    return list(dict.fromkeys(swatch(shown, colour) for colour in chosen))


def swatch(lightness: float, ab: np.ndarray) -> str:
    """ "#rrggbb" of L* `lightness` and a*b* `ab`; a colour outside sRGB there loses chroma,
    in steps of a tenth, until it fits, so its hue survives the round trip through hex."""
    scales = np.linspace(1.0, 0.0, 11, dtype=np.float32)
    lab = np.column_stack([np.full_like(scales, lightness), scales[:, None] * ab[None]])
    rgb = to_uint8(lab_to_rgb(lab))
    fits = np.linalg.norm(rgb_to_lab(rgb)[:, 1:] - lab[:, 1:], axis=1) < 2.0
    return "#" + bytes(rgb[int(fits.argmax())]).hex()


def upright_lightness(image: Image.Image) -> np.ndarray:
    """L* (H, W) of the upright photo, all the model sees of it: read where hints point, and
    shown gray as the page's "before" (`page.gray_answer`)."""
    upright = ImageOps.exif_transpose(image)
    try:
        return photo_lightness(upright)
    except ValueError:  # palette, CMYK, LA...: Pillow's conversion, as colourising does
        return photo_lightness(upright.convert("RGB"))
