"""What every evaluation module shares: the row names, the memory layout, the gray baseline's
pixels and the classifier's input (`nodes.py`, `critic.py`, `hints_curve.py`, `plots.py`)."""

import numpy as np
import torch

from image_colourisation.imaging.colour import (
    denormalise_l,
    lab_to_rgb,
    normalise_ab,
    normalise_l,
    to_uint8,
)
from image_colourisation.pipelines.evaluation.classifier import lab_images

TRUTH = "truth"
GRAY = "gray"
NHWC = torch.channels_last  # faster convolutions on CPU, as in training


def gray_rgb(lightness: np.ndarray) -> np.ndarray:
    """The gray baseline as uint8 RGB (N, H, W, 3): ab = 0 rendered, with R = G = B exactly.

    `colour.lab_to_rgb` renders ab = 0 neutral up to float32 rounding, which still tips about
    one pixel in 10^5 to another uint8 level in one channel; averaging the channels keeps the
    baseline exactly gray (colourfulness 0).
    """
    lab = np.zeros((*lightness.shape[:1], *lightness.shape[2:], 3), dtype=np.float32)
    lab[..., 0] = denormalise_l(lightness[:, 0])
    gray = to_uint8(lab_to_rgb(lab).mean(axis=-1, keepdims=True))
    return np.repeat(gray, 3, axis=-1)


def classifier_input(lab: np.ndarray) -> np.ndarray:
    """Lab images (N, H, W, 3) -> the classifier's normalised Lab input (N, 3, H, W)."""
    planar = lab.transpose(0, 3, 1, 2)
    return lab_images(normalise_l(planar[:, :1]), normalise_ab(planar[:, 1:]))
