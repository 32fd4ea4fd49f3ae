"""The one seam for training data: a source built once, which the loop and launcher only ask.

`training_images` builds the source from what the model_input layer holds, and it is the only
place that looks at which kind it is:

- `ImageArrays`: the CIFAR-10 model-input arrays, held on the device, shuffled, flipped and
  shifted per epoch (`augment.py`) by `ArrayBatches`;
- `PhotoImages`: random crops of a folder of photos (`photo_crops.PhotoCrops`), decoded and
  converted to Lab by DataLoader worker processes (`LoaderBatches`), so memory does not grow
  with the folder.

A source carries the generator depth its images need, the render size a generator trained
on it colourises photos at (the crop size; None for CIFAR-10), its number of classes (CIFAR-10's
labels, a photo folder's class sub-folders) or why it has none, and the data name its MLflow
runs carry; it gives its batches, a sample of its colours (for the colour bins), and a form to
hand to worker processes.

Both kinds of batches draw an epoch's randomness from the loop's seeded generator before its
first step, so results are seeded and a resumed run repeats the epoch it continues. Under DDP
every rank draws the same epoch and reads its own shard of it (`World.shard`:
DistributedSampler's rule), so a step's batches over all the ranks are the images one process
would take for a batch `world.size` times larger.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol, Self

import numpy as np
import torch

from image_colourisation.core.memory import lean_fork
from image_colourisation.imaging.crops import generator_depth
from image_colourisation.models import augment
from image_colourisation.models.encoder import ImageNetEncoder, encode_all
from image_colourisation.serving.run_names import CIFAR10

from .photo_crops import PhotoCrops
from .world import ALONE, World

# Normalised L (B, 1, H, W), ab (B, 2, H, W), the class labels (B,) (None when unlabelled) and
# the ImageNet encoder's features (B, 1280) when computed beforehand (None: the generator's own).
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]


class Batches(Protocol):
    """An epoch of whole mini-batches on the training device."""

    steps: int
    batch_size: int

    def epoch(self, shuffle: torch.Generator) -> Iterator[Batch]: ...


class TrainingImages(Protocol):
    """A source of training images (see the module's docstring)."""

    depth: int  # U-Net levels the images need
    render_size: int | None  # recorded in the trained generator's payload
    classes: int  # number of classes its labels name; 0: unlabelled
    unlabelled: str  # why it has no class labels ("" when it has)
    data: str  # what the images are, in MLflow run names and tags (`serving/run_names.py`)

    def batches(
        self, batch_size: int, flip: bool, padding: int, device: torch.device, world: World
    ) -> Batches: ...

    def colour_sample(self) -> np.ndarray: ...

    def for_workers(self) -> Self: ...

    def encoded(self, encoder: ImageNetEncoder) -> Self: ...


@dataclass(frozen=True)
class ImageArrays:
    """Model-input (L, ab) arrays as CPU tensors (viewing the numpy arrays, no copy), with the
    class labels when the dataset has them (CIFAR-10's)."""

    lightness: torch.Tensor
    ab: torch.Tensor
    depth: int
    labels: torch.Tensor | None = None
    classes: int = 0
    context: torch.Tensor | None = None  # the ImageNet encoder's features, once `encoded`
    render_size: None = None
    data = CIFAR10

    @classmethod
    def of(cls, data: dict[str, np.ndarray], name: str, depth: int) -> "ImageArrays":
        """The (L, ab) pair of a model_input dataset, checked against what the generator takes,
        and its `labels` (of `class_names`) when it has them."""
        lightness, ab = (torch.from_numpy(array) for array in model_arrays(data, name, depth))
        if "labels" not in data or "class_names" not in data:
            return cls(lightness, ab, depth)
        labels = torch.from_numpy(np.asarray(data["labels"], dtype=np.int64))
        return cls(lightness, ab, depth, labels, len(data["class_names"]))

    @property
    def unlabelled(self) -> str:
        return "" if self.labels is not None else "the training arrays have no labels"

    def __len__(self) -> int:
        return len(self.lightness)

    def batches(
        self, batch_size: int, flip: bool, padding: int, device: torch.device, world: World
    ) -> "ArrayBatches":
        lightness, ab = self.lightness.to(device), self.ab.to(device)
        labels = self.labels.to(device) if self.labels is not None else None
        context = self.context.to(device) if self.context is not None else None
        batch_size = min(batch_size, len(lightness) // world.size)
        return ArrayBatches(lightness, ab, labels, context, batch_size, flip, padding, world)

    def colour_sample(self) -> np.ndarray:
        return self.ab.numpy()

    def for_workers(self) -> "ImageArrays":
        """In shared memory: the workers map the arrays instead of each receiving a copy."""
        for tensor in (self.lightness, self.ab, self.labels, self.context):
            if tensor is not None:
                tensor.share_memory_()
        return self

    def encoded(self, encoder: ImageNetEncoder) -> "ImageArrays":
        """With the encoder's features of every image, computed once here (an epoch of them
        would cost ten times the training step on a CPU); the same arrays otherwise."""
        device = next(encoder.buffers()).device
        return replace(self, context=encode_all(encoder, self.lightness.to(device)))

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """(L, ab) as numpy arrays, without a copy."""
        return self.lightness.numpy(), self.ab.numpy()


@dataclass(frozen=True)
class PhotoImages:
    """A photo folder's random crops: only file names live here, workers read the photos.
    Labelled by their class sub-folders when the folder follows the ImageFolder convention."""

    crops: PhotoCrops
    data = "photos"

    @property
    def classes(self) -> int:
        return len(self.crops.class_names)

    @property
    def unlabelled(self) -> str:
        return "" if self.classes else self.crops.unlabelled

    @property
    def depth(self) -> int:
        return generator_depth(self.crops.crop_size)

    @property
    def render_size(self) -> int:
        return self.crops.crop_size

    def batches(
        self, batch_size: int, flip: bool, padding: int, device: torch.device, world: World
    ) -> "LoaderBatches":
        """Flips and crops are the crops' own (`photo_crops`): `flip` and `padding` are
        CIFAR-10's array augmentation and do not apply."""
        batch_size = min(batch_size, len(self.crops) // world.size)
        return LoaderBatches(self.crops, batch_size, device, world)

    def colour_sample(self) -> np.ndarray:
        raise ValueError(
            "training.colour_bins needs the colours of the whole training set, which a photo "
            "folder does not hold in memory: train photos with colour_bins: false."
        )

    def for_workers(self) -> "PhotoImages":
        return self

    def encoded(self, encoder: ImageNetEncoder) -> "PhotoImages":
        """Unchanged: a random crop differs every epoch, so the generator encodes each step's."""
        return self


def training_images(
    train_set: dict[str, np.ndarray] | PhotoCrops, depth: int
) -> ImageArrays | PhotoImages:
    """The training source for what the model_input layer holds: a photo folder's crops (whose
    crop size sets the depth), else CIFAR-10's arrays at `depth` (`training.depth`)."""
    if isinstance(train_set, PhotoCrops):
        return PhotoImages(train_set)
    return ImageArrays.of(train_set, "train_set", depth)


@dataclass
class ArrayBatches:
    """In-memory (L, ab) arrays: shuffled, mirrored and shifted on the device each epoch."""

    lightness: torch.Tensor
    ab: torch.Tensor
    labels: torch.Tensor | None
    context: torch.Tensor | None
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
            lightness, ab = augment.apply(
                self.lightness[index], self.ab[index], draws, index, self.padding
            )
            yield (
                lightness,
                ab,
                self.labels[index] if self.labels is not None else None,
                self.context[index] if self.context is not None else None,
            )


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
        labelled = bool(self.crops.class_names)
        with lean_fork():
            for lightness, ab, labels in loader:
                yield (
                    lightness.to(self.device),
                    ab.to(self.device),
                    labels.to(self.device) if labelled else None,
                    None,
                )


def _one_thread(worker: int) -> None:
    """Workers decode and convert; torch threads in each would only fight the training step."""
    torch.set_num_threads(1)


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
