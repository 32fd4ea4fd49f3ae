"""A small CIFAR-10 classifier that judges whether colourised images look like their class.

Zhang et al. 2016 ("semantic interpretability") score colourisations by how well a classifier
trained on colour photographs recognises them: better than on gray means the colours help.
This one is deliberately small (three conv stages, global pooling) so that it trains in a
minute on two CPU cores; it reads the model's own normalised Lab arrays (L, a, b as channels).
"""

import logging
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


def lab_images(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Stack normalised L (N, 1, H, W) and ab (N, 2, H, W) into the classifier's input."""
    return np.concatenate([lightness, ab], axis=1).astype(np.float32, copy=False)


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
) -> Classifier:
    """Train on normalised Lab images (N, 3, H, W) with Adam and random horizontal flips."""
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(
            f"the classifier needs one label per image and at least one image, got "
            f"{len(images)} images and {len(labels)} labels"
        )
    torch.manual_seed(seed)
    classifier = Classifier(width=width, classes=classes)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=learning_rate)
    inputs = torch.from_numpy(images)
    targets = torch.from_numpy(labels.astype(np.int64))
    steps_per_epoch = -(-len(inputs) // batch_size)
    classifier.train()
    with tqdm(total=epochs * steps_per_epoch, desc="classifier", unit="batch") as progress:
        for epoch in range(epochs):
            order = torch.randperm(len(inputs))
            total_loss = 0.0
            for start in range(0, len(inputs), batch_size):
                batch = order[start : start + batch_size]
                x = inputs[batch]
                flip = torch.rand(len(x)) < 0.5
                x[flip] = x[flip].flip(-1)
                loss = nn.functional.cross_entropy(classifier(x), targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total_loss += loss.item() * len(batch)
                progress.update()
            logger.info("classifier epoch %d: loss %.3f", epoch + 1, total_loss / len(inputs))
    return classifier.eval()


@torch.no_grad()
def predict(classifier: Classifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predicted class per normalised Lab image (N, 3, H, W), in eval mode.

    Channels-last (NHWC) layout: about twice as fast on CPU for these narrow convolutions.
    """
    classifier.eval().to(memory_format=torch.channels_last)
    predictions = [
        classifier(
            torch.from_numpy(images[start : start + batch_size]).contiguous(
                memory_format=torch.channels_last
            )
        ).argmax(dim=1)
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(predictions).numpy() if predictions else np.empty(0, dtype=np.int64)


def classifier_payload(classifier: Classifier) -> dict[str, Any]:
    """The architecture and weights, in the same payload form the generators are stored in."""
    return {"architecture": dict(classifier.architecture), "state_dict": classifier.state_dict()}


def classifier_from_payload(payload: dict[str, Any]) -> Classifier:
    """Rebuild a classifier, in eval mode, from `classifier_payload`'s output."""
    classifier = Classifier(**payload["architecture"])
    classifier.load_state_dict(payload["state_dict"])
    return classifier.eval()
