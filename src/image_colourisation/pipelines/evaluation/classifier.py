"""A small CIFAR-10 classifier that judges whether colourised images look like their class.

Zhang et al. 2016 ("semantic interpretability") score colourisations by how well a classifier
trained on colour photographs recognises them: better than on gray means the colours help.
This one is deliberately small (three conv stages, global pooling) so that it trains in a
few minutes on two CPU cores; it reads the model's own normalised Lab arrays (L, a, b as
channels). Its pooled features (what the linear head sees) also serve as the embedding of a
Fréchet distance, as Inception's do for FID.
"""

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from image_colourisation.core.ranges import Setting
from image_colourisation.models.augment import random_crop
from image_colourisation.models.payloads import rebuild_model

logger = logging.getLogger(__name__)


class Classifier(nn.Module):
    """Normalised Lab (N, 3, H, W) -> class logits (N, classes); any H, W divisible by 8."""

    def __init__(self, width: int = 32, classes: int = 10) -> None:
        super().__init__()
        self.architecture = {"width": width, "classes": classes}
        stages = []
        in_channels = 3
        for out_channels in (width, width * 2, width * 4):
            stages += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*stages)
        self.head = nn.Linear(in_channels, classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The globally pooled features (N, 4·width) that the linear head classifies."""
        return self.features(images).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(images))


def lab_images(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Stack normalised L (N, 1, H, W) and ab (N, 2, H, W) into the classifier's input."""
    return np.concatenate([lightness, ab], axis=1).astype(np.float32, copy=False)


def augment(images: torch.Tensor, crop_padding: int) -> torch.Tensor:
    """Random horizontal flips and, with `crop_padding` p > 0, random crops of the same size
    from the images reflect-padded by p pixels (the usual CIFAR-10 augmentation), per image,
    drawn from torch's global generator (seeded by `train_classifier`)."""
    count = len(images)
    flip = torch.rand(count) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    if crop_padding <= 0:
        return images
    top, left = (torch.randint(0, 2 * crop_padding + 1, (count,)) for _ in range(2))
    return random_crop(images, crop_padding, top, left)


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    classes: int,
    width: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    crop_padding: int = 0,
    weight_decay: float = 0.0,
) -> Classifier:
    """Train on normalised Lab images (N, 3, H, W) with AdamW, random flips and crops.

    The learning rate follows a one-cycle schedule (warm up over the first 30 % of the steps,
    then cosine decay to nearly 0), which gets much more out of a few epochs than a constant
    rate. Channels-last (NHWC) layout, as in `predict`: faster convolutions on CPU.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(
            f"the classifier needs one label per image and at least one image, got "
            f"{len(images)} images and {len(labels)} labels"
        )
    torch.manual_seed(seed)
    classifier = Classifier(width=width, classes=classes).to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(
        classifier.parameters(), lr=learning_rate, weight_decay=weight_decay
    )
    inputs = torch.from_numpy(images)
    targets = torch.from_numpy(labels.astype(np.int64))
    steps_per_epoch = -(-len(inputs) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=max(epochs * steps_per_epoch, 1)
    )
    classifier.train()
    with tqdm(total=epochs * steps_per_epoch, desc="classifier", unit="batch") as progress:
        for epoch in range(epochs):
            order = torch.randperm(len(inputs))
            total_loss = 0.0
            for start in range(0, len(inputs), batch_size):
                batch = order[start : start + batch_size]
                x = augment(inputs[batch], crop_padding)
                logits = classifier(x.contiguous(memory_format=torch.channels_last))
                loss = nn.functional.cross_entropy(logits, targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total_loss += loss.item() * len(batch)
                progress.update()
            logger.info("classifier epoch %d: loss %.3f", epoch + 1, total_loss / len(inputs))
    return classifier.eval()


@torch.no_grad()
def features(classifier: Classifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The pooled penultimate features (N, 4·width) of normalised Lab images (N, 3, H, W):
    what the classifier's linear head sees, in eval mode, as float32.

    Channels-last (NHWC) layout: about twice as fast on CPU for these narrow convolutions.
    """
    classifier.eval().to(memory_format=torch.channels_last)
    parts = [
        classifier.embed(
            torch.from_numpy(images[start : start + batch_size]).contiguous(
                memory_format=torch.channels_last
            )
        )
        for start in range(0, len(images), batch_size)
    ]
    if not parts:
        return np.empty((0, classifier.head.in_features), dtype=np.float32)
    return torch.cat(parts).numpy()


@torch.no_grad()
def classify_features(classifier: Classifier, embedded: np.ndarray) -> np.ndarray:
    """Predicted class per row of `features`' output: the linear head's argmax."""
    classifier.eval()
    return classifier.head(torch.from_numpy(embedded)).argmax(dim=1).numpy()


def predict(classifier: Classifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predicted class per normalised Lab image (N, 3, H, W), in eval mode."""
    return classify_features(classifier, features(classifier, images, batch_size))


def classifier_payload(classifier: Classifier) -> dict[str, Any]:
    """The architecture and weights, in the same payload form the generators are stored in."""
    return {"architecture": dict(classifier.architecture), "state_dict": classifier.state_dict()}


# What a classifier payload's architecture record may say (as `record.GENERATOR_ARCHITECTURE`).
CLASSIFIER_ARCHITECTURE = {"width": Setting(int, 1, 1024), "classes": Setting(int, 2, 10_000)}


def classifier_from_payload(payload: dict[str, Any], source: str | None = None) -> Classifier:
    """Rebuild a classifier, in eval mode, from `classifier_payload`'s output.

    Checked as the generators are (`payloads.rebuild_model`): a record of the wrong type or
    size, or weights that do not fit it, raise `payloads.ModelFileError` naming `source`.
    """
    if source is None:
        named = payload.get("source") if isinstance(payload, Mapping) else None
        source = str(named or "the semantic classifier payload")
    return rebuild_model(
        payload,
        Classifier,
        CLASSIFIER_ARCHITECTURE,
        source,
        kind="classifier",
        pipeline="evaluation",
    )
