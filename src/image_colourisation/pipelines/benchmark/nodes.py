"""The real-photo benchmark: a folder of colour photos turned gray, colourised by every model as
`colourise` colours a photo, and scored against the originals, photo by photo and over the set.

Rows are (model, hints): `gray` (the photo left gray), and each generator (`gan`, `l1`) with no
hints and with `hints` hints drawn from the truth (`hints.truth_hints`, the same for every model).
Each set-level figure carries a paired bootstrap interval over the photos: tens of photos are few.
"""

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import gray_levels, rgb_to_lab
from image_colourisation.imaging.hints import Hint, truth_hints
from image_colourisation.imaging.render import colourise_image
from image_colourisation.models.onnx_export import payload_onnx
from image_colourisation.models.onnx_runtime import OnnxGenerator, Runtime
from image_colourisation.models.payloads import generator_from_payload
from image_colourisation.serving.model_sources import DEFAULT_RUNTIME, TrainedGenerator

logger = logging.getLogger(__name__)

GRAY, TRUTH = "gray", "truth"
Row = tuple[str, int]  # (model, hints)
# Set-level figures, each with a bootstrap interval (<name>_low, <name>_high) in the table.
# Lower is better for mae, delta_e2000, blotch_share and kid; higher for psnr,
# imagenet_agreement and semantic_recovery; colourfulness_ratio is best near 1.
FIGURES = (
    "mae",
    "psnr",
    "delta_e2000",
    "colourfulness",
    "colourfulness_ratio",
    "blotch_share",
    "imagenet_agreement",
    "semantic_recovery",
    "kid",
)
COUNTS = ("wins_gray", "imagenet_agreement_photos")  # of photos, beside the figures


class PhotoClassifier(Protocol):
    """What the benchmark needs of its judge (`models.imagenet.ImageNetClassifier`)."""

    categories: Sequence[str]

    def classify(self, photos: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class BenchmarkImages:
    """Every photo's truth and the pictures each row made of it, uint8 RGB, in `names` order."""

    names: list[str]
    truth: list[np.ndarray] = field(default_factory=list)
    rows: dict[Row, list[np.ndarray]] = field(default_factory=dict)


def row_label(row: Row) -> str:
    """How tables and figures name a row: `gan`, `gan + 5 hints`."""
    model, hints = row
    return f"{model} + {hints} hints" if hints else model


def gray_photo(rgb: np.ndarray) -> np.ndarray:
    """The photo turned gray (H, W) uint8: its own L* with a* = b* = 0, the levels R = G = B
    of that neutral colour (what a black-and-white print of it would hold)."""
    return gray_levels(rgb_to_lab(rgb)[..., 0])


def colouriser(payload: dict[str, Any], runtime: Runtime) -> TrainedGenerator:
    """A generator payload as `colourise` runs it: its ONNX export in ONNX Runtime
    (`runtime="onnx"`) or PyTorch, at the render size it records (else the default)."""
    where = str(payload.get("source", "this run's generator"))
    model = (
        OnnxGenerator(payload_onnx(payload), where)
        if runtime == "onnx"
        else generator_from_payload(payload, where)
    )
    return TrainedGenerator(model, payload.get("render_size"), runtime)


def colourise_benchmark_photos(
    photos: dict[str, Callable[[], Image.Image]],
    gan_payload: dict[str, Any] | None,
    l1_payload: dict[str, Any] | None,
    parameters: dict[str, Any],
) -> tuple[BenchmarkImages, dict[str, str]]:
    """Each photo (sorted by name) turned gray and colourised by each generator through
    `render.colourise_image`, with no hints and with `parameters["hints"]` hints from the truth
    (seeded by `parameters["seed"]` and the photo's name), plus the gray row itself.

    Returns the pictures and, per model, its source. A generator without hint inputs gets no
    hints row, and the log says so.
    """
    payloads = {"gan": gan_payload, "l1": l1_payload}
    models = {
        model: colouriser(payload, parameters["runtime"] or DEFAULT_RUNTIME)
        for model, payload in payloads.items()
        if payload is not None
    }
    count = parameters["hints"]
    for model, trained in models.items():
        if count and not trained.generator.takes_hints:
            logger.info(
                "benchmark: %s has no hints row: its generator was trained without hint inputs.",
                model,
            )
    sources = {
        model: str(payloads[model].get("source", f"generator_{model} from this run"))
        for model in models
    }
    images = BenchmarkImages(names=sorted(photos), rows={(GRAY, 0): []})
    for name in tqdm(images.names, desc="benchmark: colourising", unit="photo"):
        truth = np.asarray(ImageOps.exif_transpose(photos[name]()).convert("RGB"))
        gray = gray_photo(truth)
        images.truth.append(truth)
        images.rows[GRAY, 0].append(np.repeat(gray[..., None], 3, axis=-1))
        for model, trained in models.items():
            size = trained.render_size_for(None)
            settings: list[tuple[int, Sequence[Hint]]] = [(0, ())]
            if count and trained.generator.takes_hints:
                seed = (parameters["seed"], zlib.crc32(name.encode()))
                settings.append((count, truth_hints(truth, count, seed, size)))
            for hints, chosen in settings:
                coloured = colourise_image(Image.fromarray(gray), trained.generator, size, chosen)
                images.rows.setdefault((model, hints), []).append(np.asarray(coloured))
    return images, {**sources, GRAY: "ab = 0"}


def score_benchmark_photos(
    images: BenchmarkImages,
    classifier: Callable[[], PhotoClassifier],
    parameters: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per photo and row: MAE, PSNR, ΔE2000, colourfulness (and the truth's), blotch share,
    the ImageNet classifier's top-1 class and whether it is the original photo's; and the
    classifier's pooled features per row (`truth` too), for KID.

    `classifier` loads the judge (the catalog's `ImageNetClassifierDataset`): called only when
    there are photos, so an empty folder needs no weights.
    """
    columns = ["photo", "model", "hints", "mae", "psnr", "delta_e2000", "colourfulness",
               "colourfulness_truth", "blotch_share", "imagenet_class", "imagenet_class_truth",
               "imagenet_agrees"]  # fmt: skip
    if not images.names:
        return pd.DataFrame(columns=columns), {}
    judge = classifier()
    truth_classes, truth_features = judge.classify(images.truth)
    features = {TRUTH: truth_features}
    truth_scores = [_truth_scores(truth) for truth in images.truth]
    records = []
    for row, pictures in tqdm(images.rows.items(), desc="benchmark: scoring", unit="row"):
        classes, features[row_label(row)] = judge.classify(pictures)
        for index, picture in enumerate(pictures):
            truth_lab, truth_colourfulness = truth_scores[index]
            records.append(
                {
                    "photo": images.names[index],
                    "model": row[0],
                    "hints": row[1],
                    **_photo_scores(images.truth[index], truth_lab, picture, parameters),
                    "colourfulness_truth": truth_colourfulness,
                    "imagenet_class": judge.categories[classes[index]],
                    "imagenet_class_truth": judge.categories[truth_classes[index]],
                    "imagenet_agrees": bool(classes[index] == truth_classes[index]),
                }
            )
    return pd.DataFrame(records, columns=columns), features


def _truth_scores(truth: np.ndarray) -> tuple[np.ndarray, float]:
    return rgb_to_lab(truth[None]), float(metrics.colourfulness(truth[None])[0])


def _photo_scores(
    truth: np.ndarray, truth_lab: np.ndarray, picture: np.ndarray, parameters: dict[str, Any]
) -> dict[str, float]:
    lab = rgb_to_lab(picture[None])
    return {
        "mae": float(metrics.absolute_error(truth[None], picture[None])[0]),
        "psnr": metrics.psnr(float(metrics.squared_error(truth[None], picture[None])[0])),
        "delta_e2000": float(metrics.ciede2000(truth_lab, lab)[0]),
        "colourfulness": float(metrics.colourfulness(picture[None])[0]),
        "blotch_share": float(metrics.blotch_share(truth_lab, lab, **parameters["blotch"])[0]),
    }


def summarise_benchmark(
    photo_scores: pd.DataFrame,
    features: dict[str, np.ndarray],
    sources: dict[str, str],
    parameters: dict[str, Any],
) -> pd.DataFrame:
    """One row per (model, hints): the set-level `FIGURES`, each with its paired bootstrap
    interval (`bootstrap`: draws, seed, level), and the counts behind them: photos, wins against
    gray on MAE, photos whose ImageNet class agrees with the original's.

    PSNR is each photo's, then the mean: photos differ in size and difficulty, and a set-level
    MSE would let the few worst decide (the evaluation's CIFAR-10 images are alike). Semantic
    recovery is (agree - agree_gray) / (1 - agree_gray): the original agrees with itself.
    """
    bootstrap = parameters["bootstrap"]
    gray = photo_scores[photo_scores["model"] == GRAY].set_index("photo")
    table = [
        {
            "model": model,
            "hints": int(hints),
            "source": sources[model],
            **_set_figures(
                scores.set_index("photo").loc[gray.index],
                gray,
                features[TRUTH],
                features[row_label((model, hints))],
                bootstrap,
            ),
        }
        for (model, hints), scores in photo_scores.groupby(["model", "hints"], sort=False)
    ]
    figures = [column for name in FIGURES for column in (name, f"{name}_low", f"{name}_high")]
    columns = ["model", "hints", "source", "photos", *figures, "colourfulness_truth", "wins_gray",
               "imagenet_agreement_photos"]  # fmt: skip
    summary = pd.DataFrame(table, columns=columns)
    for row in summary.itertuples():
        logger.info(
            "benchmark, %s: MAE %.2f [%.2f, %.2f], PSNR %.2f dB, ΔE2000 %.2f, colourfulness %.1f "
            "(truth %.1f), blotch share %.3f, wins against gray %d/%d, ImageNet agreement %d/%d, "
            "KID %.4f [%.4f, %.4f]",
            row_label((row.model, row.hints)), row.mae, row.mae_low, row.mae_high, row.psnr,
            row.delta_e2000, row.colourfulness, row.colourfulness_truth, row.blotch_share,
            row.wins_gray, row.photos,
            row.imagenet_agreement_photos, row.photos, row.kid, row.kid_low, row.kid_high,
        )  # fmt: skip
    return summary


def _set_figures(
    scores: pd.DataFrame,
    gray: pd.DataFrame,
    truth_features: np.ndarray,
    features: np.ndarray,
    bootstrap: dict[str, Any],
) -> dict[str, Any]:
    """One row's `FIGURES` with their intervals, and its counts, from its per-photo scores
    and the gray row's (both indexed by photo, in one order)."""
    hits = scores["imagenet_agrees"].to_numpy(dtype=np.float64)
    gray_hits = gray["imagenet_agrees"].to_numpy(dtype=np.float64)
    column = {name: scores[name].to_numpy() for name in scores.columns}
    samples: dict[str, tuple[Callable[..., float], list[np.ndarray]]] = {
        "mae": (np.mean, [column["mae"]]),
        "psnr": (np.mean, [column["psnr"]]),
        "delta_e2000": (np.mean, [column["delta_e2000"]]),
        "colourfulness": (np.mean, [column["colourfulness"]]),
        "colourfulness_ratio": (
            metrics.colourfulness_ratio,
            [column["colourfulness"], column["colourfulness_truth"]],
        ),
        "blotch_share": (np.mean, [column["blotch_share"]]),
        "imagenet_agreement": (np.mean, [hits]),
        "semantic_recovery": (metrics.semantic_recovery, [hits, gray_hits, np.ones_like(hits)]),
    }
    draws, seed, level = bootstrap["draws"], bootstrap["seed"], bootstrap["level"]
    figures: dict[str, Any] = {
        "photos": len(scores),
        "colourfulness_truth": float(column["colourfulness_truth"].mean()),
        "wins_gray": int((column["mae"] < gray["mae"].to_numpy()).sum()),
        "imagenet_agreement_photos": int(hits.sum()),
        "kid": metrics.kernel_inception_distance(truth_features, features, paired=True),
    }
    for name, (statistic, arrays) in samples.items():
        figures[name] = float(statistic(*arrays))
        figures[f"{name}_low"], figures[f"{name}_high"] = metrics.paired_bootstrap(
            statistic, arrays, draws, seed, level
        )
    figures["kid_low"], figures["kid_high"] = metrics.kid_bootstrap(
        truth_features, features, draws, seed, level
    )
    return figures


def benchmark_model_run_metrics(summary: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Each model's figures for its own MLflow run (`ModelRunMetricsDataset`), named
    `photos_<figure>` (photos_mae, photos_kid, ...) and `photos_hints<k>_<figure>` for its
    hints row, with `photos_colourfulness_truth`: beside the CIFAR-10 `test_*` figures in
    MLflow's Compare view. Figures that do not apply (gray's wins against itself) are left out.
    """
    logged: dict[str, dict[str, Any]] = {}
    for row in summary.to_dict(orient="records"):
        prefix = f"photos_hints{row['hints']}_" if row["hints"] else "photos_"
        counts = ("imagenet_agreement_photos",) if row["model"] == GRAY else COUNTS
        entry = logged.setdefault(row["model"], {"source": row["source"], "metrics": {}})
        entry["metrics"]["photos_colourfulness_truth"] = float(row["colourfulness_truth"])
        for name in (*FIGURES, *counts):
            if np.isfinite(row[name]):
                entry["metrics"][f"{prefix}{name}"] = float(row[name])
    return logged
