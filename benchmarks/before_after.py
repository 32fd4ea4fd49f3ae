"""The same real photos colourised by two generators: gray | before | after | the original.

    .venv/bin/python benchmarks/before_after.py \
        --before data/06_models/generator_gan.pt/<version>/generator_gan.pt \
        --after data/06_models/generator_gan.pt --out docs/encoder-before-after.jpg

Each photo of the folder (every `--every`-th by name, so the choice is not the author's) is turned
gray and colourised automatically by each generator as `colourise` does it; every picture is
labelled with its MAE against the original (RGB 0-255, lower is better).
"""

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from image_colourisation.imaging import metrics
from image_colourisation.imaging.render import colourise_image
from image_colourisation.pipelines.benchmark.nodes import gray_photo
from image_colourisation.serving.model_sources import load_trained_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/real-photos"))
    parser.add_argument("--every", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path("docs/encoder-before-after.jpg"))
    args = parser.parse_args()
    models = {name: load_trained_generator(source) for name, source in
              (("before", args.before), ("after", args.after))}  # fmt: skip
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".jpg", ".png"})
    chosen = paths[:: args.every]
    figure = Figure(figsize=(12, 2.6 * len(chosen)))
    axes = figure.subplots(len(chosen), 4, squeeze=False)
    for row, path in zip(axes, chosen, strict=True):
        with Image.open(path) as opened:
            truth = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
        gray = gray_photo(truth)
        pictures = {"gray": np.repeat(gray[..., None], 3, axis=-1)}
        for name, trained in models.items():
            size = trained.render_size_for(None)
            coloured = colourise_image(Image.fromarray(gray), trained.generator, size)
            pictures[name] = np.asarray(coloured)
        pictures["original"] = truth
        for axis, (name, picture) in zip(row, pictures.items(), strict=True):
            mae = metrics.absolute_error(truth[None], picture[None])[0]
            axis.imshow(picture)
            axis.set_title(f"{name}: MAE {mae:.1f}" if name != "original" else path.stem[:30],
                           fontsize=9)  # fmt: skip
            axis.axis("off")
    figure.tight_layout()
    figure.savefig(args.out, dpi=80, pil_kwargs={"quality": 85})
    print(f"wrote {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
