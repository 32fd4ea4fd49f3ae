"""The training loop: epochs of augmented mini-batches from a data source, checkpointed.

Read top to bottom: `fit` builds the models (or resumes them), then for each epoch runs
`steps.gan_step` on every mini-batch its training source (`data.py`: CIFAR arrays or a photo
folder's crops) yields, validates, checkpoints and reports the epoch to a callback. The recipe
(losses, colour bins, moving average) lives in `steps.py`; with `adversarial_weight == 0` the
same loop trains the L1-only baseline without a discriminator.
"""

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from image_colourisation.imaging.colour import model_arrays_to_rgb
from image_colourisation.imaging.metrics import psnr, squared_error
from image_colourisation.models.encoder import encode_all
from image_colourisation.models.networks import Generator, predict_ab

from .checkpoints import checkpoint_path, checkpoint_state, restore, save_checkpoint
from .colour_bins import colour_bin_grid
from .config import TrainingParams
from .data import ImageArrays, TrainingImages
from .device import memory_format
from .distributed import mean_over_ranks, replicate, scale_learning_rates, share_start
from .steps import build_models, gan_step, warm_start
from .world import ALONE, World

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float], Generator], None]


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left as it was."""


def validation_scores(
    predicted_ab: np.ndarray, lightness: np.ndarray, true_ab: np.ndarray, true_rgb: np.ndarray
) -> dict[str, float]:
    """L1 on normalised ab (the training loss's units) and dataset PSNR on RGB 0-255."""
    predicted_rgb = model_arrays_to_rgb(lightness, predicted_ab)
    return {
        "val_l1": float(np.abs(predicted_ab - true_ab).mean()),
        "val_psnr": psnr(float(squared_error(true_rgb, predicted_rgb).mean())),
    }


def fit(
    images: TrainingImages,
    validation: ImageArrays,
    params: TrainingParams,
    variant: str,
    on_epoch: EpochCallback | None = None,
    *,
    init: dict[str, torch.Tensor] | None = None,
    resume: dict[str, Any] | None = None,
    world: World = ALONE,
) -> Generator:
    """Train for `params.epochs` epochs (counting any resumed ones); return G on the CPU, eval.

    `images` is the training source (`data.training_images`), `validation` the validation
    arrays. `on_epoch(epoch, metrics, generator)` sees every finished epoch (MLflow logging).
    `init`, a generator state dict, warm-starts a fresh run (a generator with an ImageNet encoder
    needs its weights from there: `encoder.imagenet_init`); `resume`, a checkpoint's state
    (`checkpoints.prior_checkpoint`), continues an interrupted one. `world` is this process's
    place among DDP workers (`world.py`; `launch.py` starts them).
    """
    device = world.device(params.device)
    layout = memory_format(params.channels_last)
    val_lightness, val_ab = validation.numpy()
    val_l = validation.lightness.to(device)
    val_rgb = model_arrays_to_rgb(val_lightness, val_ab)

    bins = colour_bin_grid(images.colour_sample(), params.rebalance) if params.colour_bins else None
    models = build_models(params, device, bins, images.classes)
    shuffle = torch.Generator().manual_seed(params.seed)
    path = checkpoint_path(params.checkpoint_dir, variant)
    first_epoch = 1
    if resume is not None and world.main:
        first_epoch = restore(resume, models, shuffle, path=path, params=params, variant=variant)
    elif not world.main:
        first_epoch = 0  # told by rank 0 (`share_start`)
    if init is not None and first_epoch == 1:  # a resumed run has its own weights
        fresh = warm_start(models, init)
        logger.info("%s: warm start from a trained generator; fresh: %s", variant, fresh or "none")
    _require_imagenet_weights(models.generator, init, resumed=resume is not None, variant=variant)
    first_epoch = share_start(models, shuffle, first_epoch, params, world)
    images, val_context = _encoded(models.generator, images, val_l)
    batches = images.batches(params.batch_size, params.flip, params.crop_padding, device, world)
    batch_size, steps = batches.batch_size, batches.steps
    trained = replicate(models, device, world)  # what the steps train: DDP when not alone
    logger.info(
        "%s: %d train / %d validation images, batch %d x %d processes, epochs %d..%d on %s "
        "(%d threads)",
        variant, steps * batch_size * world.size, len(val_l), batch_size, world.size, first_epoch,
        params.epochs, device, torch.get_num_threads(),
    )  # fmt: skip

    for epoch in range(first_epoch, params.epochs + 1):
        started = time.perf_counter()
        totals: dict[str, torch.Tensor] = {}
        bar = tqdm(  # images of all the ranks
            total=steps * batch_size * world.size,
            unit="img",
            desc=f"{variant} epoch {epoch}/{params.epochs}",
            leave=False,
            disable=not world.main,
        )
        for step, (lightness, ab, labels, context) in enumerate(batches.epoch(shuffle)):
            progress = epoch - 1 + step / steps
            scale_learning_rates(models, params.lr, params.distributed, world, progress)
            figures = gan_step(trained, lightness, ab, params, labels, context=context)
            for name, value in figures.items():
                totals[name] = totals.get(name, 0.0) + value.float()
            bar.update(batch_size * world.size)
            if step % 10 == 0 or step == steps - 1:  # host syncs: every 10 steps, not every step
                _check_finite(totals, variant, epoch, f"step {step + 1}/{steps}", path)
                bar.set_postfix(l1=f"{figures['g_l1_loss'].item():.4f}")
        bar.close()
        train_seconds = time.perf_counter() - started

        generator = models.final_generator
        predicted = predict_ab(generator, val_l, 2 * batch_size, layout, context=val_context)
        totals = mean_over_ranks(totals, world)
        metrics = {name: (total / steps).item() for name, total in totals.items()}
        metrics |= validation_scores(predicted.cpu().numpy(), val_lightness, val_ab, val_rgb)
        metrics["images_per_s"] = steps * batch_size * world.size / train_seconds
        if world.main:
            save_checkpoint(path, checkpoint_state(models, epoch, params, variant, shuffle))
        metrics["epoch_seconds"] = time.perf_counter() - started
        logger.info(
            "%s epoch %d/%d: %s",
            variant, epoch, params.epochs,
            ", ".join(f"{name} {value:.4g}" for name, value in metrics.items()),
        )  # fmt: skip
        if on_epoch is not None:
            on_epoch(epoch, metrics, generator)

    return models.final_generator.to("cpu", memory_format=torch.contiguous_format).eval()


def _encoded(
    generator: Generator, images: TrainingImages, val_l: torch.Tensor
) -> tuple[TrainingImages, torch.Tensor | None]:
    """The training source and the validation features with the frozen ImageNet encoder's
    features computed once per image (an epoch of them costs ten times its steps on a CPU);
    unchanged without an encoder."""
    if generator.imagenet is None:
        return images, None
    return images.encoded(generator.imagenet), encode_all(generator.imagenet, val_l)


def _require_imagenet_weights(
    generator: Generator, init: dict[str, torch.Tensor] | None, *, resumed: bool, variant: str
) -> None:
    """A fresh run of a generator with an ImageNet encoder must start from ImageNet's weights:
    a randomly drawn frozen encoder would train, silently, a generator that knows nothing."""
    if generator.imagenet is None or resumed:  # a checkpoint holds them
        return
    needed = [name for name in generator.state_dict() if name.startswith("imagenet.features.")]
    if init is None or any(name not in init for name in needed):
        raise ValueError(
            f"{variant}: training.imagenet_encoder is on but the run was given no ImageNet "
            "weights for it: pass init=encoder.imagenet_init(state) (the training nodes read "
            "them from the catalog's imagenet_weights), or set training.imagenet_encoder=0."
        )


def _check_finite(
    totals: dict[str, torch.Tensor], variant: str, epoch: int, where: str, path: Path
) -> None:
    """Stop when a loss summed so far is NaN or infinite (one NaN step makes its sum NaN)."""
    for name, total in totals.items():
        if not torch.isfinite(total):
            kept = (
                f"the last good checkpoint ({path}, after epoch {epoch - 1}) is untouched"
                if epoch > 1
                else "no checkpoint was written"
            )
            raise TrainingDivergedError(
                f"{variant}: {name} became {total.item()} at epoch {epoch}, by {where}; "
                f"stopped, {kept}. Lower training.lr or check the data."
            )
