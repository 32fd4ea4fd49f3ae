"""Training nodes: the GAN and its L1-only baseline, one code path, one nested MLflow run each.

The nodes are pure apart from the documented exceptions: the loop writes checkpoints and, when
kedro-mlflow has a run open, logs to a nested run named after the variant (a resumed training
continues the interrupted one's). The trained generator leaves as `payloads.generator_payload`,
which the catalog saves as a versioned file. While a variant trains, its checkpoint folder is
locked, so a second `kedro run` cannot train into it at the same time.
"""

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from image_colourisation.locks import checkpoint_lock
from image_colourisation.models import Generator
from image_colourisation.payloads import generator_from_payload, generator_payload
from image_colourisation.pipelines.training.photo_crops import PhotoCrops

from . import launch
from .checkpoints import checkpoint_path, resumed_run
from .config import TrainingParams
from .data import source_params
from .device import memory_format
from .loop import predict_ab
from .tracking import (
    active_run_id,
    log_generator,
    log_metrics,
    log_sample_grid,
    sample_grid,
    variant_run,
)


def train_gan(
    train_set: dict[str, np.ndarray] | PhotoCrops,
    validation_set: dict[str, np.ndarray],
    l1_generator: dict[str, Any],
    params: TrainingParams,
) -> dict[str, Any]:
    """The conditional GAN: its losses weighted as `params` says, for `params.gan_epochs`
    epochs, started from the L1 baseline's weights when `params.warm_start` ("NoGAN").

    The baseline is checked against its own architecture record first (`kedro run --nodes
    train_gan` reads it from data/06_models), so a file that does not fit stops the run.
    """
    init = None
    if params.warm_start:
        baseline = generator_from_payload(l1_generator, "generator_l1 (the L1 baseline)")
        init = baseline.state_dict()
    return train_generator(train_set, validation_set, gan_params(params), "gan", init=init)


def train_l1_baseline(
    train_set: dict[str, np.ndarray] | PhotoCrops,
    validation_set: dict[str, np.ndarray],
    params: TrainingParams,
) -> dict[str, Any]:
    """The same generator and loop with the L1 loss alone: no discriminator, ab output."""
    return train_generator(train_set, validation_set, l1_params(params), "l1")


def gan_params(params: TrainingParams) -> TrainingParams:
    """The GAN variant's view of the parameters: its own epochs and crops."""
    return replace(params, epochs=params.gan_epochs, crop_padding=params.gan_crop_padding)


def l1_params(params: TrainingParams) -> TrainingParams:
    """The baseline's view: no adversary, no colour bins, no moving average."""
    return replace(params, adversarial_weight=0.0, colour_bins=False, ema_decay=0.0)


def train_generator(
    train_set: dict[str, np.ndarray] | PhotoCrops,
    validation_set: dict[str, np.ndarray],
    params: TrainingParams,
    variant: str,
    *,
    init: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Train one variant; log it to MLflow when a run is active; return the generator payload.

    `train_set` is model-input arrays or a photo folder's crops (`photo_crops.PhotoCrops`),
    whose crop size sets the generator's depth and is recorded as the payload's `render_size`.
    """
    params = source_params(train_set, params)
    photos = isinstance(train_set, PhotoCrops)
    train = train_set if photos else model_arrays(train_set, "train_set", params.depth)
    validation = model_arrays(validation_set, "validation_set", params.depth)
    samples = (validation[0][: params.sample_images], validation[1][: params.sample_images])

    with (
        checkpoint_lock(checkpoint_path(params, variant).parent),
        variant_run(
            variant, {"training": params.as_dict()}, resumed_run(params, variant)
        ) as tracking,
    ):
        on_epoch = EpochLog(active_run_id(), params, *samples) if tracking else None
        generator = launch.train(train, validation, params, variant, on_epoch, init=init)
        if tracking:
            log_generator(generator, validation[0][:2])
    payload = generator_payload(generator)
    return payload | {"render_size": train_set.crop_size} if photos else payload


@dataclass(frozen=True)
class EpochLog:
    """Logs each finished epoch to the variant's MLflow run, named by id: picklable, so the
    rank-0 worker of a distributed run logs to the run its Kedro process opened (the tracking
    URI reaches the worker in MLFLOW_TRACKING_URI, which `mlflow.set_tracking_uri` sets)."""

    run_id: str | None
    params: TrainingParams
    sample_l: np.ndarray
    sample_ab: np.ndarray

    def __call__(self, epoch: int, metrics: dict[str, float], generator: Generator) -> None:
        log_metrics(metrics, epoch, self.run_id)
        if epoch % self.params.sample_every == 0 or epoch == self.params.epochs:
            device = next(generator.parameters()).device
            lightness = torch.as_tensor(self.sample_l, device=device)
            predicted = predict_ab(generator, lightness, 64, memory_format(self.params))
            grid = sample_grid(self.sample_l, predicted.cpu().numpy(), self.sample_ab)
            log_sample_grid(grid, epoch, self.run_id)


def model_arrays(data: dict[str, np.ndarray], name: str, depth: int) -> tuple[np.ndarray, ...]:
    """The (L, ab) pair of a model_input dataset, checked against what the generator accepts."""
    missing = {"L", "ab"} - set(data)
    if missing:
        raise ValueError(f"{name} lacks {sorted(missing)}: rerun the preprocessing pipeline.")
    lightness, ab = data["L"], data["ab"]
    multiple = 2**depth
    if (
        lightness.ndim != 4
        or lightness.shape[1] != 1
        or ab.shape != (len(lightness), 2, *lightness.shape[2:])
        or lightness.shape[2] % multiple
        or lightness.shape[3] % multiple
        or len(lightness) < 2
    ):
        raise ValueError(
            f"{name} has L {lightness.shape} and ab {ab.shape}; training needs at least 2 images "
            f"as L (N, 1, H, W) and ab (N, 2, H, W) with H and W multiples of {multiple} "
            f"(2**training.depth)."
        )
    return (
        np.ascontiguousarray(lightness, dtype=np.float32),
        np.ascontiguousarray(ab, dtype=np.float32),
    )
