"""How far colour bleeds across edges when ab is upsampled from the working size to the photo's.

    .venv/bin/python benchmarks/edge_bleed.py [--render-size 64] [--edge 10] [--near 3]

For each of scikit-image's real photographs the true a*b* is shrunk to the render size as
`render.photo_ab` shrinks L* (the best a model could predict there), then brought back to
full size by plain bilinear upsampling (what `render.py` did before) and by the L*-guided
upsampling it does now (`render.guided_upsampling`). Printed: the mean ab error (Euclidean,
Lab units) against the true colours within `--near` pixels of a strong L* edge (Sobel
gradient above `--edge` L* per pixel), elsewhere, and over the whole photo.
"""

import argparse

import numpy as np
import torch
from scipy import ndimage
from skimage import data
from torch.nn import functional

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.render import guided_upsampling

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def bilinear(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The previous upsampling: ab alone, bilinear (align_corners=False, as render.py did)."""
    size = lightness.shape
    upsampled = functional.interpolate(torch.from_numpy(ab)[None], size, mode="bilinear")
    return upsampled[0].numpy()


def guided(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return guided_upsampling(lightness, ab)(0, lightness.shape[0])


METHODS = {"bilinear": bilinear, "guided": guided}


def working_ab(ab: np.ndarray, render_size: int) -> np.ndarray:
    """True ab shrunk as render.photo_ab shrinks L*: antialiased, long side = render_size."""
    height, width = ab.shape[1:]
    scale = render_size / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = functional.interpolate(
        torch.from_numpy(ab)[None], size, mode="bilinear", antialias=True, align_corners=False
    )
    return np.ascontiguousarray(small[0].numpy())


def near_edges(lightness: np.ndarray, edge: float, near: int) -> np.ndarray:
    """Pixels within `near` pixels of one whose L* gradient exceeds `edge` L* per pixel."""
    gradient = np.hypot(ndimage.sobel(lightness, 0), ndimage.sobel(lightness, 1)) / 8
    return ndimage.maximum_filter(gradient > edge, size=2 * near + 1)


def photo_errors(name: str, args: argparse.Namespace) -> tuple[float, dict[str, tuple]]:
    """(share of pixels near edges, {method: (error near edges, elsewhere, all)})."""
    lab = rgb_to_lab(getattr(data, name)()).transpose(2, 0, 1)
    lightness, ab = np.ascontiguousarray(lab[0]), np.ascontiguousarray(lab[1:])
    small = working_ab(ab, args.render_size)
    near = near_edges(lightness, args.edge, args.near)
    errors = {}
    for method, upsample in METHODS.items():
        error = np.hypot(*(upsample(lightness, small) - ab))
        errors[method] = (error[near].mean(), error[~near].mean(), error.mean())
    return near.mean(), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render-size", type=int, default=64)
    parser.add_argument("--edge", type=float, default=10.0, help="L* per pixel (default 10)")
    parser.add_argument("--near", type=int, default=3, help="pixels (default 3)")
    args = parser.parse_args()
    print(
        f"mean ab error (Lab units) against the true colours; render size {args.render_size}; "
        f"'near' = within {args.near} px of an L* gradient above {args.edge} per px"
    )
    print(
        f"{'photo':>10} {'size':>8} {'near %':>6} {'method':>9} {'near':>6} {'else':>6} {'all':>6}"
    )
    totals = {method: [] for method in METHODS}
    for name in PHOTOS:
        shape = getattr(data, name)().shape
        share, errors = photo_errors(name, args)
        for method, figures in errors.items():
            totals[method].append(figures)
            print(
                f"{name:>10} {shape[1]:>4}x{shape[0]:<3} {100 * share:>6.0f} {method:>9} "
                + " ".join(f"{value:>6.2f}" for value in figures)
            )
    for method, figures in totals.items():
        mean = np.mean(figures, axis=0)
        print(f"{'mean':>10} {'':>8} {'':>6} {method:>9} " + " ".join(f"{v:>6.2f}" for v in mean))


if __name__ == "__main__":
    main()
