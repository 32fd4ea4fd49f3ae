"""Training parameters: every bad value is named, with what it may be, before any work."""

import pytest

from image_colourisation.pipelines.training.config import problems, project_training_params
from tests.project_copy import PROJECT_ROOT


def test_defaults_are_valid_and_floats_stay_floats() -> None:
    params = project_training_params(PROJECT_ROOT, l1_weight=100, lr=1)
    assert params.l1_weight == 100.0 and isinstance(params.l1_weight, float)
    assert isinstance(params.lr, float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"epochs": -1}, r"training.epochs is -1; allowed: an integer in \[0, 100000\]"),
        ({"batch_size": 0}, r"training.batch_size is 0; allowed: an integer in \[1, 65536\]"),
        ({"device": "tpu"}, "training.device is 'tpu'; allowed: one of auto, cpu, cuda"),
        ({"width": 0}, r"training.width is 0; allowed: an integer in \[1, 1024\]"),
        ({"width": 100_000}, r"training.width is 100000; allowed: an integer in \[1, 1024\]"),
        ({"width": 2.5}, r"training.width is 2.5 \(float\); allowed: an integer in \[1, 1024\]"),
        ({"width": "32"}, r"training.width is '32' \(str\); allowed: an integer in \[1, 1024\]"),
        ({"width": True}, r"training.width is True \(bool\); allowed: an integer in"),
        ({"sample_every": 0}, r"training.sample_every is 0; allowed: an integer in \[1, 100000\]"),
        ({"dropout": 1.0}, r"training.dropout is 1.0; allowed: a number in \[0, 1\)"),
        ({"real_label": 0}, r"training.real_label is 0; allowed: a number in \(0, 1\]"),
        ({"lr": -1e-4}, r"training.lr is -0.0001; allowed: a number in \[0, 10\]"),
        ({"lr": float("inf")}, r"training.lr is inf; allowed: a number in \[0, 10\]"),
        ({"resume": "yes"}, r"training.resume is 'yes' \(str\); allowed: True or False"),
        ({"warm_start": 1}, r"training.warm_start is 1 \(int\); allowed: True or False"),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(override: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        project_training_params(PROJECT_ROOT, **override)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValueError) as error:
        project_training_params(PROJECT_ROOT, epochs=-2, batch_size=0, device="gpu")
    assert str(error.value).count("training.") == 3


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match="widht"):
        project_training_params(PROJECT_ROOT, widht=32)  # type: ignore[call-arg]
    values = {**project_training_params(PROJECT_ROOT).as_dict(), "widht": 32}
    assert problems(values) == [
        "training.widht is not a parameter of training; did you mean width?"
    ]


def test_absurd_values_and_seeds_beyond_numpy_are_refused() -> None:
    with pytest.raises(ValueError, match=r"training.seed is 4294967296; allowed: an integer in"):
        project_training_params(PROJECT_ROOT, seed=2**32)
    with pytest.raises(ValueError, match=r"training.epochs is 1000000000000; allowed"):
        project_training_params(PROJECT_ROOT, epochs=10**12)


def test_hint_parameters_take_a_partial_mapping_and_name_bad_values() -> None:
    params = project_training_params(PROJECT_ROOT, hints={"max_patch": 5})
    assert params.hints.max_patch == 5 and params.hints.p_none == 0.5 and params.hints.enabled
    assert not project_training_params(PROJECT_ROOT, hints={"enabled": False}).hints.enabled
    with pytest.raises(ValueError, match=r"training.hints.p_none is 2; allowed: a number in"):
        project_training_params(PROJECT_ROOT, hints={"p_none": 2})
    with pytest.raises(
        ValueError, match=r"training.hints.count is not a parameter of training.hints"
    ):
        project_training_params(PROJECT_ROOT, hints={"count": 3})
    with pytest.raises(ValueError, match=r"training.hints.enabled is 'yes' \(str\); allowed: True"):
        project_training_params(PROJECT_ROOT, hints={"enabled": "yes"})
