"""Does ImageNet knowledge, or doubt, make the automatic colours better? (issue 33's study)

For each seed: trains today's generator (no encoder) and the ImageNet-encoder generator (a
frozen MobileNetV2's global vector fused at the bottleneck), each as the default run does (the
L1 baseline, then the GAN warm-started from it), both with the error head; then scores each GAN
with the confidence step at several strengths (0 = off: the head is dropped) on

- the CIFAR-10 VALIDATION split, with the evaluation's own code (`quality_sweep.score`): MAE,
  PSNR, colourfulness, semantic recovery, FD, and MAE/PSNR with 10 hints from the truth;
- the real-photo benchmark (`../shared/data/real-photos`), with the benchmark pipeline's own
  nodes: MAE, PSNR, wins against gray, blotch share, colourfulness ratio, ImageNet agreement
  (judge: MobileNetV2, the same network as the encoder), PSNR with 5 hints.

    .venv/bin/python benchmarks/encoder_study.py --seeds 0 1 2 --l1-epochs 10 --gan-epochs 10

Writes the rows per seed and the summary (mean and spread = max - min over seeds) under --out
(default data/08_reporting/encoder_study/), after every row, so a cut run keeps what it did.
"""

import argparse
import logging
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml
from PIL import Image
from quality_sweep import WEIGHTS, base_params, ready_classifier, ready_data, score

from image_colourisation.models.encoder import imagenet_init
from image_colourisation.models.imagenet import load_imagenet_classifier, load_imagenet_state
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.benchmark.nodes import (
    colourise_benchmark_photos,
    score_benchmark_photos,
    summarise_benchmark,
)
from image_colourisation.pipelines.training.data import ImageArrays
from image_colourisation.pipelines.training.loop import fit
from image_colourisation.pipelines.training.nodes import gan_params, l1_params

ARMS = {"today": 0, "encoder": 128}  # training.imagenet_encoder of each arm
VALIDATION = ["mae", "psnr", "colourfulness", "semantic_recovery", "fd_classifier",
              "hints10_mae", "hints10_psnr"]  # fmt: skip
PHOTOS = ["photos_mae", "photos_psnr", "photos_wins", "photos_blotch", "photos_colour_ratio",
          "photos_agreement", "photos_hints5_psnr"]  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--strengths", nargs="+", type=float, default=[0.0, 1.0, 3.0])
    parser.add_argument("--l1-epochs", type=int, default=10)
    parser.add_argument("--gan-epochs", type=int, default=10)
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/real-photos"))
    parser.add_argument("--archive", type=Path, help="CIFAR-10 archive, when data/05 is empty")
    parser.add_argument("--md5", default="6c9bc4d9db7e170d984047b75e787a60")
    parser.add_argument(
        "--classifier", type=Path, default=Path("data/06_models/semantic_classifier.pt")
    )
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/encoder_study"))
    return parser.parse_args()


def with_confidence(payload: dict[str, Any], strength: float) -> dict[str, Any]:
    """The payload with the confidence step at `strength`; 0 drops the error head."""
    architecture = dict(payload["architecture"])
    state = dict(payload["state_dict"])
    if strength:
        architecture["confidence"] = strength
    else:
        architecture.pop("confidence", None)
        state = {name: value for name, value in state.items() if "error_head" not in name}
    return {"architecture": architecture, "state_dict": state}


def benchmark_inputs(photos: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The benchmark pipeline's parameters (ONNX Runtime) and its photo folder, as the catalog
    would give them to its nodes."""
    with open("conf/base/parameters_benchmark.yml") as file:
        parameters = yaml.safe_load(file)["benchmark"] | {"runtime": "onnx"}
    folder = {
        path.name: partial(Image.open, path)
        for path in sorted(photos.iterdir())
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}
    }
    return parameters, folder


def photo_scores(payload: dict[str, Any], photos: Path, judge: Any) -> dict[str, float]:
    """The benchmark pipeline's figures for one GAN on the photo folder (automatic and 5 hints)."""
    parameters, folder = benchmark_inputs(photos)
    images, sources = colourise_benchmark_photos(folder, payload, None, parameters)
    per_photo, features = score_benchmark_photos(images, lambda: judge, parameters)
    table = summarise_benchmark(per_photo, features, sources, parameters).set_index(
        ["model", "hints"]
    )
    auto, hinted = table.loc[("gan", 0)], table.loc[("gan", parameters["hints"])]
    return {
        "photos_mae": auto["mae"],
        "photos_psnr": auto["psnr"],
        "photos_wins": auto["wins_gray"],
        "photos_blotch": auto["blotch_share"],
        "photos_colour_ratio": auto["colourfulness_ratio"],
        "photos_agreement": auto["imagenet_agreement"],
        "photos_hints5_psnr": hinted["psnr"],
        "gray_mae": table.loc[("gray", 0)]["mae"],
        "gray_psnr": table.loc[("gray", 0)]["psnr"],
        "gray_agreement": table.loc[("gray", 0)]["imagenet_agreement"],
    }


def run_seed(args: argparse.Namespace, seed: int, judge: Any, rows: list[dict]) -> None:
    train, validation = ready_data(args)
    classifier = ready_classifier(train, args)
    arrays = ImageArrays.of(train, "train", 5), ImageArrays.of(validation, "validation", 5)
    imagenet = imagenet_init(load_imagenet_state(WEIGHTS))
    budget = {"seed": seed, "device": "cpu", "epochs": args.l1_epochs}
    budget |= {"gan_epochs": args.gan_epochs, "confidence": 1.0}
    for arm in args.arms:
        if any(row["arm"] == arm and row["seed"] == seed for row in rows):
            continue  # scored in an earlier, cut run (--out's rows)
        with tempfile.TemporaryDirectory() as checkpoints:
            began = time.perf_counter()
            params = base_params(
                budget | {"imagenet_encoder": ARMS[arm], "checkpoint_dir": checkpoints}
            )
            init = imagenet if ARMS[arm] else None
            l1 = generator_payload(fit(*arrays, l1_params(params), "l1", init=init))
            gan = fit(*arrays, gan_params(params), "gan", init=l1["state_dict"])
            seconds = time.perf_counter() - began
        payload = generator_payload(gan)
        torch.save(payload, args.out / f"gan_{arm}_seed{seed}.pt")  # to score more strengths
        for strength in args.strengths:
            variant = with_confidence(payload, strength)
            row = {"arm": arm, "confidence": strength, "seed": seed, "train_seconds": seconds}
            figures = score(arm, seed, variant, validation, classifier, critic=False)
            row |= {name: figures[name] for name in VALIDATION}
            row |= photo_scores(variant, args.photos, judge)
            rows.append(row)
            sys.stdout.write(
                ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                )
                + "\n"
            )
            sys.stdout.flush()
            pd.DataFrame(rows).to_csv(args.out / "encoder_study_rows.csv", index=False)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (max - min) over the seeds of every figure, per arm and strength."""
    grouped = rows.groupby(["arm", "confidence"], sort=False)[VALIDATION + PHOTOS]
    mean, spread = grouped.mean(), grouped.max() - grouped.min()
    return mean.join(spread.add_suffix("_spread")).join(grouped.size().rename("seeds"))


def format_summary(summary: pd.DataFrame) -> str:
    shown = pd.DataFrame(index=summary.index)
    shown["seeds"] = summary["seeds"]
    for column in VALIDATION + PHOTOS:
        shown[column] = [
            f"{mean:.3f}±{spread / 2:.3f}"
            for mean, spread in zip(summary[column], summary[f"{column}_spread"], strict=True)
        ]
    return shown.to_string()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    judge = load_imagenet_classifier(WEIGHTS)
    saved = args.out / "encoder_study_rows.csv"
    rows = pd.read_csv(saved).to_dict("records") if saved.is_file() else []
    started = time.perf_counter()
    for seed in args.seeds:
        run_seed(args, seed, judge, rows)
    summary = summarise(pd.DataFrame(rows))
    summary.to_csv(args.out / "encoder_study.csv")
    gray = pd.DataFrame(rows)[["gray_mae", "gray_psnr", "gray_agreement"]].iloc[0]
    sys.stdout.write(
        f"\nvalidation split and {args.photos} ({time.perf_counter() - started:.0f} s), seeds "
        f"{args.seeds}, L1 {args.l1_epochs} + GAN {args.gan_epochs} epochs; mean ± half the "
        f"spread over seeds; gray on the photos: MAE {gray.gray_mae:.2f}, PSNR "
        f"{gray.gray_psnr:.2f}, agreement {gray.gray_agreement:.3f}:\n"
        + format_summary(summary)
        + "\n"
    )


if __name__ == "__main__":
    main()
