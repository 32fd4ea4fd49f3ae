"""Which render size suits a trained generator? Mean ab error and colourfulness on real photos.

The generators learn on 32x32 CIFAR-10 images, so the scale at which they see a photo matters.
Run from the project root after training: `python benchmarks/render_size.py`.
"""

import numpy as np
from PIL import Image
from skimage import data

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.metrics import colourfulness
from image_colourisation.imaging.render import colourise_image
from image_colourisation.serving.model_sources import load_generator

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]


def main() -> None:
    truths = [getattr(data, name)() for name in PHOTOS]
    truth_cf = np.mean([colourfulness(rgb[None])[0] for rgb in truths])
    print(f"photos: {', '.join(PHOTOS)}; their own colourfulness {truth_cf:.1f}")
    for variant in ["gan", "l1"]:
        generator = load_generator(f"data/06_models/generator_{variant}.pt")
        for size in [32, 64, 128, 256]:
            errors, cfs = [], []
            for rgb in truths:
                out = colourise_image(Image.fromarray(rgb), generator, size).convert("RGB")
                out = np.asarray(out)
                ab_error = rgb_to_lab(rgb)[..., 1:] - rgb_to_lab(out)[..., 1:]
                errors.append(np.sqrt((ab_error**2).sum(-1)).mean())
                cfs.append(colourfulness(out[None])[0])
            print(
                f"{variant:>4} render {size:>3}: mean ab L2 error {np.mean(errors):6.2f}"
                f"   colourfulness {np.mean(cfs):5.1f}"
            )


if __name__ == "__main__":
    main()
