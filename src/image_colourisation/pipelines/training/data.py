"""Where the training loop's mini-batches come from: one interface, two data sources.

- `ArrayBatches`: the CIFAR-10 model-input arrays, held on the device, shuffled, flipped and
  shifted per epoch (`augment.py`), exactly as the loop always did.
- `LoaderBatches`: random crops of a folder of photos (`photo_crops.PhotoCrops`), decoded and
  converted to Lab by DataLoader worker processes, so memory does not grow with the folder.

Both draw an epoch's randomness from the loop's seeded generator before its first step, so
results are seeded and a resumed run repeats the epoch it continues. `training_batches`
picks the source from what the model_input layer holds, and `source_params` the generator
depth a photo crop size needs. Under DDP every rank draws the same epoch and reads its own
shard of it (`World.shard`: DistributedSampler's rule), so a step's batches over all the ranks
are the images one process would take for a batch `world.size` times larger.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch

from image_colourisation.memory import lean_fork
from image_colourisation.pipelines.training.photo_crops import PhotoCrops, generator_depth

from . import augment
from .config import TrainingParams
from .distributed import ALONE, World

Batch = tuple[torch.Tensor, torch.Tensor]  # normalised L (B, 1, H, W), ab (B, 2, H, W)


class Batches(Protocol):
    """An epoch of whole mini-batches on the training device."""

    steps: int
    batch_size: int

    def epoch(self, shuffle: torch.Generator) -> Iterator[Batch]: ...

    def colour_sample(self) -> np.ndarray: ...


@dataclass
class ArrayBatches:
    """In-memory (L, ab) arrays: shuffled, mirrored and shifted on the device each epoch."""

    lightness: torch.Tensor
    ab: torch.Tensor
    batch_size: int
    flip: bool
    padding: int
    world: World = ALONE

    @property
    def steps(self) -> int:  # whole batches only: BatchNorm needs > 1 image
        return len(self.lightness) // (self.batch_size * self.world.size)

    def epoch(self, shuffle: torch.Generator) -> Iterator[Batch]:
        count, device = len(self.lightness), self.lightness.device
        order = torch.randperm(count, generator=shuffle).to(device)
        draws = augment.draw(count, self.flip, self.padding, shuffle, device)
        order = self.world.shard(order, self.steps * self.batch_size)
        for step in range(self.steps):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            yield augment.apply(self.lightness[index], self.ab[index], draws, index, self.padding)

    def colour_sample(self) -> np.ndarray:
        return self.ab.cpu().numpy()


@dataclass
class LoaderBatches:
    """Photo crops from DataLoader workers, moved to the device batch by batch."""

    crops: PhotoCrops
    batch_size: int
    device: torch.device
    world: World = ALONE

    @property
    def steps(self) -> int:
        return len(self.crops) // (self.batch_size * self.world.size)

    def epoch(self, shuffle: torch.Generator) -> Iterator[Batch]:
        plan = self.crops.epoch_plan(shuffle)
        loader = torch.utils.data.DataLoader(
            self.crops,
            batch_size=self.batch_size,
            sampler=self.world.shard(plan, self.steps * self.batch_size),
            num_workers=self.crops.workers,
            drop_last=True,
            worker_init_fn=_one_thread,
            prefetch_factor=4 if self.crops.workers else None,
        )
        with lean_fork():
            for lightness, ab in loader:
                yield lightness.to(self.device), ab.to(self.device)

    def colour_sample(self) -> np.ndarray:
        raise ValueError(
            "training.colour_bins needs the colours of the whole training set, which a photo "
            "folder does not hold in memory: train photos with colour_bins: false."
        )


def _one_thread(worker: int) -> None:
    """Workers decode and convert; torch threads in each would only fight the training step."""
    torch.set_num_threads(1)


def source_params(train_set: object, params: TrainingParams) -> TrainingParams:
    """`params` for this data source: photo crops set the generator depth (`generator_depth`)."""
    if isinstance(train_set, PhotoCrops):
        return replace(params, depth=generator_depth(train_set.crop_size))
    return params


def training_batches(
    train_set: PhotoCrops | tuple[np.ndarray, np.ndarray],
    params: TrainingParams,
    device: torch.device,
    world: World = ALONE,
) -> Batches:
    """This rank's batches of `train_set`: photo crops or (L, ab) arrays."""
    if isinstance(train_set, PhotoCrops):
        batch_size = min(params.batch_size, len(train_set) // world.size)
        return LoaderBatches(train_set, batch_size, device, world)
    lightness, ab = (torch.as_tensor(array, device=device) for array in train_set)
    batch_size = min(params.batch_size, len(lightness) // world.size)
    return ArrayBatches(lightness, ab, batch_size, params.flip, params.crop_padding, world)
