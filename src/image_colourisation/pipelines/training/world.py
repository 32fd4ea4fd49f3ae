"""`World`: a training process's place among the workers `launch.py` starts (a value type).

`World()` is one process alone; the loop, the data sources and `distributed.py` ask it for
their rank, their shard of an epoch and their device.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

from .device import resolve_device

Item = TypeVar("Item")


@dataclass(frozen=True)
class World:
    """This process's rank among `size` training processes, and its rank on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> "World":
        """The ranks torch's elastic agent gives each worker it starts."""
        variables = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
        return cls(*(int(os.environ[name]) for name in variables))

    @property
    def main(self) -> bool:
        """Rank 0: the one that checkpoints, logs to MLflow and draws progress bars."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """`training.device` resolved; on CUDA, the GPU of this machine's `local_rank`."""
        device = resolve_device(name)
        if device.type == "cuda" and self.size > 1:
            return torch.device("cuda", self.local_rank)
        return device

    def shard(self, order: Sequence[Item], per_rank: int) -> Sequence[Item]:
        """This rank's `per_rank` items of an epoch's `order`, which every rank drew alike:
        the rule of DistributedSampler(shuffle=False, drop_last=True). Alone: the first
        `per_rank` items, in order."""
        return order[self.rank : per_rank * self.size : self.size]


ALONE = World()  # one training process: today's training, unchanged
