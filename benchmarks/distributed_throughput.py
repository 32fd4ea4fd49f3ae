"""Distributed training throughput: images/s of the GAN training on 1 and on 2 processes.

Trains the GAN variant through `launch.train` (the training node's own path: in-process for
1 process, elastic-launched DDP workers with gloo or nccl otherwise) on synthetic 32x32 images
at one global batch, and prints per process count: the images/s of the last epoch (all ranks'
images over rank 0's training time, as logged to MLflow) and the wall time of the whole call,
worker start-up and rendezvous included.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/distributed_throughput.py
    .venv/bin/python benchmarks/distributed_throughput.py --processes 1 2 4 --device cuda

Each worker takes the machine's cores divided by the processes (at most OMP_NUM_THREADS).
On a 2-core machine 2 processes cannot be faster than 1: the figure is the overhead of DDP
(gradient all-reduce, the per-epoch loss average) and of starting the workers.
"""

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from image_colourisation.pipelines.training import launch
from image_colourisation.pipelines.training.config import project_training_params
from image_colourisation.pipelines.training.data import ImageArrays


@dataclass(frozen=True)
class Record:
    """Rank 0's epoch figures appended to a file: picklable, so a worker process can call it."""

    path: Path

    def __call__(self, epoch: int, metrics: dict[str, float], generator: object) -> None:
        with self.path.open("a") as file:
            file.write(json.dumps({"epoch": epoch, **metrics}) + "\n")


def synthetic(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(-1, 1, (count, 1, 32, 32)).astype(np.float32)
    ab = (0.3 * rng.uniform(-1, 1, (count, 2, 32, 32))).astype(np.float32)
    return lightness, ab


def measure(processes: int, args: argparse.Namespace, folder: Path) -> tuple[float, float]:
    """(images/s of the last epoch, wall seconds) for `processes` processes."""
    params = project_training_params(
        epochs=args.epochs,
        batch_size=args.global_batch // processes,
        width=args.width,
        discriminator_width=args.width,
        device=args.device,
        checkpoint_dir=str(folder / f"checkpoints{processes}"),
        distributed={"processes": processes, "port": args.port, "lr_scaling": "none"},
    )
    record = Record(folder / f"metrics{processes}.jsonl")
    started = time.perf_counter()
    train, validation = (
        ImageArrays.of(dict(zip(("L", "ab"), synthetic(count, seed), strict=True)), "synthetic", 5)
        for count, seed in ((args.images, 0), (64, 1))
    )
    launch.train(train, validation, params, "gan", record)
    wall = time.perf_counter() - started
    last = json.loads(record.path.read_text().splitlines()[-1])
    return last["images_per_s"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--global-batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--port", type=int, default=29531)
    args = parser.parse_args()
    print(
        f"GAN, width {args.width}, {args.images} images of 32x32, global batch "
        f"{args.global_batch}, {args.epochs} epochs on {args.device}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for processes in args.processes:
            rate, wall = measure(processes, args, Path(folder))
            print(
                f"  {processes} process(es) x batch {args.global_batch // processes}: "
                f"{rate:7.1f} images/s (last epoch), {wall:5.1f} s wall for the whole call"
            )


if __name__ == "__main__":
    main()
