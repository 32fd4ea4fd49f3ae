"""Colour that does not flicker: the image model on key frames, its colour carried along the
optical flow of the gray frames to the frames between.

Colouring every frame on its own makes colour flicker: the model's answer for a wall changes
with noise, a moving shadow, a few pixels of pan. Here the model (`render.photo_ab`) colours
only key frames: the first, every `key_every` frames after, the first and last frame of each
shot (found at a cut) and the clip's last frame. Between two key frames, a*b* at the working
size is carried forward from the earlier key frame and backward from the later one along dense
optical flow of the gray input (OpenCV's DIS flow, no downloaded weights), and the two are
blended by distance in frames (Bonneel et al. 2015, Lai et al. 2018 carry colour by flow;
TCVC, Liu et al., colours key frames and propagates).
A forward-backward check (Sundaram et al. 2010) marks the pixels a flow cannot carry (occluded,
or leaving the frame); where neither direction carries a pixel, the model colours that frame
too. The model's answers for the same wall differ a little from one key frame to the next, so a
key frame inside a shot keeps the colour carried to it and takes only part of the model's change
(`KEY_FRAME_RENEWAL`) where the flow carries it: the moving average of Lai et al.'s baseline,
at key frames only. Each frame is then joined with its own full-size L* by
`render.join_lightness_and_ab`.

A person's hint on frame f makes f a key frame. From there it is carried along the forward
flow to the later frames of its shot, and every key frame it reaches gets it too; it is dropped
at a cut, where the forward-backward check marks its pixel occluded, or when it leaves the
frame.

Streaming: only the frames since the last key frame are held, at the working size (a few
hundred KB each at render size 64); full-size frames are read a second time, in step, for the
output (`colourise_clip`), so a two-hour film needs no more memory than a short clip.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from image_colourisation.imaging.hints import Hint, working_index
from image_colourisation.imaging.render import (
    AbModel,
    check_render_size,
    join_lightness_and_ab,
    photo_ab,
    photo_lightness,
    shrink_lightness,
    working_shape,
)

# A cut changes what the frame shows, so its brightness histogram jumps. Within a shot a pan or
# zoom replaces at most the few percent of pixels that enter at the edges between neighbours,
# and a moving object its own area, so the share of pixels that must change bin (total variation
# of 32-bin L* histograms) stays well under 0.2 on the benchmark's camera moves, while cuts
# between unlike pictures score 0.4-0.9. 0.3 sits between; a cut between pictures of like
# brightness is still found by the flow (`MAX_OCCLUDED_SHARE`).
CUT_HISTOGRAM_DISTANCE = 0.3
_HISTOGRAM_BINS = 32
# Neighbouring frames of one shot show mostly the same things; when the flow cannot carry more
# than half the pixels of a frame from the one before, it starts a new shot (a cut, a flash, a
# whip pan) and the model colours it afresh.
MAX_OCCLUDED_SHARE = 0.5
# Up to this share of a frame that neither key frame's colour reaches (specks and edge strips
# where the flow is unsure: DIS smears a moving object's motion a few pixels into a flat
# background at 64 pixels wide) is filled from the colour around it; more, and the model
# colours the frame.
SMALL_HOLES_SHARE = 0.05
# How much of the model's new answer a key frame inside a shot takes where the flow carries the
# previous key frame's colour to it (the rest is that colour): the model's answers for one wall
# differ from key frame to key frame, and a key frame that took them whole would jump there.
# Where nothing is carried (new content, occlusion) and on a frame a person gave hints on, the
# model's answer is taken whole. Chosen on clips of other photos than the benchmark's
# table (docs/video.md, "Choosing the renewal").
KEY_FRAME_RENEWAL = 0.25
_CARRIED = 0.5  # a pixel is carried when at least this much of its weight survived the flow
_FILL_SIGMA = 2.0  # working pixels: how far the colour around a speck reaches into it
# A flow may point this many working pixels past the frame's edge and still carry the edge's
# colour: DIS lets a moving object drag the flow of the still border beside it that far.
_EDGE_MARGIN = 2.0
_MIN_FLOW_SIDE = 8  # DIS's patches are 8 pixels: below that a frame is taken as standing still
_LIGHTNESS_TO_BYTE = 255 / 100


@dataclass
class _Link:
    """The flow between frame t-1 and frame t, both ways, with the pixels each way carries."""

    back: np.ndarray  # (h, w, 2): where each pixel of frame t is in frame t-1
    back_carried: np.ndarray  # (h, w) float32: 1 where `back` passes the forward-backward check
    ahead: np.ndarray  # where each pixel of frame t-1 is in frame t
    ahead_carried: np.ndarray


@dataclass(frozen=True)
class _Pin:
    """A person's hint where the flow has carried it, in the frame's own pixels: fractions
    of a pixel are kept, so a slow pan moves it too."""

    x: float
    y: float
    colour: str


@dataclass
class _Frame:
    """One frame at the working size, with the link to its predecessor, the hints on it
    (`pins`; `hints`: on the working image, for the model) and, on a key frame, the model's
    a*b*."""

    lightness: np.ndarray
    link: _Link | None = None
    pins: list[_Pin] = field(default_factory=list)
    hints: tuple[Hint, ...] = ()
    hinted: bool = False  # a person gave hints on this very frame
    ab: np.ndarray | None = None


def colourise_clip(
    frames: Iterable[Image.Image],
    again: Iterable[Image.Image],
    generator: AbModel,
    render_size: int,
    key_every: int,
    *,
    hints: Mapping[int, Sequence[Hint]] | None = None,
) -> Iterator[Image.Image]:
    """The colourised frames of a clip, in order, with colour carried between key frames.

    `frames` and `again` yield the same RGB frames: the first is looked at (L* at the working
    size, flow, cuts), the second is read a few frames behind it for each frame's full-size
    L*, so no full-size frame is held while the next key frame is awaited. `hints`: frame
    number -> a person's hints on that frame, in its pixels (`carried_ab`).
    """
    check_render_size(render_size)
    output = iter(again)
    for ab in carried_ab(frames, generator, render_size, key_every, hints):
        yield join_lightness_and_ab(photo_lightness(next(output)), ab)


def carried_ab(
    frames: Iterable[Image.Image],
    generator: AbModel,
    render_size: int,
    key_every: int,
    hints: Mapping[int, Sequence[Hint]] | None = None,
) -> Iterator[np.ndarray]:
    """a*b* (2, h, w) of each frame at the working size, in order: the model's on key frames,
    carried by the flow between them.

    `hints` maps a frame number (from 0) to a person's hints on that frame, in its pixels: that
    frame is a key frame, and the hints are carried through the rest of its shot (`_carried`)
    to guide its later key frames.
    """
    if key_every < 1:
        raise ValueError(f"key_every must be a whole number of frames from 1, got {key_every}.")
    hints = hints or {}
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def model(frame: _Frame) -> np.ndarray:
        # L* already at the working size: photo_ab's shrink to it leaves it as it is
        return photo_ab(generator, frame.lightness, render_size, frame.hints)

    shot: list[_Frame] = []
    for number, image in enumerate(frames):
        lightness = photo_lightness(image)
        size, _ = working_shape(*lightness.shape, render_size, generator.size_multiple)
        frame = _Frame(shrink_lightness(lightness, size))
        if shot:
            frame.link = _link(flow, shot[-1].lightness, frame.lightness)
            if is_cut(shot[-1].lightness, frame.lightness, frame.link):
                yield from _closed(shot, model)
                shot = []
            else:
                frame.pins = _carried(shot[-1].pins, frame.link, lightness.shape, size)
        given = hints.get(number, ())
        frame.pins += [_Pin(hint.x, hint.y, hint.colour) for hint in given]
        frame.hints = _on_working_image(frame.pins, lightness.shape, size)
        frame.hinted = bool(given)
        if not shot or len(shot) == key_every or given:
            frame.ab = model(frame)
        shot.append(frame)
        if len(shot) > 1 and frame.ab is not None:
            yield from _blended(shot, model)
            shot = [frame]
    yield from _closed(shot, model)


def is_cut(previous: np.ndarray, current: np.ndarray, link: _Link | None = None) -> bool:
    """Whether `current` (L* at the working size) starts a new shot after `previous`: their
    brightness histograms differ by more than `CUT_HISTOGRAM_DISTANCE`, or the flow between
    them carries less than `MAX_OCCLUDED_SHARE` of the frame."""
    if histogram_distance(previous, current) > CUT_HISTOGRAM_DISTANCE:
        return True
    return link is not None and 1 - float(link.back_carried.mean()) > MAX_OCCLUDED_SHARE


def histogram_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Total variation (0..1) between the L* histograms of two frames: the share of pixels
    that would have to change brightness bin to turn one histogram into the other."""
    histograms = [
        np.histogram(lightness, bins=_HISTOGRAM_BINS, range=(0, 100))[0] / lightness.size
        for lightness in (first, second)
    ]
    return 0.5 * float(np.abs(histograms[0] - histograms[1]).sum())


def dense_flow(
    source: np.ndarray, target: np.ndarray, flow: cv2.DISOpticalFlow | None = None
) -> np.ndarray:
    """(h, w, 2) x, y displacement of each pixel of `source` to where it is in `target`, both
    L* (h, w) at the working size, by DIS optical flow (`flow`, else a new medium one)."""
    if min(source.shape) < _MIN_FLOW_SIDE:
        return np.zeros((*source.shape, 2), np.float32)
    flow = flow or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return flow.calc(_flow_bytes(source), _flow_bytes(target), None)


def consistent(flow: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels whose `flow` lands inside the other frame (within `_EDGE_MARGIN`)
    and is undone by the `reverse` flow found there (Sundaram et al. 2010:
    |f + r|^2 < 0.01 (|f|^2 + |r|^2) + 0.5); the others are occluded in the other frame, or
    flowed wrongly."""
    height, width = flow.shape[:2]
    back = warp(reverse.transpose(2, 0, 1), flow).transpose(1, 2, 0)
    error = ((flow + back) ** 2).sum(axis=-1)
    allowed = 0.01 * ((flow**2).sum(axis=-1) + (back**2).sum(axis=-1)) + 0.5
    columns, rows = np.meshgrid(np.arange(width), np.arange(height))
    x, y = columns + flow[..., 0], rows + flow[..., 1]
    low, high_x, high_y = -_EDGE_MARGIN, width - 1 + _EDGE_MARGIN, height - 1 + _EDGE_MARGIN
    inside = (x >= low) & (x <= high_x) & (y >= low) & (y <= high_y)
    return (error < allowed) & inside


def warp(values: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`values` (C, h, w) of another frame sampled where `flow` (h, w, 2) says each pixel of
    this frame is there (bilinear, edge pixels repeated past the border)."""
    height, width = flow.shape[:2]
    columns, rows = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    map_x, map_y = columns + flow[..., 0], rows + flow[..., 1]
    return np.stack(
        [
            cv2.remap(channel, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            for channel in values.astype(np.float32, copy=False)
        ]
    )


def _link(flow: cv2.DISOpticalFlow, previous: np.ndarray, current: np.ndarray) -> _Link:
    back, ahead = dense_flow(current, previous, flow), dense_flow(previous, current, flow)
    return _Link(
        back,
        consistent(back, ahead).astype(np.float32),
        ahead,
        consistent(ahead, back).astype(np.float32),
    )


def _carried(
    pins: list[_Pin], link: _Link, photo_shape: tuple[int, int], size: tuple[int, int]
) -> list[_Pin]:
    """The hints of frame t-1 moved to frame t by the forward flow at the working `size`,
    scaled to the photo's pixels; a hint whose pixel the forward-backward check marks occluded,
    or that leaves the frame, is dropped."""
    (height, width), (small_height, small_width) = photo_shape, size
    moved = []
    for pin in pins:
        row = working_index(pin.y, height, small_height)
        column = working_index(pin.x, width, small_width)
        if link.ahead_carried[row, column] < _CARRIED:
            continue
        step_x, step_y = link.ahead[row, column]
        x, y = pin.x + step_x * width / small_width, pin.y + step_y * height / small_height
        if 0 <= x + 0.5 < width and 0 <= y + 0.5 < height:
            moved.append(_Pin(x, y, pin.colour))
    return moved


def _on_working_image(
    pins: list[_Pin], photo_shape: tuple[int, int], size: tuple[int, int]
) -> tuple[Hint, ...]:
    """The hints as `photo_ab` takes them for L* already at the working `size`: each on the
    working pixel that holds its photo pixel, as `hints.hint_layer` would place it."""
    return tuple(
        Hint(
            working_index(pin.x, photo_shape[1], size[1]),
            working_index(pin.y, photo_shape[0], size[0]),
            pin.colour,
        )
        for pin in pins
    )


def _closed(shot: list[_Frame], model: Callable[[_Frame], np.ndarray]) -> Iterator[np.ndarray]:
    """a*b* of all the frames of a shot that ends at a cut or the clip's end: its last frame
    becomes a key frame too, so colour reaches every frame from both ends."""
    if not shot:
        return
    if shot[-1].ab is None:
        shot[-1].ab = model(shot[-1])
    yield from _blended(shot, model)
    yield shot[-1].ab


def _blended(shot: list[_Frame], model: Callable[[_Frame], np.ndarray]) -> Iterator[np.ndarray]:
    """a*b* of a run of frames between two key frames, the first included, the last not (it
    starts the next run): the colours carried forward from the first and backward from the
    last, weighted by how near their key frame is and by how much of each pixel the flow
    carried. The last key frame's own a*b* is first renewed from the colour carried to it
    (`_renewed`), unless a person gave hints on that very frame: there the model's answer
    follows them. (Hints carried to a frame are in the colour carried to it already.)"""
    if len(shot) == 1:
        return
    ahead = _carried_forward(shot)
    if not shot[-1].hinted:
        shot[-1].ab = _renewed(shot[-1].ab, *ahead[-1])
    behind = _carried_backward(shot)
    span = len(shot) - 1
    yield shot[0].ab
    for index in range(1, span):
        sources = [(ahead[index], (span - index) / span), (behind[index], index / span)]
        yield _mixed(sources, shot[index], model)


def _renewed(model: np.ndarray, carried: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A key frame's a*b*: the colour `carried` to it plus `KEY_FRAME_RENEWAL` of the
    `model`'s change to it, where the flow carried it whole (`weight` 1); the model's answer
    where nothing was carried (`weight` 0), and in proportion between."""
    taken = 1 - (1 - KEY_FRAME_RENEWAL) * np.clip(weight, 0, 1)
    return carried + taken * (model - carried)


def _carried_forward(shot: list[_Frame]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a*b*, carried weight) of each frame of the shot, carried from its first frame."""
    carried = [(shot[0].ab, np.ones(shot[0].lightness.shape, np.float32))]
    for frame in shot[1:]:
        ab, weight = carried[-1]
        link = frame.link
        carried.append((warp(ab, link.back), warp(weight[None], link.back)[0] * link.back_carried))
    return carried


def _carried_backward(shot: list[_Frame]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a*b*, carried weight) of each frame of the shot, carried back from its last frame."""
    carried = [(shot[-1].ab, np.ones(shot[-1].lightness.shape, np.float32))]
    for index in range(len(shot) - 2, -1, -1):
        ab, weight = carried[0]
        link = shot[index + 1].link
        warped = warp(weight[None], link.ahead)[0] * link.ahead_carried
        carried.insert(0, (warp(ab, link.ahead), warped))
    return carried


def _mixed(
    sources: list[tuple[tuple[np.ndarray, np.ndarray], float]],
    frame: _Frame,
    model: Callable[[_Frame], np.ndarray],
) -> np.ndarray:
    """The carried colours blended by nearness x carried weight. Pixels no source carried
    (holes) are filled from the colour around them when they are specks, else by the `model`
    run on this frame."""
    lightness = frame.lightness
    total = np.zeros(lightness.shape, np.float32)
    weighted = np.zeros((2, *lightness.shape), np.float32)
    holes = np.ones(lightness.shape, bool)
    for (ab, weight), nearness in sources:
        total += nearness * weight
        weighted += nearness * weight * ab
        holes &= weight < _CARRIED
    ab = weighted / np.maximum(total, 1e-6)
    if holes.mean() > SMALL_HOLES_SHARE:
        ab[:, holes] = model(frame)[:, holes]
    elif holes.any():
        known = (~holes).astype(np.float32)
        reach = cv2.GaussianBlur(known, (0, 0), _FILL_SIGMA)
        around = np.stack(
            [cv2.GaussianBlur(channel * known, (0, 0), _FILL_SIGMA) for channel in ab]
        )
        ab[:, holes] = (around / np.maximum(reach, 1e-6))[:, holes]
    return ab


def _flow_bytes(lightness: np.ndarray) -> np.ndarray:
    return np.clip(lightness * _LIGHTNESS_TO_BYTE + 0.5, 0, 255).astype(np.uint8)
