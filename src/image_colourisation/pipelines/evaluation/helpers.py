"""What every evaluation module shares: the row names, the memory layout, the gray baseline's
pixels and the classifier's input (`nodes.py`, `critic.py`, `hints_curve.py`, `plots.py`)."""

import numpy as np
import torch

from image_colourisation.imaging.colour import (
    denormalise_l,
    gray_levels,
    normalise_ab,
    normalise_l,
)
from image_colourisation.pipelines.evaluation.classifier import lab_images

TRUTH = "truth"
GRAY = "gray"
NHWC = torch.channels_last  # faster convolutions on CPU, as in training


def gray_rgb(lightness: np.ndarray) -> np.ndarray:
    """The gray baseline as uint8 RGB (N, H, W, 3) of normalised L (N, 1, H, W): ab = 0
    rendered, with R = G = B exactly (`colour.gray_levels`)."""
    return np.repeat(gray_levels(denormalise_l(lightness[:, 0]))[..., None], 3, axis=-1)


def classifier_input(lab: np.ndarray) -> np.ndarray:
    """Lab images (N, H, W, 3) -> the classifier's normalised Lab input (N, 3, H, W)."""
    planar = lab.transpose(0, 3, 1, 2)
    return lab_images(normalise_l(planar[:, :1]), normalise_ab(planar[:, 1:]))
