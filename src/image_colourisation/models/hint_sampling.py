"""Hints drawn from the true colours (Zhang et al. 2017): training's (`sample_hints`, ideepcolor's
recipe) and the evaluation's fixed set for its hints curve (`evaluation_hints`). People's hints,
and how the generator sees them, are in `hints.py`.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch

from image_colourisation.core.ranges import Rules, Setting, problems_in

MOST_HINTS = 1000  # hints are numbered in int16 while painting; far more than people click


@dataclass(frozen=True)
class HintSampling:
    """How training draws hints from the true colours (ideepcolor's recipe, scaled to 32 px).

    p_none: the share of examples that get no hints. ideepcolor gives 1/8 of its examples
        none; here half do, because automatic colourisation stays this project's main use and
        is measured on every run: half the examples teach exactly today's task, the other half
        teach the model to follow hints (a geometric count is rarely 0, so without this few
        examples would be hint-free).
    geometric_p: each hinted example gets a count of hints drawn from a geometric distribution
        (1, 2, 3, ... with mean 1/p): ideepcolor's 1/8, 8 hints on average.
    max_hints: the cap on that count; (7/8)**32 = 1.4% of draws exceed 32, and the
        evaluation's hints curve goes up to 20, inside what training shows.
    max_patch: each hint is a square of side 1..max_patch pixels carrying the mean true ab of
        the square. ideepcolor uses 1..9 at 256 px; CIFAR images are 32 px, where 9/8 is one
        pixel, so 1..3 (8..24 px at ideepcolor's scale) keeps both single-pixel clicks and
        patches over which a mean means something.
    """

    p_none: float
    geometric_p: float
    max_hints: int
    max_patch: int

    def __post_init__(self) -> None:
        problems = problems_in(HINT_SAMPLING, asdict(self), "hint sampling")
        if problems:
            raise ValueError("; ".join(problems))


# What each field of `HintSampling` may be.
HINT_SAMPLING: Rules = {
    "p_none": Setting(float, 0.0, 1.0),
    "geometric_p": Setting(float, 0.0, 1.0, low_open=True),
    "max_hints": Setting(int, 1, MOST_HINTS),
    "max_patch": Setting(int, 1, 32),  # a 32-px CIFAR-10 image
}


def sample_hints(
    ab: torch.Tensor, settings: HintSampling, generator: torch.Generator
) -> torch.Tensor:
    """Training hints (N, 3, H, W) drawn from the true normalised ab (N, 2, H, W).

    Per example: no hints with probability `p_none`, else a geometric count (capped), each hint
    a square of uniform side at a uniform place holding the square's mean true ab, mask 1.
    All draws come from `generator` on its own device (CPU for a CPU generator, whatever device
    `ab` is on), so one seed gives the same hints on every device.
    """
    count, _, height, width = ab.shape
    if settings.max_patch > min(height, width):
        raise ValueError(
            f"hint sampling: max_patch {settings.max_patch} does not fit {height}x{width} images; "
            f"give at most {min(height, width)}."
        )
    draws = generator.device
    hinted = torch.rand(count, generator=generator, device=draws) >= settings.p_none
    uniform = torch.rand(count, generator=generator, device=draws)
    # Inverse CDF of the geometric distribution on 1, 2, ...; p = 1 gives log1p(-1) = -inf: 1.
    decay = torch.log1p(torch.tensor(-float(settings.geometric_p), device=draws))
    geometric = 1 + torch.floor(torch.log1p(-uniform) / decay)
    counts = torch.where(hinted, geometric.clamp(max=settings.max_hints), 0).long()
    shape = (count, int(counts.max()))
    sides = torch.randint(1, settings.max_patch + 1, shape, generator=generator, device=draws)
    tops = _uniform_start(height - sides, generator)
    lefts = _uniform_start(width - sides, generator)
    active = torch.arange(shape[1], device=draws) < counts[:, None]
    return _paint(ab, *(values.to(ab.device) for values in (tops, lefts, sides, active)))


def _uniform_start(last: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A whole number uniform in 0..last, elementwise."""
    uniform = torch.rand(last.shape, generator=generator, device=generator.device)
    return torch.floor(uniform * (last + 1)).long()


def evaluation_hints(ab: np.ndarray, count: int, seed: int, max_patch: int) -> np.ndarray:
    """Exactly `count` hints per image (N, 3, H, W) from the true normalised ab (N, 2, H, W),
    squares of side 1..`max_patch`.

    The places and sides come from `seed` alone, drawn as training draws them, and are the same
    for every image; each hint holds its own image's mean ab there. The first k hints of a
    larger count are the hints of count k, so a hints curve adds hints rather than reshuffling.
    """
    height, width = ab.shape[2:]
    generator = torch.Generator().manual_seed(seed)
    places = torch.zeros(3, 1, count, dtype=torch.long)  # top, left, side of each hint
    for index in range(count):  # one at a time, so the k-th hint never depends on the count
        side = torch.randint(1, max_patch + 1, (1,), generator=generator)
        places[2, 0, index] = side
        places[0, 0, index] = _uniform_start(height - side, generator)
        places[1, 0, index] = _uniform_start(width - side, generator)
    active = torch.ones(1, count, dtype=torch.bool)
    return _paint(torch.from_numpy(ab), *places, active).numpy()


def _paint(
    ab: torch.Tensor,
    tops: torch.Tensor,
    lefts: torch.Tensor,
    sides: torch.Tensor,
    active: torch.Tensor,
) -> torch.Tensor:
    """The hint layer of square patches (N or 1, K) over ab (N, 2, H, W): each active patch
    holds its mean ab and mask 1; a later patch covers an earlier one, as in ideepcolor's loop.

    Vectorised over examples and hints. A patch is the outer product of its rows (K, H) and its
    columns (K, W), so its sums need no (K, H, W) mask, and the patch covering a pixel last is
    the largest min(row's patch number, column's patch number) over the patches.
    """
    count, _, height, width = ab.shape
    if not sides.shape[1]:
        return ab.new_zeros(count, 3, height, width)
    tops, lefts, sides, active = (
        values.expand(count, -1) for values in (tops, lefts, sides, active)
    )
    order = torch.arange(1, sides.shape[1] + 1, device=ab.device, dtype=torch.int16)
    rows = _numbered_span(tops, sides, height, active * order)  # (N, K, H): 1..K inside, else 0
    columns = _numbered_span(lefts, sides, width, order.expand_as(active))
    sums = torch.einsum(
        "nkh,nchw,nkw->nkc", rows.bool().to(ab.dtype), ab, columns.bool().to(ab.dtype)
    )
    means = torch.cat([sums.new_zeros(count, 1, 2), sums / sides.square()[..., None]], dim=1)
    last = torch.minimum(rows[..., :, None], columns[..., None, :]).amax(dim=1)  # (N, H, W)
    hint_ab = torch.gather(means, 1, last.flatten(1).long()[..., None].expand(-1, -1, 2))
    mask = (last > 0).to(ab.dtype).flatten(1)[:, None]
    return torch.cat([hint_ab.transpose(1, 2), mask], dim=1).reshape(count, 3, height, width)


def _numbered_span(
    starts: torch.Tensor, sides: torch.Tensor, length: int, numbers: torch.Tensor
) -> torch.Tensor:
    """(N, K, length): `numbers` over start..start+side-1 of each patch, 0 elsewhere."""
    positions = torch.arange(length, device=starts.device)
    inside = (positions >= starts[..., None]) & (positions < (starts + sides)[..., None])
    return inside * numbers[..., None]
