"""Time the evaluation on a test split the size of CIFAR-10's official one (10,000 images).

Runs the evaluation pipeline's nodes in order, in this process, after the classifier's training
(which the issue excludes from the budget): colourising with a GAN and an L1 generator of the
training pipeline's default width, scoring, summarising and the four figures. The images are
the real test split from data/05_model_input/test_set.npz repeated to the target size when it
exists (run ingestion and preprocessing first for real content), else random smooth images; the
generators and the classifier are untrained, which costs the same time as trained ones.

    .venv/bin/python benchmarks/evaluate.py [--images 10000] [--width 32]
"""

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from image_colourisation.imaging.colour import rgb_to_model_arrays
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.evaluation import nodes, plots
from image_colourisation.pipelines.evaluation.classifier import Classifier, classifier_payload

ROOT = Path(__file__).resolve().parents[1]
TEST_SET = ROOT / "data" / "05_model_input" / "test_set.npz"


def test_split(images: int) -> tuple[dict[str, np.ndarray], str]:
    """`images` test images in the model-input format, and where they came from."""
    if TEST_SET.is_file():
        with np.load(TEST_SET, allow_pickle=False) as archive:
            real = {name: archive[name] for name in archive.files}
        repeat = np.arange(images) % len(real["labels"])
        split = {name: real[name][repeat] for name in ("L", "ab", "labels")}
        split["class_names"] = real["class_names"]
        return split, f"{TEST_SET.relative_to(ROOT)} ({len(real['labels'])} images, repeated)"
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, size=(images, 4, 4, 3), dtype=np.uint8)
    lightness, ab = rgb_to_model_arrays(coarse.repeat(8, axis=1).repeat(8, axis=2))
    split = {"L": lightness, "ab": ab, "labels": rng.integers(0, 10, size=images)}
    split["class_names"] = np.array([f"class {label}" for label in range(10)])
    return split, "random smooth images (no data/05_model_input/test_set.npz)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=32, help="generator width (training's)")
    arguments = parser.parse_args()
    parameters = yaml.safe_load((ROOT / "conf/base/parameters_evaluation.yml").read_text())
    evaluation = parameters["evaluation"]

    test_set, origin = test_split(arguments.images)
    torch.manual_seed(0)
    generator = generator_payload(Generator(width=arguments.width))
    classifier = classifier_payload(Classifier(width=evaluation["classifier"]["width"]).eval())
    lines = [
        f"{arguments.images} test images from {origin}; generator width {arguments.width}, "
        f"classifier width {evaluation['classifier']['width']}, batch {evaluation['batch_size']}, "
        f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}"
    ]

    # Wall time, and CPU seconds of this process: on a machine shared with other jobs the wall
    # time grows with their load, the CPU time much less.
    timings: dict[str, tuple[float, float]] = {}

    def timed(name: str, function: Callable, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    batch = evaluation["batch_size"]
    images, sources = timed(
        "colourise_test_set", nodes.colourise_test_set, test_set, generator, generator, batch
    )
    scores = timed(
        "score_colourisations", nodes.score_colourisations, images, test_set, classifier, batch
    )
    table, _, per_class = timed(
        "summarise_scores", nodes.summarise_scores, scores, sources, test_set
    )
    timed("mlflow_metrics", nodes.mlflow_metrics, table)
    timed("plot_metrics", plots.plot_metrics, table)
    timed("plot_per_class", plots.plot_per_class, per_class)
    timed("plot_samples", plots.plot_samples, images, test_set)
    timed(
        "plot_ab_distribution",
        plots.plot_ab_distribution,
        images,
        evaluation["ab_distribution_images"],
    )
    lines += [
        f"{name:>22}: {wall:6.2f} s wall, {cpu:6.2f} s CPU" for name, (wall, cpu) in timings.items()
    ]
    wall, cpu = (sum(column) for column in zip(*timings.values(), strict=True))
    lines.append(
        f"{'total':>22}: {wall:6.2f} s wall, {cpu:6.2f} s CPU  "
        f"({arguments.images / wall:.0f} images/s; load average now {os.getloadavg()[0]:.1f})"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
