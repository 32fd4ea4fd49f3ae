"""ONNX Runtime colours as PyTorch does (max |Δab| ≤ 1e-3 on real photos), and refuses files
that are not a generator this project exported (foreign operators, absurd numbers, answers that
are not what the graph declares), naming what is wrong and saying how to get one."""

import io
import json
from functools import cache

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.render import photo_ab, photo_lightness
from image_colourisation.models import onnx_runtime
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_export import generator_onnx
from image_colourisation.models.onnx_runtime import RENDER_SIZE_KEY, OnnxFileError, OnnxGenerator
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


def test_an_export_whose_weights_are_subnormal_is_refused() -> None:
    """Finite and small, so the magnitude bound passed them; the photo came back gray."""
    model = onnx.load_from_string(generator_onnx(tiny_trained_generator()))
    largest = max(model.graph.initializer, key=lambda tensor: numpy_helper.to_array(tensor).size)
    values = numpy_helper.to_array(largest)
    largest.CopyFrom(numpy_helper.from_array((values * 1e-40).astype(values.dtype), largest.name))
    with pytest.raises(OnnxFileError, match=r"is mostly subnormal numbers \(below 1\.2e-38\)"):
        OnnxGenerator(model.SerializeToString(), "gray.onnx")


@pytest.mark.parametrize("recorded", ["²", "9" * 5000, "64.5"])
def test_a_recorded_render_size_that_is_no_number_is_refused_naming_the_file(recorded) -> None:
    """ "²" passes str.isdigit but not int(); 5,000 digits pass both and Python's own limit not."""
    model = onnx.load_from_string(generator_onnx(tiny_trained_generator(), render_size=64))
    props = {prop.key: prop.value for prop in model.metadata_props}
    onnx.helper.set_model_props(model, {**props, RENDER_SIZE_KEY: recorded})
    with pytest.raises(OnnxFileError, match=r"odd\.onnx records render size .*, not a whole"):
        OnnxGenerator(model.SerializeToString(), "odd.onnx")


def test_a_run_past_the_time_limit_is_stopped_by_name(monkeypatch) -> None:
    """ONNX Runtime's call holds its thread (a forged graph ignored Ctrl+C for 30 s): it runs
    in a thread of its own, which its `terminate` flag stops at the limit (and on Ctrl+C)."""
    exported = OnnxGenerator(generator_onnx(Generator(width=16, dropout=0.0)), "slow.onnx")
    monkeypatch.setattr(onnx_runtime, "MAX_SECONDS_PER_IMAGE", 0.0)
    with pytest.raises(OnnxFileError, match=r"^slow\.onnx ran longer than 0 s on one image"):
        exported.colour(np.zeros((1, 1, 1024, 1024), np.float32))
    monkeypatch.setattr(onnx_runtime, "MAX_SECONDS_PER_IMAGE", 300.0)
    assert exported.colour(np.zeros((1, 1, 64, 64), np.float32)).shape == (1, 2, 64, 64)


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


@cache
def _small_export() -> bytes:
    torch.manual_seed(0)
    return generator_onnx(Generator(width=4, dropout=0.0))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (np.inf, r"holds NaN or infinity"),
        (np.nan, r"holds NaN or infinity"),
        (1e30, r"holds 1e\+30, beyond the 1,000,000 no weight of this project's models comes near"),
    ],
    ids=["inf", "NaN", "1e30"],
)
def test_an_export_whose_last_bias_is_absurd_is_refused_naming_it(value: float, problem: str):
    """Such a file passed every check and gave black (NaN) or saturated (+inf: tanh of it is 1)
    photos with exit 0: the payload's weight check never runs when its export colourises."""
    model = onnx.load_from_string(_small_export())
    bias = next(tensor for tensor in model.graph.initializer if tensor.name == "head.0.bias")
    values = numpy_helper.to_array(bias).copy()
    values[1] = value
    bias.CopyFrom(numpy_helper.from_array(values, bias.name))
    with pytest.raises(
        OnnxFileError,
        match=r"^damaged\.onnx is not a generator exported by this project: its initializer "
        rf"head\.0\.bias {problem}; write it again",
    ):
        OnnxGenerator(model.SerializeToString(), "damaged.onnx")


def test_an_absurd_attribute_is_refused_naming_its_node():
    model = onnx.load_from_string(_small_export())
    node = next(node for node in model.graph.node if node.op_type == "LeakyRelu")
    node.attribute[0].f = 1e30  # alpha: every negative activation times 10^30
    with pytest.raises(
        OnnxFileError, match=rf"its node {node.name}'s attribute alpha holds 1e\+30"
    ):
        OnnxGenerator(model.SerializeToString(), "forged.onnx")


def forged(nodes: list, **initializers: np.ndarray) -> bytes:
    """A graph that declares a generator's input and output (lightness [batch, 1, height,
    width] -> ab [batch, 2, height, width], with an architecture record), computing `nodes`."""
    graph = helper.make_graph(
        nodes,
        "forged",
        [helper.make_tensor_value_info("lightness", TensorProto.FLOAT, ["n", 1, "h", "w"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["n", 2, "h", "w"])],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    helper.set_model_props(
        model, {"architecture": json.dumps({"width": 4, "depth": 2, "dropout": 0.0})}
    )
    return model.SerializeToString()


def pair(name: str, output: str = "ab") -> onnx.NodeProto:
    """Two copies of the one-channel tensor `name`: ab, or what makes it."""
    return helper.make_node("Concat", [name, name], [output], axis=1)


# ab resized by `scales`: ONNX Runtime cannot tell the size of a free height times a scale, so
# the output keeps its declared [batch, 2, height, width] however the graph resizes.
RESIZED = [pair("lightness", "pair"), helper.make_node("Resize", ["pair", "", "scales"], ["ab"])]


@pytest.mark.parametrize(
    ("nodes", "initializers", "problem"),
    [
        (
            RESIZED,
            {"scales": np.array([1, 1, 1 / 8, 1 / 8], np.float32)},
            r"gave colours of shape \(1, 2, 1, 1\), expected \(1, 2, 8, 8\)",
        ),
        (
            RESIZED,
            {"scales": np.array([1, 1, 4, 4], np.float32)},
            r"gave colours of shape \(1, 2, 32, 32\), expected \(1, 2, 8, 8\)",
        ),
        (
            [helper.make_node("Mul", ["lightness", "gain"], ["loud"]), pair("loud")],
            {"gain": np.array(1000, np.float32)},
            r"gave colours up to 1e\+03, outside the normalised ab range \[-1, 1\]",
        ),
        (
            [helper.make_node("Div", ["lightness", "zero"], ["infinite"]), pair("infinite")],
            {"zero": np.array(0, np.float32)},
            r"gave NaN or infinite colours \(every photo would come out black\)",
        ),
    ],
    ids=["1x1", "16 times the pixels", "ab of 1000", "infinite ab"],
)
def test_an_answer_that_is_not_what_the_graph_declared_is_refused(nodes, initializers, problem):
    """The output is declared [batch, 2, height, width] and every number is in bounds, so the
    file loads; what it computes is garbage, which gave garbled photos with exit 0."""
    exported = OnnxGenerator(forged(nodes, **initializers), "lies.onnx")
    with pytest.raises(OnnxFileError, match=rf"^lies\.onnx {problem}, so it is not a sound"):
        exported.colour(np.ones((1, 1, 8, 8), np.float32))


def test_an_operator_no_export_uses_is_refused_by_name():
    """A Loop of 10^12 steps passes every check of inputs and outputs, then never answers."""
    scalar = {"i": TensorProto.INT64, "cond": TensorProto.BOOL}
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond"], ["cond_out"]),
            helper.make_node("Identity", ["x"], ["x_out"]),
        ],
        "body",
        [helper.make_tensor_value_info(name, kind, []) for name, kind in scalar.items()]
        + [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_out", TensorProto.FLOAT, None),
        ],
    )
    loop = helper.make_node("Loop", ["steps", "", "lightness"], ["looped"], body=body)
    model = forged([loop, pair("looped")], steps=np.array(10**12, np.int64))
    with pytest.raises(
        OnnxFileError,
        match=r"^loop\.onnx is not a generator exported by this project: it uses the operator "
        r"Loop, which no export of this project has",
    ):
        OnnxGenerator(model, "loop.onnx")


def test_every_module_the_record_allows_exports_within_the_checks():
    """The operator list is this project's exporter's: one generator with every optional
    module (the ImageNet encoder untrained: no download) loads and answers in range."""
    torch.manual_seed(0)
    generator = Generator(
        width=4, hints=True, bins=8, temperature=0.5, confidence=1.0, attention=True,
        residual_blocks=1, classes=3, imagenet_encoder=32,
    )  # fmt: skip
    with torch.no_grad():
        generator.head.centres.uniform_(-1, 1)
    exported = OnnxGenerator(generator_onnx(generator), "the export")
    lightness = np.random.default_rng(0).uniform(-1, 1, (2, 1, 64, 64)).astype(np.float32)
    assert exported.colour(lightness).shape == (2, 2, 64, 64)


def test_a_graph_that_asks_for_more_memory_than_the_budget_is_refused_before_it_gets_it(
    monkeypatch,
) -> None:
    """A 300-byte graph whose Resize blows an 8 x 8 image up 2,048 times asks for 1.07 GB at
    once (its architecture record says kilobytes): ONNX Runtime's arena, capped at the budget,
    refuses the allocation instead of making it, and the refusal names the file and sizes."""
    monkeypatch.setenv("COLOURISE_MEMORY_LIMIT_GB", "0.2")
    blown_up = [
        helper.make_node("Resize", ["lightness", "", "scales"], ["huge"]),
        helper.make_node("ReduceMean", ["huge"], ["mean"], keepdims=1),
        helper.make_node("Mul", ["lightness", "mean"], ["small"]),
        pair("small"),
    ]
    exported = OnnxGenerator(
        forged(blown_up, scales=np.array([1, 1, 2048, 2048], np.float32)), "greedy.onnx"
    )
    with pytest.raises(
        OnnxFileError,
        match=r"^greedy\.onnx asked for 1\.07 GB at once to colour one 8 x 8 image, more than "
        r"the 0\.20 GB COLOURISE_MEMORY_LIMIT_GB allows \(a generator of its architecture "
        r"needs about 0\.\d\d GB in all\); choose a smaller render size",
    ):
        exported.colour(np.ones((1, 1, 8, 8), np.float32))
    # The same cap leaves a sound export's colours as they were.
    sound = OnnxGenerator(generator_onnx(Generator(width=16, dropout=0.0)), "sound.onnx")
    assert sound.colour(np.zeros((1, 1, 64, 64), np.float32)).shape == (1, 2, 64, 64)
