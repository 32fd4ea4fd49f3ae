"""Train the evaluation's semantic classifier once and report its accuracy and training time.

Trains on data/05_model_input/train_set.npz with the classifier parameters of
conf/base/parameters_evaluation.yml (or those given as JSON), then scores the true colour
images of the validation and test splits. Run ingestion and preprocessing first.

    .venv/bin/python benchmarks/classifier.py [--params '{"width": 24, "epochs": 10}']
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from image_colourisation.pipelines.evaluation.classifier import (
    lab_images,
    predict,
    train_classifier,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL_INPUT = ROOT / "data" / "05_model_input"


def load_split(name: str) -> dict[str, np.ndarray]:
    with np.load(MODEL_INPUT / f"{name}_set.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="{}", help="JSON overriding the configured ones")
    arguments = parser.parse_args()
    configured = yaml.safe_load((ROOT / "conf/base/parameters_evaluation.yml").read_text())
    parameters = {**configured["evaluation"]["classifier"], **json.loads(arguments.params)}

    train = load_split("train")
    wall, cpu = time.perf_counter(), time.process_time()
    classifier = train_classifier(
        lab_images(train["L"], train["ab"]),
        train["labels"],
        classes=len(train["class_names"]),
        **parameters,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lines = [
        f"parameters {parameters}",
        f"trained on {len(train['labels'])} images in {wall:.0f} s wall, {cpu:.0f} s CPU "
        f"(torch threads {torch.get_num_threads()}, load average now {os.getloadavg()[0]:.1f})",
    ]
    for name in ("validation", "test"):
        split = load_split(name)
        hits = predict(classifier, lab_images(split["L"], split["ab"])) == split["labels"]
        lines.append(f"accuracy on the {len(hits)} true-colour {name} images: {hits.mean():.3f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
