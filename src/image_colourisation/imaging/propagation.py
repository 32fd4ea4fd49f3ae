"""Hints carried along the photo's own edges (Levin, Lischinski and Weiss 2004, "Colorization
using Optimization"), joined with the model's colours.

The model sees hints at its small render size, where one hint covers a patch tens of photo
pixels wide, and places colour by what it learnt rather than by the photo's edges: colour
spills. Here, on a working image of up to `PROPAGATION_SIZE` pixels, the colour ab minimises
Levin's energy with the model's ab as a weak prior:

    sum over neighbours r, s of w_rs (ab_r - ab_s)^2  +  reach * sum over r of (ab_r - prior_r)^2

with ab fixed to the hint's colour at hinted pixels. w_rs are Levin's affinities of
8-neighbours (near 1 where their L* is alike, near 0 across an edge), so a hint's colour flows
through regions of similar lightness and stops at edges, and where no hint reaches the model's
colour stays, smoothed along the same edges. `reach` is given by `FADE`, a share of the working
image's long side (reach = 3 / (FADE x long side)^2), so one setting means the same on a 32-px
CIFAR-10 image and on a photo's 128-px working image. Affinities near 0 across edges make the
system too ill-conditioned for plain conjugate gradients, so it is factorised once (SuperLU)
and solved for a* and b*. The guided upsampling (`render.py`) then brings the result to full
size, edges sharp. numpy and scipy only.

Chosen on CIFAR-10's validation split (`benchmarks/hint_propagation.py`, docs/hints.md, "Hints
carried along edges"), never on the real photos: spreading only the correction (hint - prior,
`smooth_prior=False`) lost up to 2.8 dB to the model alone once it carried far, and gained at
most 0.5 dB on average when it did not; spreading the colour with the model as a weak prior
gained at every count of 1 to 20 hints at every reach from 0.05 to 3, the more the farther.
The reach (`FADE`) is not the validation's best: that floods a real photo from one hint (see
`FADE`), and hints are to stay inside their object (issue 34), so it is the longest of the
sweep's that keeps the rest of a photo within half of what the page's test allows.
"""

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_array, diags_array
from scipy.sparse.linalg import splu

from image_colourisation.imaging.colour import denormalise_ab
from image_colourisation.imaging.hints import Hint, hint_layer

# Long side of the working image the correction is solved on: the factorisation's time grows
# faster than its pixels (0.2 s at 96, 0.7 s at 128 on a loaded 2-core machine).
PROPAGATION_SIZE = 128
# How far a hint's colour carries before the model's holds again, as a share of the working
# image's long side: reach = 3 / (FADE * long side)^2. On validation longer was better (2: +0.7
# to +3.3 dB), but from 1 on a hint floods much of a real photo (one red hint on scikit-image's
# astronaut moved a*b* 4-15 units everywhere else; the page's test allows 0.5); 0.2 moves it
# 0.2 and still gains 0.3 to 2.8 dB on validation at 1-20 hints.
FADE = 0.2
# Spread the colour (the model's ab smoothed along edges too), not only the correction.
SMOOTH_PRIOR = True
# Levin's sigma^2 (0.6 x a 3x3 window's variance of Y = L* / 100) is kept within this range.
SIGMA_RANGE = (0.01, 0.05)
_NEIGHBOURS = [(0, 1), (1, -1), (1, 0), (1, 1)]  # each pair of neighbours once


def propagate_hints(
    lightness: np.ndarray,
    prior_ab: np.ndarray,
    hints: Sequence[Hint],
    photo_size: tuple[int, int],
) -> np.ndarray:
    """a*, b* (2, h, w) at the size of `lightness` (L* of the working image, (h, w)): the
    model's `prior_ab` there, with each hint's colour carried along edges.
    `hints` are in the photo's pixels; `photo_size` is the photo's (width, height). Without
    hints `prior_ab` itself is returned."""
    if not hints:
        return prior_ab
    shape = lightness.shape
    layer = hint_layer(hints, photo_size, shape, shape)
    return propagate(lightness, prior_ab, denormalise_ab(layer[:2]), layer[2] > 0)


def propagate(
    lightness: np.ndarray,
    prior_ab: np.ndarray,
    hint_ab: np.ndarray,
    hinted: np.ndarray,
    *,
    fade: float = FADE,
    sigma_range: tuple[float, float] = SIGMA_RANGE,
    smooth_prior: bool = SMOOTH_PRIOR,
) -> np.ndarray:
    """The array form of `propagate_hints`: L* (h, w), the prior's a*, b* (2, h, w) and the
    hints' (2, h, w) in Lab units, `hinted` (h, w) true where a hint is; returns a*, b*
    (2, h, w) float32, equal to `hint_ab` at hinted pixels.

    `smooth_prior=False` (compared on validation, and worse) spreads only the correction
    D = ab - prior: sum w_rs (D_r - D_s)^2 + reach |D|^2, leaving the model's colour as it is
    where no hint reaches."""
    prior = prior_ab.reshape(2, -1).astype(np.float64)
    pinned = np.flatnonzero(hinted.ravel())
    if not pinned.size:
        return prior_ab.astype(np.float32)
    free = np.flatnonzero(~hinted.ravel())
    result = prior.copy()
    result[:, pinned] = hint_ab.reshape(2, -1)[:, pinned]
    if not free.size:
        return result.reshape(prior_ab.shape).astype(np.float32)
    laplacian = affinity_laplacian(lightness, sigma_range)
    reach = 3.0 / (fade * max(lightness.shape)) ** 2
    free_rows = laplacian[free]
    system = splu((free_rows[:, free] + diags_array(np.full(free.size, reach))).tocsc())
    coupling = free_rows[:, pinned]
    for channel in range(2):
        known = result[channel, pinned] - prior[channel, pinned]
        right = -(coupling @ known)
        if smooth_prior:
            right -= (laplacian @ prior[channel])[free]
        result[channel, free] += system.solve(right)
    return result.reshape(prior_ab.shape).astype(np.float32)


def affinity_laplacian(
    lightness: np.ndarray, sigma_range: tuple[float, float] = SIGMA_RANGE
) -> csr_array:
    """The graph Laplacian (N, N), N = h * w, of Levin et al.'s affinities between
    8-neighbours: w_rs = exp(-(Y_r - Y_s)^2 / sigma^2), Y = L* / 100, sigma^2 the mean of r's
    and s's local variance (their 3x3 windows, times 0.6: Levin's choice, made symmetric),
    kept within [sigma_range[0]^2, sigma_range[1]^2]. Levin's variance alone is large in a
    window that straddles an edge, and let much of a hint's colour through a 50-L* step;
    capped, such a step passes none, while a gentle gradient (1-2 L* a pixel) still passes
    almost all."""
    height, width = lightness.shape
    luma = lightness.astype(np.float64) / 100.0
    padded = np.pad(luma, 1, mode="edge")
    windows = np.stack(
        [
            padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
    )
    low, high = sigma_range
    variance = np.clip(0.6 * windows.var(axis=0), low**2, high**2)
    index = np.arange(height * width).reshape(height, width)
    sources, targets, weights = [], [], []
    for dy, dx in _NEIGHBOURS:
        rows = slice(0, height - dy)
        columns = slice(max(0, -dx), width - max(0, dx))
        moved_rows = slice(dy, height)
        moved_columns = slice(max(0, dx), width - max(0, -dx))
        difference = luma[rows, columns] - luma[moved_rows, moved_columns]
        sigma = (variance[rows, columns] + variance[moved_rows, moved_columns]) / 2
        sources.append(index[rows, columns].ravel())
        targets.append(index[moved_rows, moved_columns].ravel())
        weights.append(np.exp(-(difference**2) / sigma).ravel())
    source, target, weight = map(np.concatenate, (sources, targets, weights))
    size = height * width
    affinity = csr_array(
        (
            np.concatenate([weight, weight]),
            (np.concatenate([source, target]), np.concatenate([target, source])),
        ),
        shape=(size, size),
    )
    return diags_array(affinity.sum(axis=1)) - affinity


def propagation_shape(photo_shape: tuple[int, int]) -> tuple[int, int]:
    """(h, w) of the working image the correction is solved on: the photo's, shrunk to at
    most `PROPAGATION_SIZE` pixels on its long side."""
    height, width = photo_shape
    scale = min(1.0, PROPAGATION_SIZE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))
