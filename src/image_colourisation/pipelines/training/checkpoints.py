"""Checkpoints: everything a run needs to continue bit-exact, written atomically every epoch."""

import logging
from pathlib import Path
from typing import Any

import torch

from image_colourisation.files import atomic_write

from .config import TrainingParams
from .steps import Models

logger = logging.getLogger(__name__)


def checkpoint_path(params: TrainingParams, variant: str) -> Path:
    return Path(params.checkpoint_dir) / variant / "last.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    with atomic_write(path) as file:
        torch.save(state, file)


def checkpoint_state(
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
        "ema": state(models.ema),
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
        "colour_bins": params.colour_bins,
        "ema": params.ema_decay > 0,
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
    if models.ema is not None:
        models.ema.load_state_dict(state["ema"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    shuffle.set_state(state["shuffle_rng"])
    return int(state["epoch"])


def start_epoch(
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
