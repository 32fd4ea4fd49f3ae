"""ONNX Runtime colours as PyTorch does (max |Δab| ≤ 1e-3 on real photos), and refuses files
that are not a generator this project exported, saying how to get one."""

import io
import json

import numpy as np
import onnx
import pytest
import torch

from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.render import photo_ab, photo_lightness
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_export import generator_onnx
from image_colourisation.models.onnx_runtime import OnnxFileError, OnnxGenerator
from tests.photo_models import page_hint_generator, real_photo, tiny_trained_generator

PARITY = 1e-3  # a*b* units; bytes of the result round at about 0.2


@pytest.mark.parametrize("render_size", [64, 160])
@pytest.mark.parametrize(
    ("build", "hints"),
    [
        (tiny_trained_generator, ()),
        (page_hint_generator, ()),
        (page_hint_generator, (Hint(200, 150, "#c81e1e"), Hint(20, 300, "#143cdc"))),
    ],
    ids=["automatic", "hint model, no hints", "hint model, two hints"],
)
def test_onnx_runtime_colours_real_photos_as_pytorch_does(build, hints, render_size):
    generator = build()
    exported = OnnxGenerator(generator_onnx(generator), "the export")
    for name in ("coffee", "astronaut"):
        lightness = photo_lightness(real_photo(name))
        expected = photo_ab(generator, lightness, render_size, hints)
        got = photo_ab(exported, lightness, render_size, hints)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= PARITY, name


def test_the_export_records_what_colourising_needs():
    exported = OnnxGenerator(generator_onnx(page_hint_generator(), render_size=128), "the export")
    assert exported.takes_hints
    assert exported.size_multiple == 32
    assert exported.render_size == 128
    assert not OnnxGenerator(generator_onnx(tiny_trained_generator()), "x").takes_hints


def test_a_file_that_is_not_onnx_is_refused_with_the_way_to_export_one():
    with pytest.raises(OnnxFileError, match=r"not an ONNX model.*onnx_export PAYLOAD"):
        OnnxGenerator(b"not a model", "photo.onnx")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter
def test_a_foreign_onnx_model_is_refused_naming_the_problem():
    buffer = io.BytesIO()
    torch.onnx.export(
        torch.nn.Conv2d(1, 2, 3, padding=1), (torch.zeros(1, 1, 8, 8),), buffer, dynamo=False
    )
    with pytest.raises(OnnxFileError, match=r"foreign\.onnx records no generator architecture"):
        OnnxGenerator(buffer.getvalue(), "foreign.onnx")


def test_inputs_that_do_not_match_the_recorded_architecture_are_refused():
    model = onnx.load_from_string(generator_onnx(page_hint_generator()))
    architecture = {"width": 8, "depth": 5, "dropout": 0.0}  # says: no hint inputs
    onnx.helper.set_model_props(model, {"architecture": json.dumps(architecture)})
    with pytest.raises(
        OnnxFileError, match=r"inputs are \['hints', 'lightness'\], expected \['lightness'\]"
    ):
        OnnxGenerator(model.SerializeToString(), "mixed.onnx")


@pytest.mark.parametrize(
    ("architecture", "problem"),
    [
        ({"width": 8, "depth": 99, "dropout": 0.0}, r"says depth is 99; allowed"),
        ({"width": 8, "depth": 5, "dropout": 0.0, "colour": "red"}, r"has unknown keys"),
        ([8, 5], r"is a list, not a mapping"),
    ],
)
def test_an_architecture_record_is_checked_as_a_payloads_is(architecture, problem: str) -> None:
    model = onnx.load_from_string(generator_onnx(tiny_trained_generator()))
    onnx.helper.set_model_props(model, {"architecture": json.dumps(architecture)})
    with pytest.raises(OnnxFileError, match=rf"odd\.onnx's architecture record {problem}"):
        OnnxGenerator(model.SerializeToString(), "odd.onnx")


def test_self_attention_and_residual_blocks_export_too():
    torch.manual_seed(0)
    generator = Generator(width=8, dropout=0.0, attention=True, residual_blocks=2).eval()
    with torch.no_grad():
        generator.attention.gamma.fill_(0.5)  # starts at 0: the attention would add nothing
    exported = OnnxGenerator(generator_onnx(generator), "the export")
    lightness = photo_lightness(real_photo("chelsea"))
    for render_size in (64, 160):
        expected = photo_ab(generator, lightness, render_size)
        assert np.abs(photo_ab(exported, lightness, render_size) - expected).max() <= PARITY


def test_an_export_whose_weights_hold_nan_is_refused_instead_of_colouring_black():
    """The payload's NaN check never runs when its ONNX export is what colourises (the
    default runtime): such a file coloured every photo black with exit 0."""
    model = onnx.load_from_string(generator_onnx(tiny_trained_generator()))
    weight = next(tensor for tensor in model.graph.initializer if tensor.name.startswith("decoder"))
    values = onnx.numpy_helper.to_array(weight).copy()
    values.flat[:3] = np.nan
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    damaged = OnnxGenerator(model.SerializeToString(), "damaged.onnx")
    with pytest.raises(OnnxFileError, match=r"^damaged\.onnx gave NaN or infinite colours: its"):
        photo_ab(damaged, photo_lightness(real_photo("chelsea")), 64)
