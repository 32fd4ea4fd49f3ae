"""sRGB <-> CIE L*a*b* (D65) and the model's normalisation: the one place for colour maths.

The conversions follow scikit-image's `rgb2lab`/`lab2rgb` (same matrix, white point and
piecewise curves) but are vectorised in float32 over large arrays, in chunks that stay in
cache, and look the sRGB curve up in a 256-entry table when the input is uint8.

Arrays are channel-last (..., 3) for images; the model sees channel-first tensors
(N, 1, H, W) for L and (N, 2, H, W) for ab, scaled by `normalise_l` and `normalise_ab`.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# sRGB (linear) -> XYZ, and the D65 white point of the 2 degree observer, as in scikit-image.
_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
# Dividing XYZ by the white point, folded into the matrix (applied to planar (3, P) pixels).
_XYZN_FROM_RGB = (_XYZ_FROM_RGB / _D65_WHITE[:, None]).astype(np.float32)
_RGB_FROM_XYZN = np.linalg.inv(_XYZ_FROM_RGB / _D65_WHITE[:, None])
# Y's row alone, in a matrix of the same shape: BLAS picks its kernel by shape, so Y is summed
# exactly as with the whole matrix and L* alone comes out the same to the bit.
_YN_FROM_RGB = np.zeros_like(_XYZN_FROM_RGB)
_YN_FROM_RGB[1] = _XYZN_FROM_RGB[1]
# The matrix and the white point disagree by ~1e-4, which would tint a*b* = 0 by that much:
# scale the rows so that neutral Lab renders with R = G = B exactly.
_RGB_FROM_XYZN = (_RGB_FROM_XYZN / _RGB_FROM_XYZN.sum(axis=1, keepdims=True)).astype(np.float32)

_EPSILON = 0.008856  # (6/29)^3, where the cube root gives way to a line
_KAPPA_SLOPE = 7.787
_OFFSET = 16.0 / 116.0
_CHUNK_PIXELS = 1 << 14  # pixels per chunk: its float32 temporaries stay in cache
_CHUNKS_PER_THREAD = 8  # below this a thread costs more than it saves (one photo strip, one crop)

L_MAX = 100.0
AB_SCALE = 110.0


def _srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Undo the sRGB transfer curve on values in [0, 1]."""
    values = values.astype(np.float32, copy=False)
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)


def _linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve to linear values, clipped to [0, 1]."""
    values = np.clip(values, 0.0, 1.0)
    return np.where(values > 0.0031308, 1.055 * np.power(values, 1 / 2.4) - 0.055, 12.92 * values)


_SRGB_U8_TO_LINEAR = _srgb_to_linear(np.arange(256) / 255.0)


def _planar_rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Planar sRGB (3, P), uint8 or [0, 1] floats -> planar L*a*b* (3, P) float32."""
    f = _lab_curve(_XYZN_FROM_RGB @ _linear(rgb))
    lab = np.empty_like(f)
    lab[0] = 116.0 * f[1] - 16.0
    lab[1] = 500.0 * (f[0] - f[1])
    lab[2] = 200.0 * (f[1] - f[2])
    return lab


def _planar_rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """Planar sRGB (3, P) -> L* (1, P) float32, as `_planar_rgb_to_lab` finds it: the cube
    root on Y alone is a third of the work."""
    return 116.0 * _lab_curve((_YN_FROM_RGB @ _linear(rgb))[1:2]) - 16.0


def _linear(rgb: np.ndarray) -> np.ndarray:
    return _SRGB_U8_TO_LINEAR[rgb] if rgb.dtype == np.uint8 else _srgb_to_linear(rgb)


def _lab_curve(f: np.ndarray) -> np.ndarray:
    """CIE Lab's f of X/Xn, Y/Yn, Z/Zn, in place: the cube root, a line near black."""
    small = f <= _EPSILON  # rare in photos: patch those few after the cube root
    f_small = _KAPPA_SLOPE * f[small] + _OFFSET
    np.cbrt(f, out=f)
    f[small] = f_small
    return f


def _planar_lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Planar L*a*b* (3, P) -> planar sRGB (3, P) float32 in [0, 1]."""
    lab = lab.astype(np.float32, copy=False)
    fy = (lab[0] + 16.0) / 116.0
    f = np.stack([fy + lab[1] / 500.0, fy, fy - lab[2] / 200.0])
    np.maximum(f, 0.0, out=f)  # as scikit-image: a negative z is clipped before cubing
    xyz = np.where(f > 6.0 / 29.0, f**3, (f - _OFFSET) / _KAPPA_SLOPE)
    return _linear_to_srgb(_RGB_FROM_XYZN @ xyz)


def _convert_pixels(
    convert: Callable[[np.ndarray], np.ndarray], image: np.ndarray, channels: int = 3
) -> np.ndarray:
    """Apply a planar (3, P) -> (`channels`, P) conversion to channel-last images (..., 3),
    chunk by chunk.

    Large inputs are converted on every core: numpy releases the GIL in these array operations,
    so threads share the chunks (a pool per call, so a forked worker never inherits one).
    """
    if image.shape[-1] != 3:
        raise ValueError(f"expected a last axis of 3 colour channels, got shape {image.shape}")
    pixels = image.reshape(-1, 3)
    out = np.empty((len(pixels), channels), dtype=np.float32)

    def chunk(start: int) -> None:
        stop = start + _CHUNK_PIXELS
        out[start:stop] = convert(np.ascontiguousarray(pixels[start:stop].T)).T

    starts = range(0, len(pixels), _CHUNK_PIXELS)
    threads = min(os.cpu_count() or 1, len(starts) // _CHUNKS_PER_THREAD)
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(chunk, starts))
    else:
        for start in starts:
            chunk(start)
    return out.reshape(*image.shape[:-1], channels)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB images (..., 3) to CIE L*a*b* (D65) as float32.

    uint8 input is read as 0..255; float input must already lie in [0, 1].
    Matches `skimage.color.rgb2lab` to about 1e-4.
    """
    return _convert_pixels(_planar_rgb_to_lab, np.asarray(rgb))


def rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (...) float32 of sRGB images (..., 3): `rgb_to_lab(rgb)[..., 0]` to the bit, in
    a third of the time (every frame of a video needs its L*, and only that)."""
    return _convert_pixels(_planar_rgb_to_lightness, np.asarray(rgb), channels=1)[..., 0]


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Convert CIE L*a*b* (D65) images (..., 3) to sRGB float32 in [0, 1] (out-of-gamut clipped)."""
    return _convert_pixels(_planar_lab_to_rgb, np.asarray(lab))


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Round [0, 1] floats to 0..255 bytes."""
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def gray_levels(lightness: np.ndarray) -> np.ndarray:
    """The uint8 gray level (...) of each L* (...): the neutral colour a* = b* = 0 rendered.

    `lab_to_rgb` renders ab = 0 neutral up to float32 rounding, which still tips about one
    pixel in 10^5 to another uint8 level in one channel; the mean of the channels is one level,
    so a gray picture made of it is exactly gray (colourfulness 0).
    """
    lab = np.zeros((*lightness.shape, 3), dtype=np.float32)
    lab[..., 0] = lightness
    return to_uint8(lab_to_rgb(lab).mean(axis=-1))


def normalise_l(lightness: np.ndarray) -> np.ndarray:
    """L* in [0, 100] -> the generator's input range [-1, 1]."""
    return lightness / (L_MAX / 2) - 1.0


def denormalise_l(normalised: np.ndarray) -> np.ndarray:
    """Inverse of `normalise_l`."""
    return (normalised + 1.0) * (L_MAX / 2)


def normalise_ab(ab: np.ndarray) -> np.ndarray:
    """a*, b* (about -110..110) -> the generator's tanh range, about [-1, 1]."""
    return ab / AB_SCALE


def denormalise_ab(normalised: np.ndarray) -> np.ndarray:
    """Inverse of `normalise_ab`."""
    return normalised * AB_SCALE


def rgb_to_model_arrays(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sRGB images (N, H, W, 3) -> normalised float32 L (N, 1, H, W) and ab (N, 2, H, W)."""
    lab = rgb_to_lab(rgb).transpose(0, 3, 1, 2)
    lightness = normalise_l(lab[:, :1]).astype(np.float32)
    ab = normalise_ab(lab[:, 1:]).astype(np.float32)
    return np.ascontiguousarray(lightness), np.ascontiguousarray(ab)


def model_arrays_to_rgb(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Normalised L (N, 1, H, W) and ab (N, 2, H, W) -> sRGB uint8 images (N, H, W, 3)."""
    lab = np.concatenate([denormalise_l(lightness), denormalise_ab(ab)], axis=1)
    return to_uint8(lab_to_rgb(lab.transpose(0, 2, 3, 1)))
