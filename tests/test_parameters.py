"""Each default is written once: the YAML of conf/base. Photo training, its classifier and its
critic are CIFAR-10's sections with a few keys changed, so a change to those reaches them."""

from dataclasses import MISSING, asdict, fields
from typing import Any

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from image_colourisation.models.hint_sampling import HintSampling
from image_colourisation.pipelines.training.config import (
    DistributedParams,
    HintParams,
    TrainingParams,
    project_training_params,
)
from tests.project_copy import PROJECT_ROOT


def project_params(changes: dict[str, Any]) -> dict[str, Any]:
    """The parameters `kedro run --params ...` would give the nodes."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(PROJECT_ROOT, runtime_params=changes) as session:
        return session.load_context().params


@pytest.mark.parametrize("kind", [TrainingParams, DistributedParams, HintParams, HintSampling])
def test_the_parameter_classes_hold_no_defaults(kind: type) -> None:
    with_default = [
        item.name
        for item in fields(kind)
        if item.default is not MISSING or item.default_factory is not MISSING
    ]
    assert not with_default, f"{kind.__name__} repeats the YAML's defaults: {with_default}"


def test_a_changed_training_value_reaches_photo_training() -> None:
    params = project_params({"training": {"lr": 0.001, "hints": {"p_none": 0.25}}})
    photos = params["photos"]["training"]
    assert photos.lr == params["training"].lr == 0.001
    assert photos.hints.p_none == 0.25  # a nested key reaches it too
    assert photos.hints.max_patch == 5 and params["training"].hints.max_patch == 3  # its change
    assert (photos.epochs, params["training"].epochs) == (20, 10)


def test_photo_training_keeps_its_own_overrides_from_the_command_line() -> None:
    params = project_params({"photos": {"training": {"epochs": 3}}})
    assert (params["photos"]["training"].epochs, params["training"].epochs) == (3, 10)


def test_the_photos_classifier_and_critic_are_the_evaluations_with_smaller_batches() -> None:
    params = project_params({"evaluation": {"classifier": {"width": 40}}})
    evaluation, photos = params["evaluation"], params["photos"]
    assert photos["classifier"] == {**evaluation["classifier"], "batch_size": 32}
    assert photos["critic"] == {**evaluation["critic"], "batch_size": 32}
    assert photos["classifier"]["width"] == 40


def test_a_section_missing_a_key_is_named() -> None:
    values = {"p_none": 0.5, "geometric_p": 0.125, "max_hints": 32}  # no max_patch, no enabled
    with pytest.raises(
        ValueError,
        match=r"training.hints.enabled is missing \(it is set in conf/base\)\n  training.hints.max_patch is missing",
    ):
        TrainingParams(**{**asdict(project_training_params(PROJECT_ROOT)), "hints": values})
