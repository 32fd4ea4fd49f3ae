"""Tiny synthetic model-input arrays, shaped as the preprocessing pipeline writes them."""

import numpy as np


def synthetic_set(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised L (N, 1, 32, 32) and ab (N, 2, 32, 32); ab a smooth function of L, learnable."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(-1, 1, (count, 1, 32, 32)).astype(np.float32)
    ab = np.concatenate([0.3 * lightness, -0.2 * lightness**2], axis=1).astype(np.float32)
    return lightness, ab
