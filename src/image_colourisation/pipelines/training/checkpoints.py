"""Checkpoints: everything a run needs to continue bit-exact, written atomically every epoch.

A checkpoint is read with `weights_only=True` and checked (its keys, their types, every
weight's name and shape) before anything is restored, so a foreign, damaged or hostile file
stops the run with one sentence naming it. While a run trains a variant it holds a lock on
that variant's checkpoint folder (`locks.checkpoint_lock`), so a second run cannot overwrite it.
"""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import atomic_write
from image_colourisation.core.ranges import Setting, problems_in
from image_colourisation.models.payloads import (
    MAX_PAYLOAD_BYTES,
    compressed_entry,
    declared_bytes,
    refusal_reason,
    unbounded_problem,
    weights_problem,
)

from .config import RULES, TrainingParams
from .steps import Models
from .tracking import active_run_id

logger = logging.getLogger(__name__)


# Generator, discriminator, moving average and two Adam states (two moments per weight): a
# checkpoint holds about seven times a model payload at most.
MAX_CHECKPOINT_BYTES = 8 * MAX_PAYLOAD_BYTES


class CheckpointError(UserValueError):
    """A checkpoint file that this project did not write, or that does not fit this run: the
    user's to move away (or to match with the same parameters), so `kedro run` ends with its
    message alone (`hooks/project.UserErrorHook`)."""


def checkpoint_path(checkpoint_dir: str | Path, variant: str) -> Path:
    """`<training.checkpoint_dir>/<variant>/last.pt`."""
    return Path(checkpoint_dir) / variant / "last.pt"


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
        # The variant's MLflow run, so that a resumed run continues it (`tracking.variant_run`).
        "mlflow_run_id": active_run_id(),
    }


def _architecture(params: TrainingParams) -> dict[str, Any]:
    """What must match for a checkpoint to be resumable with these params."""
    return {
        "width": params.width,
        "depth": params.depth,
        "dropout": params.dropout,
        "colour_bins": params.colour_bins,
        "hints": params.hints.enabled,
        "class_head": params.class_weight > 0,
        "class_conditional": params.class_conditional and params.adversarial_weight > 0,
        "ema": params.ema_decay > 0,
        "discriminator": (
            [params.discriminator_width, params.discriminator_layers]
            if params.adversarial_weight > 0
            else None
        ),
    }


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint safely and check its structure; `CheckpointError` names what is wrong.

    Torch's own error for a file it will not load safely suggests `weights_only=False`, which
    would run any code the file holds; this says instead that the file is not to be trusted.
    """
    inflated = declared_bytes(path)
    if inflated > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path} is not a checkpoint of this project: its entries inflate to {inflated:,} "
            f"bytes, more than the {MAX_CHECKPOINT_BYTES:,} a checkpoint of the largest model "
            "may hold, so it was not loaded: move it away, and training starts afresh."
        )
    packed = compressed_entry(path)
    if packed:
        raise CheckpointError(
            f"{path} is not a checkpoint of this project: {packed}, so it was not loaded: "
            "move it away, and training starts afresh."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # UnpicklingError, RuntimeError, EOFError, ...
        raise CheckpointError(
            f"{path} is not a checkpoint of this project ({refusal_reason(error)}), so it was not "
            "loaded and must not be trusted (never open it with weights_only=False): move it "
            "away, and training starts afresh."
        ) from error
    problem = _structure_problem(state)
    if problem:
        raise CheckpointError(
            f"{path} is not a checkpoint of this project's training ({problem}): move it "
            "away, and training starts afresh."
        )
    return state


def _structure_problem(state: Any) -> str | None:
    """Why `state` is not what `checkpoint_state` writes, or None."""
    if not isinstance(state, Mapping):
        return f"it holds a {type(state).__name__}, not a mapping"
    expected: dict[str, tuple[type, ...]] = {
        "variant": (str,),
        "epoch": (int,),
        "target_epochs": (int,),
        "architecture": (Mapping,),
        "generator": (Mapping,),
        "g_optimizer": (Mapping,),
        "discriminator": (Mapping, type(None)),
        "d_optimizer": (Mapping, type(None)),
        "ema": (Mapping, type(None)),
        "torch_rng": (torch.Tensor,),
        "cuda_rng": (list, tuple),
        "shuffle_rng": (torch.Tensor,),
    }
    missing = [key for key in expected if key not in state]
    if missing:
        return f"it lacks {missing}"
    for key, kinds in expected.items():
        if not isinstance(state[key], kinds) or isinstance(state[key], bool):
            return f"its {key} is a {type(state[key]).__name__}"
    if state["epoch"] < 0 or state["target_epochs"] < 0:
        return f"it says epoch {state['epoch']} of {state['target_epochs']}"
    if not isinstance(state.get("mlflow_run_id"), str | type(None)):
        return "its mlflow_run_id is not a string"
    return None


def restore(
    state: Mapping[str, Any],
    models: Models,
    shuffle: torch.Generator,
    *,
    path: Path,
    params: TrainingParams,
    variant: str,
) -> int:
    """Load a checkpoint read by `prior_checkpoint` into `models` and the RNGs; return the
    first epoch still to train."""
    if state["variant"] != variant or state["architecture"] != _architecture(params):
        raise CheckpointError(
            f"{path} was written by variant {state['variant']!r} with architecture "
            f"{state['architecture']}, but this run is {variant!r} with {_architecture(params)}: "
            "set the same training parameters, or training.resume=false to start over."
        )

    try:
        load_states(state, models, shuffle)
    except _Unfit as unfit:
        raise CheckpointError(
            f"{path} cannot be resumed: {unfit}, although it records this run's architecture; "
            "it is damaged or was not written by this project's training: move it away, and "
            "training starts afresh."
        ) from unfit.__cause__
    logger.info("%s: resuming from %s after epoch %d", variant, path, state["epoch"])
    return state["epoch"] + 1


class _Unfit(Exception):
    """What in a checkpoint does not fit the models it is restored into."""


def load_states(state: Mapping[str, Any], models: Models, shuffle: torch.Generator) -> None:
    """Restore weights, optimisers and RNGs, checking each weight's name and shape first."""
    modules = {"generator": models.generator, "discriminator": models.discriminator}
    modules["ema"] = models.ema
    modules = {name: module for name, module in modules.items() if module is not None}
    for name, module in modules.items():
        if state[name] is None:
            raise _Unfit(f"its {name} weights are missing")
        problem = weights_problem(state[name], module.state_dict())
        if problem:
            raise _Unfit(f"its {name} weights do not fit ({problem})")
        problem = unbounded_problem(state[name])
        if problem:
            raise _Unfit(f"its {name} weights are unusable ({problem})")
    optimisers = {"g_optimizer": models.g_optimizer, "d_optimizer": models.d_optimizer}
    try:
        for name, module in modules.items():
            module.load_state_dict(state[name])
        for name, optimiser in optimisers.items():
            if optimiser is None:
                continue
            optimiser.load_state_dict(state[name])
            problem = _optimiser_problem(optimiser)
            if problem:
                raise _Unfit(f"its {name} state does not fit ({problem})")
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        shuffle.set_state(state["shuffle_rng"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise _Unfit(f"restoring it failed ({type(error).__name__}: {first})") from error


# What Adam's settings in a checkpoint may be: as the training parameters (a NaN beta would
# make the first step's loss NaN, after the run had started).
ADAM_SETTINGS = {
    "lr": RULES["lr"],
    "eps": Setting(float, 0.0, 1.0, low_open=True),
    "weight_decay": Setting(float, 0.0, 1.0),
}


def _optimiser_problem(optimiser: torch.optim.Optimizer) -> str | None:
    """A loaded optimiser state whose settings are out of range, or whose moment estimates do
    not have their parameter's shape."""
    for group in optimiser.param_groups:
        settings = {name: group.get(name) for name in ADAM_SETTINGS}
        betas = dict(zip(("beta1", "beta2"), group.get("betas", ()), strict=False))
        found = problems_in(ADAM_SETTINGS, settings, "its settings") + problems_in(
            {name: RULES[name] for name in betas}, betas, "its settings"
        )
        if found:
            return found[0]
        for parameter in group["params"]:
            for key, value in optimiser.state.get(parameter, {}).items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.dim() > 0
                    and value.shape != parameter.shape
                ):
                    return f"{key} has shape {tuple(value.shape)} for a {tuple(parameter.shape)} weight"
    return None


def prior_checkpoint(path: Path, resume: bool, target_epochs: int) -> dict[str, Any] | None:
    """The checkpoint a run continues, read and checked once: None when it starts afresh.

    With `resume` and a file at `path`, its state (for `restore`, and the MLflow run it
    continues), unless it claims more epochs than the run's `target_epochs`. Without `resume`, a finished run's checkpoint is left to be replaced, and an
    interrupted run's is refused rather than silently overwritten. A file that
    is not a checkpoint of this project raises `CheckpointError` either way.
    """
    if path.exists() and not path.is_file():
        raise CheckpointError(
            f"{path} is {'a folder' if path.is_dir() else 'not a regular file'}, not a "
            "checkpoint file: move it away, and training starts afresh."
        )
    if not path.is_file():
        if resume:
            logger.info("training.resume is set but %s does not exist; starting fresh", path)
        return None
    state = read_checkpoint(path)
    if resume:
        if state["epoch"] > target_epochs:
            raise CheckpointError(
                f"{path} says {state['epoch']:,} epochs are done, more than the "
                f"{target_epochs:,} this run trains to: resuming would train nothing and keep "
                "whatever the file holds. Raise the epochs, or set training.resume=false to "
                "start over."
            )
        return state
    if state["epoch"] < state["target_epochs"]:
        raise CheckpointError(
            f"{path} holds an interrupted {state['variant']!r} run (epoch {state['epoch']} "
            f"of {state['target_epochs']}): set training.resume=true to continue it, or "
            "delete the file to start over."
        )
    logger.info("%s: replacing the finished run's checkpoint %s", state["variant"], path)
    return None
