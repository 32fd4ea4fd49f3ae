"""Recipe parts beside the step: warm start, the moving average, feature matching."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from image_colourisation.pipelines.training import losses
from image_colourisation.pipelines.training.colour_bins import colour_bin_grid
from image_colourisation.pipelines.training.config import TrainingParams
from image_colourisation.pipelines.training.nodes import train_l1_baseline
from image_colourisation.pipelines.training.steps import (
    build_models,
    gan_step,
    update_ema,
    warm_start,
)
from tests.imagenet_weights import shared_imagenet_weights
from tests.pipelines.training.synthetic import synthetic_set, train_arrays

CPU = torch.device("cpu")


def test_warm_start_copies_every_matching_weight(params: TrainingParams) -> None:
    source = build_models(replace(params, seed=1), CPU).generator.state_dict()
    models = build_models(params, CPU)
    assert warm_start(models, source) == []
    assert all(torch.equal(models.generator.state_dict()[k], v) for k, v in source.items())


def test_warm_start_leaves_a_different_head_fresh(params: TrainingParams) -> None:
    source = build_models(replace(params, seed=1), CPU).generator.state_dict()
    _, ab = synthetic_set(4, 0)
    bins = colour_bin_grid(ab, rebalance=0.5)
    models = build_models(replace(params, colour_bins=True), CPU, bins)
    fresh = warm_start(models, source)
    assert fresh and all(name.startswith("head.") for name in fresh)
    assert torch.equal(
        models.generator.state_dict()["encoder.0.0.weight"], source["encoder.0.0.weight"]
    )


def test_a_run_with_no_epochs_returns_the_warm_start(params: TrainingParams) -> None:
    source = build_models(replace(params, seed=1), CPU).generator.state_dict()
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    generator = train_arrays(*data, replace(params, epochs=0), "gan", init=source)
    assert all(torch.equal(generator.state_dict()[k], v) for k, v in source.items())


def test_moving_average_blends_weights_and_copies_batchnorm_statistics() -> None:
    average, model = torch.nn.BatchNorm2d(2), torch.nn.BatchNorm2d(2)
    with torch.no_grad():
        average.weight.fill_(0.0)
        model.weight.fill_(1.0)
        model.running_mean.fill_(3.0)
    update_ema(average, model, decay=0.75)
    assert torch.allclose(average.weight, torch.full((2,), 0.25))
    assert torch.equal(average.running_mean, model.running_mean)


def test_the_kept_generator_is_the_average_when_there_is_one(params: TrainingParams) -> None:
    models = build_models(replace(params, ema_decay=0.9), CPU)
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, 0))
    gan_step(models, lightness, ab, replace(params, ema_decay=0.9))
    assert models.final_generator is models.ema
    trained, averaged = models.generator.state_dict(), models.ema.state_dict()
    changed = [
        k for k in trained if k.endswith("weight") and not torch.equal(trained[k], averaged[k])
    ]
    assert changed  # the average lags behind the trained weights
    plain = build_models(replace(params, ema_decay=0.0), CPU)
    assert plain.ema is None and plain.final_generator is plain.generator


def test_colour_bins_step_reports_its_loss_and_predicts_in_range(params: TrainingParams) -> None:
    lightness, ab = synthetic_set(8, 0)
    bins = colour_bin_grid(ab, rebalance=0.5)
    run = replace(params, colour_bins=True)
    models = build_models(run, CPU, bins)
    figures = gan_step(models, torch.from_numpy(lightness), torch.from_numpy(ab), run)
    assert {"g_bins_loss", "g_l1_loss", "d_loss"} <= set(figures)
    assert np.isfinite(figures["g_bins_loss"].item())
    with torch.no_grad():
        predicted = models.generator.eval()(torch.from_numpy(lightness))
    assert predicted.shape == ab.shape and predicted.abs().max() <= 1.0


def test_feature_matching_is_zero_for_the_truth_and_reported(params: TrainingParams) -> None:
    features = [torch.rand(2, 3, 4, 4), torch.rand(2, 1, 2, 2)]
    assert losses.feature_matching(features, features).item() == 0.0
    shifted = [features[0] + 0.5, features[1] + 9.0]  # the logits (last) do not count
    assert losses.feature_matching(shifted, features).item() == pytest.approx(0.5)
    run = replace(params, feature_matching_weight=10.0)
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, 0))
    figures = gan_step(build_models(run, CPU), lightness, ab, run)
    assert figures["g_fm_loss"].item() > 0


def _inputs_of_the_first_conv(models, params: TrainingParams) -> torch.Tensor:
    seen = []
    models.generator.encoder[0].register_forward_hook(lambda _, args, __: seen.append(args[0]))
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, 0))
    gan_step(models, lightness, ab, params)
    return seen[0]


def test_the_generator_trains_on_hints_drawn_from_the_true_colours(
    params: TrainingParams,
) -> None:
    always = replace(params, hints=replace(params.hints, p_none=0.0, max_patch=1))
    inputs = _inputs_of_the_first_conv(build_models(always, CPU), always)
    assert inputs.shape[1] == 4  # L, hint a, hint b, mask
    mask, hint_ab = inputs[:, 3], inputs[:, 1:3]
    assert (mask.flatten(1).sum(dim=1) >= 1).all()  # every image got at least one hint
    _, ab = synthetic_set(8, 0)
    shown = mask.bool()[:, None].expand_as(hint_ab)
    assert torch.allclose(hint_ab[shown], torch.from_numpy(ab)[shown])  # 1-pixel hints: truth
    assert (hint_ab[~shown] == 0).all()

    never = replace(params, hints=replace(params.hints, p_none=1.0))
    assert (_inputs_of_the_first_conv(build_models(never, CPU), never)[:, 1:] == 0).all()
    off = replace(params, hints=replace(params.hints, enabled=False))
    assert _inputs_of_the_first_conv(build_models(off, CPU), off).shape[1] == 1


def test_class_information_trains_the_head_and_conditions_d(params: TrainingParams) -> None:
    aware = replace(params, class_weight=1.0, class_conditional=True)
    models = build_models(aware, CPU, classes=3)
    assert models.generator.classify is not None and models.discriminator.embed is not None
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, 0))
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    losses_seen = [gan_step(models, lightness, ab, aware, labels)["g_class_loss"] for _ in range(5)]
    assert losses_seen[-1] < losses_seen[0]  # the head learns the classes
    plain = build_models(params, CPU, classes=3)  # class_weight 0, not conditional: neither
    assert plain.generator.classify is None and plain.discriminator.embed is None


def test_unlabelled_images_switch_class_information_off(params: TrainingParams, caplog) -> None:
    aware = replace(params, epochs=1, class_weight=1.0, class_conditional=True)
    lightness, ab = synthetic_set(16, 0)
    with caplog.at_level("INFO"):
        payload = train_l1_baseline(
            {"L": lightness, "ab": ab}, _validation(), shared_imagenet_weights, aware
        )
    assert "off for this run: the training arrays have no labels" in caplog.text
    assert "classes" not in payload["architecture"]
    labelled = {"L": lightness, "ab": ab, "labels": np.arange(16) % 2, "class_names": ["a", "b"]}
    assert (
        train_l1_baseline(labelled, _validation(), shared_imagenet_weights, aware)["architecture"][
            "classes"
        ]
        == 2
    )


def _validation() -> dict[str, np.ndarray]:
    lightness, ab = synthetic_set(8, 1)
    return {"L": lightness, "ab": ab}
