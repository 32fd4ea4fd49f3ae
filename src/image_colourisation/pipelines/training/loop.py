"""The training loop: pix2pix-style GAN steps over in-memory tensors, checkpointed every epoch.

Read top to bottom: `fit` builds the models (or resumes them), then for each epoch shuffles,
runs `gan_step` per mini-batch, validates, checkpoints and reports the epoch to a callback.
With `adversarial_weight == 0` the same loop trains the L1-only baseline and never builds or
steps a discriminator.
"""

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from image_colourisation.colour import model_arrays_to_rgb
from image_colourisation.files import atomic_write
from image_colourisation.metrics import psnr, squared_error
from image_colourisation.models import Discriminator, Generator

from .config import TrainingParams

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float], Generator], None]


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left as it was."""


@dataclass
class Models:
    """What a checkpoint restores: the networks and their optimisers (no D for the baseline)."""

    generator: Generator
    g_optimizer: torch.optim.Optimizer
    discriminator: Discriminator | None
    d_optimizer: torch.optim.Optimizer | None


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` without a GPU is an error, not a fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "training.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'."
        )
    return torch.device(name)


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 mixed precision on CUDA (no loss scaling needed); a no-op on the CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def build_models(params: TrainingParams, device: torch.device) -> Models:
    """Fresh, seeded networks and Adam optimisers, in the memory layout the params ask for."""
    torch.manual_seed(params.seed)
    layout = memory_format(params)
    generator = Generator(params.width, params.depth, params.dropout)
    generator = generator.to(device, memory_format=layout)
    discriminator = None
    if params.adversarial_weight > 0:
        discriminator = Discriminator(params.discriminator_width, params.discriminator_layers)
        discriminator = discriminator.to(device, memory_format=layout)
    return Models(
        generator=generator,
        g_optimizer=_adam(generator, params),
        discriminator=discriminator,
        d_optimizer=_adam(discriminator, params) if discriminator else None,
    )


def memory_format(params: TrainingParams) -> torch.memory_format:
    """NHWC when `params.channels_last`: oneDNN's faster convolution layout on CPUs."""
    return torch.channels_last if params.channels_last else torch.contiguous_format


def _adam(module: nn.Module, params: TrainingParams) -> torch.optim.Adam:
    # fused Adam: one kernel for all parameters instead of a loop over them.
    return torch.optim.Adam(
        module.parameters(), lr=params.lr, betas=(params.beta1, params.beta2), fused=True
    )


def gan_step(
    models: Models, lightness: torch.Tensor, ab: torch.Tensor, params: TrainingParams
) -> dict[str, torch.Tensor]:
    """One optimisation step of D (if any) then G; returns detached losses and D outputs."""
    generator, discriminator = models.generator, models.discriminator
    # Inputs in the models' layout: mixing NCHW inputs with NHWC weights is ~10x slower.
    lightness = lightness.contiguous(memory_format=memory_format(params))
    ab = ab.contiguous(memory_format=memory_format(params))
    with autocast(lightness.device):
        fake = generator(lightness)
    figures: dict[str, torch.Tensor] = {}
    g_adversarial = fake.new_zeros(())
    if discriminator is not None and models.d_optimizer is not None:
        discriminator.requires_grad_(True)
        with autocast(lightness.device):
            real_logits = discriminator(lightness, ab)
            fake_logits = discriminator(lightness, fake.detach())
            d_loss = 0.5 * (
                _bce(real_logits, params.real_label) + _bce(fake_logits, 0.0)  # one-sided smoothing
            )
        models.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        models.d_optimizer.step()
        # G's step needs gradients through D, not for D's weights: skip computing those.
        discriminator.requires_grad_(False)
        with autocast(lightness.device):
            g_adversarial = _bce(discriminator(lightness, fake), 1.0)
        figures["d_loss"] = d_loss.detach()
        figures["d_real"] = torch.sigmoid(real_logits.detach().float()).mean()
        figures["d_fake"] = torch.sigmoid(fake_logits.detach().float()).mean()
        figures["g_adv_loss"] = g_adversarial.detach()
    g_l1 = F.l1_loss(fake.float(), ab)
    g_loss = params.adversarial_weight * g_adversarial + params.l1_weight * g_l1
    models.g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    models.g_optimizer.step()
    figures["g_l1_loss"] = g_l1.detach()
    return figures


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@torch.no_grad()
def predict_ab(
    generator: Generator,
    lightness: torch.Tensor,
    batch_size: int,
    layout: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """The generator's ab for every image, in eval mode, batch by batch, in G's `layout`."""
    generator.eval()
    try:
        parts = []
        for start in range(0, len(lightness), batch_size):
            batch = lightness[start : start + batch_size].contiguous(memory_format=layout)
            with autocast(lightness.device):
                parts.append(generator(batch).float())
        return torch.cat(parts)
    finally:
        generator.train()


def validation_scores(
    predicted_ab: np.ndarray, lightness: np.ndarray, true_ab: np.ndarray, true_rgb: np.ndarray
) -> dict[str, float]:
    """L1 on normalised ab (the training loss's units) and dataset PSNR on RGB 0-255."""
    predicted_rgb = model_arrays_to_rgb(lightness, predicted_ab)
    return {
        "val_l1": float(np.abs(predicted_ab - true_ab).mean()),
        "val_psnr": psnr(float(squared_error(true_rgb, predicted_rgb).mean())),
    }


def checkpoint_path(params: TrainingParams, variant: str) -> Path:
    return Path(params.checkpoint_dir) / variant / "last.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    with atomic_write(path) as file:
        torch.save(state, file)


def _checkpoint_state(
    models: Models, epoch: int, params: TrainingParams, variant: str, shuffle: torch.Generator
) -> dict[str, Any]:
    def state(module: Any) -> Any:
        return module.state_dict() if module is not None else None

    return {
        "variant": variant,
        "epoch": epoch,
        "target_epochs": params.epochs,
        "architecture": _architecture(params),
        "generator": state(models.generator),
        "discriminator": state(models.discriminator),
        "g_optimizer": state(models.g_optimizer),
        "d_optimizer": state(models.d_optimizer),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "shuffle_rng": shuffle.get_state(),
    }


def _architecture(params: TrainingParams) -> dict[str, Any]:
    """What must match for a checkpoint to be resumable with these params."""
    return {
        "width": params.width,
        "depth": params.depth,
        "dropout": params.dropout,
        "discriminator": (
            [params.discriminator_width, params.discriminator_layers]
            if params.adversarial_weight > 0
            else None
        ),
    }


def _restore(
    path: Path, models: Models, params: TrainingParams, variant: str, shuffle: torch.Generator
) -> int:
    """Load a checkpoint into `models` and the RNGs; return the last finished epoch."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["variant"] != variant or state["architecture"] != _architecture(params):
        raise ValueError(
            f"{path} was written by variant {state['variant']!r} with architecture "
            f"{state['architecture']}, but this run is {variant!r} with {_architecture(params)}: "
            "set the same training parameters, or training.resume=false to start over."
        )
    models.generator.load_state_dict(state["generator"])
    models.g_optimizer.load_state_dict(state["g_optimizer"])
    if models.discriminator is not None and models.d_optimizer is not None:
        models.discriminator.load_state_dict(state["discriminator"])
        models.d_optimizer.load_state_dict(state["d_optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    shuffle.set_state(state["shuffle_rng"])
    return int(state["epoch"])


def _start_epoch(
    path: Path, models: Models, params: TrainingParams, variant: str, shuffle: torch.Generator
) -> int:
    """Resume from `path` when asked; refuse to silently overwrite an interrupted run."""
    if params.resume and path.is_file():
        done = _restore(path, models, params, variant, shuffle)
        logger.info("%s: resuming from %s after epoch %d", variant, path, done)
        return done + 1
    if params.resume:
        logger.info(
            "%s: training.resume is set but %s does not exist; starting fresh", variant, path
        )
    elif path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["epoch"] < state["target_epochs"]:
            raise ValueError(
                f"{path} holds an interrupted {state['variant']!r} run (epoch {state['epoch']} "
                f"of {state['target_epochs']}): set training.resume=true to continue it, or "
                "delete the file to start over."
            )
        logger.info("%s: replacing the finished run's checkpoint %s", variant, path)
    return 1


def fit(
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    params: TrainingParams,
    variant: str,
    on_epoch: EpochCallback | None = None,
) -> Generator:
    """Train for `params.epochs` epochs (counting any resumed ones); return G on the CPU, eval.

    `train` and `validation` are (L, ab) arrays as the model_input layer stores them.
    `on_epoch(epoch, metrics, generator)` sees every finished epoch (MLflow logging).
    """
    device = resolve_device(params.device)
    train_l, train_ab = (torch.as_tensor(a, device=device) for a in train)
    val_l = torch.as_tensor(validation[0], device=device)
    val_rgb = model_arrays_to_rgb(*validation)
    batch_size = min(params.batch_size, len(train_l))
    steps = len(train_l) // batch_size  # whole batches only: BatchNorm needs > 1 image

    models = build_models(params, device)
    shuffle = torch.Generator().manual_seed(params.seed)
    path = checkpoint_path(params, variant)
    first_epoch = _start_epoch(path, models, params, variant, shuffle)
    logger.info(
        "%s: %d train / %d validation images, batch %d, epochs %d..%d on %s (%d threads)",
        variant, len(train_l), len(val_l), batch_size, first_epoch, params.epochs, device,
        torch.get_num_threads(),
    )  # fmt: skip

    for epoch in range(first_epoch, params.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(len(train_l), generator=shuffle).to(device)
        flips = torch.rand(len(train_l), generator=shuffle).to(device) < 0.5
        totals: dict[str, torch.Tensor] = {}
        bar = tqdm(
            total=steps * batch_size,
            unit="img",
            desc=f"{variant} epoch {epoch}/{params.epochs}",
            leave=False,
        )
        for step in range(steps):
            index = order[step * batch_size : (step + 1) * batch_size]
            lightness, ab = train_l[index], train_ab[index]
            if params.flip:
                flip = flips[index, None, None, None]
                lightness = torch.where(flip, lightness.flip(-1), lightness)
                ab = torch.where(flip, ab.flip(-1), ab)
            figures = gan_step(models, lightness, ab, params)
            for name, value in figures.items():
                if not torch.isfinite(value):
                    kept = (
                        f"the last good checkpoint ({path}, after epoch {epoch - 1}) is untouched"
                        if epoch > 1
                        else "no checkpoint was written"
                    )
                    raise TrainingDivergedError(
                        f"{variant}: {name} became {value.item()} at epoch {epoch}, step "
                        f"{step + 1}/{steps}; stopped, {kept}. Lower training.lr or check the data."
                    )
                totals[name] = totals.get(name, 0.0) + value.float()
            bar.update(batch_size)
            if step % 10 == 0:
                bar.set_postfix(l1=f"{figures['g_l1_loss'].item():.4f}")
        bar.close()
        train_seconds = time.perf_counter() - started

        predicted = (
            predict_ab(models.generator, val_l, 2 * batch_size, memory_format(params)).cpu().numpy()
        )
        metrics = {name: (total / steps).item() for name, total in totals.items()}
        metrics |= validation_scores(predicted, validation[0], validation[1], val_rgb)
        metrics["images_per_s"] = steps * batch_size / train_seconds
        save_checkpoint(path, _checkpoint_state(models, epoch, params, variant, shuffle))
        metrics["epoch_seconds"] = time.perf_counter() - started
        logger.info(
            "%s epoch %d/%d: %s",
            variant, epoch, params.epochs,
            ", ".join(f"{name} {value:.4g}" for name, value in metrics.items()),
        )  # fmt: skip
        if on_epoch is not None:
            on_epoch(epoch, metrics, models.generator)

    return models.generator.to("cpu", memory_format=torch.contiguous_format).eval()
