"""Builds tiny archives in the official CIFAR-10 python format, for offline tests."""

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

CLASS_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def smooth_images(rng: np.random.Generator, count: int) -> np.ndarray:
    """Images with a per-image colour gradient (more like photos than noise), N x 32 x 32 x 3."""
    ramp = np.linspace(0.0, 1.0, 32)
    base = rng.uniform(0, 255, (count, 1, 1, 3))
    slope = rng.uniform(-120, 120, (count, 1, 1, 3))
    grid = (ramp[:, None] + ramp[None, :])[None, :, :, None] / 2
    noise = rng.normal(0, 8, (count, 32, 32, 3))
    return np.clip(base + slope * grid + noise, 0, 255).astype(np.uint8)


def batch_pickle(name: str, images: np.ndarray, labels: list[int]) -> bytes:
    """One batch as the official protocol-2 pickle: R, G, B planes, row-major."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {
        b"batch_label": name.encode(),
        b"labels": labels,
        b"data": data,
        b"filenames": [f"{name}_row_{i}.png".encode() for i in range(len(images))],
    }
    return pickle.dumps(batch, protocol=2)


def meta_pickle() -> bytes:
    meta = {b"label_names": [name.encode() for name in CLASS_NAMES], b"num_cases_per_batch": 10000}
    return pickle.dumps(meta, protocol=2)


def write_tar(path: Path, members: dict[str, bytes]) -> str:
    """Write members under `cifar-10-batches-py/` into a .tar.gz; return its md5."""
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return hashlib.md5(path.read_bytes()).hexdigest()


def archive_members(
    train_per_batch: int = 10, test_rows: int = 20, seed: int = 0
) -> dict[str, bytes]:
    """Every member of a complete archive; each batch cycles through the 10 classes."""
    rng = np.random.default_rng(seed)
    members = {"batches.meta": meta_pickle(), "readme.html": b"<html>tiny CIFAR-10</html>"}
    for name, rows in [
        *((batch, train_per_batch) for batch in TRAIN_BATCHES),
        ("test_batch", test_rows),
    ]:
        labels = [row % 10 for row in range(rows)]
        members[name] = batch_pickle(name, smooth_images(rng, rows), labels)
    return members


def write_cifar_archive(
    path: Path, train_per_batch: int = 10, test_rows: int = 20, seed: int = 0
) -> str:
    """A complete tiny archive: 5 x `train_per_batch` training rows, `test_rows` test rows."""
    return write_tar(path, archive_members(train_per_batch, test_rows, seed))
