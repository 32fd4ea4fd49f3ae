"""Quantised ab (Zhang et al. 2016): the bins, their class-rebalancing weights, and the loss.

ab is cut into square cells of `CELL` Lab units; the bins are the cells the training images
use. Each true pixel becomes a soft target over the 3x3 cells around it (Gaussian weights,
sigma = `SIGMA`), and rare colours weigh more in the cross-entropy so that the model does not
learn to predict the desaturated colours that dominate the pixels.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from image_colourisation.imaging.colour import AB_SCALE

CELL = 10.0  # Lab units per bin side, as in the paper
SIGMA = 5.0  # soft-encoding spread, Lab units
_HALF = int(np.ceil(AB_SCALE / CELL))  # cells from 0 to the edge of the normalised range
_SIDE = 2 * _HALF + 1
_NEIGHBOURS = [(da, db) for da in (-1, 0, 1) for db in (-1, 0, 1)]


@dataclass(frozen=True)
class ColourBinGrid:
    """The bins of one training set: centres (normalised ab), a cell -> bin table, weights."""

    centres: torch.Tensor  # (Q, 2) normalised ab
    lookup: torch.Tensor  # (_SIDE, _SIDE) bin index of each cell, -1 where no bin
    weights: torch.Tensor  # (Q,) rebalancing weight per bin, mean 1 over the training pixels

    def to(self, device: torch.device) -> "ColourBinGrid":
        return ColourBinGrid(*(t.to(device) for t in (self.centres, self.lookup, self.weights)))


def _cells(ab: torch.Tensor) -> torch.Tensor:
    """Normalised ab -> nearest cell index per channel, 0.._SIDE-1."""
    return (ab * (AB_SCALE / CELL)).round().long().clamp(-_HALF, _HALF) + _HALF


def colour_bin_grid(ab: np.ndarray, rebalance: float, batch: int = 512) -> ColourBinGrid:
    """Bins of the cells that the training ab (N, 2, H, W) uses, with Zhang's rebalancing.

    `rebalance` is the paper's lambda: weights are 1 / ((1 - lambda) p + lambda / Q), so 1
    weighs every pixel the same and 0 weighs each bin by its inverse frequency.
    """
    counts = torch.zeros(_SIDE * _SIDE, dtype=torch.float64)
    for start in range(0, len(ab), batch):
        cells = _cells(torch.from_numpy(ab[start : start + batch]))
        flat = (cells[:, 0] * _SIDE + cells[:, 1]).flatten()
        counts += torch.bincount(flat, minlength=_SIDE * _SIDE).double()
    used = torch.nonzero(counts).flatten()
    lookup = torch.full((_SIDE * _SIDE,), -1, dtype=torch.long)
    lookup[used] = torch.arange(len(used))
    centres = torch.stack([used // _SIDE, used % _SIDE], dim=1).float() - _HALF
    prior = counts[used] / counts.sum()
    weights = 1.0 / ((1.0 - rebalance) * prior + rebalance / len(used))
    weights = weights / (prior * weights).sum()
    return ColourBinGrid(
        centres=centres * (CELL / AB_SCALE),
        lookup=lookup.view(_SIDE, _SIDE),
        weights=weights.float(),
    )


def soft_targets(
    ab: torch.Tensor, grid: ColourBinGrid
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """True ab (N, 2, H, W) -> bin indices and weights over the 3x3 cells around each pixel
    (N, H, W, 9) each, and the rebalancing weight of each pixel's own bin (N, H, W)."""
    cells = _cells(ab)
    offsets = ab * (AB_SCALE / CELL) + _HALF  # position in cell units
    indices, weights = [], []
    for da, db in _NEIGHBOURS:
        a, b = cells[:, 0] + da, cells[:, 1] + db
        inside = (a >= 0) & (a < _SIDE) & (b >= 0) & (b < _SIDE)
        index = grid.lookup[a.clamp(0, _SIDE - 1), b.clamp(0, _SIDE - 1)]
        valid = inside & (index >= 0)
        distance2 = (offsets[:, 0] - a) ** 2 + (offsets[:, 1] - b) ** 2
        weights.append(torch.exp(-distance2 * (CELL / SIGMA) ** 2 / 2) * valid)
        indices.append(index.clamp(min=0))
    weight = torch.stack(weights, dim=-1)
    weight = weight / weight.sum(dim=-1, keepdim=True).clamp(min=1e-12)
    own = grid.lookup[cells[:, 0], cells[:, 1]]
    pixel_weight = torch.where(own >= 0, grid.weights[own.clamp(min=0)], 1.0)
    return torch.stack(indices, dim=-1), weight, pixel_weight


def bins_loss(logits: torch.Tensor, ab: torch.Tensor, grid: ColourBinGrid) -> torch.Tensor:
    """Rebalanced cross-entropy between the predicted bin distribution (logits bins-last,
    (N, H, W, Q)) and the soft targets of the true ab (N, 2, H, W)."""
    index, weight, pixel_weight = soft_targets(ab, grid)
    log_p = F.log_softmax(logits.float(), dim=-1).gather(-1, index)
    return (-(weight * log_p).sum(dim=-1) * pixel_weight).mean()
