"""Project settings: the config loader, the telemetry switch and the project's hooks.

kedro-mlflow registers its own hooks as a plugin; the project's live in `hooks/`:
`hooks/project.py` makes runs started side by side safe (the MLflow store is created by one
process at a time, and a variant's checkpoint folder is trained into by one run at a time) and
ends a run that fails on the user's error with its message alone; `hooks/registry.py` gives
the registered model's new version its evaluation figures and the champion/challenger aliases;
`hooks/memory.py` gives the memory each node freed back to the system.
"""

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import click
from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf
from omegaconf.resolvers import oc

from image_colourisation.hooks.memory import ReleaseMemoryHook
from image_colourisation.hooks.parameters import ParametersHook
from image_colourisation.hooks.project import (
    TrackingLostHook,
    TrackingStoreHook,
    TrainingLockHook,
    UserErrorHook,
)
from image_colourisation.hooks.registry import RegistryHook

# Kedro's telemetry must never prompt or send anything: the committed `.telemetry` file says
# `consent: false`, and this default covers runs started from outside the Makefile.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

# Warnings that the libraries' own code raises on every run, whatever the project does, are
# silenced one by one (message, category, the module raising it), so that others still show.
# Kedro's config loader and kedro-mlflow register their resolvers with OmegaConf's deprecated
# `register_new_resolver` (the project registers none).
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config|kedro_mlflow\.",
)

# kedro-mlflow logs the served pipeline as a Python object, which MLflow says on every training
# run is pickled with CloudPickle; kedro-mlflow has no other way, and the project never
# unpickles it (`serving/model_sources.py` reads only the generator's payload inside it).
logging.getLogger("mlflow.pyfunc").addFilter(
    lambda record: not record.getMessage().startswith("Passing a Python object as `python_model`")
)


def _define_served_model_class_quietly() -> None:
    """Define kedro-mlflow's `KedroPipelineModel` (the class of the served model) without
    MLflow's warning that its `predict` has no type hints: kedro-mlflow's code, not ours. MLflow
    raises it under its own `simplefilter("once")`, past any filter, so only that message is
    dropped on its way to be shown; any other warning is shown as before."""
    shown = warnings.showwarning

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        if "Add type hints to the `predict` method" not in str(message):
            shown(message, *args, **kwargs)

    warnings.showwarning = show
    try:
        import kedro_mlflow.mlflow.kedro_pipeline_model  # noqa: F401, PLC0415
    finally:
        warnings.showwarning = shown


_define_served_model_class_quietly()


class EnvironmentCheckingConfigLoader(OmegaConfigLoader):
    """Kedro's config loader, refusing an `--env` (or KEDRO_ENV) that names no folder of the
    configuration before anything reads it. Kedro would read no file of it and go on: the
    first to notice was MLflow, with an error about its file store."""

    def __init__(self, conf_source: str, env: str | None = None, **kwargs: Any) -> None:
        folder = Path(conf_source)
        base = kwargs.get("base_env") or "base"
        if env is not None and folder.is_dir():  # a packaged project's conf is an archive
            environments = sorted(
                entry.name
                for entry in folder.iterdir()
                if entry.is_dir() and entry.name != base and not entry.name.startswith(".")
            )
            if env not in environments:
                raise click.UsageError(
                    f"--env {env!r} is not a configuration environment of this project; the "
                    f"environments are the folders of {folder} read over {base}/: "
                    f"{', '.join(environments) or 'none'}."
                )
        super().__init__(conf_source, env, **kwargs)


CONFIG_LOADER_CLASS = EnvironmentCheckingConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (`--env gpu`) overrides single parameters, not whole sections.
    "merge_strategy": {"parameters": "soft"},
    # `${merge:${training},${photos.training_changes}}`: a section that is another one with a
    # few keys changed, so each default is written once (parameters_photos.yml).
    # `${oc.env:MLFLOW_TRACKING_URI}`: conf/team/mlflow.yml names the team's tracking server by an
    # environment variable (Kedro allows `oc.env` only in credentials unless registered here).
    "custom_resolvers": {"merge": OmegaConf.merge, "oc.env": oc.env},
}

HOOKS = (
    ParametersHook(),
    TrackingStoreHook(),
    TrainingLockHook(),
    RegistryHook(),
    ReleaseMemoryHook(),
    TrackingLostHook(),
    UserErrorHook(),
)
