"""Colourise a photo of any size: ab predicted small, joined with the photo's own full-size L*.

The generator was trained on small images, so it predicts a*b* at a working resolution
(`render_size` pixels on the longer side), given the photo's L* there and, optionally, a
person's colour hints (`hints.py`). Colour is low-frequency, so that ab is upsampled to the
photo's full size and joined with the photo's own full-resolution L*. The upsampling is
guided by that L* (joint bilateral upsampling, `guided_upsampling`), so colour stops at the photo's
edges instead of bleeding a few pixels across them as plain bilinear upsampling does
(`benchmarks/edge_bleed.py` measures it). Both ends run in row strips so that a 12-megapixel
photo needs tens of MB of float32 work space, not a full-size Lab copy (144 MB each).

With hints, the model's ab is then corrected on a working image of at most 128 pixels
(`propagation.py`, Levin et al. 2004): each hint's colour carried along the photo's own edges,
the model's colour the prior where no hint reaches (`hinted_ab`), before the same guided
upsampling. Without hints nothing of this runs: automatic colourisation is as it was.

An animated GIF, PNG or WebP and a multi-page TIFF are colourised frame by frame, keeping
each frame's duration and the loop count (`colourise_frames`).

This is the one place that turns a photo into a colourised photo: the `colourise` command and
its page (`app/`), the served model and the Kedro pipeline (`pipelines/colourisation`) all call
`colourise_frames`; files are read and written by `photo_files.py`, and all Lab maths comes
from `colour.py`. The model is anything that maps L* (+ hints) to ab (`AbModel`): a PyTorch
`networks.Generator` or its ONNX export run by ONNX Runtime (`onnx_runtime.OnnxGenerator`).
Nothing here imports torch, so the ONNX path starts without it.
"""

from collections.abc import Callable, Sequence
from functools import cache
from numbers import Integral
from typing import Protocol

import numpy as np
from PIL import Image, ImageOps

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.memory import memory_budget
from image_colourisation.core.ranges import shortened
from image_colourisation.imaging.colour import (
    denormalise_ab,
    lab_to_rgb,
    normalise_l,
    rgb_to_lightness,
    to_uint8,
)
from image_colourisation.imaging.hints import Hint, check_hints, hint_layer
from image_colourisation.imaging.photo_files import can_hold_frames, check_frames, frame_count

DEFAULT_RENDER_SIZE = 64  # longer side of the working image; keep in step with the parameters
RENDER_MULTIPLE = 32  # the default U-Net (depth 5) halves the size five times
# The page and the served model take a render size from whoever calls them, and a model file
# records one: at 1024 the default generator peaks near 1 GB and takes a second per photo on
# one core (8x the photos' training crops, 2x the page's largest choice); 8192 needs 64 times
# that, for a 1x1 photo too (it is scaled to the render size).
MAX_RENDER_SIZE = 1024
L_TOLERANCE = 0.5  # L* units an output pixel may drift from the photo's (bytes round ~0.2)
_CHROMA_STEPS = 8  # bisection steps: chroma fitted to 1/256 of the predicted amount
STRIP_PIXELS = 1 << 20  # pixels per row strip: about 12 MB of float32 Lab work space
_GRAY_16_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}  # 16-bit gray (PNG, TIFF)
# Joint bilateral upsampling: a working pixel's colour counts for a photo pixel by its bilinear
# weight times exp(-dL^2 / 2 sigma^2), dL the L* difference between the photo pixel and the
# working pixel. Sigma 3 L* erred least of 2-12 on benchmarks/edge_bleed.py's photos. The floor
# keeps every weight above 0: a pixel unlike all four working pixels (a thin line) gets bilinear
# colour.
RANGE_SIGMA = 3.0
_RANGE_FLOOR = 1e-4
_CACHE_PIXELS = 1 << 15  # pixels per block of the upsampling's arithmetic: 128 KB per array


class AbModel(Protocol):
    """What colourising needs of a model: normalised L (1, 1, H, W) and, for a hint model, the
    hint layer (1, 3, H, W) or None -> normalised ab (1, 2, H, W), all float32 numpy, H and W
    multiples of `size_multiple`. The seam between this module and a runtime."""

    @property
    def takes_hints(self) -> bool: ...

    @property
    def size_multiple(self) -> int: ...

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray: ...

    def memory_needed(self, height: int, width: int) -> int:
        """Bytes one `colour` call on a `height` x `width` image takes at its peak."""
        ...


def check_render_size(render_size: int) -> int:
    """Return `render_size` if the generator can take it, else say what it must be; any other
    type ("64" from a parameter, 64.0, True) is said the same way, never compared."""
    whole = isinstance(render_size, Integral) and not isinstance(render_size, bool)
    if (
        not whole
        or not RENDER_MULTIPLE <= render_size <= MAX_RENDER_SIZE
        or render_size % RENDER_MULTIPLE
    ):
        shown = render_size if whole else f"{shortened(render_size)} ({type(render_size).__name__})"
        raise UserValueError(
            f"render_size must be a multiple of {RENDER_MULTIPLE} from {RENDER_MULTIPLE} to "
            f"{MAX_RENDER_SIZE} (e.g. {DEFAULT_RENDER_SIZE}), got {shown}."
        )
    return render_size


def colourise_image(
    image: Image.Image,
    generator: AbModel,
    render_size: int = DEFAULT_RENDER_SIZE,
    hints: Sequence[Hint] = (),
) -> Image.Image:
    """Colourise one photo of any mode; the result has the photo's size, its L* and its alpha.

    EXIF orientation is applied first, so the result is upright (and carries no EXIF), and
    `hints` are in the upright photo's pixels. A colour photo is reduced to its L* first, so a
    known photo shows what the model does. Returns an RGB image, or RGBA when the photo has
    transparency.
    """
    check_render_size(render_size)
    base, alpha = _picture_and_alpha(ImageOps.exif_transpose(image))
    lightness = photo_lightness(base)
    ab = photo_ab(generator, lightness, render_size, hints)
    if hints:  # the hints' colour carried along the photo's edges, at a finer size
        ab = hinted_ab(lightness, ab, hints)
    coloured = join_lightness_and_ab(lightness, ab)
    if alpha is not None:
        coloured.putalpha(alpha)
    return coloured


def colourise_frames(
    image: Image.Image,
    generator: AbModel,
    render_size: int = DEFAULT_RENDER_SIZE,
    hints: Sequence[Hint] = (),
) -> list[Image.Image]:
    """Every frame of `image` colourised: one for a still photo, all of an animation or a
    multi-page TIFF, each keeping its `duration` (and the first the `loop` count). The same
    `hints` guide every frame.

    Raises ValueError, before any work, for a file with several frames in a format that
    Pillow can write with one only (colourising it would silently drop the other frames), and
    for more frames or pixels than `photo_files.check_frames` allows: from the header first,
    then from each frame's own size before it is decoded (TIFF pages and GIF frames may be
    larger than the first).
    """
    count = frame_count(image)
    if count == 1:
        return [colourise_image(image, generator, render_size, hints)]
    check_render_size(render_size)
    if not can_hold_frames(image.format):
        raise ValueError(
            f"it has {count} frames, and {image.format} files can only be written with one, "
            "so only the first frame would be colourised. Save the frames as separate photos "
            "(or as an animated GIF, PNG or WebP, or a multi-page TIFF) and colourise those."
        )
    check_frames(count, count * image.width * image.height)
    loop = image.info.get("loop")
    frames, pixels = [], 0
    for index in range(count):
        image.seek(index)
        pixels += image.width * image.height
        check_frames(count, pixels)
        coloured = colourise_image(image, generator, render_size, hints)
        if "duration" in image.info:
            coloured.info["duration"] = image.info["duration"]
        frames.append(coloured)
    image.seek(0)
    if loop is not None:
        frames[0].info["loop"] = loop
    return frames


def photo_lightness(image: Image.Image) -> np.ndarray:
    """CIE L* (H, W) float32 of a photo in mode L, I;16, I or RGB, read in row strips."""
    to_lightness = _lightness_function(image.mode)
    width, height = image.size
    lightness = np.empty((height, width), dtype=np.float32)
    for top, bottom in _row_strips(height, width):
        lightness[top:bottom] = to_lightness(np.asarray(image.crop((0, top, width, bottom))))
    return lightness


def photo_ab(
    generator: AbModel,
    lightness: np.ndarray,
    render_size: int,
    hints: Sequence[Hint] = (),
) -> np.ndarray:
    """a*, b* (2, h, w) in Lab units, predicted from L* shrunk to `render_size` on its long side.

    The shrunk image keeps the photo's aspect ratio; it is padded (edge pixels repeated) up to
    the multiple the U-Net needs and the padding is cut off the prediction again. `hints`, in
    the photo's pixels, go in as `hints.hint_layer` at that padded size (zero in the padding:
    nobody hinted there); hints outside the photo, or hints for a generator without hint
    inputs, raise ValueError saying so.
    """
    height, width = lightness.shape
    small_size, padded = working_shape(height, width, render_size, generator.size_multiple)
    check_memory(generator, (height, width), render_size)
    pad_bottom, pad_right = (full - size for full, size in zip(padded, small_size, strict=True))
    small = np.pad(
        shrink_lightness(lightness, small_size), ((0, pad_bottom), (0, pad_right)), "edge"
    )
    layer = None
    if hints:
        check_hints(hints, width, height)
        layer = hint_layer(hints, (width, height), small_size, small.shape)[None]
    ab = generator.colour(normalise_l(small)[None, None], layer)
    return denormalise_ab(ab[0, :, : small_size[0], : small_size[1]]).astype(np.float32, copy=False)


def working_shape(
    height: int, width: int, render_size: int, multiple: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(h, w) of a `height` x `width` photo shrunk to `render_size` on its long side, and of
    that image padded up to the generator's `multiple`."""
    scale = render_size / max(height, width)
    small = (max(1, round(height * scale)), max(1, round(width * scale)))
    return small, (small[0] + -small[0] % multiple, small[1] + -small[1] % multiple)


def check_memory(generator: AbModel, photo_size: tuple[int, int], render_size: int) -> None:
    """Refuse, before the generator is asked, a render size whose colourisation needs more
    memory than the machine has free (`memory_needed`: self-attention's grows with the square
    of the pixels: 24 GB at 1024 for a 4:3 photo), naming the largest render size that fits.
    `COLOURISE_MEMORY_LIMIT_GB` sets a lower limit (`core/memory.memory_budget`)."""
    free, source = memory_budget()

    def needed(size: int) -> int:
        return generator.memory_needed(
            *working_shape(*photo_size, size, generator.size_multiple)[1]
        )

    asked = needed(render_size)
    if asked <= free:
        return
    fitting = next(
        (size for size in range(render_size, 0, -RENDER_MULTIPLE) if needed(size) <= free), None
    )
    advice = (
        f"choose render size {fitting} or less"
        if fitting
        else "free some memory first: not even the smallest render size fits"
    )
    raise UserValueError(
        f"colourising it at render size {render_size} needs about "
        f"{asked / 1e9:,.1f} GB of memory, more than the {free / 1e9:,.1f} GB "
        f"{source}; {advice}."
    )


def hinted_ab(lightness: np.ndarray, ab: np.ndarray, hints: Sequence[Hint]) -> np.ndarray:
    """The model's ab (2, h, w) brought to the propagation size (`propagation_shape`, at most
    `propagation.PROPAGATION_SIZE` on the long side, so a large photo costs no more) by the
    guided upsampling and corrected there by `propagation.propagate_hints`: each hint's colour
    at its pixels, carried along the photo's edges. `join_lightness_and_ab` then brings it to
    full size as it does the model's own ab."""
    # Imported here: scipy.sparse costs the command a quarter second at start-up, and only
    # hints need it.
    from image_colourisation.imaging.propagation import (  # noqa: PLC0415
        propagate_hints,
        propagation_shape,
    )

    shape = propagation_shape(lightness.shape)
    working = shrink_lightness(lightness, shape)
    prior = guided_upsampling(working, ab)(0, shape[0])
    return propagate_hints(working, prior, hints, lightness.shape[::-1])


def shrink_lightness(lightness: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """L* (H, W) shrunk to `size` (h, w) with antialiasing: what the generator sees.

    Pillow's bilinear filter on float images widens with the scale as torch's
    `interpolate(antialias=True)` does (they agree within 1e-4 L*), without importing torch.
    """
    full = Image.fromarray(np.ascontiguousarray(lightness, dtype=np.float32), mode="F")
    small = full.resize(size[::-1], Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32)


def join_lightness_and_ab(lightness: np.ndarray, ab: np.ndarray) -> Image.Image:
    """Upsample ab (2, h, w) to the size of L* (H, W), guided by L*, and convert to RGB.

    Works strip by strip: only one strip of full-size ab and Lab exists at a time.
    """
    height, width = lightness.shape
    upsampled_rows = guided_upsampling(lightness, ab)
    result = Image.new("RGB", (width, height))
    for top, bottom in _row_strips(height, width):
        ab_strip = upsampled_rows(top, bottom)
        lab = np.empty((bottom - top, width, 3), dtype=np.float32)
        lab[..., 0] = lightness[top:bottom]
        lab[..., 1] = ab_strip[0]
        lab[..., 2] = ab_strip[1]
        result.paste(Image.fromarray(_lab_to_rgb_keeping_lightness(lab)), (0, top))
    return result


def guided_upsampling(lightness: np.ndarray, ab: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """A function (top, bottom) -> a*, b* (2, bottom - top, W) of those rows of the photo whose
    L* is `lightness` (H, W), upsampled from `ab` (2, h, w).

    Joint bilateral upsampling (Kopf et al. 2007) on the four working pixels around each photo
    pixel: their bilinear weights times how alike their L* (the working image's, as the
    generator saw it) is to the photo pixel's own L*. Where the photo is flat that is bilinear
    upsampling; at an edge the working pixels on the photo pixel's side of it win, so colour
    stops at the edge. Every colour is a weighted mean of predicted ones: nothing overshoots.
    """
    height, width = lightness.shape
    # (3, h, w): L*, a*, b* of the working image
    small = np.concatenate([shrink_lightness(lightness, ab.shape[1:])[None], ab])
    low, high, weight = _bilinear_taps(width, ab.shape[2], 0, width)
    # Both column neighbours of every photo column, with their bilinear weights: (3, h, W) each.
    columns = [(small[:, :, low], 1 - weight), (small[:, :, high], weight)]
    block = max(1, _CACHE_PIXELS // width)

    def upsampled_rows(top: int, bottom: int) -> np.ndarray:
        result = np.empty((2, bottom - top, width), dtype=np.float32)
        for start in range(top, bottom, block):  # blocks whose temporaries stay in cache
            stop = min(start + block, bottom)
            taps = _bilinear_taps(height, ab.shape[1], start, stop)
            result[:, start - top : stop - top] = _weighted_neighbours(
                lightness[start:stop], columns, taps
            )
        return result

    return upsampled_rows


def _weighted_neighbours(
    lightness: np.ndarray,
    columns: list[tuple[np.ndarray, np.ndarray]],
    row_taps: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """a*, b* (2, rows, W): the four neighbours' ab averaged with bilinear x L*-likeness weights.

    In-place arithmetic on cache-sized blocks: this is most of the upsampling's time.
    """
    low, high, weight = row_taps
    totals = np.zeros((3, *lightness.shape), dtype=np.float32)  # sums of weights, a*, b*
    alike, product = np.empty_like(lightness), np.empty_like(lightness)
    for neighbours, column_weight in columns:
        for rows, row_weight in ((low, 1 - weight), (high, weight)):
            sample = neighbours[:, rows]  # (3, rows, W): L*, a*, b*
            np.subtract(lightness, sample[0], out=alike)
            np.square(alike, out=alike)
            alike *= np.float32(-0.5 / RANGE_SIGMA**2)
            np.exp(alike, out=alike)
            alike += _RANGE_FLOOR
            alike *= row_weight[:, None]
            alike *= column_weight
            totals[0] += alike
            for channel in (1, 2):
                np.multiply(alike, sample[channel], out=product)
                totals[channel] += product
    return totals[1:] / totals[0]


def _lab_to_rgb_keeping_lightness(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB uint8 whose L* stays within `L_TOLERANCE` of the given L*.

    A predicted colour can fall outside sRGB (bright yellow-blue in deep shadow); clipping the
    channels would then change the lightness the photo had. Those pixels instead lose just
    enough chroma (bisection on a scale of a*, b*) to fit: the photo's L* is kept, its hue too.
    """
    rgb = to_uint8(lab_to_rgb(lab))
    # Only a clipped channel can move L*, and clipping leaves it at 0 or 255: check just those.
    at_limit = np.flatnonzero(((rgb == 0) | (rgb == 255)).any(axis=-1))
    pixels, lab = rgb.reshape(-1, 3), lab.reshape(-1, 3)
    off = at_limit[np.abs(rgb_to_lightness(pixels[at_limit]) - lab[at_limit, 0]) > L_TOLERANCE]
    if not off.size:
        return rgb
    outside = lab[off]
    fits, too_much = np.zeros(len(outside), np.float32), np.ones(len(outside), np.float32)
    for _ in range(_CHROMA_STEPS):
        scale = (fits + too_much) / 2
        keeps = _lightness_error(outside, scale) <= L_TOLERANCE
        fits, too_much = np.where(keeps, scale, fits), np.where(keeps, too_much, scale)
    pixels[off] = to_uint8(lab_to_rgb(_scale_chroma(outside, fits)))
    return rgb


def _scale_chroma(lab: np.ndarray, scale: np.ndarray) -> np.ndarray:
    scaled = lab.copy()
    scaled[:, 1:] *= scale[:, None]
    return scaled


def _lightness_error(lab: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """|L* change| after scaling chroma by `scale` and rounding to sRGB bytes."""
    rgb = to_uint8(lab_to_rgb(_scale_chroma(lab, scale)))
    return np.abs(rgb_to_lightness(rgb) - lab[:, 0])


def _picture_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Bring any mode to L, 16-bit gray or RGB, and split off the transparency, if any.

    Palette images become RGB (RGBA when they mark a transparent colour); 1-bit, LA become L;
    CMYK, YCbCr and the rest become RGB by Pillow's own conversion.
    """
    if image.mode in {"P", "PA"}:
        has_alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    alpha = image.getchannel("A") if "A" in image.getbands() else None
    if image.mode in {"L", "RGB"} | _GRAY_16_MODES:
        return image, alpha
    return image.convert("L" if image.getbands()[0] in {"1", "L"} else "RGB"), alpha


def _lightness_function(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    """How to turn a strip of pixels in `mode` into L*; gray modes use a lookup table."""
    if mode == "L":
        table = _gray_lightness_table(8)
        return lambda pixels: table[pixels]
    if mode in _GRAY_16_MODES:
        table = _gray_lightness_table(16)
        return lambda pixels: table[np.clip(pixels, 0, 65535).astype(np.uint16)]
    if mode == "RGB":
        return rgb_to_lightness
    raise ValueError(f"photo_lightness reads modes L, I;16, I and RGB; convert {mode} first.")


@cache
def _gray_lightness_table(bits: int) -> np.ndarray:
    """L* of every gray level of a `bits`-deep gray image (R = G = B)."""
    levels = np.linspace(0.0, 1.0, 2**bits, dtype=np.float32)
    if bits == 8:
        levels = np.arange(256, dtype=np.uint8)  # exact bytes, as the RGB path sees them
    return rgb_to_lightness(np.repeat(levels[:, None], 3, axis=1))


def _row_strips(height: int, width: int) -> list[tuple[int, int]]:
    """(top, bottom) row ranges of about `STRIP_PIXELS` pixels each."""
    rows = max(1, STRIP_PIXELS // max(width, 1))
    return [(top, min(top + rows, height)) for top in range(0, height, rows)]


def _bilinear_taps(
    out_size: int, in_size: int, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (low, high) and weights of output positions start..stop-1.

    Pixel centres line up as in `torch.nn.functional.interpolate(align_corners=False)`;
    positions past the edge repeat the edge pixel.
    """
    position = (np.arange(start, stop, dtype=np.float32) + 0.5) * (in_size / out_size) - 0.5
    position = np.clip(position, 0, in_size - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, (position - low).astype(np.float32)
