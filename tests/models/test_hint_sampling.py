"""Hints drawn from the truth, for training and for the evaluation's hints curve."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from image_colourisation.models.hint_sampling import (
    HintSampling,
    _paint,
    evaluation_hints,
    sample_hints,
)
from image_colourisation.pipelines.training.config import project_training_params
from tests.project_copy import PROJECT_ROOT

# Training's hint sampling as conf/base/parameters_training.yml sets it (its one home).
TRAINING_HINTS = {
    name: value
    for name, value in asdict(project_training_params(PROJECT_ROOT).hints).items()
    if name != "enabled"
}


def sampling(**changes: float) -> HintSampling:
    """Training's hint sampling with `changes`."""
    return HintSampling(**{**TRAINING_HINTS, **changes})


def true_ab(count: int = 64, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 2, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def draw(settings: HintSampling, ab: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    ab = true_ab() if ab is None else ab
    return sample_hints(ab, settings, torch.Generator().manual_seed(seed))


def test_each_sampled_hint_holds_its_patchs_mean_true_ab() -> None:
    """One hint per image (geometric p = 1): a square of side 1..3, its mean ab, mask 1."""
    ab = true_ab()
    hints = draw(sampling(p_none=0.0, geometric_p=1.0, max_patch=3), ab)
    assert hints.shape == (64, 3, 32, 32)
    sides = []
    for example, layer in zip(ab, hints, strict=True):
        rows, columns = np.nonzero(layer[2].numpy())
        side = rows.max() - rows.min() + 1
        assert columns.max() - columns.min() + 1 == side and len(rows) == side**2  # a square
        sides.append(side)
        patch = example[:, rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        expected = patch.mean(dim=(1, 2))[:, None]
        torch.testing.assert_close(layer[:2, rows, columns], expected.expand(2, len(rows)))
        assert not layer[:2, layer[2] == 0].any()
    assert sorted(set(sides)) == [1, 2, 3]


def test_hint_counts_follow_p_none_and_the_geometric_distribution() -> None:
    """Single-pixel hints on 64x64 images rarely overlap, so the mask counts the hints."""
    settings = sampling(p_none=0.5, geometric_p=1 / 8, max_hints=32, max_patch=1)
    counts = draw(settings, true_ab(count=4000, size=64))[:, 2].sum(dim=(1, 2))
    hinted = counts[counts > 0]
    assert abs(len(hinted) / 4000 - 0.5) < 0.03  # 0.5 +- 4 standard errors
    capped_mean = (1 - (7 / 8) ** 32) * 8  # E[min(geometric, 32)] = 7.89
    assert abs(hinted.mean().item() - capped_mean) < 0.4  # overlaps lose about 0.02 a row
    assert hinted.max() <= 32
    assert abs((hinted == 1).float().mean().item() - 1 / 8) < 0.03  # P(1) = p


def test_hint_places_are_uniform_over_the_image() -> None:
    settings = sampling(p_none=0.0, geometric_p=1 / 8, max_patch=1)
    hits = draw(settings, true_ab(count=4000, size=8))[:, 2].sum(dim=0)
    assert hits.min() > 0.8 * hits.mean() and hits.max() < 1.2 * hits.mean()  # corners too


def test_sampling_is_deterministic_for_a_seed() -> None:
    settings = sampling()
    assert torch.equal(draw(settings, seed=3), draw(settings, seed=3))
    assert not torch.equal(draw(settings, seed=3), draw(settings, seed=4))


def test_p_none_1_gives_no_hints_and_p_none_0_hints_every_image() -> None:
    assert not draw(sampling(p_none=1.0)).any()
    assert (draw(sampling(p_none=0.0))[:, 2].sum(dim=(1, 2)) > 0).all()


def test_painting_matches_ideepcolors_plain_loop() -> None:
    """Overlapping patches, some inactive: the vectorised painter equals a loop that paints
    each active patch's mean ab over the earlier ones."""
    generator = torch.Generator().manual_seed(0)
    ab = true_ab(count=8, size=16)
    sides = torch.randint(1, 6, (8, 12), generator=generator)
    tops = (torch.rand(8, 12, generator=generator) * (17 - sides)).long()
    lefts = (torch.rand(8, 12, generator=generator) * (17 - sides)).long()
    active = torch.rand(8, 12, generator=generator) < 0.7
    expected = torch.zeros(8, 3, 16, 16)
    for n in range(8):
        for k in range(12):
            if active[n, k]:
                window = (
                    slice(tops[n, k], tops[n, k] + sides[n, k]),
                    slice(lefts[n, k], lefts[n, k] + sides[n, k]),
                )
                expected[n, :2, window[0], window[1]] = ab[n, :, window[0], window[1]].mean(
                    dim=(1, 2)
                )[:, None, None]
                expected[n, 2, window[0], window[1]] = 1
    torch.testing.assert_close(_paint(ab, tops, lefts, sides, active), expected)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"p_none": 1.5}, r"p_none is 1\.5; allowed: a number in \[0, 1\]"),
        ({"geometric_p": 0}, r"geometric_p is 0; allowed: a number in \(0, 1\]"),
        ({"max_hints": 0}, r"max_hints is 0; allowed: an integer in \[1, 1000\]"),
        ({"max_patch": 2.5}, r"max_patch is 2\.5 \(float\); allowed: an integer in \[1, 32\]"),
    ],
)
def test_hint_sampling_settings_are_checked(settings: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        sampling(**settings)


def test_a_patch_larger_than_the_images_is_refused() -> None:
    with pytest.raises(ValueError, match=r"max_patch 9 does not fit 8x8 images; give at most 8"):
        draw(sampling(max_patch=9), true_ab(size=8))


def test_evaluation_hints_are_the_same_places_for_every_image_and_nested() -> None:
    ab = true_ab(count=6).numpy()
    five, ten = (
        evaluation_hints(ab, 5, seed=0, max_patch=3),
        evaluation_hints(ab, 10, seed=0, max_patch=3),
    )
    assert five.shape == (6, 3, 32, 32)
    assert (five[:, 2] == five[:1, 2]).all()  # the same places in every image
    assert (ten[:, 2] >= five[:, 2]).all() and ten[:, 2].sum() > five[:, 2].sum()  # hints added
    assert np.array_equal(evaluation_hints(ab, 5, seed=0, max_patch=3), five)
    assert not np.array_equal(evaluation_hints(ab, 5, seed=1, max_patch=3)[:, 2], five[:, 2])
    assert not evaluation_hints(ab, 0, seed=0, max_patch=3).any()
    # Each image's hints are its own colours: constant ab images give that constant.
    flat = np.broadcast_to(np.array([0.3, -0.2], np.float32)[None, :, None, None], ab.shape).copy()
    hinted = evaluation_hints(flat, 10, seed=0, max_patch=3)
    np.testing.assert_allclose(
        hinted[:, :2][:, :, hinted[0, 2] == 1],
        np.broadcast_to([[0.3], [-0.2]], (6, 2, int(hinted[0, 2].sum()))),
        atol=1e-6,
    )
