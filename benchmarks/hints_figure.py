"""Before and after a few hints: scikit-image's photographs colourised without and with five.

    .venv/bin/python benchmarks/hints_figure.py                  # the default model
    .venv/bin/python benchmarks/hints_figure.py --model data/06_models/generator_gan.pt

The hints are what a person who knows the photo would click: five points each, their colour
read from the original photo (a 5x5 mean there). Writes docs/guided-colourisation.png (photo |
automatic | with the hints, marked | the original) and prints each result's mean ab error
against the original, with and without the hints.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from skimage import data

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.render import colourise_image
from image_colourisation.serving.model_sources import default_model_source, load_trained_generator

POINTS = {  # (x, y): the suit twice, the face, the hair, a red stripe of the flag; cup and table
    "astronaut": [(90, 330), (320, 300), (205, 135), (255, 45), (30, 210)],
    "coffee": [(120, 300), (300, 230), (280, 150), (540, 60), (50, 380)],
}


def hints_from(photo: np.ndarray, points: list[tuple[int, int]]) -> list[Hint]:
    """The photo's own colour (a 5x5 mean) at each point, as a person's hint."""
    hints = []
    for x, y in points:
        colour = photo[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(axis=0).round()
        hints.append(Hint(x, y, "#" + bytes(colour.astype(np.uint8)).hex()))
    return hints


def ab_error(result: Image.Image, truth: np.ndarray) -> float:
    """Mean |Δab| (Lab units) of a result against the original photo."""
    difference = rgb_to_lab(np.asarray(result.convert("RGB")))[..., 1:] - rgb_to_lab(truth)[..., 1:]
    return float(np.hypot(*difference.transpose(2, 0, 1)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="default: the champion, else the newest GAN")
    parser.add_argument("--out", type=Path, default=Path("docs/guided-colourisation.png"))
    args = parser.parse_args()
    source = args.model or default_model_source()
    trained = load_trained_generator(source)
    size = trained.render_size_for(None)
    figure = Figure(figsize=(16, 4.2 * len(POINTS)))
    axes = figure.subplots(len(POINTS), 4)
    for row, (name, points) in enumerate(POINTS.items()):
        truth = getattr(data, name)()
        gray = Image.fromarray(truth).convert("L")
        hints = hints_from(truth, points)
        automatic = colourise_image(gray, trained.generator, size)
        guided = colourise_image(gray, trained.generator, size, hints)
        errors = ab_error(automatic, truth), ab_error(guided, truth)
        sys.stdout.write(
            f"{name}: mean |Δab| {errors[0]:.2f} automatic, {errors[1]:.2f} with 5 hints\n"
        )
        titles = [
            "photo (gray)",
            f"automatic: |Δab| {errors[0]:.1f}",
            f"5 hints: |Δab| {errors[1]:.1f}",
            "original",
        ]
        for column, (image, title) in enumerate(
            zip((gray, automatic, guided, Image.fromarray(truth)), titles, strict=True)
        ):
            axis = axes[row, column]
            axis.imshow(image, cmap="gray" if image.mode == "L" else None)
            axis.set_title(title)
            axis.axis("off")
        for hint in hints:
            axes[row, 2].plot(
                hint.x,
                hint.y,
                "o",
                markersize=9,
                markerfacecolor=hint.colour,
                markeredgecolor="white",
            )
    figure.suptitle(f"Guided colourisation with {source} at render size {size}")
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=80)
    sys.stdout.write(f"wrote {args.out}\n")


if __name__ == "__main__":
    main()
