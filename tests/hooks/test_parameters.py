"""Every parameter of `conf/base` with a wrong type, NaN, infinity, a negative or an absurd
value is refused before anything runs, in one line that names it (issue 35's parameter walk)."""

import copy
import math
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import click
import pytest
from kedro.config import OmegaConfigLoader

from image_colourisation.hooks.parameters import ParametersHook
from image_colourisation.settings import CONFIG_LOADER_ARGS
from tests.project_copy import PROJECT_ROOT


def loader(changes: dict[str, Any]) -> OmegaConfigLoader:
    """conf/base as `kedro run --params` with `changes` gives it to the hook."""
    conf = str(PROJECT_ROOT / "conf")
    return OmegaConfigLoader(conf, **CONFIG_LOADER_ARGS, env="base", runtime_params=changes)


def leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


BASE = {"parameters": loader({})["parameters"], "globals": loader({})["globals"]}
PARAMETERS = dict(leaves({**BASE["parameters"], "cifar10": BASE["globals"]["cifar10"]}))


def nested(path: str, value: Any) -> dict[str, Any]:
    """`a.b.c=value` as Kedro's `--params` gives it: {"a": {"b": {"c": value}}}."""
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


def refusal(changes: dict[str, Any]) -> str | None:
    """What the hook says to conf/base with `changes` as `--params`, loaded by Kedro's loader."""
    return refusal_of(loader(changes))


def refusal_of(config_loader: Any) -> str | None:
    try:
        ParametersHook().after_context_created(SimpleNamespace(config_loader=config_loader))
    except click.UsageError as error:
        return error.message
    return None


def with_value(path: str, value: Any) -> dict[str, Any]:
    """conf/base's resolved parameters and globals with `path` set to `value` as `--params`
    sets it, without the loader's 40 ms per resolution (the walk makes some 900 cases):
    photos.training is training's with photos.training_changes merged in, so a change there
    reaches it too."""
    config = copy.deepcopy(BASE)
    paths = [path]
    if path.startswith("photos.training_changes."):
        paths.append(path.replace("photos.training_changes.", "photos.training."))
    for each in paths:
        *sections, key = each.split(".")
        place = config["parameters"]
        for section in sections:
            place = place.setdefault(section, {})
        place[key] = value
    return config


def test_the_project_s_own_parameters_pass() -> None:
    assert len(PARAMETERS) > 100
    assert refusal({}) is None


@pytest.mark.parametrize("path", sorted(PARAMETERS))
def test_every_bad_value_is_refused_in_one_line_naming_the_parameter(path: str) -> None:
    wrong_type = 12.5 if isinstance(PARAMETERS[path], str) else "text"
    # photos.training_changes are changes to training's values that make photos.training.
    named = path.replace("photos.training_changes.", "photos.training.")
    for value in [wrong_type, math.nan, math.inf, -1, 10**12]:
        message = refusal_of(with_value(path, value))
        assert message is not None, f"{path}={value!r} was accepted"
        assert "\n" not in message and message.startswith(named), message
        assert len(message) < 300, message


def test_several_problems_are_listed_at_once_and_a_typo_gets_a_guess() -> None:
    message = refusal({"training": {"widht": 8, "epochs": -1}, "benchmark": {"runtime": "gpu"}})
    assert message == (
        "invalid parameters:\n"
        "  training.widht is not a parameter of training; did you mean width?\n"
        "  training.epochs is -1; allowed: an integer in [0, 100000]\n"
        "  benchmark.runtime is 'gpu'; allowed: one of null, onnx, torch"
    )


def test_a_bad_training_value_is_not_reported_again_for_the_photos_pipeline() -> None:
    assert refusal({"training": {"width": 0}}) == (
        "training.width is 0; allowed: an integer in [1, 1024]"
    )
    assert refusal({"photos": {"training_changes": {"width": 0}}}) == (
        "photos.training.width is 0; allowed: an integer in [1, 1024]"
    )
