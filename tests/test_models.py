"""The U-Net generator and PatchGAN discriminator: shapes, ranges, payload round trip."""

import pytest
import torch

from image_colourisation.models import (
    Discriminator,
    Generator,
    generator_from_payload,
    generator_payload,
)


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


def test_payload_round_trip_keeps_architecture_and_output() -> None:
    torch.manual_seed(0)
    generator = Generator(width=4, depth=4, dropout=0.0).eval()
    rebuilt = generator_from_payload(generator_payload(generator))
    assert rebuilt.architecture == {"width": 4, "depth": 4, "dropout": 0.0}
    assert not rebuilt.training
    lightness = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt(lightness), generator(lightness))


def test_pix2pix_initialisation() -> None:
    """Small N(0, 0.02) weights keep the first outputs near gray instead of saturated colour."""
    torch.manual_seed(0)
    generator = Generator(width=16)
    weights = torch.cat(
        [m.weight.flatten() for m in generator.modules() if isinstance(m, torch.nn.Conv2d)]
    )
    assert abs(weights.std().item() - 0.02) < 0.002
