"""What counting a multi-page file's frames and painting hints on every frame cost, before and
after their bounds (issue 35, class 4).

    .venv/bin/python benchmarks/frames_and_hints.py [--pages 4000] [--hints 500] [--frames 999]

Counting: Pillow's `n_frames` walks a TIFF's whole chain of pages; `photo_files.frame_count`
stops past the 1,000 frames an animation may have. Hints: one painting of the hint layer, as
every frame did, against the cached layer every frame of an animation now shares.
"""

import argparse
import io
import time

from PIL import Image

from image_colourisation.imaging import hints
from image_colourisation.imaging.photo_files import frame_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--hints", type=int, default=500)
    parser.add_argument("--frames", type=int, default=999)
    args = parser.parse_args()

    pages = [Image.new("L", (2, 2))] * args.pages
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    data = buffer.getvalue()
    start = time.perf_counter()
    counted = Image.open(io.BytesIO(data)).n_frames
    whole = time.perf_counter() - start
    start = time.perf_counter()
    bounded = frame_count(Image.open(io.BytesIO(data)))
    stopped = time.perf_counter() - start
    print(
        f"TIFF of {len(data) / 1e6:.1f} MB, {counted:,} pages: Pillow's n_frames {whole:.2f} s; "
        f"frame_count says {bounded:,} (more than allowed) in {stopped:.3f} s"
    )

    given = [hints.Hint(n % 600, n % 400, "#2ecc71") for n in range(args.hints)]
    shape = ((600, 400), (43, 64), (64, 64))  # a 600x400 photo at render size 64
    start = time.perf_counter()
    hints._painted_layer.__wrapped__(tuple(given), *shape)
    painting = time.perf_counter() - start
    hints._painted_layer.cache_clear()
    start = time.perf_counter()
    for _ in range(args.frames):
        hints.hint_layer(given, *shape)
    shared = time.perf_counter() - start
    print(
        f"{args.hints} hints: one painting {painting * 1000:.1f} ms, so {painting * args.frames:.1f} s "
        f"for {args.frames} frames; the shared layer for {args.frames} frames: {shared:.2f} s"
    )


if __name__ == "__main__":
    main()
