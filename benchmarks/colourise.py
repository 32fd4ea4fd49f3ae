"""Time and memory of colourising one photo: 1024x1024 and 12 megapixels (4000x3000).

    .venv/bin/python benchmarks/colourise.py [--model SOURCE] [--render-size N] [--repeats 3]
                                             [--threads N] [--sizes 1024x1024 4000x3000]

Each case runs in a fresh process, so its peak memory is its own. The photo is scikit-image's
astronaut scaled up to the size (real content, so the sRGB gamut fitting does real work), as a
gray photo (mode L, what users colourise) and as a colour one (RGB, reduced to L* first). The
model is the latest trained GAN when `data/06_models/generator_gan.pt` exists, else an
untrained generator of the training default width (32), which costs the same time.

Reported per case: the median wall time of `render.colourise_image` over the repeats, the peak
of numpy allocations during one call (tracemalloc; Pillow's and torch's own buffers are not
seen by it), and the growth of the process's peak resident memory (getrusage maxrss) over a
baseline taken with the input photo already in memory and the model warmed up.

`--threads` sets torch's thread count (default: torch's own, one per core). On a machine whose
cores are busy with other work, two torch threads can wait on each other for far longer than
the small generator takes (measured here: 0.7 s instead of 0.03 s at render size 128).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import torch
from PIL import Image
from skimage import data

from image_colourisation.imaging.render import DEFAULT_RENDER_SIZE, colourise_image
from image_colourisation.models.networks import Generator
from image_colourisation.serving.model_sources import load_generator

ROOT = Path(__file__).resolve().parents[1]
LATEST_GAN = ROOT / "data" / "06_models" / "generator_gan.pt"
SIZES = ["1024x1024", "4000x3000"]
MODES = ["L", "RGB"]


def generator_for(source: str | None) -> tuple[Generator, str]:
    if source:
        return load_generator(source), source
    if LATEST_GAN.is_dir():
        return load_generator(LATEST_GAN), f"latest {LATEST_GAN.relative_to(ROOT)}"
    torch.manual_seed(0)
    return Generator(width=32).eval(), "untrained Generator(width=32) (no trained GAN found)"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def one_case(args: argparse.Namespace) -> dict:
    """Measure one (width, height, mode) in this process; returns the figures."""
    if args.threads:
        torch.set_num_threads(args.threads)
    generator, model = generator_for(args.model)
    photo = Image.fromarray(data.astronaut()).resize((args.width, args.height), Image.BICUBIC)
    photo = photo.convert(args.mode)
    colourise_image(photo.resize((256, 256)), generator, args.render_size)  # warm-up
    baseline = max_rss_mb()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = colourise_image(photo, generator, args.render_size)
        times.append(time.perf_counter() - start)
        del result
    rss_growth = max_rss_mb() - baseline
    tracemalloc.start()
    colourise_image(photo, generator, args.render_size)
    numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "model": model,
        "threads": torch.get_num_threads(),
        "size": f"{args.width}x{args.height}",
        "mode": args.mode,
        "photo_mb": args.width * args.height * len(args.mode) / 2**20,
        "ms": 1000 * statistics.median(times),
        "numpy_peak_mb": numpy_peak,
        "rss_growth_mb": rss_growth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model source for load_generator (default: see above)")
    parser.add_argument("--render-size", type=int, default=DEFAULT_RENDER_SIZE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--sizes", nargs="+", default=SIZES, metavar="WxH", help=f"(default: {' '.join(SIZES)})"
    )
    parser.add_argument(
        "--one", nargs=3, metavar=("WIDTH", "HEIGHT", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        args.width, args.height, args.mode = int(args.one[0]), int(args.one[1]), args.one[2]
        print(json.dumps(one_case(args)))  # read by the parent process
        return
    common = ["--render-size", str(args.render_size), "--repeats", str(args.repeats)]
    common += ["--model", args.model] if args.model else []
    common += ["--threads", str(args.threads)] if args.threads else []
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    rows = []
    cases = [(*size.split("x"), mode) for size in args.sizes for mode in MODES]
    for width, height, mode in cases:
        command = [sys.executable, __file__, "--one", width, height, mode, *common]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    lines = [
        f"model: {rows[0]['model']}; render size {args.render_size}; median of {args.repeats}; "
        f"torch threads {rows[0]['threads']}; 1-min load average before {load_before:.1f}",
        f"{'photo':>10} {'mode':>4} {'photo MB':>9} {'ms':>7} {'numpy peak MB':>14} {'maxrss +MB':>11}",
    ]
    lines += [
        f"{row['size']:>10} {row['mode']:>4} {row['photo_mb']:>9.1f} {row['ms']:>7.0f} "
        f"{row['numpy_peak_mb']:>14.1f} {row['rss_growth_mb']:>11.1f}"
        for row in rows
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
