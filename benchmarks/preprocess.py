"""Lab conversion speed on the shared CIFAR-10 subset: colour.rgb_to_lab next to scikit-image.

    .venv/bin/python benchmarks/preprocess.py [--archive PATH] [--md5 MD5]

Reads the archive through the ingestion's own dataset (md5 checked), converts every image
once with each implementation, and prints images/s and the ratio. Also times the
preprocessing node (`to_model_input`: Lab plus normalisation, chunked) on the same images.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.color

from image_colourisation.datasets import CIFAR10ArchiveDataset
from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.pipelines.preprocessing.nodes import to_model_input

REPO = Path(__file__).resolve().parents[1]
SHARED_ARCHIVE = REPO / "../shared/data/cifar-10-subset-python.tar.gz"
SHARED_MD5 = "6c9bc4d9db7e170d984047b75e787a60"


def _images_per_second(
    convert: Callable[[np.ndarray], object], images: np.ndarray, repeats: int = 3
) -> float:
    """The best of `repeats` timed runs (after a warm-up): the run least disturbed by the
    machine's other work, for both implementations alike."""
    convert(images[:64])  # warm up caches and lazy imports
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        convert(images)
        best = min(best, time.perf_counter() - start)
    return len(images) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=SHARED_ARCHIVE)
    parser.add_argument("--md5", default=SHARED_MD5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        url = args.archive.resolve().as_uri()
        data = CIFAR10ArchiveDataset(directory, url, args.md5).load()
    images = data["images"]
    split = {"images": images, "labels": data["labels"], "class_names": data["class_names"]}

    ours = _images_per_second(rgb_to_lab, images)
    reference = _images_per_second(skimage.color.rgb2lab, images)
    node = _images_per_second(lambda batch: to_model_input({**split, "images": batch}), images)
    difference = np.abs(rgb_to_lab(images) - skimage.color.rgb2lab(images)).max()

    load = os.getloadavg()[0]
    sys.stdout.write(
        f"{len(images)} images {images.shape[1:]} from {args.archive.name}, load {load:.2f}, "
        f"{os.cpu_count()} cores (best of 3 runs each)\n"
        f"colour.rgb_to_lab          {ours:10.0f} images/s\n"
        f"skimage.color.rgb2lab      {reference:10.0f} images/s\n"
        f"ratio (ours / skimage)     {ours / reference:10.2f}x\n"
        f"to_model_input (node)      {node:10.0f} images/s (Lab + normalisation, chunked)\n"
        f"max |ours - skimage|       {difference:10.2e} (L*a*b* units)\n"
    )


if __name__ == "__main__":
    main()
