"""video.py, temporal.py and the video metrics: tiny clips made here with PyAV, coloured by a
model that colours by gray level, so where each colour should end up is known."""

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from image_colourisation.imaging import temporal, video
from image_colourisation.imaging.colour import denormalise_ab, rgb_to_lab
from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.metrics import colour_distribution_consistency, warp_error
from image_colourisation.imaging.video import colourise_video, probe_video, read_frames

WIDTH, HEIGHT = 64, 48
WARM, COOL = (0.5, 0.3), (-0.2, -0.4)  # normalised a*, b*: bright pixels warm, dark ones cool


class CountedModel:
    """What the fake `AbModel`s below share: the U-Net's multiple, no memory to speak of, and
    a count of their calls (model calls per frame are what key frames save)."""

    takes_hints = False
    size_multiple = 32

    def __init__(self) -> None:
        self.calls = 0

    def memory_needed(self, height: int, width: int) -> int:
        return 0


class GrayLevelModel(CountedModel):
    """Colours bright pixels (L* > 50) warm and dark ones cool: on a key frame it marks where
    the bright things are; between key frames only the carried colour can follow them."""

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        self.calls += 1
        warm, cool = (np.array(colour, np.float32)[:, None, None] for colour in (WARM, COOL))
        return np.where(lightness > 0, warm, cool).astype(np.float32)


def smooth_texture(shape: tuple[int, int], low: int, high: int, seed: int) -> np.ndarray:
    """Gray levels with texture a few pixels wide, as a photo has: something for flow to hold."""
    noise = np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5), 0, 255).astype(np.uint8)


def square_frames(count: int, step: int = 2) -> list[np.ndarray]:
    """A bright textured square moving right by `step` pixels a frame over a dark background."""
    background = smooth_texture((HEIGHT, WIDTH), 20, 90, seed=0)
    square = smooth_texture((16, 16), 170, 240, seed=1)
    frames = []
    for index in range(count):
        frame = background.copy()
        left = 8 + step * index
        frame[16:32, left : left + 16] = square
        frames.append(np.repeat(frame[..., None], 3, axis=-1))
    return frames


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    codec: str,
    rate: int = 25,
    audio: bool = False,
    *,
    rotation: int = 0,
    millis: list[int] | None = None,
) -> Path:
    """A clip of RGB `frames` in the container `path`'s ending names, with a second of silent
    AAC when `audio`; `rotation`: degrees counter-clockwise for the player to turn it (as a phone
    stores a portrait clip); `millis`: each frame's time in ms (a variable frame rate)."""
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = {"mjpeg": "yuvj420p", "ffv1": "yuv444p"}.get(codec, "yuv420p")
        if rotation:
            stream.set_display_rotation(rotation)
        if millis:
            stream.codec_context.time_base = Fraction(1, 1000)
        sound = output.add_stream("aac", rate=16000) if audio else None
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if millis:
                picture.pts, picture.time_base = millis[index], Fraction(1, 1000)
            output.mux(stream.encode(picture))
            if sound is not None:
                samples = av.AudioFrame.from_ndarray(
                    np.zeros((1, 640), np.float32), format="fltp", layout="mono"
                )
                samples.sample_rate, samples.pts = 16000, index * 640
                output.mux(sound.encode(samples))
        output.mux(stream.encode())
        if sound is not None:
            output.mux(sound.encode())
    return path


def ab_of(image: Image.Image) -> np.ndarray:
    return rgb_to_lab(np.asarray(image.convert("RGB")))[..., 1:]


def frame_times(path: Path) -> list[float]:
    """Each decoded frame's time in seconds, as a player shows it."""
    with av.open(str(path)) as clip:
        return [frame.time for frame in clip.decode(clip.streams.video[0])]


@pytest.mark.parametrize(
    ("name", "codec", "rate"),
    [("clip.mp4", "libx264", 25), ("clip.mkv", "ffv1", 30), ("clip.avi", "mjpeg", 24)],
)
def test_round_trip_keeps_size_frame_count_and_rate(tmp_path, name, codec, rate):
    source = write_clip(tmp_path / name, square_frames(9), codec, rate)
    target = tmp_path / "out" / name
    assert colourise_video(source, target, GrayLevelModel(), 64) == 9
    info = probe_video(target)
    assert (info.width, info.height, info.rate) == (WIDTH, HEIGHT, rate)
    assert sum(1 for _ in read_frames(target, info)) == 9
    # a constant rate comes out as it always did: one frame every 1 / rate s (AVI stores no
    # presentation times: its H.264 frames come out in stored order, one frame late)
    times = sorted(frame_times(target))
    expected = [index / rate for index in range(9)]
    assert [time - times[0] for time in times] == pytest.approx(expected, abs=1e-3)
    assert not info.audio


@pytest.mark.parametrize(("name", "codec"), [("screen.mkv", "ffv1"), ("phone.mp4", "libx264")])
@pytest.mark.parametrize("key_every", [8, None])
def test_a_variable_frame_rate_keeps_each_frames_time(tmp_path, name, codec, key_every):
    """Frames 40 ms apart, then gaps of 120, 260 and 434 ms (a screen recording that only
    writes a frame when something changes): each output frame is shown when its source frame
    was. Frames written one every 1 / (average rate) s ended the .mp4 at 0.58 s, not 1 s; the
    .mkv's nominal 25 frames/s over its second implied 26 frames, and it was refused as cut."""
    millis = [0, 40, 80, 200, 240, 500, 533, 566, 1000]
    source = write_clip(tmp_path / name, square_frames(9), codec, millis=millis)
    target = tmp_path / "out" / name
    assert colourise_video(source, target, GrayLevelModel(), 64, key_every) == 9
    assert frame_times(target) == pytest.approx([time / 1000 for time in millis], abs=1e-3)


def corner_brightness(image: Image.Image) -> dict[str, float]:
    gray = np.asarray(image.convert("L"), np.float32)
    return {
        "top left": gray[2:8, 2:8].mean(),
        "top right": gray[2:8, -8:-2].mean(),
        "bottom left": gray[-8:-2, 2:8].mean(),
        "bottom right": gray[-8:-2, -8:-2].mean(),
    }


@pytest.mark.parametrize(
    ("rotation", "corner"), [(-90, "top right"), (90, "bottom left"), (180, "bottom right")]
)
def test_a_rotated_clip_is_read_and_written_upright(tmp_path, rotation, corner):
    """A clip stored 64 x 48 with a bright patch in its stored top-left corner and a rotation
    for the player (-90: a phone held upright; FFmpeg turns -90 clockwise, 90 counter-clockwise):
    its frames are read as the player shows them, and written so with no rotation left."""
    stored = np.full((HEIGHT, WIDTH, 3), 30, np.uint8)
    stored[:12, :16] = 230
    source = write_clip(tmp_path / "phone.mp4", [stored] * 3, "libx264", rotation=rotation)
    shown = (HEIGHT, WIDTH) if rotation % 180 else (WIDTH, HEIGHT)
    info = probe_video(source)
    assert (info.width, info.height, info.rotation) == (*shown, rotation % 360)
    video.check_frame_hints({0: [Hint(shown[0] - 1, shown[1] - 1, "#c0392b")]}, info)
    target = tmp_path / "out" / "phone.mp4"
    assert colourise_video(source, target, GrayLevelModel(), 64) == 3
    written = probe_video(target)
    assert (written.width, written.height, written.rotation) == (*shown, 0)
    for frame in [*read_frames(source, info), *read_frames(target, written)]:
        assert frame.size == shown
        brightness = corner_brightness(frame)
        assert brightness.pop(corner) > 150
        assert max(brightness.values()) < 80


def test_a_clip_turned_by_other_than_a_quarter_turn_is_refused_by_name(tmp_path):
    source = write_clip(tmp_path / "tilted.mp4", square_frames(2), "libx264", rotation=30)
    with pytest.raises(ValueError, match=r"tilted.mp4 is to be shown turned by (29|30) degrees"):
        probe_video(source)


def test_audio_is_copied(tmp_path):
    source = write_clip(tmp_path / "talk.mp4", square_frames(6), "libx264", audio=True)
    target = tmp_path / "out" / "talk.mp4"
    colourise_video(source, target, GrayLevelModel(), 64)
    with av.open(str(source)) as before, av.open(str(target)) as after:
        assert after.streams.audio[0].codec_context.name == "aac"
        packets = [
            sum(1 for packet in clip.demux(clip.streams.audio[0]) if packet.size)
            for clip in (before, after)
        ]
    assert packets[0] == packets[1] > 0


def test_a_moving_square_keeps_its_colour_between_key_frames(tmp_path):
    """The model sees frames 0 and 8 only; on frames 1-7 the square has moved up to 14 pixels
    from where the model saw it, and its colour is where it is now, not where it was."""
    source = write_clip(tmp_path / "square.mkv", square_frames(9), "ffv1")
    target = tmp_path / "out" / "square.mkv"
    model = GrayLevelModel()
    colourise_video(source, target, model, 64, key_every=8)
    assert model.calls == 2
    for index, frame in enumerate(read_frames(target, probe_video(target))):
        ab = ab_of(frame)
        left = 8 + 2 * index
        square, behind = ab[20:28, left + 4 : left + 12], ab[20:28, max(0, left - 8) : left - 2]
        assert (square.mean(axis=(0, 1)) > [15, 8]).all(), index  # warm: a* 22, b* 14 on key frames
        if behind.size:
            # cool again (a* -6, b* -20), though the model saw the square there on frame 0
            assert (behind.mean(axis=(0, 1)) < [-3, -15]).all(), index


def test_temporal_off_colours_every_frame_on_its_own(tmp_path):
    source = write_clip(tmp_path / "square.mkv", square_frames(5), "ffv1")
    model = GrayLevelModel()
    colourise_video(source, tmp_path / "out" / "square.mkv", model, 64, key_every=None)
    assert model.calls == 5


def picture_frames(count: int, seed: int, low: int, high: int) -> list[Image.Image]:
    still = smooth_texture((HEIGHT, WIDTH), low, high, seed)
    return [Image.fromarray(still).convert("RGB")] * count


def test_a_cut_starts_a_key_frame_and_colour_does_not_cross_it():
    """Four frames of a dark picture, then four of a bright one: the model colours the first
    and last frame of each shot (0, 3 | 4, 7) though key frames are 100 apart, and no frame
    before the cut gets any of the bright picture's warm colour."""
    dark, bright = picture_frames(4, 2, 10, 90), picture_frames(4, 3, 160, 250)
    model = GrayLevelModel()
    abs_ = list(temporal.carried_ab(dark + bright, model, 64, key_every=100))
    assert model.calls == 4
    assert len(abs_) == 8
    assert all((ab[0] < 0).all() for ab in abs_[:4])
    assert all((ab[0] > 0).all() for ab in abs_[4:])


class HintPainter(CountedModel):
    """Takes hints and paints each hint's colour where the hint layer's mask is set, gray
    (a* = b* = 0) elsewhere: its colour is where the hints were put, nothing else."""

    takes_hints = True

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        self.calls += 1
        if hints is None:
            return np.zeros((1, 2, *lightness.shape[2:]), np.float32)
        return hints[:, :2] * hints[:, 2:]


RED = Hint(16, 24, "#c0392b")  # on the square's middle in frame 0 (the square is x 8-23)
RED_AB = denormalise_ab(RED.normalised_ab())


def test_a_hint_on_frame_0_reaches_frame_5():
    """The model sees frames 0 and 5 only, and only the hint's colour: on frame 5 the square has
    moved 10 pixels right, and the hint went with it."""
    frames = [Image.fromarray(frame) for frame in square_frames(6)]
    model = HintPainter()
    abs_ = list(temporal.carried_ab(frames, model, 64, key_every=5, hints={0: [RED]}))
    assert model.calls == 2
    # where the square's middle is now: the hint's colour, carried (bilinear warps: 0.2 a*b*)
    assert np.allclose(abs_[5][:, 24, 26], RED_AB, atol=0.2)
    assert np.allclose(abs_[5][:, 24, 16], 0, atol=1e-3)  # where it was


def test_a_hint_makes_its_frame_a_key_frame():
    frames = [Image.fromarray(frame) for frame in square_frames(6)]
    model = HintPainter()
    abs_ = list(temporal.carried_ab(frames, model, 64, key_every=100, hints={2: [RED]}))
    assert model.calls == 3  # frames 0, 2 (the hint) and 5 (the last)
    assert np.allclose(abs_[2][:, 24, 16], RED_AB, atol=1e-3)
    assert np.allclose(abs_[5][:, 24, 22], RED_AB, atol=0.2)  # carried 3 frames of 2 pixels


def test_a_hint_is_dropped_at_a_cut():
    """A still dark shot hinted on frame 0, then a bright one: the hint holds to the dark
    shot's last frame and none of its colour reaches the frames after the cut."""
    frames = picture_frames(4, 2, 10, 90) + picture_frames(4, 3, 160, 250)
    model = HintPainter()
    abs_ = list(temporal.carried_ab(frames, model, 64, key_every=100, hints={0: [RED]}))
    assert model.calls == 4  # the first and last frame of each shot
    assert np.allclose(abs_[3][:, 24, 16], RED_AB, atol=1e-3)
    assert all(np.allclose(ab, 0, atol=1e-3) for ab in abs_[4:])


@pytest.mark.parametrize(("name", "codec"), [("square.mp4", "libx264"), ("square.mkv", "ffv1")])
def test_a_hint_past_the_last_frame_is_refused_by_name(tmp_path, name, codec):
    """An .mp4 states its frame count, so the clip is refused before a frame is decoded; an
    .mkv only implies it, so once it has been read. Either way nothing is written."""
    source = write_clip(tmp_path / name, square_frames(6), codec)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=rf"hint is on frame 9, past the last frame of {name}"):
        colourise_video(source, out / name, HintPainter(), 64, hints={2: [RED], 9: [RED]})
    assert not out.exists() or not list(out.iterdir())


def test_with_temporal_off_hints_guide_their_own_frame_only(tmp_path):
    """A 9x9 patch of red hints on frame 1 (a single 3x3 hint is too small for H.264 to keep
    on a frame that otherwise repeats the one before)."""
    source = write_clip(tmp_path / "square.mkv", square_frames(3), "ffv1")
    target = tmp_path / "out" / "square.mkv"
    patch = [Hint(x, y, RED.colour) for x in (15, 18, 21) for y in (21, 24, 27)]
    colourise_video(source, target, HintPainter(), 64, key_every=None, hints={1: patch})
    reds = [ab_of(frame)[24, 18, 0] for frame in read_frames(target, probe_video(target))]
    # a* 19.7 (22.6 before the hints were carried along edges: the point gives some of its red
    # to the patch around it, whose mean a* went from 11.5 to 20.7)
    assert reds[1] > 15
    assert abs(reds[0]) < 3 and abs(reds[2]) < 3


def test_histogram_cut_detection_on_a_pan_and_a_cut():
    frames = square_frames(3)
    lightness = [rgb_to_lab(frame)[..., 0] for frame in frames]
    assert not temporal.is_cut(lightness[0], lightness[2])
    other = rgb_to_lab(np.asarray(picture_frames(1, 3, 160, 250)[0]))[..., 0]
    assert temporal.is_cut(lightness[0], other)


def test_a_truncated_clip_is_refused_by_name_and_nothing_is_left(tmp_path):
    for name, codec in [("cut.mkv", "ffv1"), ("cut.mp4", "libx264")]:
        whole = write_clip(tmp_path / f"whole-{name}", square_frames(12), codec).read_bytes()
        source = tmp_path / name
        source.write_bytes(whole[: len(whole) // 2])
        out = tmp_path / "out"
        with pytest.raises(ValueError, match=rf"{name}.*(truncated|damaged)"):
            colourise_video(source, out / name, GrayLevelModel(), 64)
        assert not out.exists() or not list(out.iterdir())


def test_a_clip_without_frames_is_refused_and_nothing_is_left(tmp_path):
    source = tmp_path / "empty.mkv"
    with av.open(str(source), "w") as output:
        stream = output.add_stream("ffv1", rate=25)
        stream.width, stream.height = WIDTH, HEIGHT
        sound = output.add_stream("aac", rate=16000)
        samples = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        samples.sample_rate, samples.pts = 16000, 0
        output.mux(sound.encode(samples))
        output.mux(sound.encode())
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="empty.mkv has no video frames"):
        colourise_video(source, out / "empty.mkv", GrayLevelModel(), 64)
    assert not list(out.iterdir())


def test_too_many_pixels_are_refused_by_name_before_decoding(tmp_path, monkeypatch):
    source = write_clip(tmp_path / "long.mkv", square_frames(10), "ffv1")

    def decoded(*_):
        raise AssertionError("decoded before the limits were checked")

    monkeypatch.setattr(video, "read_frames", decoded)
    monkeypatch.setattr(video, "MAX_VIDEO_PIXELS", 9 * WIDTH * HEIGHT)
    with pytest.raises(ValueError, match=r"long.mkv's 10 frames hold .* cut it into parts"):
        colourise_video(source, tmp_path / "out" / "long.mkv", GrayLevelModel(), 64)
    monkeypatch.setattr(video, "MAX_VIDEO_FRAME_PIXELS", WIDTH * HEIGHT - 1)
    with pytest.raises(ValueError, match=r"long.mkv has frames of 64 x 48, more than .* shrink"):
        colourise_video(source, tmp_path / "out" / "long.mkv", GrayLevelModel(), 64)
    assert not (tmp_path / "out").exists()


def test_not_a_video_is_refused_by_name(tmp_path):
    source = tmp_path / "notes.mp4"
    source.write_text("not a video")
    with pytest.raises(ValueError, match="notes.mp4 cannot be read as a video"):
        probe_video(source)


def test_video_names():
    assert video.is_video_name("Film.MKV")
    assert video.is_video_name("a/b/clip.mp4")
    assert not video.is_video_name("photo.gif")
    assert not video.is_video_name(".hidden.mp4")


def test_warp_error_is_zero_for_a_still_clip_and_follows_the_flow():
    frame = smooth_texture((HEIGHT, WIDTH), 0, 255, seed=4).astype(np.float32)[..., None]
    still = np.zeros((HEIGHT, WIDTH, 2), np.float32)
    everywhere = np.ones((HEIGHT, WIDTH), bool)
    assert warp_error(frame, frame, still, everywhere) == 0.0
    moved = np.roll(frame, 3, axis=1)  # the picture moved 3 pixels right
    flow = still.copy()
    flow[..., 0] = -3  # each pixel of the moved frame was 3 pixels to the left
    inside = everywhere.copy()
    inside[:, :3] = False  # came in from outside the frame
    assert warp_error(frame, moved, flow, inside) == pytest.approx(0.0, abs=1e-9)
    assert warp_error(frame, moved, still, inside) > 100


def test_cdc_is_zero_for_identical_frames_and_grows_with_flicker():
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    assert colour_distribution_consistency([frame] * 6) == pytest.approx(0.0, abs=1e-12)
    shifts = [0, 40, 0, 40, 0, 40]  # red flickering up and down
    flicker = [frame.copy() for _ in shifts]
    for image, shift in zip(flicker, shifts, strict=True):
        image[..., 0] = np.clip(image[..., 0].astype(int) + shift, 0, 255)
    gentle = [frame.copy() for _ in shifts]
    gentle[3][..., 0] = np.clip(gentle[3][..., 0].astype(int) + 10, 0, 255)
    assert colour_distribution_consistency(flicker) > colour_distribution_consistency(gentle) > 0


def test_frame_times_follow_dts_where_pts_come_in_decoding_order():
    """A real AVI (H.264 with B-frames, 25 frames/s in ticks of 1/50 s) decodes with pts in
    decoding order and growing dts: as FFmpeg's best-effort timestamp does, the times follow
    dts once pts went backwards, and always grow."""
    pts = [2, 6, 8, 10, 12, 4, 16, 18, 20, 22, 14, 26]
    dts = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
    frame_time = video._FrameTimes(step=1)
    times = [frame_time(p, d) for p, d in zip(pts, dts, strict=True)]
    assert times == [2, 6, 8, 10, 12, 13, 14, 16, 18, 20, 22, 24]
    missing = video._FrameTimes(step=2)
    assert [missing(p, None) for p in (0, None, 4, 4)] == [0, 2, 4, 6]
