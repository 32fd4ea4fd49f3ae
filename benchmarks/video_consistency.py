"""Does colour flicker? Clips with known truth, coloured per frame and with key frames.

    .venv/bin/python benchmarks/video_consistency.py [--clips 2] [--frames 24] [--size 640x360]
    .venv/bin/python benchmarks/video_consistency.py --first-photo 20 --renewals 0.1 0.25 0.5 1
    .venv/bin/python benchmarks/video_consistency.py --clip film.mp4   # your own, without truth

Each clip is a virtual camera moving over a real photo of ../shared/data/real-photos (a pan,
a zoom, a rotation), or two pans joined at a cut, so the true colour of every frame is known.
Clip i is made from photos first+i and first+i+1 (`--first-photo`): choose settings on clips
of other photos than the table's (`--renewals` compares key frames every 8 at each renewal,
`temporal.KEY_FRAME_RENEWAL`).

Rows: the model on every frame; two classic fixes of its output (each frame's mean a*b* set to
the mean of the shot so far, "global chroma averaging"; and a flow moving average, each frame's
a*b* mixed with the previous output carried by DIS flow where the forward-backward check passes,
Lai et al. 2018's baseline), applied to the per-frame output as read back and written again
as every output is (their frames/s count the per-frame run plus their own time); key frames every 4, 8 and 16; key frames every 8 then
the flow moving average (what smoothing at full resolution would add); key frames every 8 with
5 hints drawn from the truth of the first frame; the truth through the working size (its a*b*
shrunk to the render size and joined with L* as every output is: the floor of E_warp for a
colouriser that works at that size); the truth through H.264 (written as every output is, and
read back: the floor for an output file); the truth.
Clips are stored losslessly (FFV1 in RGB, `data/02_intermediate/video_benchmark/`) and
colourised end to end by `imaging/video.colourise_video` (decode, colour, H.264 encode) into a
temporary folder, then read back. Printed: a markdown table per clip and one for all together.
Columns: E_warp (Lai et al. 2018) over a*b* by the true flow of the camera (pixels that stay in
view) and by DIS flow of the input frames (non-occluded pixels, as for a user's clip), and over
RGB by the true flow; pairs across a cut are left out. CDC (Liu et al.), PSNR of RGB against
the truth (over all frames' pixels), colourfulness (Hasler & Süsstrunk),
frames per second end to end, and the model's calls per frame. The truth row is the stored
clip itself (its frames/s and calls are blank).

The model is the project's default source (`serving/model_sources.default_model_source`) run
by ONNX Runtime; when none can be loaded, a tiny untrained generator stands in and the output
says so (its colours mean nothing; the consistency columns still compare the methods).
"""

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw

from image_colourisation.imaging import temporal
from image_colourisation.imaging.colour import lab_to_rgb, rgb_to_lab, to_uint8
from image_colourisation.imaging.hints import truth_hints
from image_colourisation.imaging.metrics import (
    colour_distribution_consistency,
    colourfulness,
    psnr,
    warp_error,
)
from image_colourisation.imaging.render import (
    AbModel,
    join_lightness_and_ab,
    shrink_lightness,
    working_shape,
)
from image_colourisation.imaging.temporal import consistent, dense_flow, is_cut, warp
from image_colourisation.imaging.video import (
    colourise_video,
    probe_video,
    read_frames,
    write_video,
)
from image_colourisation.serving.model_sources import default_model_source, load_trained_generator

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-photos"
STORE = Path("data/02_intermediate/video_benchmark")
MOVES = ("pan", "cut", "zoom", "rotate")  # the first --clips of these
RATE = 25
PER_FRAME = "per-frame model"
DEFAULT_ROW = "key frames K=8 (default)"
HINTS_ON_FIRST_FRAME = 5
MOVING_AVERAGE_NEW = 0.25  # the share of each frame's own a*b* in the flow moving average


class Counted:
    """An `AbModel` that counts the calls of the one it wraps."""

    def __init__(self, model: AbModel) -> None:
        self.model, self.calls = model, 0
        self.takes_hints, self.size_multiple = model.takes_hints, model.size_multiple

    def memory_needed(self, height: int, width: int) -> int:
        return self.model.memory_needed(height, width)

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        self.calls += 1
        return self.model.colour(lightness, hints)


def to_photo(shape: tuple[int, ...], move: str, step: float, size: tuple[int, int]) -> np.ndarray:
    """The 2x3 map from a frame's pixels (size = width, height) to the photo's (of `shape`) of
    a camera at `step` 0..1 of its move: a pan across 30 % of the photo, a zoom in by 1.3x, or
    a turn by 8 degrees. Known exactly, so the true flow between frames is too."""
    width, height = size
    base = 0.7 * min(shape[1] / width, shape[0] / height)
    centre = np.array([shape[1] / 2, shape[0] / 2])
    scale, angle = base, 0.0
    if move == "pan":
        centre[0] += (step - 0.5) * 0.3 * shape[1]
    elif move == "zoom":
        scale = base / (1 + 0.3 * step)
    elif move == "rotate":
        angle = np.radians(8 * step)
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = centre - turn @ np.array([width / 2, height / 2])
    return np.hstack([turn, offset[:, None]])


def plan(move: str, frames: int) -> list[tuple[int, str, float]]:
    """(which of the two photos, the camera's move, its step) of each frame of a clip: a cut
    clip pans over the first photo, then over the second."""
    if move != "cut":
        return [(0, move, n / max(1, frames - 1)) for n in range(frames)]
    half = frames // 2
    return [(int(n >= half), "pan", (n % half) / max(1, half - 1)) for n in range(frames)]


def true_flows(
    shapes: list[tuple[int, ...]], steps: list[tuple[int, str, float]], size: tuple[int, int]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """For each pair of neighbouring frames: the exact flow from frame t+1 back to frame t and
    the pixels that stay in view; None across a cut (no flow joins two shots)."""
    width, height = size
    columns, rows = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    pixels = np.stack([columns, rows, np.ones_like(rows)])  # (3, h, w)
    flows = []
    for (photo, move, step), (next_photo, next_move, next_step) in zip(
        steps, steps[1:], strict=False
    ):
        if photo != next_photo:
            flows.append(None)
            continue
        earlier = to_photo(shapes[photo], move, step, size)
        later = to_photo(shapes[photo], next_move, next_step, size)
        seen = np.einsum("ij,jhw->ihw", later, pixels)  # where the photo point of each pixel is
        back = np.einsum("ij,jhw->ihw", np.linalg.inv(earlier[:, :2]), seen - earlier[:, 2:3, None])
        flow = (back - pixels[:2]).transpose(1, 2, 0).astype(np.float32)
        inside = (back[0] >= 0) & (back[0] <= width - 1) & (back[1] >= 0) & (back[1] <= height - 1)
        flows.append((flow, inside))
    return flows


def make_clip(move: str, index: int, frames: int, size: tuple[int, int]) -> tuple[Path, list]:
    """The clip of `move` over the photos from `index` on, stored losslessly (FFV1, RGB), and
    its true flows (`true_flows`)."""
    photos = sorted(PHOTOS.glob("*.jpg"))
    pictures = [
        np.asarray(Image.open(photos[(index + n) % len(photos)]).convert("RGB")) for n in (0, 1)
    ]
    steps = plan(move, frames)
    flows = true_flows([picture.shape for picture in pictures], steps, size)
    path = STORE / f"{move}-{photos[index].stem}-{frames}-{size[0]}x{size[1]}.mkv"
    if path.exists():
        return path, flows
    STORE.mkdir(parents=True, exist_ok=True)
    flags = cv2.INTER_AREA | cv2.WARP_INVERSE_MAP
    with av.open(str(path), "w") as output:
        stream = output.add_stream("ffv1", rate=Fraction(RATE))
        stream.width, stream.height, stream.pix_fmt = *size, "bgr0"
        for photo, kind, step in steps:
            matrix = to_photo(pictures[photo].shape, kind, step, size)
            frame = cv2.warpAffine(
                pictures[photo], matrix, size, flags=flags, borderMode=cv2.BORDER_REFLECT
            )
            output.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        output.mux(stream.encode())
    return path, flows


def global_chroma_averaging(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame's mean a*b* moved to the mean of its shot's frames so far (a cut, found as
    `temporal.is_cut` finds it, starts afresh): the overall tint stops jumping."""
    averaged, means = [], []
    previous = None
    for frame in frames:
        lab = rgb_to_lab(frame)
        if previous is not None and is_cut(previous, lab[..., 0]):
            means = []
        previous = lab[..., 0]
        means.append(lab[..., 1:].mean(axis=(0, 1)))
        lab[..., 1:] += np.mean(means, axis=0) - means[-1]
        averaged.append(to_uint8(lab_to_rgb(lab)))
    return averaged


def flow_moving_average(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame's a*b* as `MOVING_AVERAGE_NEW` of its own plus the rest of the previous
    output carried by DIS flow, where the forward-backward check passes (elsewhere its own)."""
    averaged, previous = [], None
    for frame in frames:
        lab = rgb_to_lab(frame)
        if previous is not None:
            back, ahead = (
                dense_flow(lab[..., 0], previous[..., 0]),
                dense_flow(previous[..., 0], lab[..., 0]),
            )
            carried = warp(previous[..., 1:].transpose(2, 0, 1), back).transpose(1, 2, 0)
            share = np.where(consistent(back, ahead), MOVING_AVERAGE_NEW, 1.0)[..., None]
            lab[..., 1:] = share * lab[..., 1:] + (1 - share) * carried
        previous = lab
        averaged.append(to_uint8(lab_to_rgb(lab)))
    return averaged


# The fixes applied to a row's output, by row: the classic two to the per-frame model, and the
# flow moving average to the default key frames too (what full-resolution smoothing would add).
POST = {
    PER_FRAME: {
        "global chroma averaging": global_chroma_averaging,
        "flow moving average": flow_moving_average,
    },
    DEFAULT_ROW: {"K=8, then the flow moving average": flow_moving_average},
}


def through_working_size(frames: list[np.ndarray], render_size: int) -> list[np.ndarray]:
    """The true frames with their a*b* shrunk to the working size and joined with the full
    L* as the colouriser joins its own (`render.join_lightness_and_ab`)."""
    joined = []
    for frame in frames:
        lab = rgb_to_lab(frame)
        small, _ = working_shape(*lab.shape[:2], render_size, 1)
        ab = np.stack([shrink_lightness(lab[..., channel], small) for channel in (1, 2)])
        joined.append(np.asarray(join_lightness_and_ab(lab[..., 0], ab)))
    return joined


def encoded(frames: list[np.ndarray], clip: Path, target: Path) -> list[np.ndarray]:
    """`frames` (of `clip`) as every output is written (`video.write_video`: H.264 at CRF 18,
    its chroma at half the resolution, 4:2:0) and read back: the post-processing rows are
    judged as written files, as the others are, and the truth so written is the floor of
    E_warp for a written output."""
    info = probe_video(clip)
    times = [round(number / (info.rate * info.time_base)) for number in range(len(frames))]
    write_video((Image.fromarray(frame) for frame in frames), times, clip, target, info)
    return frames_of(target)


def frames_of(path: Path) -> list[np.ndarray]:
    return [np.asarray(frame) for frame in read_frames(path, probe_video(path))]


def input_flows(
    truth: list[np.ndarray], known: list[tuple[np.ndarray, np.ndarray] | None]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """For each pair of neighbouring input frames: the flow from frame t+1 back to frame t
    found by DIS on L* and its non-occluded pixels (forward-backward check), as a user's clip
    would have it; None across the clip's cut, as in `known`."""
    lightness = [rgb_to_lab(frame)[..., 0] for frame in truth]
    pairs = []
    for previous, current, exact in zip(lightness, lightness[1:], known, strict=False):
        back, ahead = dense_flow(current, previous), dense_flow(previous, current)
        pairs.append(None if exact is None else (back, consistent(back, ahead)))
    return pairs


def mean_warp_error(ab: list[np.ndarray], flows: list) -> float:
    """E_warp of a clip: the mean over its pairs within a shot."""
    return float(
        np.mean([warp_error(ab[t], ab[t + 1], *flow) for t, flow in enumerate(flows) if flow])
    )


def scores(
    frames: list[np.ndarray], truth: list[np.ndarray] | None, flows: dict
) -> dict[str, float]:
    """The table's columns for `frames` (those that need the truth only where it is known)."""
    ab = [rgb_to_lab(frame)[..., 1:] for frame in frames]
    result = {
        "E_warp ab (DIS)": mean_warp_error(ab, flows["DIS"]),
        "CDC": colour_distribution_consistency(frames),
        "colourfulness": float(colourfulness(np.stack(frames)).mean()),
    }
    if truth is None:
        return result
    errors = [
        np.mean((f.astype(float) - t.astype(float)) ** 2)
        for f, t in zip(frames, truth, strict=True)
    ]
    return result | {
        "E_warp ab (true flow)": mean_warp_error(ab, flows["true"]),
        "E_warp RGB (true flow)": mean_warp_error(frames, flows["true"]),
        "PSNR dB": psnr(float(np.mean(errors))),
    }


def report_clip(clip: Path, model: AbModel, render_size: int) -> None:
    """A clip of your own, without truth: the per-frame model against the default key frames,
    by E_warp with DIS flow, CDC, colourfulness and speed."""
    frames = frames_of(clip)
    flows = {"DIS": input_flows(frames, [True] * (len(frames) - 1))}
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        renewal = temporal.KEY_FRAME_RENEWAL
        for row, run in {PER_FRAME: (None, renewal, 0), "key frames K=8": (8, renewal, 0)}.items():
            target = Path(folder) / f"{len(results)}{clip.suffix}"
            output, timing = colourised(clip, target, model, render_size, run=run, truth=frames)
            results[row] = scores(output, None, flows) | {
                "frames/s": len(frames) / timing.pop("seconds"),
                **timing,
            }
    print(f"### {clip.name}: {len(frames)} frames\n\n{table(results)}")


def loaded_model(render_size: int | None) -> tuple[AbModel, int, str]:
    """The default source by ONNX Runtime, else a tiny untrained generator (said so)."""
    source = default_model_source()
    try:
        trained = load_trained_generator(source, "onnx")
        return (
            trained.generator,
            trained.render_size_for(render_size),
            f"{source} ({trained.runtime})",
        )
    except ValueError as error:
        from image_colourisation.models.networks import Generator  # noqa: PLC0415 - fallback only

        name = f"a tiny UNTRAINED generator (width 8): {source} could not be loaded ({error})"
        return Generator(width=8).eval(), render_size or 64, name


def runs(args: argparse.Namespace) -> dict[str, tuple[int | None, float, int]]:
    """The rows coloured by `colourise_video`: name -> (key frames every, renewal, hints on the
    first frame); the per-frame model first (the post-processing rows start from its output)."""
    if args.renewals:
        return {PER_FRAME: (None, 1.0, 0)} | {
            f"key frames K=8, renewal {value:g}": (8, value, 0) for value in args.renewals
        }
    renewal = temporal.KEY_FRAME_RENEWAL
    return {
        PER_FRAME: (None, renewal, 0),
        "key frames K=4": (4, renewal, 0),
        DEFAULT_ROW: (8, renewal, 0),
        "key frames K=16": (16, renewal, 0),
        f"K=8, {HINTS_ON_FIRST_FRAME} hints on frame 0": (8, renewal, HINTS_ON_FIRST_FRAME),
    }


def colourised(
    clip: Path, target: Path, model: AbModel, render_size: int, *, run: tuple, truth: list
) -> tuple[list[np.ndarray], dict[str, float]]:
    """The frames of `clip` coloured end to end as `run` says, with frames/s and calls."""
    key_every, renewal, hint_count = run
    temporal.KEY_FRAME_RENEWAL = renewal  # read at each key frame
    hints = {0: truth_hints(truth[0], hint_count, (0,), render_size)} if hint_count else None
    counted = Counted(model)
    start = time.perf_counter()
    written = colourise_video(clip, target, counted, render_size, key_every, hints=hints)
    seconds = time.perf_counter() - start
    return frames_of(target), {"seconds": seconds, "model calls/frame": counted.calls / written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2, help=f"how many of {', '.join(MOVES)}")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    parser.add_argument("--render-size", type=int, help="default: the model's own")
    parser.add_argument("--first-photo", type=int, default=0, help="clip i uses photo FIRST+i")
    parser.add_argument("--renewals", type=float, nargs="+", help="compare these at K=8")
    parser.add_argument("--strip", type=Path, help="write frames of the cut clip's first shot here")
    parser.add_argument("--clip", type=Path, help="a clip of your own instead (no truth)")
    args = parser.parse_args()
    size = tuple(int(side) for side in args.size.split("x"))
    model, render_size, name = loaded_model(args.render_size)
    if args.clip:
        print(f"model: {name}; render size {render_size}\n")
        report_clip(args.clip, model, render_size)
        return
    print(f"model: {name}; render size {render_size}; {args.frames} frames of {args.size} a clip\n")
    rows = runs(args)
    totals: dict[str, list[dict[str, float]]] = {}
    for index, move in enumerate(MOVES[: args.clips]):
        clip, known = make_clip(move, args.first_photo + index, args.frames, size)
        truth = frames_of(clip)
        flows = {"true": known, "DIS": input_flows(truth, known)}
        gray = [np.asarray(Image.fromarray(f).convert("L").convert("RGB")) for f in truth]
        results, outputs = {}, {"input (gray)": gray}
        with tempfile.TemporaryDirectory() as folder:
            for row, run in rows.items():
                target = Path(folder) / f"{len(outputs)}.mkv"
                outputs[row], timing = colourised(
                    clip, target, model, render_size, run=run, truth=truth
                )
                results[row] = timing
                for fix, post in ({} if args.renewals else POST.get(row, {})).items():
                    start = time.perf_counter()
                    target = Path(folder) / f"{len(outputs)}.mkv"
                    outputs[fix] = encoded(post(outputs[row]), clip, target)
                    extra = time.perf_counter() - start
                    results[fix] = timing | {"seconds": timing["seconds"] + extra}
            truth_encoded = encoded(truth, clip, Path(folder) / "truth.mkv")
        for row, result in results.items():
            seconds = result.pop("seconds")
            results[row] = scores(outputs[row], truth, flows) | result
            results[row]["frames/s"] = len(truth) / seconds
        floor = "truth at the working size"
        outputs[floor] = through_working_size(truth, render_size)
        results[floor] = scores(outputs[floor], truth, flows)
        results["truth through H.264"] = scores(truth_encoded, truth, flows)
        results["truth"] = scores(truth, truth, flows)
        print(f"### {clip.name}\n\n{table(results)}\n")
        if args.strip and move == "cut":
            shown = ["input (gray)", PER_FRAME, "flow moving average", *rows, "truth"]
            outputs["truth"] = truth
            write_strip({row: outputs[row] for row in dict.fromkeys(shown)}, args.strip)
        for row, result in results.items():
            totals.setdefault(row, []).append(result)
    means = {
        row: {key: float(np.mean([r[key] for r in rs])) for key in rs[0]}
        for row, rs in totals.items()
    }
    print(f"### mean over {args.clips} clips\n\n{table(means)}")


def write_strip(rows: dict[str, list[np.ndarray]], path: Path, count: int = 6) -> None:
    """`count` neighbouring frames from a quarter into the clip (inside a cut clip's first
    shot), one row per method, labelled: flicker shows as colour changing from one frame to
    the next."""
    start = len(next(iter(rows.values()))) // 4
    tile_width = 200
    label_width = 130
    first = next(iter(rows.values()))[0]
    tile_height = round(first.shape[0] * tile_width / first.shape[1])
    strip = Image.new("RGB", (label_width + count * tile_width, len(rows) * tile_height), "white")
    draw = ImageDraw.Draw(strip)
    for row, (name, frames) in enumerate(rows.items()):
        draw.text((6, row * tile_height + tile_height // 2 - 6), name, fill="black")
        for column, frame in enumerate(frames[start : start + count]):
            tile = Image.fromarray(frame).resize(
                (tile_width, tile_height), Image.Resampling.LANCZOS
            )
            strip.paste(tile, (label_width + column * tile_width, row * tile_height))
    strip.save(path, quality=90)
    print(f"frames {start}-{start + count - 1}: {path}\n")


def table(results: dict[str, dict[str, float]]) -> str:
    columns = [
        *("E_warp ab (true flow)", "E_warp ab (DIS)", "E_warp RGB (true flow)", "CDC"),
        *("PSNR dB", "colourfulness", "frames/s", "model calls/frame"),
    ]
    lines = ["| row | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row, result in results.items():
        cells = [f"{result[column]:.4g}" if column in result else "" for column in columns]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
