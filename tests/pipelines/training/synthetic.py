"""Tiny synthetic model-input arrays, shaped as the preprocessing pipeline writes them."""

from collections.abc import Callable
from typing import Any

import numpy as np

from image_colourisation.models.networks import Generator
from image_colourisation.pipelines.training.checkpoints import checkpoint_path, prior_checkpoint
from image_colourisation.pipelines.training.config import TrainingParams
from image_colourisation.pipelines.training.data import ImageArrays
from image_colourisation.pipelines.training.loop import EpochCallback, fit


def synthetic_set(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised L (N, 1, 32, 32) and ab (N, 2, 32, 32); ab a smooth function of L, learnable."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(-1, 1, (count, 1, 32, 32)).astype(np.float32)
    ab = np.concatenate([0.3 * lightness, -0.2 * lightness**2], axis=1).astype(np.float32)
    return lightness, ab


def arrays(data: tuple[np.ndarray, np.ndarray], depth: int = 5) -> ImageArrays:
    """(L, ab) arrays as the training source `data.training_images` builds for CIFAR-10."""
    return ImageArrays.of({"L": data[0], "ab": data[1]}, "synthetic", depth)


def train_arrays(
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    params: TrainingParams,
    variant: str,
    on_epoch: EpochCallback | None = None,
    *,
    via: Callable[..., Generator] = fit,
    **kwargs: Any,
) -> Generator:
    """The training node's path without Kedro and MLflow: the checkpoint it would continue read
    once (`prior_checkpoint`), then `loop.fit` (or `launch.train`, `via`) on the arrays."""
    path = checkpoint_path(params.checkpoint_dir, variant)
    resume = prior_checkpoint(path, params.resume, params.epochs)
    return via(
        arrays(train, params.depth), arrays(validation, params.depth), params, variant, on_epoch,
        resume=resume, **kwargs,
    )  # fmt: skip
