"""Hints carried along edges: a hint colours its own region, not the one across an edge."""

import numpy as np
import pytest
from PIL import Image

from image_colourisation.imaging import propagation, render
from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import Hint
from image_colourisation.imaging.propagation import (
    PROPAGATION_SIZE,
    propagate,
    propagate_hints,
    propagation_shape,
)
from image_colourisation.imaging.render import colourise_image

RED = "#c0392b"
RED_AB = rgb_to_lab(np.array([[0xC0, 0x39, 0x2B]], np.uint8))[0, 1:]


def two_regions(width: int = 60, height: int = 40) -> np.ndarray:
    """L* of a photo split by a vertical edge: dark left half, light right half."""
    lightness = np.full((height, width), 80.0, np.float32)
    lightness[:, : width // 2] = 30.0
    return lightness


class FlatModel:
    """A hint model that predicts one colour everywhere (gray by default), whatever the hints."""

    takes_hints = True
    size_multiple = 32

    def __init__(self, ab: tuple[float, float] = (0.0, 0.0)) -> None:
        self.ab = np.array(ab, np.float32)[:, None, None] / 110.0

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        return np.broadcast_to(self.ab, (1, 2, *lightness.shape[2:])).copy()

    def memory_needed(self, height: int, width: int) -> int:
        return 0


def test_a_hint_colours_its_region_and_stops_at_the_edge() -> None:
    lightness = two_regions()
    prior = np.zeros((2, *lightness.shape), np.float32)
    ab = propagate_hints(lightness, prior, [Hint(10, 20, RED)], (60, 40))
    assert ab[:, 20, 10] == pytest.approx(RED_AB, abs=1e-3)  # the hint itself, exactly
    chroma = np.hypot(*ab)
    assert chroma[17:24, 7:14].mean() > 0.5 * np.hypot(*RED_AB)  # around it, most of its colour
    assert chroma[:, 30:].max() < 0.5  # across the edge: the light half keeps no colour


def test_a_long_fade_fills_the_region_up_to_the_edge() -> None:
    lightness = two_regions()
    hinted = np.zeros(lightness.shape, bool)
    hinted[20, 10] = True
    hint_ab = np.broadcast_to(RED_AB[:, None, None], (2, 40, 60)).astype(np.float32)
    ab = propagate(lightness, np.zeros_like(hint_ab), hint_ab, hinted, fade=100.0)
    chroma = np.hypot(*ab)
    assert chroma[:, :30].min() > 0.9 * np.hypot(*RED_AB)
    assert chroma[:, 30:].max() < 0.5


def test_without_hints_the_models_colour_is_kept_exactly() -> None:
    prior = np.random.default_rng(0).normal(size=(2, 40, 60)).astype(np.float32)
    assert propagate_hints(two_regions(), prior, [], (60, 40)) is prior
    nowhere = np.zeros((40, 60), bool)
    assert np.array_equal(propagate(two_regions(), prior, prior * 0, nowhere), prior)


def test_across_an_edge_the_models_colour_stays() -> None:
    lightness = two_regions()
    prior = np.zeros((2, 40, 60), np.float32)
    prior[:, :, 30:] = np.array([20.0, -15.0])[:, None, None]  # the model's colour, right half
    ab = propagate_hints(lightness, prior, [Hint(10, 20, RED)], (60, 40))
    assert np.abs(ab[:, :, 31:] - prior[:, :, 31:]).max() < 0.5


def test_far_from_a_hint_the_models_colour_stays() -> None:
    """The default fade (a fifth of the long side): a hint stays in its part of the photo."""
    lightness = np.full((20, 100), 50.0, np.float32)  # one flat region
    prior = np.full((2, 20, 100), 20.0, np.float32)
    hinted = np.zeros(lightness.shape, bool)
    hinted[10, 2] = True
    ab = propagate(lightness, prior, np.zeros_like(prior), hinted)
    assert abs(ab[0, 10, 2]) < 1e-3  # gray at the hint
    assert ab[0, 10, 3] < 10.0  # mostly gray beside it
    assert ab[0, :, 70:].mean() == pytest.approx(20.0, abs=0.5)  # the model's far away


def test_the_renderer_carries_hints_along_edges_at_full_size() -> None:
    photo = Image.fromarray((two_regions(200, 120) * 2.55).astype(np.uint8)).convert("RGB")
    coloured = colourise_image(photo, FlatModel(), 64, [Hint(30, 60, RED)])
    lab = rgb_to_lab(np.asarray(coloured)[None])[0]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma[50:70, 20:40].mean() > 0.5 * np.hypot(*RED_AB)  # the hint's region
    assert chroma[:, 105:].max() < 1.0  # across the edge it stays gray


def test_automatic_colourisation_is_untouched() -> None:
    """0 hints: bit for bit what the model's ab joined with the photo's L* gives."""
    photo = Image.fromarray((two_regions(90, 70) * 2.55).astype(np.uint8)).convert("RGB")
    model = FlatModel((25.0, -10.0))
    lightness = render.photo_lightness(photo)
    expected = render.join_lightness_and_ab(lightness, render.photo_ab(model, lightness, 64))
    assert np.array_equal(np.asarray(colourise_image(photo, model, 64)), np.asarray(expected))


def test_a_large_photo_is_solved_at_the_working_size(monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[tuple[int, ...]] = []

    def recording(lightness: np.ndarray, *rest: object) -> np.ndarray:
        solved.append(lightness.shape)
        return propagate_hints(lightness, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(propagation, "propagate_hints", recording)
    photo = Image.new("RGB", (1600, 1000), (90, 90, 90))
    coloured = colourise_image(photo, FlatModel(), 64, [Hint(800, 500, RED)])
    assert coloured.size == (1600, 1000)
    assert solved == [(80, PROPAGATION_SIZE)]
    assert propagation_shape((4000, 6000)) == (85, PROPAGATION_SIZE)
    assert propagation_shape((20, 30)) == (20, 30)  # small photos as they are
