"""The U-Net generator and PatchGAN discriminator: shapes, ranges, initialisation, hint inputs,
the class head and capacity options (their payloads: test_payloads.py)."""

import pytest
import torch

from image_colourisation.models.networks import (
    NO_HINT_INPUTS,
    Discriminator,
    Generator,
)
from image_colourisation.models.payloads import generator_from_payload, generator_payload


@pytest.mark.parametrize("size", [(32, 32), (64, 96), (128, 32), (96, 160)])
def test_generator_is_fully_convolutional(size: tuple[int, int]) -> None:
    generator = Generator(width=4).eval()
    with torch.no_grad():
        ab = generator(torch.rand(3, 1, *size) * 2 - 1)
    assert ab.shape == (3, 2, *size)
    assert ab.abs().max() <= 1.0  # tanh range: normalised ab


def test_shallower_generator_takes_smaller_multiples() -> None:
    generator = Generator(width=4, depth=3).eval()
    with torch.no_grad():
        assert generator(torch.zeros(2, 1, 8, 24)).shape == (2, 2, 8, 24)


def test_generator_names_the_size_rule() -> None:
    with pytest.raises(ValueError, match=r"\(48, 40\) pixels.*multiples of 32"):
        Generator(width=4)(torch.zeros(1, 1, 48, 40))


@pytest.mark.parametrize(("layers", "size", "patch"), [(3, 32, 4), (3, 64, 8), (2, 32, 8)])
def test_discriminator_gives_a_patch_of_logits(layers: int, size: int, patch: int) -> None:
    discriminator = Discriminator(width=4, layers=layers)
    logits = discriminator(torch.zeros(5, 1, size, size), torch.zeros(5, 2, size, size))
    assert logits.shape == (5, 1, patch, patch)


def test_pix2pix_initialisation() -> None:
    """Small N(0, 0.02) weights keep the first outputs near gray instead of saturated colour."""
    torch.manual_seed(0)
    generator = Generator(width=16)
    weights = torch.cat(
        [m.weight.flatten() for m in generator.modules() if isinstance(m, torch.nn.Conv2d)]
    )
    assert abs(weights.std().item() - 0.02) < 0.002


def test_a_hint_generator_takes_l_and_the_hint_layer() -> None:
    """Four input channels; no hints is the same as an all-zero hint layer."""
    torch.manual_seed(0)
    generator = Generator(width=4, dropout=0.0, hints=True).eval()
    assert generator.encoder[0][0].in_channels == 4
    assert generator.architecture == {"width": 4, "depth": 5, "dropout": 0.0, "hints": True}
    lightness = torch.rand(2, 1, 32, 64) * 2 - 1
    hints = torch.zeros(2, 3, 32, 64)
    with torch.no_grad():
        plain = generator(lightness)
        assert torch.equal(generator(lightness, hints), plain)
        hints[:, 0, 10:13, 20:23], hints[:, 2, 10:13, 20:23] = 0.5, 1.0
        assert not torch.allclose(generator(lightness, hints), plain)


def test_hints_for_a_model_without_hint_inputs_say_how_to_fix_it() -> None:
    generator = Generator(width=4).eval()
    with pytest.raises(ValueError, match="trained without hint inputs") as error:
        generator(torch.zeros(1, 1, 32, 32), torch.zeros(1, 3, 32, 32))
    assert str(error.value) == NO_HINT_INPUTS
    assert "retrain it with the current training pipeline" in NO_HINT_INPUTS
    assert "or colourise without hints" in NO_HINT_INPUTS


def test_a_hint_layer_of_the_wrong_shape_is_named() -> None:
    generator = Generator(width=4, hints=True).eval()
    with pytest.raises(
        ValueError, match=r"hints have shape \(1, 2, 32, 32\).*needs \(1, 3, 32, 32\)"
    ):
        generator(torch.zeros(1, 1, 32, 32), torch.zeros(1, 2, 32, 32))


def test_the_class_head_and_the_projection_discriminator() -> None:
    torch.manual_seed(0)
    generator = Generator(width=4, classes=10)
    lightness = torch.rand(3, 1, 32, 32) * 2 - 1
    prediction = generator.predict(lightness)
    assert prediction.class_logits.shape == (3, 10) and prediction.bin_logits is None
    assert generator.architecture["classes"] == 10
    assert Generator(width=4).predict(lightness).class_logits is None

    discriminator = Discriminator(width=4, layers=3, classes=10)
    ab = torch.rand(3, 2, 32, 32)
    first, second = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    # The class changes the verdict, through the projection alone.
    assert not torch.allclose(
        discriminator(lightness, ab, first), discriminator(lightness, ab, second)
    )
    with pytest.raises(ValueError, match="class-conditional: give the labels"):
        discriminator(lightness, ab)
    plain = Discriminator(width=4, layers=3)
    assert plain(lightness, ab).shape == discriminator(lightness, ab, first).shape


def test_capacity_starts_as_the_identity_and_round_trips() -> None:
    """Attention and residual blocks added to a trained generator change nothing until trained:
    a GAN warm-started from an L1 baseline without them starts where the baseline ended."""
    torch.manual_seed(0)
    plain = Generator(width=8, hints=True).eval()
    bigger = Generator(width=8, hints=True, attention=True, residual_blocks=2).eval()
    missing = bigger.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(key.startswith(("attention.", "bottleneck.")) for key in missing)
    lightness = torch.rand(2, 1, 64, 32) * 2 - 1
    assert torch.equal(bigger(lightness), plain(lightness))

    # Once trained (non-zero gamma and scales) the blocks do change the colours, and the
    # payload rebuilds the same model.
    with torch.no_grad():
        bigger.attention.gamma.fill_(0.5)
        for block in bigger.bottleneck:
            block.body[-1].weight.fill_(1.0)
    assert not torch.allclose(bigger(lightness), plain(lightness))
    rebuilt = generator_from_payload(generator_payload(bigger))
    assert rebuilt.architecture == {
        "width": 8, "depth": 5, "dropout": 0.5, "hints": True, "attention": True,
        "residual_blocks": 2,
    }  # fmt: skip
    assert torch.equal(rebuilt(lightness), bigger(lightness))
