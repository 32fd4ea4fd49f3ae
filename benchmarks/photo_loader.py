"""Photo training: images/s the DataLoader delivers next to images/s the training step takes.

Builds a folder of generated 1024x768 photos, its working-size cache (as the photos pipeline
does), then measures on this machine, at the photos pipeline's defaults (crop 128, batch 16,
workers 2; `conf/base/parameters_photos.yml`):
  - the loader alone: random crops decoded, scale-jittered, flipped, converted to Lab;
  - the GAN step alone (`steps.gan_step`, generator depth 7 for crop 128);
  - the two together, as `fit` runs them (the loader must keep ahead: no slower than the step).

    .venv/bin/python benchmarks/photo_loader.py
    .venv/bin/python benchmarks/photo_loader.py --crop-size 64 --workers 1

The machine is shared: quote `uptime`'s load next to the figures.
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import yaml
from generated_photos import write_generated_folder

from image_colourisation.datasets.photo_training import PhotoSourceDataset, WorkingImageCacheDataset
from image_colourisation.pipelines.photos.ingestion import index_photos
from image_colourisation.pipelines.photos.preprocessing import training_crops, working_size_images
from image_colourisation.pipelines.training.config import project_training_params
from image_colourisation.pipelines.training.data import PhotoImages
from image_colourisation.pipelines.training.steps import build_models, gan_step
from image_colourisation.pipelines.training.world import ALONE

DEFAULTS = yaml.safe_load(Path("conf/base/parameters_photos.yml").read_text())["photos"]


def images_per_s(batches, steps: int, step=None) -> float:
    """Images/s over `steps` batches of one epoch (the first batch, worker start-up, excluded)."""
    epoch = batches.epoch(torch.Generator().manual_seed(0))
    next(epoch)
    started = time.perf_counter()
    for _, (lightness, ab, _labels) in zip(range(steps), epoch, strict=False):
        if step:
            step(lightness, ab)
    return steps * batches.batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--crop-size", type=int, default=DEFAULTS["crop_size"])
    parser.add_argument("--workers", type=int, default=DEFAULTS["workers"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["training"]["batch_size"])
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)

    work = Path(tempfile.mkdtemp(prefix="photo_loader_"))
    folder = write_generated_folder(work / "photos", args.photos, 1024, 768)
    files = PhotoSourceDataset(str(folder)).load()
    index, _, _ = index_photos(files, args.crop_size, 0.1, 0.1, 0)
    cache = WorkingImageCacheDataset(str(work / "cache"))
    cache.save(working_size_images(index, files, args.crop_size, DEFAULTS["working_scale"]))
    crops = training_crops(
        cache.load(), index, args.crop_size, crops_per_photo=8, flip=True, workers=args.workers
    )

    params = project_training_params(**DEFAULTS["training_changes"], device="cpu")
    images = PhotoImages(crops)
    params = replace(params, batch_size=args.batch_size, depth=images.depth)
    batches = images.batches(params.batch_size, params.flip, 0, torch.device("cpu"), ALONE)
    models = build_models(params, torch.device("cpu"))

    def step(lightness: torch.Tensor, ab: torch.Tensor) -> None:
        gan_step(models, lightness, ab, params)

    lightness, ab, _ = next(batches.epoch(torch.Generator().manual_seed(0)))
    for _ in range(2):  # warm-up
        step(lightness, ab)
    started = time.perf_counter()
    for _ in range(args.steps):
        step(lightness, ab)
    step_rate = args.steps * args.batch_size / (time.perf_counter() - started)
    loader_rate = images_per_s(batches, args.steps * 2)
    together = images_per_s(batches, args.steps, step)
    print(
        f"crop {args.crop_size}, batch {args.batch_size}, depth {params.depth}, "
        f"width {params.width}, {args.workers} workers, torch threads 1"
    )
    print(f"loader alone          {loader_rate:7.1f} images/s")
    print(f"GAN step alone        {step_rate:7.1f} images/s")
    print(f"loader ahead by       {loader_rate / step_rate:7.2f}x")
    print(
        f"loader + step (fit)   {together:7.1f} images/s ({together / step_rate:.2f} of the step)"
    )


if __name__ == "__main__":
    main()
