"""The served model's pipeline: request rows of base64 image files -> rows of base64 PNGs."""

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from PIL import Image

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import NO_HINT_INPUTS
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_export import generator_onnx
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.colourisation import nodes
from image_colourisation.pipelines.colourisation.nodes import decode_request_photos
from image_colourisation.pipelines.colourisation.pipeline import create_inference_pipeline
from tests.photo_models import (
    ab_distance_near,
    real_photo,
    tiny_hint_generator,
    tiny_trained_generator,
)


def encoded(image: Image.Image, image_format: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def answer(
    requests: pd.DataFrame, generator: Generator | None = None, runtime: str = "onnx"
) -> pd.DataFrame:
    """Run the inference pipeline as KedroPipelineModel does: a catalog of memory datasets."""
    generator = generator or tiny_trained_generator()
    catalog = DataCatalog(
        {
            "colourisation_requests": MemoryDataset(requests),
            "served_generator": MemoryDataset(generator_payload(generator)),
            "served_generator_onnx": MemoryDataset(generator_onnx(generator)),
            "params:colourisation.render_size": MemoryDataset(64),
            "params:colourisation.runtime": MemoryDataset(runtime),
        }
    )
    outputs = SequentialRunner().run(create_inference_pipeline(), catalog)
    return outputs["colourisation_answers"].load()


def test_photos_come_back_colourised_at_their_size_and_bad_rows_get_their_error() -> None:
    coffee = real_photo("coffee").resize((150, 100))  # sides not multiples of 32
    gray = real_photo("chelsea").convert("L").resize((96, 64))
    requests = pd.DataFrame(
        {
            "image": [
                encoded(coffee, "JPEG"),
                "bm90IGFuIGltYWdl",  # base64 of "not an image"
                encoded(gray, "WEBP"),
                "%%%",
                encoded(gray, "PNG"),
            ],
            "render_size": [64, None, 32, None, 33],
        }
    )
    answers = answer(requests)

    assert list(answers.columns) == ["image", "width", "height", "error"]
    assert answers["error"].tolist()[0] == answers["error"].tolist()[2] == ""
    assert "not a readable picture" in answers.loc[1, "error"]
    assert "not valid base64" in answers.loc[3, "error"]
    assert (
        answers.loc[4, "error"]
        == "render_size must be a multiple of 32 from 32 to 1024 (e.g. 64), got 33."
    )
    for row, source in [(0, coffee), (2, gray)]:
        png = Image.open(io.BytesIO(base64.b64decode(answers.loc[row, "image"])))
        assert png.format == "PNG" and png.size == source.size
        assert (answers.loc[row, "width"], answers.loc[row, "height"]) == source.size
        lab = rgb_to_lab(np.asarray(png.convert("RGB")))
        source_l = rgb_to_lab(np.asarray(source.convert("RGB")))[..., 0]
        assert np.abs(lab[..., 0] - source_l).mean() < 1.5  # the photo's own lightness
        assert np.abs(lab[..., 1:]).mean() > 2  # colour, not gray


def test_a_request_without_an_image_column_says_what_to_send() -> None:
    with pytest.raises(ValueError, match=r"needs an 'image' column .* 'render_size' and 'hints'"):
        decode_request_photos(pd.DataFrame({"photo": ["..."]}), 64)


def test_a_picture_over_pillows_pixel_limit_gets_its_own_error_with_the_fix(monkeypatch) -> None:
    small = real_photo("coffee").resize((40, 30))
    large = real_photo("coffee").resize((80, 60))
    requests = pd.DataFrame({"image": [encoded(large, "PNG"), encoded(small, "PNG")]})
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)  # 80x60 is over twice that
    answers = answer(requests)
    assert answers.loc[0, "error"].startswith("image has too many pixels to open safely")
    assert answers.loc[0, "error"].endswith("shrink it below 0.004 megapixels first.")
    assert answers.loc[1, "error"] == ""


def test_rows_past_the_requests_pixel_budget_get_their_own_error_undecoded(monkeypatch) -> None:
    """8 rows of a 169-MP PNG were decoded together into 7.0 GB: the rows' pixels are summed
    from their headers, and a row past the budget is answered without being decoded."""
    photo = encoded(real_photo("coffee").resize((40, 30)), "PNG")
    monkeypatch.setattr(nodes, "MAX_REQUEST_PIXELS", 2_500)  # two 1,200-pixel photos fit
    decoded = decode_request_photos(pd.DataFrame({"image": [photo] * 3}), 64)
    assert [row.error for row in decoded[:2]] == [None, None]
    assert decoded[2].photo is None
    assert decoded[2].error == (
        "image holds 0.0012 megapixels, more than the 0.0001 left of the 0.0025 one request may "
        "hold in all (the rows before it took the rest); send it in a request of its own"
    )


GREEN = "#2ecc71"


def test_a_rows_hints_guide_its_colour_and_bad_hints_are_that_rows_error() -> None:
    coffee = encoded(real_photo("coffee"), "PNG")  # 600x400
    hints = json.dumps([{"x": 300, "y": 200, "colour": GREEN}])
    requests = pd.DataFrame(
        {
            "image": [coffee, coffee, coffee, coffee, coffee, coffee],
            "hints": [hints, "", None, "[{", '[{"x": 600, "y": 5, "color": "#00ff00"}]', "[]"],
        }
    )
    answers = answer(requests, tiny_hint_generator())

    assert answers["error"].tolist()[:3] == ["", "", ""] and answers.loc[5, "error"] == ""
    assert answers.loc[3, "error"].startswith("hints is not JSON")
    assert answers.loc[4, "error"].startswith("hint 600,5,#00ff00 is outside the 600x400 photo")
    hinted = ab_distance_near(answers.loc[0, "image"], 300, 200, GREEN)
    plain = ab_distance_near(answers.loc[1, "image"], 300, 200, GREEN)
    assert hinted < 0.75 * plain  # measured: about 34 against 71
    assert answers.loc[1, "image"] == answers.loc[2, "image"] == answers.loc[5, "image"]


def test_hints_for_a_served_model_without_hint_inputs_are_that_rows_error() -> None:
    photo = encoded(real_photo("chelsea").resize((150, 100)), "PNG")
    hints = json.dumps([{"x": 10, "y": 10, "colour": GREEN}])
    answers = answer(pd.DataFrame({"image": [photo, photo], "hints": [hints, ""]}))
    assert answers["error"].tolist() == [NO_HINT_INPUTS, ""]


def test_a_render_size_that_is_not_a_whole_number_is_its_rows_error() -> None:
    """A column mixing sizes and none arrives as floats (64.0); 64.9, text or infinity does not
    stop the other rows."""
    dot = encoded(Image.new("L", (40, 30), 128), "PNG")
    sizes = [64.0, float("nan"), 64.9, "64", float("inf"), True]
    answers = answer(pd.DataFrame({"image": [dot] * 6, "render_size": pd.Series(sizes)}))
    assert answers["error"].tolist()[:2] == ["", ""]
    for row, shown in zip(range(2, 6), ["64.9", "'64'", "inf", "True"], strict=True):
        assert answers.loc[row, "error"] == (
            f"render_size {shown} is not a whole number; give one such as 64, or leave it out "
            "for the model's own"
        )


def test_a_render_size_above_the_maximum_is_its_rows_error_before_any_work() -> None:
    """A 1x1 photo at render size 8192 would be scaled to 8192x8192 for the generator (GBs)."""
    dot = encoded(Image.new("L", (1, 1)), "PNG")
    answers = answer(pd.DataFrame({"image": [dot, dot], "render_size": [8192, 32]}))
    assert answers.loc[0, "error"] == (
        "render_size must be a multiple of 32 from 32 to 1024 (e.g. 64), got 8192."
    )
    assert answers.loc[1, "error"] == "" and answers.loc[1, "width"] == 1


def test_onnx_runtime_and_pytorch_serve_the_same_colours() -> None:
    requests = pd.DataFrame({"image": [encoded(real_photo("coffee").resize((150, 100)), "PNG")]})
    photos = [
        np.asarray(
            Image.open(io.BytesIO(base64.b64decode(answer(requests, runtime=runtime).image[0])))
        )
        for runtime in ("onnx", "torch")
    ]
    assert np.abs(photos[0].astype(int) - photos[1]).max() <= 1  # a byte's rounding
