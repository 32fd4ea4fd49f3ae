"""Training nodes: the GAN and its L1-only baseline, one code path, one nested MLflow run each.

The nodes are pure apart from the documented exceptions: the loop writes checkpoints and, when
kedro-mlflow has a run open, logs to a nested run named after the variant (a resumed training
continues the interrupted one's). The trained generator leaves as `payloads.generator_payload`,
which the catalog saves as a versioned file. While a variant trains, its checkpoint folder is
locked, so a second `kedro run` cannot train into it at the same time.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from image_colourisation.core.locks import checkpoint_lock
from image_colourisation.models.encoder import imagenet_init
from image_colourisation.models.networks import Generator, predict_ab
from image_colourisation.models.payloads import generator_from_payload, generator_payload

from . import launch
from .checkpoints import checkpoint_path, prior_checkpoint
from .config import TrainingParams
from .data import ImageArrays, training_images
from .device import memory_format
from .photo_crops import PhotoCrops
from .tracking import (
    active_run_id,
    log_generator,
    log_metrics,
    log_sample_grid,
    sample_grid,
    server_lost,
    variant_run,
)

logger = logging.getLogger(__name__)


ImageNetWeights = Callable[[], dict[str, torch.Tensor]]  # the catalog's `imagenet_weights`


def train_gan(
    train_set: dict[str, np.ndarray] | PhotoCrops,
    validation_set: dict[str, np.ndarray],
    l1_generator: dict[str, Any],
    imagenet_weights: ImageNetWeights,
    params: TrainingParams,
) -> dict[str, Any]:
    """The conditional GAN: its losses weighted as `params` says, for `params.gan_epochs`
    epochs, started from the L1 baseline's weights when `params.warm_start` ("NoGAN"), else
    from ImageNet's for its encoder (when it has one).

    The baseline is checked against its own architecture record first (`kedro run --nodes
    train_gan` reads it from data/06_models), so a file that does not fit stops the run.
    """
    if params.warm_start:
        baseline = generator_from_payload(l1_generator, "generator_l1 (the L1 baseline)")
        init = baseline.state_dict()
    else:
        init = imagenet_start(imagenet_weights, params)
    return train_generator(train_set, validation_set, gan_params(params), "gan", init=init)


def train_l1_baseline(
    train_set: dict[str, np.ndarray] | PhotoCrops,
    validation_set: dict[str, np.ndarray],
    imagenet_weights: ImageNetWeights,
    params: TrainingParams,
) -> dict[str, Any]:
    """The same generator and loop with the L1 loss alone: no discriminator, ab output."""
    init = imagenet_start(imagenet_weights, params)
    return train_generator(train_set, validation_set, l1_params(params), "l1", init=init)


def imagenet_start(
    imagenet_weights: ImageNetWeights, params: TrainingParams
) -> dict[str, torch.Tensor] | None:
    """The ImageNet encoder's weights as a warm start when the generator has one, else None
    (then the weights are never loaded)."""
    return imagenet_init(imagenet_weights()) if params.imagenet_encoder else None


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

    `train_set` is model-input arrays or a photo folder's crops (`photo_crops.PhotoCrops`).
    The training source built from it (`data.training_images`) says the generator depth its
    images need and the render size the payload records (a photo crop size; none for CIFAR-10).
    The checkpoint a resumed run continues is read once, under the folder's lock, and handed on.
    """
    images = training_images(train_set, params.depth)
    if images.depth != params.depth:
        logger.info(
            "%s: %d-pixel crops need a generator of depth %d (training.depth %d is CIFAR-10's)",
            variant, images.render_size, images.depth, params.depth,
        )  # fmt: skip
        params = replace(params, depth=images.depth)
    if not images.classes and (params.class_weight > 0 or params.class_conditional):
        logger.warning(
            "%s: class_weight and class_conditional are off for this run: %s",
            variant, images.unlabelled,
        )  # fmt: skip
        params = replace(params, class_weight=0.0, class_conditional=False)
    validation = ImageArrays.of(validation_set, "validation_set", params.depth)
    samples = tuple(array[: params.sample_images] for array in validation.numpy())

    path = checkpoint_path(params.checkpoint_dir, variant)
    with checkpoint_lock(path.parent):
        resume = prior_checkpoint(path, params.resume, params.epochs)
        continues = (resume.get("mlflow_run_id"), resume["epoch"]) if resume else None
        logged = {"training": params.as_dict()}
        with variant_run(variant, logged, continues, images.data) as tracking:
            on_epoch = EpochLog(active_run_id(), params, variant, *samples) if tracking else None
            generator = launch.train(
                images, validation, params, variant, on_epoch, init=init, resume=resume
            )
            if tracking:
                with server_lost(f"as the trained {variant} generator was logged", path):
                    log_generator(generator)
    payload = generator_payload(generator)
    return payload if images.render_size is None else payload | {"render_size": images.render_size}


@dataclass(frozen=True)
class EpochLog:
    """Logs each finished epoch to the variant's MLflow run, named by id: picklable, so the
    rank-0 worker of a distributed run logs to the run its Kedro process opened (the tracking
    URI reaches the worker in MLFLOW_TRACKING_URI, which `mlflow.set_tracking_uri` sets). It is
    called after the epoch's checkpoint is saved, so a lost tracking server loses no training."""

    run_id: str | None
    params: TrainingParams
    variant: str
    sample_l: np.ndarray
    sample_ab: np.ndarray

    def __call__(self, epoch: int, metrics: dict[str, float], generator: Generator) -> None:
        checkpoint = checkpoint_path(self.params.checkpoint_dir, self.variant)
        with server_lost(f"after epoch {epoch} of the {self.variant} training", checkpoint):
            self.log(epoch, metrics, generator)

    def log(self, epoch: int, metrics: dict[str, float], generator: Generator) -> None:
        """The epoch's figures, and its sample grid every `sample_every` epochs and at the end."""
        log_metrics(metrics, epoch, self.run_id)
        if epoch % self.params.sample_every == 0 or epoch == self.params.epochs:
            device = next(generator.parameters()).device
            lightness = torch.as_tensor(self.sample_l, device=device)
            layout = memory_format(self.params.channels_last)
            predicted = predict_ab(generator, lightness, 64, layout)
            grid = sample_grid(self.sample_l, predicted.cpu().numpy(), self.sample_ab)
            log_sample_grid(grid, epoch, self.run_id)
