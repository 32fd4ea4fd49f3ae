"""Which recipe colours best under the default budget? Scored on the VALIDATION split, per seed.

For each seed: trains the L1 baseline(s) the candidates warm-start from (`training.epochs`),
then each candidate for `training.gan_epochs` more epochs, and scores every model on the
validation split with the evaluation's own code: MAE, PSNR, colourfulness, semantic accuracy
and recovery, FD in the classifier's features, optionally the critic test, and the PSNR and
MAE with 10 hints drawn from the truth (`hint_sampling.evaluation_hints`). Several seeds run as
parallel processes (`--jobs`); the table then gives each candidate's mean and spread (max -
min) over the seeds, so that small effects can be told from noise (one recipe spreads about
±0.2 MAE from seed to seed).

    .venv/bin/python benchmarks/quality_sweep.py --only default class_head --seeds 0 1 2 --jobs 3
    .venv/bin/python benchmarks/quality_sweep.py --only default --l1-epochs 2 --gan-epochs 1
    .venv/bin/python benchmarks/quality_sweep.py --archive ../shared/data/cifar-10-subset-python.tar.gz \
        --md5 6c9bc4d9db7e170d984047b75e787a60 --device cuda    # no preprocessed data needed

Writes under --out (default data/08_reporting/quality_sweep/) the rows per seed, the summary
as CSV and a frontier chart (MAE against colourfulness, mean over seeds, bars = spread).
Choose the default on these figures; the test split is for the final table only.
"""

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from image_colourisation.datasets import CIFAR10ArchiveDataset, ModelPayloadDataset  # noqa: E402
from image_colourisation.imaging import metrics  # noqa: E402
from image_colourisation.imaging.colour import model_arrays_to_rgb  # noqa: E402
from image_colourisation.models.hint_sampling import evaluation_hints  # noqa: E402
from image_colourisation.models.imagenet import load_imagenet_state  # noqa: E402
from image_colourisation.models.payloads import generator_from_payload, generator_payload  # noqa: E402
from image_colourisation.pipelines.evaluation.critic import critic_test  # noqa: E402
from image_colourisation.pipelines.evaluation.nodes import (  # noqa: E402
    colourise_test_set,
    score_colourisations,
    summarise_scores,
    train_semantic_classifier,
)
from image_colourisation.pipelines.ingestion.nodes import validate_cifar10  # noqa: E402
from image_colourisation.pipelines.preprocessing.nodes import (  # noqa: E402
    split_train_validation,
    to_model_input,
)
from image_colourisation.pipelines.training.config import TrainingParams  # noqa: E402
from image_colourisation.pipelines.training.data import ImageArrays  # noqa: E402
from image_colourisation.pipelines.training.loop import fit  # noqa: E402
from image_colourisation.pipelines.training.nodes import (  # noqa: E402
    gan_params,
    imagenet_start,
    l1_params,
)

# Each candidate: its recipe as overrides of the GAN variant on top of conf/base (written out
# in full, so that a candidate means the same whatever the defaults are), and the overrides of
# the L1 baseline it warm-starts from (candidates with the same L1 share one per seed).
TODAY = {"adversarial_weight": 0.5, "feature_matching_weight": 10.0, "ema_decay": 0.997}
NO_HINTS = {"hints": {"enabled": False}}
HINTS = {"hints": {"enabled": True}}
NO_CLASSES = {"class_weight": 0.0, "class_conditional": False}
NOW = {"ema_decay": 0.995}  # the default since the third study
ATTENTION, RESIDUAL = {"attention": True}, {"residual_blocks": 2}
CANDIDATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # The third study: hints and class information, each from the same warm start per seed.
    "automatic": (TODAY | NO_HINTS | NO_CLASSES, NO_HINTS | NO_CLASSES),  # the default before
    "default": (TODAY | HINTS | NO_CLASSES, HINTS | NO_CLASSES),
    "class_head": (TODAY | HINTS | NO_CLASSES | {"class_weight": 1.0}, HINTS | NO_CLASSES),
    "projection": (TODAY | HINTS | NO_CLASSES | {"class_conditional": True}, HINTS | NO_CLASSES),
    "class_both": (
        TODAY | HINTS | {"class_weight": 1.0, "class_conditional": True},
        HINTS | NO_CLASSES,
    ),
    # The second round: hints cost colour without hints (validation colourfulness 24 against
    # 29): more automatic examples, or a stronger adversary, to win it back.
    "hints_adv1": (TODAY | HINTS | NO_CLASSES | {"adversarial_weight": 1.0}, HINTS | NO_CLASSES),
    "hints_pnone0.8": (
        TODAY | {"hints": {"enabled": True, "p_none": 0.8}} | NO_CLASSES,
        {"hints": {"enabled": True, "p_none": 0.8}} | NO_CLASSES,
    ),
    "hints_ema0.995": (TODAY | HINTS | NO_CLASSES | {"ema_decay": 0.995}, HINTS | NO_CLASSES),
    "hints_pnone0.65": (
        TODAY | {"hints": {"enabled": True, "p_none": 0.65}} | NO_CLASSES,
        {"hints": {"enabled": True, "p_none": 0.65}} | NO_CLASSES,
    ),
    "class_head_adv1": (
        TODAY | HINTS | NO_CLASSES | {"class_weight": 1.0, "adversarial_weight": 1.0},
        HINTS | NO_CLASSES,
    ),
    # The fourth: capacity (issue 23), in the L1 baseline and the GAN alike, today's default
    # recipe otherwise (moving average 0.995).
    "today": (TODAY | NOW | HINTS | NO_CLASSES, HINTS | NO_CLASSES),
    "attention": (TODAY | NOW | HINTS | NO_CLASSES | ATTENTION, HINTS | NO_CLASSES | ATTENTION),
    "residual2": (TODAY | NOW | HINTS | NO_CLASSES | RESIDUAL, HINTS | NO_CLASSES | RESIDUAL),
    "capacity": (
        TODAY | NOW | HINTS | NO_CLASSES | ATTENTION | RESIDUAL,
        HINTS | NO_CLASSES | ATTENTION | RESIDUAL,
    ),
    "class_l1_head": (
        TODAY | HINTS | NO_CLASSES | {"class_weight": 1.0},
        HINTS | NO_CLASSES | {"class_weight": 1.0},
    ),
}
DEFAULT_CANDIDATES = ["automatic", "default", "class_head", "projection", "class_both"]
HINT_COUNT = 10
COLUMNS = [
    "mae", "psnr", "colourfulness", "semantic_accuracy", "semantic_recovery", "fd_classifier",
    "critic_accuracy", f"hints{HINT_COUNT}_mae", f"hints{HINT_COUNT}_psnr",
]  # fmt: skip
SHARED_MD5 = "6c9bc4d9db7e170d984047b75e787a60"
WEIGHTS = Path("../shared/data/weights")  # the ImageNet encoder's (globals.yml's default)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(CANDIDATES), default=DEFAULT_CANDIDATES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (processes)")
    parser.add_argument("--l1-epochs", type=int, help="default: training.epochs")
    parser.add_argument("--gan-epochs", type=int, help="default: training.gan_epochs")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--critic", action="store_true", help="also run the critic test")
    parser.add_argument("--archive", type=Path, help="CIFAR-10 archive, when data/05 is empty")
    parser.add_argument("--md5", default=SHARED_MD5)
    parser.add_argument(
        "--classifier", type=Path, default=Path("data/06_models/semantic_classifier.pt")
    )
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/quality_sweep"))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if len(args.seeds) > 1 and args.jobs > 1:
        rows = run_seeds_in_parallel(args)
    else:
        rows = pd.concat([run_seed(args, seed) for seed in args.seeds], ignore_index=True)
    rows.to_csv(args.out / "quality_sweep_rows.csv", index=False)
    summary = summarise(rows)
    summary.to_csv(args.out / "quality_sweep.csv", index=False)
    sys.stdout.write(
        f"\nvalidation split, seeds {args.seeds}, {time.perf_counter() - started:.0f} s; "
        "mean (spread = max - min over seeds):\n" + format_summary(summary) + "\n"
    )
    plot_frontier(summary, args.out / "quality_sweep.png")
    sys.stdout.write(f"wrote {args.out / 'quality_sweep.csv'} and quality_sweep.png\n")


def run_seeds_in_parallel(args: argparse.Namespace) -> pd.DataFrame:
    """Each seed in its own process (the GPU is far from full with one of these small nets)."""
    ready_classifier(ready_data(args)[0], args)  # once, before the processes read them
    base = [sys.executable, __file__, "--only", *args.only, "--device", args.device]
    base += ["--classifier", str(args.classifier)] + (["--critic"] if args.critic else [])
    for flag, value in (("--l1-epochs", args.l1_epochs), ("--gan-epochs", args.gan_epochs)):
        base += [flag, str(value)] if value is not None else []
    pending = list(args.seeds)
    running: list[tuple[int, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            seed = pending.pop(0)
            command = [*base, "--seeds", str(seed), "--out", str(args.out / f"seed{seed}")]
            running.append((seed, subprocess.Popen(command)))
        seed, process = running.pop(0)
        if process.wait() != 0:
            raise SystemExit(f"seed {seed} failed (exit {process.returncode})")
    return pd.concat(
        [pd.read_csv(args.out / f"seed{seed}" / "quality_sweep_rows.csv") for seed in args.seeds],
        ignore_index=True,
    )


def run_seed(args: argparse.Namespace, seed: int) -> pd.DataFrame:
    """Every candidate of one seed, each L1 baseline trained once and shared."""
    train, validation = ready_data(args)
    classifier = ready_classifier(train, args)
    arrays = ImageArrays.of(train, "train", 5), ImageArrays.of(validation, "validation", 5)
    budget = {"seed": seed, "device": args.device}
    budget |= {"epochs": args.l1_epochs} if args.l1_epochs is not None else {}
    budget |= {"gan_epochs": args.gan_epochs} if args.gan_epochs is not None else {}
    rows, baselines = [], {}
    with tempfile.TemporaryDirectory() as checkpoints:
        for name in args.only:
            gan_overrides, l1_overrides = CANDIDATES[name]
            key = repr(sorted(l1_overrides.items()))
            if key not in baselines:
                began = time.perf_counter()
                l1 = base_params(budget | l1_overrides | {"checkpoint_dir": f"{checkpoints}/l1"})
                init = imagenet_start(partial(load_imagenet_state, WEIGHTS), l1)
                payload = generator_payload(
                    fit(*arrays, l1_params(l1), f"l1{len(baselines)}", init=init)
                )
                baselines[key] = payload, time.perf_counter() - began
                rows.append(
                    score(f"l1 ({name})", seed, payload, validation, classifier, critic=args.critic)
                )
            l1_payload, l1_seconds = baselines[key]
            began = time.perf_counter()
            params = gan_params(
                base_params(budget | gan_overrides | {"checkpoint_dir": checkpoints})
            )
            init = l1_payload["state_dict"] if params.warm_start else None
            generator = fit(*arrays, params, f"gan_{name}", init=init)
            seconds = time.perf_counter() - began + l1_seconds
            payload = generator_payload(generator)
            row = score(name, seed, payload, validation, classifier, critic=args.critic)
            rows.append(row | {"seconds": seconds})
            sys.stdout.write(_line(rows[-1]) + "\n")
            sys.stdout.flush()
            args.out.mkdir(parents=True, exist_ok=True)  # after every row: a cut run keeps them
            pd.DataFrame(rows).to_csv(args.out / "quality_sweep_rows.csv", index=False)
    return pd.DataFrame(rows)


def score(
    name: str,
    seed: int,
    payload: dict[str, Any],
    validation: dict[str, np.ndarray],
    classifier: dict[str, Any],
    *,
    critic: bool,
) -> dict[str, Any]:
    """The evaluation's metrics of one generator on the validation split, with 10 hints too."""
    images, sources = colourise_test_set(validation, payload, None, 500)
    scores = score_colourisations(images, validation, classifier, 500)
    critics = critic_test(images, critic_parameters()) if critic else None
    table = summarise_scores(scores, sources, validation, critics)[0].set_index("model")
    row = {"candidate": name, "seed": seed, **table.loc["gan"].to_dict()}
    return row | hinted_scores(payload, validation)


def hinted_scores(payload: dict[str, Any], validation: dict[str, np.ndarray]) -> dict[str, float]:
    """MAE and PSNR with `HINT_COUNT` hints from the truth (NaN for a generator without hints)."""
    names = (f"hints{HINT_COUNT}_mae", f"hints{HINT_COUNT}_psnr")
    generator = generator_from_payload(payload)
    if not generator.takes_hints:
        return dict.fromkeys(names, float("nan"))
    lightness, ab = validation["L"], validation["ab"]
    hints = evaluation_hints(ab, HINT_COUNT, seed=0, max_patch=3)
    with torch.no_grad():
        predicted = torch.cat(
            [
                generator(
                    torch.from_numpy(lightness[i : i + 500]), torch.from_numpy(hints[i : i + 500])
                )
                for i in range(0, len(lightness), 500)
            ]
        ).numpy()
    truth, rgb = model_arrays_to_rgb(lightness, ab), model_arrays_to_rgb(lightness, predicted)
    mae = metrics.absolute_error(truth, rgb).mean()
    return dict(
        zip(names, (mae, metrics.psnr(metrics.squared_error(truth, rgb).mean())), strict=True)
    )


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (max - min) over the seeds of every figure, per candidate."""
    grouped = rows.groupby("candidate", sort=False)[COLUMNS + ["seconds"]]
    mean, spread = grouped.mean(), grouped.max() - grouped.min()
    summary = mean.join(spread.add_suffix("_spread")).join(grouped.size().rename("seeds"))
    return summary.reset_index()


def format_summary(summary: pd.DataFrame) -> str:
    shown = summary[["candidate", "seeds"]].copy()
    for column in COLUMNS:
        shown[column] = [
            f"{mean:.3f}±{spread / 2:.3f}"
            for mean, spread in zip(summary[column], summary[f"{column}_spread"], strict=True)
        ]
    return shown.to_string(index=False)


def ready_data(args: argparse.Namespace) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The preprocessing's train and validation splits: from data/05_model_input, else made
    from `--archive` by the ingestion's and preprocessing's own nodes (and saved there)."""
    folder = Path("data/05_model_input")
    paths = [folder / f"{name}_set.npz" for name in ("train", "validation")]
    if not all(path.is_file() for path in paths):
        if args.archive is None:
            raise SystemExit("no data/05_model_input: run the preprocessing or give --archive")
        with tempfile.TemporaryDirectory() as directory:
            archive = CIFAR10ArchiveDataset(directory, args.archive.resolve().as_uri(), args.md5)
            images, _ = validate_cifar10(archive.load())
        with open("conf/base/parameters_preprocessing.yml") as file:
            settings = yaml.safe_load(file)["preprocessing"]
        splits = split_train_validation(images, settings["validation_fraction"], settings["seed"])
        folder.mkdir(parents=True, exist_ok=True)
        for split, path in zip(splits, paths, strict=False):
            np.savez(path, **to_model_input(split))
    loaded = []
    for path in paths:
        with np.load(path) as arrays:
            loaded.append(dict(arrays))
    return loaded[0], loaded[1]


def ready_classifier(train: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, Any]:
    """The evaluation's semantic classifier: the saved one when it fits, else trained now."""
    with open("conf/base/parameters_evaluation.yml") as file:
        parameters = yaml.safe_load(file)["evaluation"]["classifier"]
    cache = ModelPayloadDataset(str(args.classifier), optional=True)
    saved = cache.load()
    classifier = train_semantic_classifier(train, parameters, saved)
    if classifier is not saved:
        cache.save(classifier)
    return classifier


def critic_parameters() -> dict[str, Any]:
    with open("conf/base/parameters_evaluation.yml") as file:
        return yaml.safe_load(file)["evaluation"]["critic"]


def base_params(overrides: dict[str, Any]) -> TrainingParams:
    with open("conf/base/parameters_training.yml") as file:
        values = yaml.safe_load(file)["training"]
    hints = values.get("hints", {}) | overrides.pop("hints", {})
    return TrainingParams(**(values | overrides | {"hints": hints}))


def _line(row: dict[str, Any]) -> str:
    return f"seed {row['seed']} {row['candidate']:>14}: " + ", ".join(
        f"{column} {row[column]:.3f}" for column in COLUMNS
    )


def plot_frontier(summary: pd.DataFrame, path: Path) -> None:
    """MAE against colourfulness, mean over seeds with the spread as bars, coloured by FD."""
    figure, axes = plt.subplots(figsize=(8, 6))
    axes.errorbar(
        summary["colourfulness"], summary["mae"],
        xerr=summary["colourfulness_spread"] / 2, yerr=summary["mae_spread"] / 2,
        fmt="none", ecolor="#999999",
    )  # fmt: skip
    points = axes.scatter(
        summary["colourfulness"], summary["mae"], c=summary["fd_classifier"], cmap="viridis_r"
    )
    for row in summary.itertuples():
        axes.annotate(
            f"{row.candidate} (recovery {row.semantic_recovery:.2f})",
            (row.colourfulness, row.mae), fontsize=7, xytext=(3, 3), textcoords="offset points",
        )  # fmt: skip
    figure.colorbar(points, label="FD (classifier features), lower is more realistic")
    axes.set_xlabel("colourfulness (higher is more vivid)")
    axes.set_ylabel("MAE on RGB 0-255 (lower is better)")
    axes.set_title("Recipes on the validation split (mean over seeds, bars: spread)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
