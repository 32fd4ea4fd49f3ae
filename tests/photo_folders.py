"""Folders of photos for the photo-training tests: scikit-image's four colour photographs,
crops and rescaled copies of them, the broken files a real folder holds, and small generated
photos in class sub-folders."""

import io
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

PHOTOGRAPHS = ("astronaut", "coffee", "chelsea", "rocket")


def photograph(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)())


def write_photo_folder(folder: Path, copies: int = 2) -> dict[str, str]:
    """The four photographs in two sub-folders, plus `copies` crops and rescaled copies of
    each, and one broken file of each kind. Returns {relative path: why it must be skipped}."""
    for index, name in enumerate(PHOTOGRAPHS):
        image = photograph(name)
        sub = folder / ("people" if name == "astronaut" else "things")
        sub.mkdir(parents=True, exist_ok=True)
        image.save(sub / f"{name}.jpg", quality=92)
        for copy in range(copies):
            width, height = image.size
            box = (copy * width // 8, copy * height // 10, width - index * 7, height - copy * 9)
            image.crop(box).save(sub / f"{name}_crop{copy}.png")
            scale = 0.8 - 0.15 * copy
            small = image.resize((round(width * scale), round(height * scale)))
            small.save(sub / f"{name}_small{copy}.webp", quality=90)
    photograph("coffee").rotate(90, expand=True).save(folder / "turned.tif")
    photograph("chelsea").save(folder / "cat.bmp")
    return write_broken_files(folder)


def write_broken_files(folder: Path) -> dict[str, str]:
    """Files a photo ingestion must skip (never touch), with a word of the expected reason."""
    (folder / "zero.jpg").write_bytes(b"")
    jpeg = io.BytesIO()
    photograph("rocket").save(jpeg, format="JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (folder / "notes.jpg").write_text("not a picture, only named like one")
    outside = folder.parent / "outside.png"
    photograph("astronaut").save(outside)
    (folder / "link.png").symlink_to(outside)
    Image.new("RGB", (1, 1), (200, 30, 30)).save(folder / "dot.png")
    photograph("coffee").convert("L").convert("RGB").save(folder / "gray.png")
    (folder / "z_copy.jpg").write_bytes((folder / "people" / "astronaut.jpg").read_bytes())
    return {
        "zero.jpg": "unreadable",
        "truncated.jpg": "unreadable",
        "notes.jpg": "unreadable",
        "link.png": "outside",
        "dot.png": "too small",
        "gray.png": "already gray",
        "z_copy.jpg": "duplicate of people/astronaut.jpg",
    }


def write_class_folders(
    folder: Path, per_class: dict[str, int], loose: int = 0, size: int = 40
) -> Path:
    """Small distinct colour photos (`size` pixels square) in one sub-folder per class, as
    the ImageFolder convention has them, and `loose` more directly in `folder`."""
    rng = np.random.default_rng(0)
    places = [(name, folder / name) for name, count in per_class.items() for _ in range(count)]
    places += [("loose", folder)] * loose
    for number, (name, place) in enumerate(places):
        place.mkdir(parents=True, exist_ok=True)
        corners = rng.integers(0, 256, (2, 2, 3)).astype(np.float32)
        ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        rows = corners[0] * (1 - ramp) + corners[1] * ramp  # (size, 2, 3): left, right
        across = np.linspace(0, 1, size, dtype=np.float32)[None, :, None]
        pixels = rows[:, :1] * (1 - across) + rows[:, 1:] * across
        Image.fromarray(pixels.astype(np.uint8)).save(place / f"{name}_{number:03d}.png")
    return folder
