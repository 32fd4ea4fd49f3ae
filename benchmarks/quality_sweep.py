"""Which GAN recipe colours best under the default budget? Scored on the VALIDATION split.

Trains the L1 baseline once (`training.epochs`), then each candidate recipe for
`training.gan_epochs` more epochs, warm-started from that baseline unless the candidate says
otherwise, and scores every model on the validation split with the evaluation's own metrics
(MAE, PSNR, colourfulness, semantic accuracy, FD in the classifier's features). Candidates with
colour bins are scored at several read-out temperatures: one trained model, several points.

Prints a table and writes, under --out (default data/08_reporting/quality_sweep/), the table as
CSV and a Pareto chart (MAE against colourfulness; colour = FD, labels = candidates).

    .venv/bin/python benchmarks/quality_sweep.py                      # every candidate
    .venv/bin/python benchmarks/quality_sweep.py --only nogan bins    # some of them
    .venv/bin/python benchmarks/quality_sweep.py --gan-epochs 5 --l1-epochs 10
    .venv/bin/python benchmarks/quality_sweep.py --reuse-l1 --only bins   # same L1, more recipes
    .venv/bin/python benchmarks/quality_sweep.py --reuse-l1 --only fm_ema0.997 --seed 1  # spread

Choose the default on these figures; the test split is for the final table only.
"""

import argparse
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from image_colourisation.datasets.torch_models import ModelPayloadDataset  # noqa: E402
from image_colourisation.payloads import generator_payload  # noqa: E402
from image_colourisation.pipelines.evaluation.nodes import (  # noqa: E402
    colourise_test_set,
    score_colourisations,
    summarise_scores,
    train_semantic_classifier,
)
from image_colourisation.pipelines.training.config import TrainingParams  # noqa: E402
from image_colourisation.pipelines.training.data import ImageArrays  # noqa: E402
from image_colourisation.pipelines.training.loop import fit  # noqa: E402
from image_colourisation.pipelines.training.nodes import gan_params, l1_params  # noqa: E402

# Each candidate: its recipe as parameter overrides of the GAN variant on top of conf/base
# (written out in full, so a candidate means the same thing whatever the defaults are), and
# whether it starts from the L1 baseline's weights.
CHOSEN = {"adversarial_weight": 0.5, "ema_decay": 0.995}  # the first study's choice
CANDIDATES: dict[str, dict[str, Any]] = {
    "gan_scratch": {"warm_start": False, "adversarial_weight": 1.0, "ema_decay": 0.0},
    "nogan": {"adversarial_weight": 1.0, "ema_decay": 0.0},
    "nogan_adv0.5": {"adversarial_weight": 0.5, "ema_decay": 0.0},
    "nogan_ema": {"adversarial_weight": 1.0, "ema_decay": 0.995},
    "nogan_adv0.5_ema": CHOSEN,
    "feature_matching": CHOSEN | {"feature_matching_weight": 10.0},
    "ema0.998": CHOSEN | {"ema_decay": 0.998},
    "fm_ema0.998": CHOSEN | {"feature_matching_weight": 10.0, "ema_decay": 0.998},
    "fm_ema0.997": CHOSEN | {"feature_matching_weight": 10.0, "ema_decay": 0.997},
    "bins": {"colour_bins": True, "adversarial_weight": 0.0, "l1_weight": 0.0},
    "bins_gan": {"colour_bins": True},
}
DEFAULT_CANDIDATES = ["nogan", "nogan_adv0.5", "nogan_ema", "nogan_adv0.5_ema"]
TEMPERATURES = (1.0, 0.6, 0.38, 0.25)
CLASSIFIER = "data/06_models/semantic_classifier.pt"
COLUMNS = ["mae", "psnr", "colourfulness", "semantic_accuracy", "fd_classifier", "delta_e2000"]


def load_split(name: str) -> dict[str, np.ndarray]:
    with np.load(f"data/05_model_input/{name}_set.npz") as arrays:
        return dict(arrays)


def base_params(overrides: dict[str, Any]) -> TrainingParams:
    with open("conf/base/parameters_training.yml") as file:
        values = yaml.safe_load(file)["training"]
    return TrainingParams(**(values | overrides))


def score(
    payload: dict[str, Any], validation: dict[str, np.ndarray], classifier: dict[str, Any]
) -> dict[str, Any]:
    """The evaluation's metrics of one generator on the validation split (the `gan` row)."""
    images, sources = colourise_test_set(validation, payload, None, 500)
    scores = score_colourisations(images, validation, classifier, 500)
    table = summarise_scores(scores, sources, validation)[0].set_index("model")
    return table.to_dict(orient="index")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(CANDIDATES), default=DEFAULT_CANDIDATES)
    parser.add_argument("--l1-epochs", type=int, help="default: training.epochs")
    parser.add_argument("--gan-epochs", type=int, help="default: training.gan_epochs")
    parser.add_argument("--seed", type=int, help="default: training.seed (another seed: spread)")
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/quality_sweep"))
    parser.add_argument(
        "--reuse-l1", action="store_true", help="take the L1 baseline a previous sweep saved"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)

    train, validation = load_split("train"), load_split("validation")
    with open("conf/base/parameters_evaluation.yml") as file:
        classifier_params = yaml.safe_load(file)["evaluation"]["classifier"]
    started = time.perf_counter()
    cache = ModelPayloadDataset(CLASSIFIER, optional=True)  # the evaluation pipeline's cache
    saved = cache.load()
    classifier = train_semantic_classifier(train, classifier_params, saved)
    if classifier is not saved:
        cache.save(classifier)
    print(f"classifier: {time.perf_counter() - started:.0f} s")

    budget = {
        key: value
        for key, value in {
            "epochs": args.l1_epochs,
            "gan_epochs": args.gan_epochs,
            "seed": args.seed,
        }.items()
        if value is not None
    }
    model_arrays = ImageArrays.of(train, "train", 5), ImageArrays.of(validation, "validation", 5)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as checkpoints:
        base = base_params(budget | {"checkpoint_dir": checkpoints})
        started = time.perf_counter()
        saved_l1 = args.out / "l1_generator.pt"
        if args.reuse_l1 and saved_l1.is_file():
            l1 = torch.load(saved_l1, weights_only=True)
            print(f"L1 baseline from {saved_l1}")
        else:
            l1 = generator_payload(fit(*model_arrays, l1_params(base), "l1"))
            torch.save(l1, saved_l1)
        l1_seconds = time.perf_counter() - started
        table = score(l1, validation, classifier)
        rows.append({"candidate": "l1", "seconds": l1_seconds, **table["gan"]})
        rows.append({"candidate": "gray", "seconds": 0.0, **table["gray"]})
        print(_line(rows[-2]), _line(rows[-1]), sep="\n", flush=True)
        for name in args.only:
            params = gan_params(replace(base, **CANDIDATES[name]))
            started = time.perf_counter()
            init = l1["state_dict"] if params.warm_start else None
            generator = fit(*model_arrays, params, f"gan_{name}", init=init)
            seconds = time.perf_counter() - started + (l1_seconds if params.warm_start else 0)
            payload = generator_payload(generator)
            for temperature in TEMPERATURES if params.colour_bins else (None,):
                label = name if temperature is None else f"{name} T={temperature}"
                if temperature is not None:
                    payload["architecture"]["temperature"] = temperature
                scored = score(payload, validation, classifier)
                rows.append({"candidate": label, "seconds": seconds, **scored["gan"]})
                print(_line(rows[-1]), flush=True)

    results = pd.DataFrame(rows)
    results.to_csv(args.out / "quality_sweep.csv", index=False)
    print("\nvalidation split, training budget:", budget or "conf/base defaults")
    print(results[["candidate", *COLUMNS, "seconds"]].to_string(index=False, float_format="%.3f"))
    plot_frontier(results, args.out / "quality_sweep.png")
    print(f"\nwrote {args.out / 'quality_sweep.csv'} and {args.out / 'quality_sweep.png'}")


def _line(row: dict[str, Any]) -> str:
    return f"{row['candidate']:>24}: " + ", ".join(f"{c} {row[c]:.3f}" for c in COLUMNS)


def plot_frontier(results: pd.DataFrame, path: Path) -> None:
    """MAE against colourfulness, one point per candidate, coloured by FD."""
    figure, axes = plt.subplots(figsize=(8, 6))
    points = axes.scatter(
        results["colourfulness"], results["mae"], c=results["fd_classifier"], cmap="viridis_r"
    )
    for row in results.itertuples():
        axes.annotate(
            f"{row.candidate} ({row.semantic_accuracy:.2f})",
            (row.colourfulness, row.mae),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    axes.set_xlim(-1, results["colourfulness"].max() * 1.4)  # room for the labels
    figure.colorbar(points, label="FD (classifier features), lower is more realistic")
    axes.set_xlabel("colourfulness (higher is more vivid)")
    axes.set_ylabel("MAE on RGB 0-255 (lower is better)")
    axes.set_title("Recipes on the validation split (label: semantic accuracy)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
