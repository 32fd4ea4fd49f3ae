"""Folders of generated colour photos for the photo benchmarks (any number, any size)."""

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm


def generated_photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Smooth colour waves plus a little noise: colourful, cheap to make, JPEG-friendly."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(width, height)
    waves = [
        np.sin(x * rng.uniform(2, 12) + y * rng.uniform(2, 12) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    pixels = (np.stack(waves, -1) + 1) * 120 + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_generated_folder(folder: Path, count: int, width: int, height: int) -> Path:
    """`count` JPEG photos of width x height in `folder` (kept when already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in tqdm(range(count), desc=f"generating {width}x{height} photos", unit="photo"):
        target = folder / f"photo_{index:05d}.jpg"
        if not target.exists():
            generated_photo(rng, width, height).save(target, quality=90)
    return folder
