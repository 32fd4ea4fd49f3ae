"""Training images from a folder of photos: random crops of the working-size copies
(`imaging/crops.py`), converted to the model's Lab on the fly by `PhotoCrops`, a torch
`Dataset` that DataLoader workers run.

Randomness comes from a per-crop seed drawn in the main process (`epoch_plan`), so the crops
of an epoch are the same whatever the number of workers, and a resumed run repeats them.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.imaging.crops import random_square
from image_colourisation.imaging.photo_files import open_image

NO_LABEL = -1  # the label tensor of a crop of unlabelled photos (DataLoader collates tensors)


@dataclass(frozen=True)
class PhotoCrops(torch.utils.data.Dataset):
    """Random crops of the working-size photos in `files`, as model input (L, ab, label)
    tensors.

    Indexed by (photo index, seed) pairs from `epoch_plan`; an epoch visits every photo
    `crops_per_photo` times. Only file names live here: `workers` DataLoader processes read
    the photos from disk (0: the training process itself). `labels` gives each file's class
    (an index into `class_names`, the ImageFolder sub-folders); without them, `unlabelled`
    says why and every crop's label is NO_LABEL.
    """

    files: tuple[Path, ...]
    crop_size: int
    crops_per_photo: int = 1
    flip: bool = True
    workers: int = 2
    labels: tuple[int, ...] = ()
    class_names: tuple[str, ...] = ()
    unlabelled: str = "the photos carry no class labels"

    def __post_init__(self) -> None:
        if self.labels and len(self.labels) != len(self.files):
            raise ValueError(f"{len(self.labels)} labels for {len(self.files)} photos")

    def __len__(self) -> int:
        return len(self.files) * self.crops_per_photo

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        photo, seed = key
        with open_image(self.files[photo]) as image:
            rgb = random_square(
                image.convert("RGB"), self.crop_size, np.random.default_rng(seed), self.flip
            )
        lightness, ab = rgb_to_model_arrays(rgb[None])
        label = torch.tensor(self.labels[photo] if self.labels else NO_LABEL)
        return torch.from_numpy(lightness[0]), torch.from_numpy(ab[0]), label

    def epoch_plan(self, generator: torch.Generator) -> list[tuple[int, int]]:
        """One epoch's (photo, seed) pairs in a random order, drawn from `generator`."""
        order = torch.randperm(len(self), generator=generator) % len(self.files)
        seeds = torch.randint(0, 2**62, (len(self),), generator=generator)
        return list(zip(order.tolist(), seeds.tolist(), strict=True))
