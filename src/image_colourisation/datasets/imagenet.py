"""Read-only Kedro datasets of torchvision's ImageNet MobileNetV2: the classifier that judges the
real-photo benchmark, and the weights of the encoder inside the generator (`models/encoder.py`)."""

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from kedro.io import AbstractDataset, DatasetError

from image_colourisation.models.imagenet import (
    ImageNetClassifier,
    cached_weights,
    load_imagenet_classifier,
    load_imagenet_state,
)


class ImageNetClassifierDataset(AbstractDataset[None, Callable[[], ImageNetClassifier]]):
    """Loads torchvision's ImageNet MobileNetV2 (`models/imagenet.py`), its weights from torch's
    hub cache, seeded from `weights_folder` when the cache lacks them, hash-checked.

    Lazy, as the photo folder's partitions are: `load` returns a function that loads the
    classifier, so a benchmark on an empty folder needs no weights at all.
    """

    def __init__(self, weights_folder: str, metadata: dict[str, Any] | None = None) -> None:
        self._weights_folder = Path(weights_folder)
        self.metadata = metadata

    def load(self) -> Callable[[], ImageNetClassifier]:
        return partial(load_imagenet_classifier, self._weights_folder)

    def save(self, data: Any) -> None:
        raise DatasetError("ImageNetClassifierDataset is read-only: torchvision's weights are.")

    def _exists(self) -> bool:
        """Whether the weights are here without a download: in the hub cache or the folder."""
        return (
            cached_weights().is_file() or (self._weights_folder / cached_weights().name).is_file()
        )

    def _describe(self) -> dict[str, Any]:
        return {"weights_folder": str(self._weights_folder)}


class ImageNetWeightsDataset(ImageNetClassifierDataset):
    """The same weights as a state dict, for the generator's ImageNet encoder; lazy as well, so
    a training with `imagenet_encoder: 0` needs no weights."""

    def load(self) -> Callable[[], dict[str, torch.Tensor]]:  # type: ignore[override]
        return partial(load_imagenet_state, self._weights_folder)
