"""Model payloads (payloads.py): a generator saved and rebuilt with its architecture record, and
payloads that do not fit their record refused by name before anything is built."""

import pytest
import torch

from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import (
    ModelFileError,
    generator_from_payload,
    generator_payload,
)


def test_payload_round_trip_keeps_architecture_and_output() -> None:
    torch.manual_seed(0)
    generator = Generator(width=4, depth=4, dropout=0.0).eval()
    rebuilt = generator_from_payload(generator_payload(generator))
    assert rebuilt.architecture == {"width": 4, "depth": 4, "dropout": 0.0}
    assert not rebuilt.training
    lightness = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt(lightness), generator(lightness))


def _payload(**architecture) -> dict:
    """A real width-4 generator's weights under an architecture record of the test's choosing."""
    state = generator_payload(Generator(width=4)).get("state_dict")
    return {"architecture": architecture, "state_dict": state}


FITTING = {"width": 4, "depth": 5, "dropout": 0.5}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (["width", 4], r"holds a list, not a payload"),
        ({"architecture": FITTING}, r"holds \['architecture'\], not a payload"),
        (None, r"holds a NoneType"),
        ({"architecture": [4, 5], "state_dict": {}}, r"architecture record is a list, not a map"),
        ({"architecture": "width=4", "state_dict": {}}, r"architecture record is a str"),
        ({"architecture": {**FITTING, "layers": 3}, "state_dict": {}}, r"unknown keys \['layers'\]"),
        ({"architecture": {"width": 4}, "state_dict": {}}, r"lacks \['depth', 'dropout'\]"),
        ({"architecture": {**FITTING, "width": "4"}, "state_dict": {}}, r"width is '4' \(str\)"),
        ({"architecture": {**FITTING, "width": True}, "state_dict": {}}, r"width is True \(bool\)"),
        ({"architecture": {**FITTING, "width": 1_000_000}, "state_dict": {}}, r"width is 1000000"),
        ({"architecture": {**FITTING, "depth": 50}, "state_dict": {}}, r"depth is 50; allowed: an integer in \[2, 10\]"),
        ({"architecture": {**FITTING, "bins": -3}, "state_dict": {}}, r"bins is -3; allowed: 0 or an integer"),
        ({"architecture": {**FITTING, "dropout": float("nan")}, "state_dict": {}}, r"dropout is nan"),
        ({"architecture": {**FITTING, "temperature": 0.0, "bins": 8}, "state_dict": {}}, r"temperature is 0\.0"),
        ({"architecture": {**FITTING, "hints": "yes"}, "state_dict": {}}, r"hints is 'yes' \(str\); allowed: True or False"),
        ({"architecture": {**FITTING, "hints": 1}, "state_dict": {}}, r"hints is 1 \(int\); allowed: True or False"),
        (_payload(**FITTING, hints=True), r"encoder\.0\.0\.weight has shape \(4, 1, 4, 4\), the architecture needs \(4, 4, 4, 4\)"),
        ({"architecture": {"width": 1024, "depth": 10, "dropout": 0.5}, "state_dict": {}}, r"implies 20,367,862,786 weights"),
        ({"architecture": FITTING, "state_dict": [1, 2]}, r"state_dict is a list"),
        (_payload(width=8, depth=5, dropout=0.5), r"encoder\.0\.0\.weight has shape \(4, 1, 4, 4\), the architecture needs \(8, 1, 4, 4\)"),
        (_payload(width=4, depth=4, dropout=0.5), r"it has 12 weights it has no place for \(encoder\.4\.0\.weight"),
        (_payload(width=4, depth=5, dropout=0.5, bins=16), r"it lacks 9 weights it needs \(head\.centres, .*and it has 2 weights it has no place for \(head\.0\.weight, head\.0\.bias\)"),
    ],
)  # fmt: skip
def test_a_payload_that_does_not_fit_its_architecture_is_refused_before_building(
    payload, problem: str
) -> None:
    """Wrong types, unknown keys, absurd sizes, foreign weights: one sentence naming the source,
    and nothing allocated (width 1,000,000 would need terabytes)."""
    with pytest.raises(ModelFileError, match=r"^Model source 'x\.pt' is not a usable generator: "):
        generator_from_payload(payload, "Model source 'x.pt'")
    with pytest.raises(ValueError, match=problem):
        generator_from_payload(payload, "Model source 'x.pt'")


def test_weights_of_the_wrong_kind_are_named() -> None:
    payload = _payload(**FITTING)
    state = dict(payload["state_dict"])
    state["head.0.bias"] = [0.0, 0.0]
    with pytest.raises(ModelFileError, match=r"head\.0\.bias is a list, not a tensor"):
        generator_from_payload({**payload, "state_dict": state})
    state["head.0.bias"] = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ModelFileError, match=r"head\.0\.bias holds torch\.int64"):
        generator_from_payload({**payload, "state_dict": state, "source": "a.pt"})
    with pytest.raises(ModelFileError, match=r"^a\.pt is not a usable generator"):
        generator_from_payload({**payload, "state_dict": state, "source": "a.pt"})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_weights_holding_nan_or_infinity_are_refused(value: float) -> None:
    """They pass every check of names and shapes, then colourise every photo black."""
    payload = _payload(**FITTING)
    state = dict(payload["state_dict"])
    state["encoder.1.0.weight"] = state["encoder.1.0.weight"].clone()
    state["encoder.1.0.weight"][0, 0, :2, 0] = value
    with pytest.raises(
        ModelFileError,
        match=r"^a\.pt is not a usable generator: its weight encoder\.1\.0\.weight holds 2 NaN "
        r"or infinite values, so everything it made would be meaningless \(black photos\)",
    ):
        generator_from_payload({**payload, "state_dict": state}, "a.pt")


def test_a_finite_weight_beyond_any_trained_model_is_refused_naming_it(generator: dict) -> None:
    """3e38 is finite, so it passed the check above; it overflows the first layer it meets and
    coloured every photo black with exit 0. Trained generators stay below 50 (record.py)."""
    state = dict(generator["state_dict"])
    state["head.0.bias"] = state["head.0.bias"].clone()
    state["head.0.bias"][1] = 3e38
    with pytest.raises(
        ModelFileError,
        match=r"^a\.pt is not a usable generator: its weight head\.0\.bias holds 3e\+38, beyond "
        r"the 1,000,000 no weight of this project's models comes near, so everything it made",
    ):
        generator_from_payload({**generator, "state_dict": state}, "a.pt")
    state["head.0.bias"][1] = 1e5  # within the bound, and far beyond what training gives
    generator_from_payload({**generator, "state_dict": state}, "a.pt")


def test_weights_that_are_mostly_subnormal_are_refused(generator: dict) -> None:
    """Weights scaled into the subnormal range (1e-40) are finite and small, so every bound
    above passed them, and the photo came back gray with exit 0. A few, as training leaves,
    stay allowed."""
    state = {name: value * 1e-40 if value.is_floating_point() else value
             for name, value in generator["state_dict"].items()}  # fmt: skip
    with pytest.raises(
        ModelFileError,
        match=r"^a\.pt is not a usable generator: 100% of its weights are subnormal numbers "
        r"\(below 1\.2e-38\), which trained weights are not: it would colour every photo gray",
    ):
        generator_from_payload({**generator, "state_dict": state}, "a.pt")
    state = dict(generator["state_dict"])
    state["head.0.bias"] = state["head.0.bias"].clone()
    state["head.0.bias"][0] = 1e-40
    generator_from_payload({**generator, "state_dict": state}, "a.pt")


def test_colour_bin_generators_round_trip() -> None:
    generator = Generator(width=4, bins=16, temperature=0.5).eval()
    generator.head.centres.copy_(torch.rand(16, 2) * 2 - 1)
    rebuilt = generator_from_payload(generator_payload(generator))
    assert rebuilt.architecture == {
        "width": 4, "depth": 5, "dropout": 0.5, "bins": 16, "temperature": 0.5
    }  # fmt: skip
    assert torch.equal(rebuilt.head.centres, generator.head.centres)


def test_payloads_from_before_hints_load_as_one_channel_models() -> None:
    """The record says hints only when true, so older payloads (no key) still fit."""
    plain = generator_from_payload(generator_payload(Generator(width=4)))
    assert "hints" not in plain.architecture and not plain.takes_hints
    assert plain.encoder[0][0].in_channels == 1
    hinted = generator_from_payload(generator_payload(Generator(width=4, hints=True)))
    assert hinted.takes_hints and hinted.encoder[0][0].in_channels == 4
