"""At what size should the ImageNet encoder see a CIFAR-10 image? Knowledge against cost.

CIFAR-10's images are 32 pixels; MobileNetV2 learned ImageNet at 224. Upsampled further, the
gray image's objects come closer to the scale the network knows, at a cost that grows with the
square of the size. For each size: the time to encode (images per second, this machine, torch
threads as set) and how much of CIFAR-10's class the pooled features carry: the validation
accuracy of a logistic regression trained on the training images' features of the gray image
(a linear probe; chance 0.10).

    .venv/bin/python benchmarks/encoder_size.py --sizes 32 64 96 128 160 --train 2000
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from image_colourisation.models.encoder import ImageNetEncoder, encode_all, imagenet_init
from image_colourisation.models.imagenet import load_imagenet_state


def load(path: Path, count: int | None) -> tuple[torch.Tensor, np.ndarray]:
    with np.load(path) as arrays:
        return torch.from_numpy(arrays["L"][:count]), arrays["labels"][:count]


def probe_accuracy(
    train: torch.Tensor, train_y: np.ndarray, val: torch.Tensor, val_y: np.ndarray
) -> float:
    """Validation accuracy of a weight-decayed logistic regression (L-BFGS) on standardised
    features."""
    mean, std = train.mean(0), train.std(0) + 1e-6
    train, val = (train - mean) / std, (val - mean) / std
    labels = torch.from_numpy(train_y)
    layer = torch.nn.Linear(train.shape[1], int(labels.max()) + 1)
    optimiser = torch.optim.LBFGS(layer.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(layer(train), labels)
        value = value + 1e-3 * layer.weight.square().sum()
        value.backward()
        return value

    optimiser.step(loss)
    with torch.no_grad():
        return float((layer(val).argmax(1).numpy() == val_y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[32, 64, 96, 128, 160])
    parser.add_argument("--train", type=int, default=2000, help="training images probed")
    parser.add_argument("--data", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--weights", type=Path, default=Path("../shared/data/weights"))
    args = parser.parse_args()
    train_l, train_y = load(args.data / "train_set.npz", args.train)
    val_l, val_y = load(args.data / "validation_set.npz", None)
    state = imagenet_init(load_imagenet_state(args.weights))
    print(
        f"{len(train_l)} train / {len(val_l)} validation images, {torch.get_num_threads()} threads"
    )  # noqa: T201
    print("size  images/s  probe accuracy")  # noqa: T201
    for size in args.sizes:
        encoder = ImageNetEncoder(size)
        encoder.load_state_dict(
            {k.removeprefix("imagenet."): v for k, v in state.items()}, strict=False
        )
        started = time.perf_counter()
        train_features = encode_all(encoder, train_l)
        rate = len(train_l) / (time.perf_counter() - started)
        accuracy = probe_accuracy(train_features, train_y, encode_all(encoder, val_l), val_y)
        print(f"{size:4d}  {rate:8.0f}  {accuracy:.3f}")  # noqa: T201


if __name__ == "__main__":
    main()
