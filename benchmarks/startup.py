"""Start-up of the `colourise` command and one photo end to end, with PyTorch and ONNX Runtime.

    .venv/bin/python benchmarks/startup.py [--project DIR] [--repeats 5]

Prints the median wall time over the repeats, each in a fresh process as a person runs it, of
`colourise --help` and of `colourise photo.jpg` for one 1024x768 JPEG (scikit-image's coffee
scaled up) with `--runtime torch` and `--runtime onnx`; then, in this process, what the page
and the served model pay: loading the model and colourising a 512x512 photo once it is loaded.
The machine's load average is printed before and after: on a busy machine figures rise.

The command runs in `--project` (default: a throw-away folder) with its default model: the
registry's champion when that folder's mlflow.db has one, else the newest
data/06_models/generator_gan.pt. The throw-away folder gets an untrained generator of the
training default width (32), saved as the catalog saves one (payload and ONNX export), which
costs the same time as a trained one.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from kedro.io import Version
from PIL import Image
from skimage import data

from image_colourisation.datasets import ModelPayloadDataset
from image_colourisation.imaging.render import colourise_image
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from image_colourisation.serving.model_sources import (
    LATEST_GAN,
    default_model_source,
    load_trained_generator,
)

COMMAND = Path(sys.executable).with_name("colourise")
RUNTIMES = ("torch", "onnx")


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command(project: Path, *args: str | Path) -> None:
    """One `colourise` run in `project`, as a person runs it; stops the benchmark if it fails."""
    subprocess.run(
        [COMMAND, *map(str, args)], cwd=project, check=True, capture_output=True, timeout=600
    )


def one_photo_seconds(
    project: Path, photo: Path, runtime: str, scratch: Path, repeats: int
) -> float:
    """Median wall time of `colourise photo --runtime runtime`, each run into a new folder."""
    outputs = iter(range(repeats))
    run = partial(command, project, photo, "--runtime", runtime, "-o")
    return median_seconds(lambda: run(scratch / f"{runtime}{next(outputs)}"), repeats)


def throw_away_project(folder: Path) -> Path:
    """A folder whose default model is an untrained width-32 GAN saved with its ONNX export."""
    torch.manual_seed(0)
    ModelPayloadDataset(
        str(folder / LATEST_GAN), version=Version(None, "2026-01-01T00.00.00.000Z"), onnx=True
    ).save(generator_payload(Generator(width=32).eval()))
    return folder


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="run the command here (default: a new one)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        project = (args.project or throw_away_project(scratch / "project")).resolve()
        photo = scratch / "photo.jpg"
        Image.fromarray(data.coffee()).resize((1024, 768)).save(photo, quality=90)
        os.chdir(project)  # the default model is the project's, as the command finds it
        model = default_model_source()
        print(f"{load()}; {os.cpu_count()} CPUs; model: {model} in {project}")
        help_time = median_seconds(lambda: command(project, "--help"), args.repeats)
        print(f"colourise --help: {help_time:.2f} s (median of {args.repeats})")
        for runtime in RUNTIMES:
            seconds = one_photo_seconds(project, photo, runtime, scratch, args.repeats)
            print(f"colourise photo.jpg --runtime {runtime} (1024x768): {seconds:.2f} s")
        square = Image.fromarray(data.coffee()).resize((512, 512)).convert("L")
        for runtime in RUNTIMES:
            loading = median_seconds(partial(load_trained_generator, model, runtime), args.repeats)
            trained = load_trained_generator(model, runtime)
            size = trained.render_size_for(256)
            colour = partial(colourise_image, square, trained.generator, size)
            print(
                f"in process, {runtime}: model load {loading:.3f} s, one 512x512 photo at "
                f"render size {size} {median_seconds(colour, args.repeats):.3f} s"
            )
        print(load())


if __name__ == "__main__":
    main()
