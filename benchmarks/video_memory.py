"""Does a longer clip need more memory? Peak memory of `colourise CLIP` for clips of growing length.

    .venv/bin/python benchmarks/video_memory.py [--frames 200 2000] [--size 640x360]

Each clip is a slow pan over a photo of ../shared/data/real-photos (`video_consistency.to_photo`),
encoded as H.264 in a temporary folder, then colourised by the real command (key frames every 8,
the default model) in a process of its own, under GNU time for its peak resident memory.
Streaming should make that peak the same for 200 frames and for 2,000: only the frames since
the last key frame are held, at the working size, and one full-size frame.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image
from video_consistency import PHOTOS, to_photo

RATE = 25
COLOURISE = Path(sys.executable).with_name("colourise")


def write_pan(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A pan of `frames` frames at `size` (width, height) over the first real photo, as H.264."""
    picture = np.asarray(Image.open(sorted(PHOTOS.glob("*.jpg"))[0]).convert("RGB"))
    flags = cv2.INTER_AREA | cv2.WARP_INVERSE_MAP
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=Fraction(RATE))
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for number in range(frames):
            matrix = to_photo(picture.shape, "pan", number / max(1, frames - 1), size)
            frame = cv2.warpAffine(
                picture, matrix, size, flags=flags, borderMode=cv2.BORDER_REFLECT
            )
            output.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        output.mux(stream.encode())


def peak_of_colourise(clip: Path, output: Path) -> tuple[float, int]:
    """(seconds, peak resident bytes) of `colourise clip -o output`, under GNU time."""
    start = time.perf_counter()
    finished = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(COLOURISE), str(clip), "-o", str(output)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    seconds = time.perf_counter() - start
    return seconds, int(finished.stderr.strip().splitlines()[-1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    size = tuple(int(side) for side in args.size.split("x"))
    print(f"| frames ({args.size}) | seconds | frames/s | peak memory MB |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for frames in args.frames:
            clip = Path(folder) / f"pan-{frames}.mp4"
            write_pan(clip, frames, size)
            seconds, peak = peak_of_colourise(clip, Path(folder) / f"out-{frames}")
            print(f"| {frames:,} | {seconds:.1f} | {frames / seconds:.1f} | {peak / 1e6:,.0f} |")


if __name__ == "__main__":
    main()
