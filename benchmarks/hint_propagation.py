"""Edge-aware hint propagation (Levin et al. 2004, `imaging/propagation.py`) joined with the
model, measured on CIFAR-10's VALIDATION split (issue 34): every setting of the propagation is
chosen here, never on the real photos or the test split.

Rows at 0/1/2/5/10/20 hints drawn from the truth as the evaluation's hints curve draws them
(`hint_sampling.evaluation_hints`, seed 0, squares of side 1-3 holding their mean true ab), and
scored as it scores them (MAE, and PSNR of the dataset's mean squared error, on RGB):

- `model`: the GAN fed the hints (the hints curve's `gan` row);
- `model + propagation`: its ab as the prior, corrected by `propagation.propagate` on the
  32-px image itself (a CIFAR-10 image is smaller than the propagation's working size, so the
  renderer would solve on it as it is; the model sees it at 32 px, as the hints curve feeds it);
- `propagation alone`: the same with a gray prior (ab = 0) and a fade far beyond the image:
  Levin's colourisation without the model;
- `naive`: the evaluation's nearest-hint colour (`hints_curve.naive_ab`).

    .venv/bin/python benchmarks/hint_propagation.py            # the table, with the defaults
    .venv/bin/python benchmarks/hint_propagation.py --images 300 --sweep coarse  # settings
    .venv/bin/python benchmarks/hint_propagation.py --images 300 --sweep fine

Writes data/08_reporting/hint_propagation.csv for the whole split (a sweep writes hint_propagation_sweep_<which>.csv
instead).

    .venv/bin/python benchmarks/hint_propagation.py --photos ../shared/data/real-photos

runs the real-photo benchmark's own nodes (as benchmarks/encoder_study.py's `photo_scores`, with
ONNX Runtime) on the folder, with the chosen setting, without and with propagation: MAE, PSNR,
blotch share and wins against gray for the GAN automatic and with the benchmark's 5 truth
hints (ImageNet agreement and KID are not computed: a stub judge). It was run once, after the
setting was chosen, never to choose it. Writes data/08_reporting/hint_propagation_photos.csv.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from encoder_study import benchmark_inputs

from image_colourisation.imaging import metrics, render
from image_colourisation.imaging.colour import (
    model_arrays_to_rgb,
)
from image_colourisation.imaging.propagation import FADE, SIGMA_RANGE, SMOOTH_PRIOR
from image_colourisation.models.hint_sampling import evaluation_hints
from image_colourisation.models.networks import predict_ab
from image_colourisation.models.payloads import generator_from_payload, load_payload
from image_colourisation.pipelines.benchmark.nodes import (
    GRAY,
    colourise_benchmark_photos,
    score_benchmark_photos,
)
from image_colourisation.pipelines.evaluation.hints_curve import (
    LEVIN_FADE,
    naive_ab,
    propagated_ab,
)

COUNTS = [0, 1, 2, 5, 10, 20]
SEED, MAX_PATCH = 0, 3  # conf/base/parameters_evaluation.yml: evaluation.hints_curve
VALIDATION = Path("data/05_model_input/validation_set.npz")
MODELS = Path("data/06_models/generator_gan.pt")
REPORTS = Path("data/08_reporting")
# --sweep: the settings compared, (fade as a share of the long side, sigma range, whether the
# colour rather than the correction spreads): `coarse` first, then `fine` around its best.
SWEEP_FADES = [0.05, 0.1, 0.2, 0.4, 1.0, 3.0, 100.0]
SWEEPS = {
    "coarse": [
        *((fade, (0.01, 0.05), False) for fade in SWEEP_FADES),
        *((fade, (0.01, 0.05), True) for fade in SWEEP_FADES),
        *(
            (fade, sigma, False)
            for fade in (0.2, 1.0, 100.0)
            for sigma in [(0.005, 0.02), (0.02, 0.1)]
        ),
    ],
    "fine": [
        (fade, sigma, True)
        for fade in (2.0, 3.0, 5.0, 10.0)
        for sigma in [(0.01, 0.05), (0.005, 0.02), (0.02, 0.1), (0.01, 0.1)]
    ],
}


def newest_payload() -> Path:
    return max(MODELS.iterdir(), key=lambda folder: folder.name) / "generator_gan.pt"


def scores(lightness: np.ndarray, truth: np.ndarray, ab: np.ndarray) -> dict[str, float]:
    rgb = model_arrays_to_rgb(lightness, ab)
    return {
        "mae": float(metrics.absolute_error(truth, rgb).mean()),
        "psnr": metrics.psnr(float(metrics.squared_error(truth, rgb).mean())),
    }


class NoJudge:
    """The benchmark's judge, skipped: ImageNet agreement and KID are not this study's."""

    categories: Sequence[str] = ("-",)

    def classify(self, photos: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(photos), int), np.zeros((len(photos), 1), np.float32)


def photo_rows(payload: dict[str, Any], photos: Path) -> pd.DataFrame:
    """The benchmark's figures for the GAN on `photos`, propagation off then on."""
    parameters, folder = benchmark_inputs(photos)
    hinted_ab = render.hinted_ab
    rows, automatic = [], None
    for propagation in (False, True):
        render.hinted_ab = hinted_ab if propagation else (lambda lightness, ab, hints: ab)
        try:
            images, _ = colourise_benchmark_photos(folder, payload, None, parameters)
        finally:
            render.hinted_ab = hinted_ab
        if automatic is None:
            automatic = images.rows["gan", 0]
        else:  # the automatic row must not move by a bit
            same = all(map(np.array_equal, automatic, images.rows["gan", 0]))
            print(f"automatic row bit-identical with propagation on: {same}")
        per_photo, _ = score_benchmark_photos(images, NoJudge, parameters)
        gray = per_photo[per_photo.model == GRAY].set_index("photo")["mae"]
        for (model, hints), scores in per_photo.groupby(["model", "hints"], sort=False):
            if model == GRAY and propagation:
                continue
            rows.append(
                {
                    "model": model,
                    "hints": hints,
                    "propagation": propagation if hints else "-",
                    "photos": len(scores),
                    "mae": scores["mae"].mean(),
                    "psnr": scores["psnr"].mean(),
                    "blotch_share": scores["blotch_share"].mean(),
                    "wins_gray": int((scores["mae"].to_numpy() < gray[scores["photo"]]).sum()),
                }
            )
    table = pd.DataFrame(rows).drop_duplicates(["model", "hints", "propagation"])
    return table


def print_sweep(found: pd.DataFrame, table: pd.DataFrame, which: str, payload: str) -> None:
    """Save the sweep's rows and print each setting's PSNR gain over the model alone."""
    found.insert(0, "payload", payload)
    found.to_csv(REPORTS / f"hint_propagation_sweep_{which}.csv", index=False)
    base = table[table.arm == "model"].set_index("hints")["psnr"]
    found["gain"] = found["psnr"] - found["hints"].map(base)
    keys = ["fade", "sigma_low", "sigma_high", "smooth_prior"]
    summary = found.pivot_table(index=keys, columns="hints", values="gain")
    summary["worst"] = summary.min(axis=1)
    summary["mean"] = summary.drop(columns="worst").mean(axis=1)
    print("\nPSNR gain over the model alone, dB, by setting:")
    print(summary.sort_values("mean", ascending=False).round(3).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payload", type=Path, default=None, help="default: the newest GAN")
    parser.add_argument("--images", type=int, default=None, help="first N validation images")
    parser.add_argument("--sweep", choices=list(SWEEPS), help="compare propagation settings")
    parser.add_argument("--photos", type=Path, help="the real-photo benchmark on this folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    payload_path = args.payload or newest_payload()
    payload = load_payload(payload_path, "the GAN")
    if args.photos:
        table = photo_rows(payload, args.photos)
        table.insert(0, "payload", str(payload_path))
        REPORTS.mkdir(parents=True, exist_ok=True)
        table.to_csv(REPORTS / "hint_propagation_photos.csv", index=False)
        print(f"GAN {payload_path}; fade {FADE}, sigma {SIGMA_RANGE}, smooth prior {SMOOTH_PRIOR}")
        print(table.drop(columns="payload").round(3).to_string(index=False))
        return
    generator = generator_from_payload(payload)
    data = np.load(VALIDATION)
    lightness, true_ab = data["L"][: args.images], data["ab"][: args.images]
    truth = model_arrays_to_rgb(lightness, true_ab)
    print(f"GAN {payload_path}, {len(lightness)} validation images", flush=True)
    rows, sweep = [], []
    for count in COUNTS:
        hints = evaluation_hints(true_ab, count, SEED, MAX_PATCH)
        with torch.no_grad():
            model = predict_ab(
                generator, torch.from_numpy(lightness), 256, hints=torch.from_numpy(hints)
            ).numpy()
        arms = {
            "model": model,
            "model + propagation": propagated_ab(lightness, model, hints),
            "propagation alone": propagated_ab(
                lightness, np.zeros_like(model), hints, fade=LEVIN_FADE
            ),
            "naive": naive_ab(lightness, hints),
        }
        for arm, ab in arms.items():
            rows.append({"arm": arm, "hints": count, **scores(lightness, truth, ab)})
        print(
            f"{count:>2} hints: "
            + ", ".join(f"{row['arm']} {row['psnr']:.2f} dB" for row in rows[-len(arms) :]),
            flush=True,
        )
        if args.sweep and count:
            for fade, sigma, smooth in SWEEPS[args.sweep]:
                ab = propagated_ab(
                    lightness, model, hints, fade=fade, sigma_range=sigma, smooth_prior=smooth
                )
                sweep.append(
                    {"hints": count, "fade": fade, "sigma_low": sigma[0], "sigma_high": sigma[1]}
                    | {"smooth_prior": smooth}
                    | scores(lightness, truth, ab)
                )
    REPORTS.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.insert(0, "payload", str(payload_path))
    if not (args.sweep or args.images):  # the table is the whole split's, not a subset's
        table.to_csv(REPORTS / "hint_propagation.csv", index=False)
    wide = table.pivot(index="arm", columns="hints", values=["psnr", "mae"]).loc[list(arms)]
    print(f"\nfade {FADE}, sigma range {SIGMA_RANGE}, smooth prior {SMOOTH_PRIOR}; PSNR, MAE:")
    print(wide.round(2).to_string())
    if sweep:
        print_sweep(pd.DataFrame(sweep), table, args.sweep, str(payload_path))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
