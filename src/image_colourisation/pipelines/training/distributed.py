"""What changes inside the training loop when it runs as one of many processes (PyTorch DDP).

`World` is a process's place among the workers `launch.py` starts; `World()` is one process
alone, and then every function here leaves the loop exactly as it was. With more processes:

- every rank starts from rank 0's state (`share_start`): rank 0 alone reads the checkpoint or
  warm-starts, so a resumed run may use another number of processes than the one it continues;
- G and D train under DistributedDataParallel (`replicate`), which averages their gradients;
  on CUDA their BatchNorm layers are synchronised (SyncBatchNorm runs on GPUs only: on CPUs each
  process normalises its own batch);
- each rank reads its shard of the epoch's order (`World.shard`), keeps its own dropout stream,
  and the epoch's losses are averaged over the ranks once per epoch (`mean_over_ranks`);
- the learning rate follows the scaling rule for the global batch (`scale_learning_rates`).
"""

import io
import math
from dataclasses import replace
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .checkpoints import checkpoint_state, load_states
from .config import DistributedParams, TrainingParams
from .steps import Models
from .world import World


def share_start(
    models: Models,
    shuffle: torch.Generator,
    first_epoch: int,
    params: TrainingParams,
    world: World,
) -> int:
    """Give every rank rank 0's starting point (weights, optimisers, moving average, shuffle
    state, epoch), then its own dropout stream; return the first epoch to train."""
    if world.size == 1:
        return first_epoch
    start: list[Any] = [None, None]
    if world.main:  # sent as a checkpoint file holds it, read as one (`checkpoints.py`)
        saved = io.BytesIO()
        torch.save(checkpoint_state(models, first_epoch, params, "", shuffle), saved)
        start = [first_epoch, saved.getvalue()]
    dist.broadcast_object_list(start, src=0)
    if not world.main:
        state = torch.load(io.BytesIO(start[1]), map_location="cpu", weights_only=True)
        load_states(state, models, shuffle)
    # The same draw on every rank (rank 0's RNG state), offset by rank: seeded, yet distinct.
    torch.manual_seed(int(torch.randint(2**62, ())) + world.rank)
    return start[0]


class _Calls(nn.Module):
    """Routes DDP's forward to any method of the network (G's `predict`, D's `features`)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, method: str, *args: torch.Tensor) -> Any:
        return getattr(self.network, method)(*args)


class Replica(DistributedDataParallel):
    """G or D under DDP, its own methods too: every call goes through DDP's forward, which
    prepares the gradient averaging of the backward pass that follows."""

    def __init__(self, network: nn.Module, device: torch.device) -> None:
        if device.type == "cuda":
            network = nn.SyncBatchNorm.convert_sync_batchnorm(network)  # in place, same weights
        # Buffers (BatchNorm statistics) sync at the start only: D runs twice before its
        # backward pass, and rank 0 is the one kept.
        super().__init__(
            _Calls(network),
            device_ids=[device] if device.type == "cuda" else None,
            forward_sync_buffers=False,
        )

    def forward(self, *args: torch.Tensor) -> Any:
        return super().forward("forward", *args)

    def predict(self, *args: torch.Tensor) -> Any:
        return super().forward("predict", *args)

    def features(self, *args: torch.Tensor) -> Any:
        return super().forward("features", *args)


def replicate(models: Models, device: torch.device, world: World) -> Models:
    """The models `gan_step` trains: G and D as `Replica`s; `models` itself when alone. They
    share weights, optimisers and moving average with `models`, which checkpoints read."""
    if world.size == 1:
        return models
    discriminator = models.discriminator
    return replace(
        models,
        generator=Replica(models.generator, device),
        discriminator=Replica(discriminator, device) if discriminator is not None else None,
    )


def scale_learning_rates(
    models: Models, lr: float, spec: DistributedParams, world: World, epochs: float
) -> None:
    """Set both optimisers' learning rates for the global batch of `world.size` processes after
    `epochs` epochs: `lr` times the scaling rule's factor, reached by a linear warm-up
    (`conf/base/parameters_training.yml`, training.distributed). Alone the factor is 1."""
    target = {"none": 1.0, "linear": float(world.size), "sqrt": math.sqrt(world.size)}
    factor = target[spec.lr_scaling]
    if spec.warmup_epochs and epochs < spec.warmup_epochs:
        factor = 1.0 + (factor - 1.0) * epochs / spec.warmup_epochs
    for optimiser in (models.g_optimizer, models.d_optimizer):
        for group in optimiser.param_groups if optimiser is not None else ():
            group["lr"] = lr * factor


def mean_over_ranks(totals: dict[str, torch.Tensor], world: World) -> dict[str, torch.Tensor]:
    """The epoch's summed losses averaged over the ranks: one collective per epoch."""
    if world.size == 1 or not totals:
        return totals
    stacked = torch.stack([totals[name] for name in totals])
    dist.all_reduce(stacked)
    return dict(zip(totals, stacked / world.size, strict=True))
