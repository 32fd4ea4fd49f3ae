"""Video files: which names are videos, what a clip's header claims (checked against the
limits before anything is decoded), its frames read one at a time, and the colourised clip
written beside the others with the same frame timing, picture and audio.

A phone stores a portrait clip sideways with a rotation for the player to apply: frames are
turned upright as they are read, so the model and a person's hints see the picture a person
sees, and the result is written upright with no rotation to apply. Each frame is written at its
source frame's timestamp, so a variable frame rate (screen recordings, phone clips) keeps in
step with the audio.

PyAV (FFmpeg) reads whatever container and codec FFmpeg knows; frames stream through, so a
two-hour film costs the memory of a few frames. The result is written to a temporary file and
renamed into place (`core/files.atomic_write`), so a clip that turns out truncated halfway, or
a run stopped by Ctrl-C, leaves nothing half-written that a later run would skip as done.
Colour comes from `temporal.colourise_clip` (key frames, colour carried by optical flow) or,
as the baseline, from `render.colourise_image` on each frame alone.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from PIL import Image
from tqdm.auto import tqdm

from image_colourisation.core.files import atomic_write, printable
from image_colourisation.imaging.hints import Hint, check_hint_count, check_hints
from image_colourisation.imaging.render import AbModel, check_render_size, colourise_image

if TYPE_CHECKING:  # PyAV and OpenCV take 0.5 s to import: only a clip's work imports them
    import av

DEFAULT_KEY_EVERY = 8  # frames from one key frame to the next (`temporal.colourise_clip`)

# The containers a clip is read from and written back to: FFmpeg's muxer for each ending.
_MUXERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
}
# One frame's cost grows with its pixels (Lab work space, guided upsampling), a clip's with all
# its frames' pixels together. 8K UHD is 33 megapixels a frame; a 2.5-hour film at 1080p and
# 25 frames a second is 4.7e11 pixels in all (a day of work on this project's 2-core machine).
MAX_VIDEO_FRAME_PIXELS = 40_000_000
MAX_VIDEO_PIXELS = 500_000_000_000
_X264_OPTIONS = {"crf": "18", "preset": "fast"}  # crf 18: visually lossless for x264


# PIL's turn (counter-clockwise) that stands a stored frame upright, by the clip's rotation.
_UPRIGHT = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's header says: its frame size as shown (upright), average frame rate, frame
    count (stated, or estimated from its duration; 0 when it says neither), duration, whether it
    has sound, the time base of its timestamps and, from its first frame, its rotation."""

    name: str
    width: int
    height: int
    rate: Fraction
    frames: int
    stated: bool  # whether `frames` is the count the container states, not an estimate
    audio: bool
    seconds: float  # 0 when it states no duration
    time_base: Fraction
    rotation: int = 0  # degrees counter-clockwise a player turns the stored frames: 0, 90, ...


def is_video_name(name: str) -> bool:
    """Whether a file name ends like a clip this module reads and writes (.mp4, .mkv, ...)."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.name.startswith(".") and path.suffix.lower() in _MUXERS


def probe_video(path: Path) -> VideoInfo:
    """The header of the clip at `path`, checked by `check_video_size` before its first frame
    is decoded for its rotation (FFmpeg puts it on frames only); ValueError naming the file when
    it is no clip FFmpeg can read or is turned by other than a quarter turn."""
    import av  # noqa: PLC0415

    name = printable(path.name)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{name} holds no video stream; give a video file.")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate or rate <= 0:
                raise ValueError(f"{name} states no frame rate; remux it (ffmpeg -i ... -c copy).")
            stated = stream.frames or 0
            seconds = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration or 0) / av.time_base
            )
            info = VideoInfo(
                name,
                stream.codec_context.width,
                stream.codec_context.height,
                Fraction(rate),
                stated or round(seconds * rate),
                bool(stated),
                bool(container.streams.audio),
                seconds,
                Fraction(stream.time_base),
            )
            check_video_size(info)  # the same pixels however the frames are turned
            first = next(container.decode(stream), None)
    except av.error.FFmpegError as error:
        raise ValueError(
            f"{name} cannot be read as a video ({error.strerror}): it is damaged, truncated or "
            "not a video; re-export it from the original."
        ) from error
    rotation = first.rotation % 360 if first else 0
    if rotation % 90:
        raise ValueError(
            f"{name} is to be shown turned by {rotation} degrees, and only quarter turns are "
            f"undone here; re-encode it upright (ffmpeg -i {name} ... turns it) and colourise that."
        )
    if rotation % 180:
        info = replace(info, width=info.height, height=info.width)
    return replace(info, rotation=rotation)


def check_video_size(info: VideoInfo) -> None:
    """Raise ValueError, naming the clip and what to do, when its frames are of no size or
    larger than `MAX_VIDEO_FRAME_PIXELS`, or all its frames' pixels more than
    `MAX_VIDEO_PIXELS`: a small file claiming 10^9 frames of 8K costs nothing to refuse."""
    pixels = info.width * info.height
    if pixels <= 0:
        raise ValueError(
            f"{info.name} states frames of {info.width} x {info.height} pixels; "
            "re-export it from the original."
        )
    if pixels > MAX_VIDEO_FRAME_PIXELS:
        raise ValueError(
            f"{info.name} has frames of {info.width} x {info.height}, more than the "
            f"{MAX_VIDEO_FRAME_PIXELS / 1e6:,.3g} megapixels a video frame may have here; "
            "shrink it and colourise that."
        )
    if info.frames * pixels > MAX_VIDEO_PIXELS:
        raise ValueError(
            f"{info.name}'s {info.frames:,} frames hold {info.frames * pixels / 1e9:,.4g} "
            f"gigapixels in all, more than the {MAX_VIDEO_PIXELS / 1e9:,.4g} a video may hold "
            "here; cut it into parts (ffmpeg -ss ... -t ...) or shrink it and colourise those."
        )


def check_frame_hints(hints: Mapping[int, Sequence[Hint]], info: VideoInfo) -> None:
    """Raise ValueError naming the first hint outside the clip's frames (against the count its
    header states; a count it only implies is checked once the clip is read, in
    `temporal.carried_ab`), or outside its picture, or more hints in all than `MAX_HINTS`: a
    shot carries them all to its later key frames."""
    check_hint_count([hint for given in hints.values() for hint in given])
    for number, given in sorted(hints.items()):
        if info.stated and number >= info.frames:
            raise ValueError(_past_the_end(number, info.name, info.frames))
        try:
            check_hints(given, info.width, info.height)
        except ValueError as error:
            raise ValueError(f"frame {number}: {error}") from error


def read_frames(
    path: Path, info: VideoInfo, times: list[int] | None = None
) -> Iterator[Image.Image]:
    """The clip's frames as upright RGB images of the header's size as shown, decoded one at a
    time. Each frame's timestamp (pts in `info.time_base`) is appended to `times` before the
    frame is yielded, for the writer to keep the clip's timing (`write_video`).

    Raises ValueError naming the clip when decoding fails, when it has no frames, when it ends
    well short of the duration (or, where it states none, the frames) its header states
    (truncated), or when it holds more pixels than `MAX_VIDEO_PIXELS` after all (a header that
    stated too few).
    """
    import av  # noqa: PLC0415

    times = [] if times is None else times
    step = max(1, round(1 / (info.rate * info.time_base)))  # one frame at the average rate
    frame_time = _FrameTimes(step)
    turn = _UPRIGHT.get(info.rotation)
    width, height = (info.height, info.width) if info.rotation % 180 else (info.width, info.height)
    count = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                count += 1
                if count * info.width * info.height > MAX_VIDEO_PIXELS:
                    check_video_size(replace(info, frames=count))
                times.append(frame_time(frame.pts, frame.dts))
                image = frame.to_image(width=width, height=height)
                yield image if turn is None else image.transpose(turn)
    except av.error.FFmpegError as error:
        raise ValueError(
            f"{info.name} cannot be decoded after frame {count} ({error.strerror}): it is "
            "damaged or truncated; re-export it from the original."
        ) from error
    if not count:
        raise ValueError(f"{info.name} has no video frames; give a clip that shows something.")
    # The duration is the header's surest claim: at a variable frame rate a count implied by it
    # is no count, and an AVI may state its length in ticks of a finer rate than its frames'.
    lasts = float((times[-1] - times[0] + step) * info.time_base)
    if info.seconds and lasts + max(2 / info.rate, info.seconds / 100) < info.seconds:
        raise ValueError(
            f"{info.name} ends after {lasts:,.2f} of the {info.seconds:,.2f} seconds its header "
            "states: it is truncated; copy it whole again."
        )
    if not info.seconds and info.stated and count + max(2, info.frames // 100) < info.frames:
        raise ValueError(
            f"{info.name} ends after {count:,} of the {info.frames:,} frames its header "
            "states: it is truncated; copy it whole again."
        )


def write_video(
    frames: Iterable[Image.Image],
    times: Sequence[int],
    source: Path,
    target: Path,
    info: VideoInfo,
) -> int:
    """Encode `frames` into `target` (its container by its ending, at the source's size as
    shown), each at its source frame's timestamp in `times` (`read_frames`, filled as the
    frames are read), so a variable frame rate keeps in step with the source's audio, copied
    unchanged; returns the frames written."""
    import av  # noqa: PLC0415

    muxer = _MUXERS[target.suffix.lower()]
    with ExitStack() as held:
        output = held.enter_context(
            av.open(held.enter_context(atomic_write(target)), "w", format=muxer)
        )
        stream = _video_stream(output, muxer, info)
        sound = held.enter_context(av.open(str(source))) if info.audio else None
        copy = output.add_stream_from_template(sound.streams.audio[0]) if sound else None
        count = 0
        for image in frames:
            frame = av.VideoFrame.from_image(image.convert("RGB"))
            frame.pts, frame.time_base = times[count], info.time_base
            output.mux(stream.encode(frame))
            count += 1
        output.mux(stream.encode())
        if sound is not None:
            _copy_audio(sound, output, copy)
    return count


@dataclass(frozen=True)
class Clip:
    """A video file to colourise: where it is and what its header says; its frames are read
    only when the colourised clip is written (`coloured_clip`, `write_clip`)."""

    path: Path
    info: VideoInfo


@dataclass(frozen=True)
class ColouredClip:
    """A clip's colourised frames, made one by one as `write_clip` writes them, and its source
    frames' timestamps, filled in as those are read (each before the frame it becomes)."""

    source: Clip
    frames: Iterator[Image.Image]
    times: list[int]


def open_clip(path: Path) -> Clip:
    """The clip at `path`, its header read and checked (`probe_video`: only the first frame is
    decoded, for its rotation)."""
    return Clip(path, probe_video(path))


def coloured_clip(
    clip: Clip,
    generator: AbModel,
    render_size: int,
    key_every: int | None = DEFAULT_KEY_EVERY,
    hints: Mapping[int, Sequence[Hint]] | None = None,
) -> ColouredClip:
    """`clip` colourised lazily, with a progress bar (frames/s, ETA) as it is written.
    `key_every` None colours each frame on its own (the flickering baseline); else key frames
    every `key_every` frames with colour carried between them. `hints` maps a frame number
    (from 0) to a person's hints on that frame: carried through its shot
    (`temporal.carried_ab`), or with `key_every` None on that frame only."""
    check_render_size(render_size)
    hints = hints or {}
    info = clip.info
    check_frame_hints(hints, info)
    times: list[int] = []
    frames = _hinted_frames_seen(read_frames(clip.path, info, times), hints, info.name)
    if key_every is None:
        coloured = (
            colourise_image(frame, generator, render_size, hints.get(number, ()))
            for number, frame in enumerate(frames)
        )
    else:
        from image_colourisation.imaging.temporal import colourise_clip  # noqa: PLC0415

        again = read_frames(clip.path, info)
        coloured = colourise_clip(frames, again, generator, render_size, key_every, hints=hints)
    progress = tqdm(coloured, total=info.frames or None, desc=info.name, unit="frame", leave=False)
    return ColouredClip(clip, iter(progress), times)


def write_clip(coloured: ColouredClip, target: Path) -> int:
    """Write a colourised clip to `target` (`write_video`); returns the frames written."""
    source = coloured.source
    return write_video(coloured.frames, coloured.times, source.path, target, source.info)


def colourise_video(
    source: Path,
    target: Path,
    generator: AbModel,
    render_size: int,
    key_every: int | None = DEFAULT_KEY_EVERY,
    *,
    hints: Mapping[int, Sequence[Hint]] | None = None,
) -> int:
    """Colourise the clip `source` into `target` (`coloured_clip`, `write_clip`); returns the
    frames written."""
    clip = open_clip(source)
    return write_clip(coloured_clip(clip, generator, render_size, key_every, hints), target)


def _hinted_frames_seen(
    frames: Iterator[Image.Image], hints: Mapping[int, Sequence[Hint]], name: str
) -> Iterator[Image.Image]:
    """`frames`, then ValueError when a hint is on a frame past the last: a clip whose header
    only implies its frame count is known to be that short once it has been read (before its
    result is renamed into place)."""
    count = 0
    for frame in frames:
        yield frame
        count += 1
    late = [number for number in hints if number >= count]
    if late:
        raise ValueError(_past_the_end(min(late), name, count))


class _FrameTimes:
    """Each decoded frame's time as FFmpeg's `best_effort_timestamp` guesses it: its pts,
    unless the clip's pts have gone backwards more often than its dts (an AVI stores no
    presentation times, so its B-frames come labelled in decoding order), then its dts; one
    frame (`step`) after the previous where neither grows, since the encoder needs growing
    timestamps."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.previous: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int:
        if pts is not None and self.last_pts is not None and pts <= self.last_pts:
            self.faulty_pts += 1
        if dts is not None and self.last_dts is not None and dts <= self.last_dts:
            self.faulty_dts += 1
        self.last_pts, self.last_dts = pts, dts
        trust_pts = pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None)
        guess = pts if trust_pts else dts
        if self.previous is not None and (guess is None or guess <= self.previous):
            guess = self.previous + self.step
        self.previous = guess if guess is not None else 0
        return self.previous


def _past_the_end(number: int, name: str, frames: int) -> str:
    return (
        f"a hint is on frame {number:,}, past the last frame of {name} ({frames - 1:,}, "
        "counting from 0); give frame numbers within the clip."
    )


def _video_stream(output: "av.container.OutputContainer", muxer: str, info: VideoInfo):
    """H.264 (VP8 for WebM) at the clip's average rate, time base and size as shown; 4:4:4
    chroma when a side is odd, since 4:2:0 needs even sides."""
    codec = "libvpx" if muxer == "webm" else "libx264"
    stream = output.add_stream(
        codec, rate=info.rate, options=_X264_OPTIONS if codec == "libx264" else {}
    )
    stream.codec_context.time_base = info.time_base  # the source's timestamps, unrounded
    stream.width, stream.height = info.width, info.height
    even = info.width % 2 == 0 and info.height % 2 == 0
    stream.pix_fmt = "yuv420p" if even or codec == "libvpx" else "yuv444p"
    return stream


def _copy_audio(
    source: "av.container.InputContainer",
    output: "av.container.OutputContainer",
    copy: "av.stream.Stream",
) -> None:
    """Remux the source's first audio stream into `copy`: packets copied, not re-encoded."""
    for packet in source.demux(source.streams.audio[0]):
        if packet.dts is None:  # the demuxer's empty packet at the end
            continue
        packet.stream = copy
        output.mux(packet)
