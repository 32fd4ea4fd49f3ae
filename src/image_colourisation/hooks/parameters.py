"""`ParametersHook`: every parameter of `conf/base` (and of `--params`) checked before Kedro
builds the catalog or a node's dataclass, each bad value in one line.

Kedro reports a dataclass that refuses its values, or a dataset that refuses its arguments, as
some 130-280 lines of traceback with the reason inside. Checked here, after the context is made
and before anything else, `kedro run --params training.width=0` ends with
`Error: training.width is 0; allowed: an integer in [1, 1024]` (a usage error, exit 2).
Each section's rules live beside the code that reads it (`pipelines/*/params.py`,
`training/config.py`, `datasets/cifar10.py`, `hooks/registry.py`).
"""

from collections.abc import Mapping
from typing import Any

import click
from kedro.framework.hooks import hook_impl

from image_colourisation.core.ranges import Rules, problems_in
from image_colourisation.datasets import cifar10
from image_colourisation.hooks.registry import RULES as REGISTRY
from image_colourisation.pipelines.benchmark.params import RULES as BENCHMARK
from image_colourisation.pipelines.colourisation.params import RULES as COLOURISATION
from image_colourisation.pipelines.evaluation.params import RULES as EVALUATION
from image_colourisation.pipelines.photos import params as photos
from image_colourisation.pipelines.preprocessing.params import RULES as PREPROCESSING
from image_colourisation.pipelines.training import config as training

# The sections checked by their rules alone; `training` and `photos` are checked first.
SECTIONS: dict[str, Rules] = {
    "evaluation": EVALUATION,
    "benchmark": BENCHMARK,
    "colourisation": COLOURISATION,
    "preprocessing": PREPROCESSING,
    "registry": REGISTRY,
    "cifar10": cifar10.RULES,
}


def parameter_problems(parameters: Mapping[str, Any]) -> list[str]:
    """Every problem among the sections of `parameters` this project knows, one line each."""
    found = training.problems(parameters["training"]) if "training" in parameters else []
    broken = {"training"} if found else set()
    for section, rules in SECTIONS.items():
        if section in parameters:
            found += problems_in(rules, parameters[section], section)
    # photos.classifier and photos.critic are evaluation's with a smaller batch.
    evaluation = parameters.get("evaluation")
    if isinstance(evaluation, Mapping):
        broken |= {
            name
            for name in ("classifier", "critic")
            if name in evaluation
            and problems_in(EVALUATION[name], evaluation[name], f"evaluation.{name}")
        }
    if "photos" in parameters:
        found += photos.problems(parameters["photos"], broken=broken)
    return found


def rule_for(name: str) -> Any:
    """The rule of the parameter `name` (e.g. "training.hints.p_none"), or None for a section or
    a name without one (the parameters page shows what each may be from it)."""
    section, *keys = name.split(".")
    trees: dict[str, Any] = {
        "training": training.RULES,
        "photos": {**photos.RULES, "training": training.RULES, "training_changes": training.RULES},
        **SECTIONS,
    }
    rule = trees.get(section)
    for key in keys:
        rule = rule.get(key) if isinstance(rule, Mapping) else None
    return None if isinstance(rule, Mapping) else rule


def refusal(problems: list[str]) -> str:
    """One line for one problem; a list under a heading for several."""
    if len(problems) == 1:
        return problems[0]
    return "invalid parameters:\n  " + "\n  ".join(problems)


class ParametersHook:
    """Refuses a bad parameter before Kedro builds anything from it."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        loader = context.config_loader
        parameters = dict(loader["parameters"])
        # The catalog reads cifar10.* from --params, else from globals.yml (catalog_ingestion).
        defaults = loader["globals"].get("cifar10", {})
        given = parameters.get("cifar10", {})
        if isinstance(defaults, Mapping) and isinstance(given, Mapping):
            parameters["cifar10"] = {**defaults, **given}
        found = parameter_problems(parameters)
        if found:  # printed by the `kedro` command as one message, exit 2
            raise click.UsageError(refusal(found))
