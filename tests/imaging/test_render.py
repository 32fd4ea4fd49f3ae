"""render.py and photo_files.py: any photo in, a colourised photo of the same size and lightness out."""

import io
import struct

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab

from image_colourisation.core import memory
from image_colourisation.core.errors import UserValueError
from image_colourisation.imaging import hints, photo_files, render
from image_colourisation.imaging.colour import normalise_ab
from image_colourisation.imaging.hints import NO_HINT_INPUTS, Hint, check_hints
from image_colourisation.imaging.photo_files import is_photo_name, save_photo
from image_colourisation.imaging.render import (
    colourise_image,
    guided_upsampling,
    join_lightness_and_ab,
    photo_ab,
    photo_lightness,
)
from image_colourisation.models.networks import Generator
from tests.claimed_files import claimed_gif
from tests.photo_models import PHOTO_NAMES, real_photo, tiny_trained_generator


@pytest.fixture(scope="module")
def generator() -> Generator:
    return tiny_trained_generator()


def lab_of(image: Image.Image) -> np.ndarray:
    """Reference Lab of an RGB(A) image, by scikit-image rather than the code under test."""
    return rgb2lab(np.asarray(image.convert("RGB"))).astype(np.float32)


def gray_lightness(gray: np.ndarray) -> np.ndarray:
    """Reference L* of gray levels in [0, 1]."""
    return rgb2lab(np.repeat(gray[..., None], 3, axis=-1))[..., 0]


def chroma(lab: np.ndarray) -> np.ndarray:
    return np.hypot(lab[..., 1], lab[..., 2])


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_real_photo_keeps_size_and_lightness_and_gains_colour(name, generator):
    photo = real_photo(name)
    coloured = colourise_image(photo, generator)
    assert coloured.size == photo.size
    assert coloured.mode == "RGB"
    before, after = lab_of(photo), lab_of(coloured)
    assert np.abs(after[..., 0] - before[..., 0]).max() <= 1.0
    assert chroma(after).mean() > 5.0  # a gray output has chroma ~0


def test_each_photo_gets_its_own_predicted_colour(generator):
    """Blue sky (rocket) and an orange cat (chelsea): the model's b* differs in sign."""
    rocket = lab_of(colourise_image(real_photo("rocket"), generator))
    cat = lab_of(colourise_image(real_photo("chelsea"), generator))
    assert rocket[..., 2].mean() < -5.0 < 5.0 < cat[..., 2].mean()


def bilinear(ab: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Plain bilinear upsampling of ab (2, h, w): what the guided upsampling does where flat."""
    upsampled = torch.nn.functional.interpolate(
        torch.from_numpy(ab)[None], size=size, mode="bilinear", align_corners=False
    )
    return upsampled[0].numpy()


def test_output_colour_is_the_prediction_upsampled(generator):
    """Full-size a*b* follows the small prediction: close to bilinear upsampling of it almost
    everywhere (it differs at edges, where colour now stops), in gamut."""
    photo = real_photo("coffee")
    lightness = photo_lightness(photo)
    ab = photo_ab(generator, lightness, 128)
    assert ab.shape == (2, 85, 128)  # 400x600 scaled to 128 on the long side, aspect kept
    got = lab_of(join_lightness_and_ab(lightness, ab))
    error = np.abs(got[..., 1:] - bilinear(ab, lightness.shape).transpose(1, 2, 0))
    assert np.median(error) < 1.0
    assert np.quantile(error, 0.9) < 3.0  # uint8 rounding; a few pixels lose chroma to fit sRGB


def test_where_the_photo_is_flat_the_upsampling_is_bilinear():
    lightness = np.full((90, 150), 55.0, dtype=np.float32)
    ab = np.random.default_rng(0).uniform(-40, 40, (2, 6, 10)).astype(np.float32)
    upsampled = guided_upsampling(lightness, ab)(0, 90)
    np.testing.assert_allclose(upsampled, bilinear(ab, (90, 150)), atol=1e-4)


def test_colour_stops_at_an_edge_instead_of_bleeding_across():
    """Dark red left of column 163, light blue right of it, shrunk 5x as the model sees it:
    bilinear upsampling blends the two over 9 columns; the L*-guided one gives every column
    its side's colour, but for the one (162) whose only neighbour is the working pixel that
    straddles the edge, which has the blend's colour in both methods."""
    lightness = np.where(np.arange(320) < 163, 30.0, 70.0).astype(np.float32)
    lightness = np.tile(lightness, (64, 1))
    truth = np.where(np.arange(320) < 163, [[40.0], [30.0]], [[-20.0], [-40.0]])
    truth = np.repeat(truth[:, None], 64, axis=1).astype(np.float32)  # (2, 64, 320)
    small = torch.nn.functional.interpolate(
        torch.from_numpy(truth)[None], size=(13, 64), mode="bilinear", antialias=True
    )[0].numpy()
    guided = np.hypot(*(guided_upsampling(lightness, small)(0, 64) - truth)).max(axis=0)
    plain = np.hypot(*(bilinear(small, (64, 320)) - truth)).max(axis=0)
    assert np.flatnonzero(plain > 5).tolist() == list(range(158, 167))
    assert np.flatnonzero(guided > 0.1).tolist() == [162]
    assert guided[162] == pytest.approx(plain[162], abs=0.1)


def test_upsampled_colour_stays_within_the_predicted_colours(generator):
    """A weighted mean of its neighbours: no halo of colours stronger than the prediction."""
    lightness = photo_lightness(real_photo("astronaut"))
    ab = photo_ab(generator, lightness, 64)
    upsampled = guided_upsampling(lightness, ab)(0, lightness.shape[0])
    for channel in (0, 1):
        assert ab[channel].min() - 1e-3 <= upsampled[channel].min()
        assert upsampled[channel].max() <= ab[channel].max() + 1e-3


def test_out_of_gamut_colour_loses_chroma_not_lightness():
    """a*=b*=100 cannot exist in sRGB at most lightness; L* must still be the photo's."""
    lightness = np.tile(np.linspace(0, 100, 64, dtype=np.float32), (8, 1))
    ab = np.full((2, 2, 2), 100.0, dtype=np.float32)
    lab = lab_of(join_lightness_and_ab(lightness, ab))
    assert np.abs(lab[..., 0] - lightness).max() <= 1.0
    middle = lab[:, 20:50]
    assert (middle[..., 1] > 5).all() and (middle[..., 2] > 5).all()  # hue kept: still a+ b+


def test_strips_give_the_same_result_as_one_pass(generator, monkeypatch):
    photo = real_photo("chelsea")
    whole = np.asarray(colourise_image(photo, generator))
    monkeypatch.setattr(render, "STRIP_PIXELS", 5000)  # 11 rows a strip: 28 strips
    assert np.array_equal(np.asarray(colourise_image(photo, generator)), whole)


def _gray_source() -> np.ndarray:
    """An 80x96 gray crop of a real photo, sizes that are not multiples of 32."""
    return np.asarray(real_photo("astronaut").convert("L").crop((200, 60, 296, 140)))


def _mode_cases() -> dict[str, tuple[Image.Image, np.ndarray]]:
    """Every input mode: (image, reference L* of what it shows)."""
    gray = _gray_source()
    rgb = np.asarray(real_photo("coffee").crop((100, 100, 196, 180)))
    rgb_image = Image.fromarray(rgb)
    sixteen = (gray.astype(np.uint16) * 257 + 100).clip(0, 65535).astype(np.uint16)
    bits = Image.fromarray(gray).convert("1")
    palette = rgb_image.quantize(64)
    cmyk = rgb_image.convert("CMYK")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 96).astype(np.uint8), (80, 1)))
    rgba, la = rgb_image.copy(), Image.fromarray(gray)
    rgba.putalpha(alpha)
    la.putalpha(alpha)
    return {
        "L": (Image.fromarray(gray), gray_lightness(gray / 255)),
        "LA": (la.convert("LA"), gray_lightness(gray / 255)),
        "I;16": (Image.fromarray(sixteen), gray_lightness(sixteen / 65535)),
        "1": (bits, gray_lightness(np.asarray(bits, dtype=np.float64))),
        "RGB": (rgb_image, lab_of(rgb_image)[..., 0]),
        "RGBA": (rgba, lab_of(rgb_image)[..., 0]),
        "P": (palette, lab_of(palette.convert("RGB"))[..., 0]),
        "CMYK": (cmyk, lab_of(cmyk.convert("RGB"))[..., 0]),
    }


@pytest.mark.parametrize("mode", ["L", "LA", "I;16", "1", "RGB", "RGBA", "P", "CMYK"])
def test_every_input_mode(mode, generator):
    image, expected_lightness = _mode_cases()[mode]
    assert image.mode == mode
    coloured = colourise_image(image, generator)
    assert coloured.size == image.size
    has_alpha = "A" in image.getbands()
    assert coloured.mode == ("RGBA" if has_alpha else "RGB")
    if has_alpha:  # the transparency comes through untouched
        assert np.array_equal(
            np.asarray(coloured.getchannel("A")), np.asarray(image.getchannel("A"))
        )
    lightness = lab_of(coloured)[..., 0]
    assert np.abs(lightness - expected_lightness).max() <= 1.0
    if mode != "1":  # pure black and white have no room for colour in sRGB
        assert chroma(lab_of(coloured)).mean() > 2.0


def test_palette_transparency_becomes_alpha(generator):
    palette = Image.fromarray(_gray_source()).convert("P")
    palette.info["transparency"] = int(np.asarray(palette)[0, 0])
    coloured = colourise_image(palette, generator)
    assert coloured.mode == "RGBA"
    assert coloured.getchannel("A").getpixel((0, 0)) == 0
    assert coloured.getchannel("A").getextrema()[1] == 255


@pytest.mark.parametrize(
    ("orientation", "turn"), [(6, Image.Transpose.ROTATE_270), (8, Image.Transpose.ROTATE_90)]
)
def test_exif_orientation_is_applied(orientation, turn, generator):
    """A camera's portrait photo: pixels stored sideways plus an EXIF tag saying how to turn them."""
    stored = Image.fromarray(_gray_source())  # 96 wide, 80 high as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, format="PNG", exif=exif)
    photo = Image.open(io.BytesIO(buffer.getvalue()))
    assert photo.getexif()[0x0112] == orientation
    coloured = colourise_image(photo, generator)
    upright = stored.transpose(turn)
    assert coloured.size == upright.size == (80, 96)
    expected = gray_lightness(np.asarray(upright) / 255)
    assert np.abs(lab_of(coloured)[..., 0] - expected).max() <= 1.0


@pytest.mark.parametrize("size", [(1, 1), (300, 3), (7, 500)])
def test_tiny_and_extreme_shapes(size, generator):
    image = Image.fromarray(np.full(size[::-1], 128, dtype=np.uint8))
    assert colourise_image(image, generator).size == size


@pytest.mark.parametrize("render_size", [0, 100, -32, 1056, 8192])
def test_render_size_must_be_a_multiple_of_32_up_to_1024(render_size, generator):
    with pytest.raises(ValueError, match="multiple of 32 from 32 to 1024"):
        colourise_image(real_photo("rocket"), generator, render_size)


def test_larger_render_size_predicts_at_that_size(generator):
    lightness = photo_lightness(real_photo("rocket"))  # 640 x 427
    assert photo_ab(generator, lightness, 256).shape == (2, 171, 256)
    assert photo_ab(generator, lightness, 32).shape == (2, 21, 32)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jpg", True), ("trip/B.JPEG", True), ("c.png", True), ("d.tiff", True),
     (".gitkeep", False), ("notes.txt", False), ("README", False), (".hidden.jpg", False)],
)  # fmt: skip
def test_is_photo_name(name, expected):
    assert is_photo_name(name) is expected


@pytest.mark.parametrize(("suffix", "image_format"), [(".jpg", "JPEG"), (".png", "PNG")])
def test_save_photo_writes_the_format_its_name_says(tmp_path, suffix, image_format):
    target = tmp_path / "deep" / f"out{suffix}"
    save_photo(real_photo("rocket"), target)
    with Image.open(target) as written:
        assert written.format == image_format
        assert written.size == (640, 427)
    assert [path.name for path in target.parent.iterdir()] == [target.name]  # no temp left


def _gray_frames(count: int, size: tuple[int, int] = (96, 80)) -> list[Image.Image]:
    """`count` different gray crops of a real photo: frames of an animation or pages."""
    gray = real_photo("astronaut").convert("L")
    return [gray.crop((60 * i, 40, 60 * i + size[0], 40 + size[1])) for i in range(count)]


def _reopened(frames: list[Image.Image], image_format: str, **options: object) -> Image.Image:
    buffer = io.BytesIO()
    frames[0].save(buffer, image_format, save_all=True, append_images=frames[1:], **options)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_animated_gif_keeps_every_frame_its_timing_and_loop(generator, tmp_path):
    source = _gray_frames(3)
    gif = _reopened(source, "GIF", duration=[100, 200, 300], loop=2)
    frames = render.colourise_frames(gif, generator)
    assert [frame.info["duration"] for frame in frames] == [100, 200, 300]
    for frame, gray in zip(frames, source, strict=True):
        assert frame.size == gray.size
        expected = gray_lightness(np.asarray(gray) / 255)
        assert np.abs(lab_of(frame)[..., 0] - expected).max() <= 1.0
        assert chroma(lab_of(frame)).mean() > 2.0

    save_photo(frames, tmp_path / "waving.gif")
    with Image.open(tmp_path / "waving.gif") as written:
        assert (written.format, written.n_frames, written.info["loop"]) == ("GIF", 3, 2)
        durations = []
        for index in range(3):
            written.seek(index)
            durations.append(written.info["duration"])
            assert chroma(lab_of(written)).mean() > 2.0  # every frame coloured, not only the first
        assert durations == [100, 200, 300]


def test_multi_page_tiff_keeps_every_page(generator, tmp_path):
    pages = [*_gray_frames(1), _gray_frames(1, size=(40, 120))[0]]
    tiff = _reopened(pages, "TIFF")
    frames = render.colourise_frames(tiff, generator)
    save_photo(frames, tmp_path / "letters.tif")
    with Image.open(tmp_path / "letters.tif") as written:
        assert written.n_frames == 2
        sizes = []
        for index in range(2):
            written.seek(index)
            sizes.append(written.size)
            assert written.mode == "RGB"
        assert sizes == [(96, 80), (40, 120)]


def test_multi_picture_jpeg_is_one_picture(generator, tmp_path):
    """A phone's MPO holds a gain or depth map beside the photo: one picture, a plain JPEG."""
    photo, preview = real_photo("coffee"), real_photo("coffee").resize((150, 100))
    mpo = _reopened([photo, preview], "MPO")
    assert (mpo.format, mpo.n_frames) == ("MPO", 2)
    (frame,) = render.colourise_frames(mpo, generator)
    save_photo(frame, tmp_path / "phone.jpg", mpo.format)
    with Image.open(tmp_path / "phone.jpg") as written:
        assert (written.format, written.size) == ("JPEG", photo.size)


def _dcx(pages: list[Image.Image]) -> Image.Image:
    """A DCX fax file (several PCX pages), a multi-frame format Pillow cannot write."""
    blobs = []
    for page in pages:
        buffer = io.BytesIO()
        page.save(buffer, "PCX")
        blobs.append(buffer.getvalue())
    offsets, position = [], 4 + 4 * (len(blobs) + 1)
    for blob in blobs:
        offsets.append(position)
        position += len(blob)
    header = struct.pack(f"<{len(offsets) + 2}I", 987654321, *offsets, 0)
    return Image.open(io.BytesIO(header + b"".join(blobs)))


def test_several_frames_that_cannot_be_written_back_are_refused(generator):
    fax = _dcx(_gray_frames(2))
    assert (fax.format, fax.n_frames) == ("DCX", 2)
    with pytest.raises(ValueError, match="it has 2 frames, and DCX files can only be written with"):
        render.colourise_frames(fax, generator)


class RecordingGenerator(Generator):
    """A hint generator that keeps what it was given, to check what reaches the network."""

    def predict(self, lightness, hints=None, context=None):
        self.given = (lightness.clone(), None if hints is None else hints.clone())
        return super().predict(lightness, hints, context)


def test_hints_reach_the_generator_where_the_photo_is_resized_to():
    """A 1024x768 photo renders at 64x48, padded to 64x64: the hint at the photo's centre is
    at the working image's centre; the padding holds no hint (zeros, not repeated edges)."""
    generator = RecordingGenerator(width=4, hints=True)
    photo = Image.fromarray(np.full((768, 1024), 90, dtype=np.uint8))
    hints = [Hint(512, 384, "#2e86c1"), Hint(1023, 767, "#f1c40f")]
    colourise_image(photo, generator, 64, hints)
    lightness, layer = generator.given
    assert lightness.shape == (1, 1, 64, 64) and layer.shape == (1, 3, 64, 64)
    mask = layer[0, 2].numpy()
    assert mask[23:26, 31:34].all() and mask[46:48, 62:64].all() and mask.sum() == 9 + 4
    assert not layer[0, :, 48:].any()  # the padding rows
    blue = rgb2lab(np.array([[[0x2E, 0x86, 0xC1]]], dtype=np.uint8))[0, 0, 1:]
    np.testing.assert_allclose(layer[0, :2, 24, 32].numpy(), normalise_ab(blue), atol=2e-4)


def test_no_hints_give_a_hint_generator_no_hint_layer():
    generator = RecordingGenerator(width=4, hints=True)
    colourise_image(real_photo("coffee"), generator, 64)
    assert generator.given[1] is None  # read by the generator as an all-zero layer


def test_hints_outside_the_photo_or_for_a_model_without_hint_inputs_are_refused(generator):
    photo = real_photo("coffee")  # 600x400
    with pytest.raises(ValueError, match=r"hint 600,10,#ff0000 is outside the 600x400 photo"):
        colourise_image(photo, Generator(width=4, hints=True), 64, [Hint(600, 10, "#ff0000")])
    with pytest.raises(ValueError) as error:
        colourise_image(photo, generator, 64, [Hint(5, 10, "#ff0000")])
    assert str(error.value) == NO_HINT_INPUTS


def test_every_frame_gets_the_hints():
    generator = RecordingGenerator(width=4, hints=True)
    gif = _reopened(_gray_frames(2), "GIF", duration=100)
    calls = []
    generator.register_forward_hook(lambda *_: calls.append(generator.given[1]))
    render.colourise_frames(gif, generator, 64, [Hint(10, 10, "#00ff00")])
    assert len(calls) == 2 and all(layer[0, 2].sum() == 9 for layer in calls)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (20_001, "it has more than the 1,000 frames an animation may have here; shorten"),
        (101, "its 101 frames hold 101 megapixels in all, more than the 100 an animation may"),
    ],
)
def test_an_animation_claiming_too_many_frames_or_pixels_is_refused_before_decoding(
    generator, frames, message
):
    """300 kB of GIF whose frames each decode to the whole 1000 x 1000 canvas."""
    gif = Image.open(io.BytesIO(claimed_gif(1000, 1000, frames)))
    with pytest.raises(ValueError, match=message):
        render.colourise_frames(gif, generator)
    assert gif.tell() == 0  # refused before any frame was colourised, back at the first


def test_a_page_larger_than_the_first_counts_before_it_is_decoded(generator, monkeypatch):
    """TIFF pages have sizes of their own: the first page alone says little about the rest."""
    monkeypatch.setattr(photo_files, "MAX_FRAME_PIXELS", 1_000)
    tiff = _reopened([_gray_frames(1, size=(10, 10))[0], _gray_frames(1, size=(40, 40))[0]], "TIFF")
    with pytest.raises(
        ValueError, match="its 2 frames hold 0.0017 megapixels in all, more than the 0.001"
    ):
        render.colourise_frames(tiff, generator)


def test_counting_a_tiff_s_pages_stops_past_the_limit():
    """A TIFF's pages are found only by walking their chain: the count stops at the limit + 1
    (200,000 pages took 303 s to count whole), and the file is left at its first page."""
    pages = _gray_frames(1, size=(2, 2)) * 40
    tiff = _reopened(pages, "TIFF")
    assert photo_files.frame_count(tiff, limit=10) == 11
    assert photo_files.frame_count(tiff, limit=100) == 40
    assert tiff.tell() == 0


def test_hints_are_painted_once_for_all_frames_of_an_animation(generator):
    """Frames x hints: 999 frames with 3,000 hints took 117 s when each frame painted them."""
    gif = _reopened(_gray_frames(5), "GIF", duration=100)
    generator = RecordingGenerator(width=4, hints=True)
    given = [Hint(x, x, "#00ff00") for x in range(0, 40, 2)]
    hints._painted_layer.cache_clear()
    render.colourise_frames(gif, generator, 64, given)
    # Once for the model's working size and once for the propagation's (imaging/propagation.py):
    # 4 hits each, 2 paintings
    assert hints._painted_layer.cache_info()[:2] == (8, 2)


def test_more_hints_than_the_one_cap_are_refused_everywhere():
    with pytest.raises(ValueError, match=r"501 hints are more than one photo takes \(500\)"):
        check_hints([Hint(0, 0, "#ff0000")] * 501, 10, 10)


def test_a_render_size_whose_memory_does_not_fit_is_refused_naming_one_that_does(monkeypatch):
    """Self-attention's memory grows with the square of the pixels: a 4:3 photo at render size
    1024 would ask for 24 GB; with 2 GB free, 512 x 384 fits (1.6 GB) and 544 x 416 (2.1 GB)
    does not. The limit is the machine's free memory, or COLOURISE_MEMORY_LIMIT_GB's."""
    generator = Generator(width=4, depth=5, hints=False, attention=True).eval()
    photo = Image.new("L", (1024, 768))
    advice = "; choose render size 512 or less."
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * 10**9)
    with pytest.raises(UserValueError) as refused:
        render.colourise_image(photo, generator, 1024)
    assert str(refused.value) == (
        "colourising it at render size 1024 needs about 24.3 GB of memory, more than the 2.0 GB "
        "this machine has free" + advice
    )
    assert render.colourise_image(photo, generator, 512).size == (1024, 768)

    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 10**9)
    monkeypatch.setenv(memory.MEMORY_LIMIT_VARIABLE, "2")
    with pytest.raises(UserValueError) as refused:
        render.colourise_image(photo, generator, 1024)
    assert str(refused.value).endswith("the 2.0 GB COLOURISE_MEMORY_LIMIT_GB allows" + advice)
    for bad in ("nan", "-1", "lots"):
        monkeypatch.setenv(memory.MEMORY_LIMIT_VARIABLE, bad)
        with pytest.raises(UserValueError, match=f"COLOURISE_MEMORY_LIMIT_GB is '{bad}'; give"):
            render.colourise_image(photo, generator, 64)
