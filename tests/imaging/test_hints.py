"""People's colour hints: parsing what people type and placing hints on the working image."""

import json

import numpy as np
import pytest
from skimage.color import rgb2lab

from image_colourisation.imaging.hints import (
    Hint,
    check_hints,
    frame_hints_from_json,
    hint_layer,
    hints_from_json,
    parse_hint,
    read_frame_hints_file,
    read_hints_file,
    truth_hints,
)


def reference_ab(colour: str) -> np.ndarray:
    """The hex colour's a*, b* / 110, by scikit-image rather than the code under test."""
    rgb = np.array([[[int(colour[i : i + 2], 16) for i in (1, 3, 5)]]], dtype=np.uint8)
    return rgb2lab(rgb)[0, 0, 1:] / 110


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("412,230,#c0392b", Hint(412, 230, "#c0392b")),
        (" 0 , 7 , #C0392B ", Hint(0, 7, "#c0392b")),
    ],
)
def test_a_hint_is_x_y_and_a_hex_colour(text: str, hint: Hint) -> None:
    assert parse_hint(text) == hint
    assert str(hint) == f"{hint.x},{hint.y},{hint.colour}"


@pytest.mark.parametrize(
    "text", ["412,230", "412;230;#c0392b", "-1,5,#c0392b", "1.5,5,#c0392b", "1,5,red", "1,5,#c0392"]
)
def test_bad_hint_text_names_the_hint_and_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not X,Y,#rrggbb .*e\.g\. 412,230,#c0392b") as error:
        parse_hint(text)
    assert repr(text) in str(error.value)


def test_a_hints_file_takes_colour_or_color(tmp_path) -> None:
    path = tmp_path / "hints.json"
    items = [{"x": 3, "y": 4, "colour": "#00FF00"}, {"x": 0, "y": 0, "color": "#123456"}]
    path.write_text(json.dumps(items))
    assert read_hints_file(path) == [Hint(3, 4, "#00ff00"), Hint(0, 0, "#123456")]
    assert hints_from_json("[]") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", r"hints file .* is not JSON"),
        ('{"x": 1, "y": 2, "colour": "#000000"}', r"is a JSON dict; give a list"),
        ('[{"x": 1, "y": 2, "colour": "#000000"}, {"x": 1, "colour": "#000000"}]', r"\[1\] is"),
        ('[{"x": true, "y": 2, "colour": "#000000"}]', r"\[0\] is {\"x\": true"),
        ('[{"x": 1.5, "y": 2, "colour": "#000000"}]', r"\[0\] is"),
        ('[{"x": 1, "y": -2, "colour": "#000000"}]', r"\[0\] is"),
        ('[{"x": 1, "y": 2, "colour": "blue"}]', r"\[0\] is"),
        ('["1,2,#000000"]', r"\[0\] is \"1,2,#000000\", not a hint"),
    ],
)
def test_a_bad_hints_file_names_the_bad_hint_and_the_form(
    tmp_path, text: str, problem: str
) -> None:
    path = tmp_path / "hints.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem) as error:
        read_hints_file(path)
    assert str(path) in str(error.value)
    assert '{"x": 412, "y": 230, "colour": "#c0392b"}' in str(error.value)


def test_a_videos_hints_file_groups_hints_by_frame(tmp_path) -> None:
    path = tmp_path / "film.json"
    items = [
        {"frame": 3, "x": 3, "y": 4, "colour": "#00FF00"},
        {"frame": 0, "x": 1, "y": 2, "color": "#123456"},
        {"frame": 3, "x": 5, "y": 6, "colour": "#000000"},
    ]
    path.write_text(json.dumps(items))
    assert read_frame_hints_file(path) == {
        3: [Hint(3, 4, "#00ff00"), Hint(5, 6, "#000000")],
        0: [Hint(1, 2, "#123456")],
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[{"x": 1, "y": 2, "colour": "#000000"}]', r"\[0\] is {\"x\": 1.*, not a hint on a frame"),
        ('[{"frame": 0, "x": 1, "y": 2, "colour": "#000000"}, {"frame": -1, "x": 1, "y": 2, "colour": "#000000"}]', r"\[1\] is .*not a hint on a frame"),
        ('[{"frame": "2", "x": 1, "y": 2, "colour": "#000000"}]', r"\[0\] is .*not a hint on a frame"),
        ('[{"frame": 1.5, "x": 1, "y": 2, "colour": "#000000"}]', r"\[0\] is .*not a hint on a frame"),
        ('[{"frame": 2, "x": 1, "colour": "#000000"}]', r"\[0\] is .*not a hint: give x and y"),
        ('{"frame": 2}', r"is a JSON dict; give a list: \[{\"frame\": 0"),
    ],
)  # fmt: skip
def test_a_bad_frame_hint_names_the_item(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        frame_hints_from_json(text, "film.json")


def test_a_missing_hints_file_is_named(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"hints file .*nowhere\.json cannot be read"):
        read_hints_file(tmp_path / "nowhere.json")


def test_a_hint_outside_the_photo_names_it_and_the_size() -> None:
    check_hints([Hint(0, 0, "#ffffff"), Hint(1023, 767, "#ffffff")], 1024, 768)
    with pytest.raises(ValueError, match=r"hint 1024,5,#ffffff is outside the 1024x768 photo"):
        check_hints([Hint(5, 5, "#ffffff"), Hint(1024, 5, "#ffffff")], 1024, 768)
    with pytest.raises(ValueError, match=r"x must be 0-1023 and y 0-767"):
        check_hints([Hint(5, 768, "#ffffff")], 1024, 768)


def test_a_hint_lands_where_the_photo_is_resized_to() -> None:
    """The centre of a 1024x768 photo is the centre of its 64x48 working image (padded to
    64x64 for the U-Net), holding the hex colour's ab and mask 1 over a 3x3 patch."""
    layer = hint_layer([Hint(512, 384, "#c0392b")], (1024, 768), (48, 64), (64, 64))
    assert layer.shape == (3, 64, 64) and layer.dtype == np.float32
    hinted = np.argwhere(layer[2] == 1)
    assert hinted.min(axis=0).tolist() == [23, 31] and hinted.max(axis=0).tolist() == [25, 33]
    assert len(hinted) == 9 and layer[2].sum() == 9
    np.testing.assert_allclose(
        layer[:2, 23:26, 31:34].reshape(2, -1).T, [reference_ab("#c0392b")] * 9, atol=2e-4
    )
    assert not layer[:2, layer[2] == 0].any()  # ab is 0 wherever there is no hint


def test_hints_at_the_edges_stay_out_of_the_padding() -> None:
    """A hint at the bottom-right pixel is cut at the photo's edge, not spread into padding."""
    layer = hint_layer(
        [Hint(599, 399, "#0000ff"), Hint(0, 0, "#ffff00")], (600, 400), (43, 64), (64, 64)
    )
    assert np.argwhere(layer[2] == 1).tolist() == [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
        [41, 62],
        [41, 63],
        [42, 62],
        [42, 63],
    ]
    np.testing.assert_allclose(layer[:2, 42, 63], reference_ab("#0000ff"), atol=2e-4)
    assert not layer[:, 43:].any()


def test_a_later_hint_covers_an_earlier_one() -> None:
    layer = hint_layer(
        [Hint(10, 10, "#ff0000"), Hint(11, 10, "#00ff00")], (64, 64), (64, 64), (64, 64)
    )
    np.testing.assert_allclose(layer[:2, 10, 10], reference_ab("#00ff00"), atol=2e-4)
    np.testing.assert_allclose(layer[:2, 10, 9], reference_ab("#ff0000"), atol=2e-4)


def test_truth_hints_hold_the_mean_true_colour_of_their_patch() -> None:
    photo = np.zeros((64, 128, 3), dtype=np.uint8)
    photo[:, :64] = (200, 40, 40)  # red left half, blue right half
    photo[:, 64:] = (20, 40, 220)
    hints = truth_hints(photo, 12, (0, 7), render_size=64)  # 2 photo pixels per working pixel
    assert hints == truth_hints(photo, 12, (0, 7), render_size=64)  # the seed alone decides
    assert hints != truth_hints(photo, 12, (1, 7), render_size=64)
    check_hints(hints, 128, 64)
    for hint in hints:
        # a 3x3 working patch: 6x6 photo pixels around the hint, cut at the photo's edge
        left, right = max(hint.x - 3, 0), min(hint.x + 3, 128)
        red_share = (min(right, 64) - min(left, 64)) / (right - left)
        expected = np.round(
            red_share * np.array([200, 40, 40]) + (1 - red_share) * np.array([20, 40, 220])
        )
        assert hint.colour == "#" + expected.astype(np.uint8).tobytes().hex()
    assert {hint.colour for hint in hints} >= {"#c82828", "#1428dc"}  # some fall inside a half
