"""`RegistryHook`: after a training run, rank the model version it registered.

The version is tagged with the run's evaluation figures and the `champion` / `challenger`
aliases move by the `registry.criterion` parameter (`registry.register_run`).
"""

import logging
import time
from typing import Any

import click
from kedro.framework.hooks import hook_impl

from image_colourisation.core.ranges import Choice, Rules, Text

logger = logging.getLogger(__name__)

# `registry.*` (conf/base/parameters_registry.yml), checked before any run (`parameters.py`).
RULES: Rules = {
    "criterion": {
        "metric": Text("a metric of the gan run, e.g. val_psnr", max_length=250),
        "goal": Choice(("minimize", "maximize")),
    }
}


class RegistryHook:
    """After a run that logged the served model (a kedro-mlflow `PipelineML`: `kedro run` or
    `kedro run --pipelines training`), tag its registered version with the evaluation figures
    and move the `champion` / `challenger` aliases (`registry.register_run`)."""

    def __init__(self) -> None:
        self._run_id: str | None = None

    @hook_impl(trylast=True)  # after kedro-mlflow has opened the run
    def before_pipeline_run(self, run_params: Any, pipeline: Any, catalog: Any) -> None:
        import mlflow  # noqa: PLC0415 - kedro-mlflow imports it anyway
        from kedro_mlflow.pipeline.pipeline_ml import PipelineML  # noqa: PLC0415

        self._run_id = None
        if not isinstance(pipeline, PipelineML) or mlflow.active_run() is None:
            return
        registry_criterion(catalog)  # a bad parameter stops the run now, not after training
        self._run_id = mlflow.active_run().info.run_id
        from image_colourisation.serving.registry import mark_orphans  # noqa: PLC0415

        for message in mark_orphans(mlflow.MlflowClient(), int(time.time() * 1000)):
            logger.warning(message)

    @hook_impl(trylast=True)  # after kedro-mlflow has logged and registered the model
    def after_pipeline_run(
        self, run_params: Any, run_result: Any, pipeline: Any, catalog: Any
    ) -> None:
        if self._run_id is None:
            return
        import mlflow  # noqa: PLC0415

        from image_colourisation.serving.registry import register_run  # noqa: PLC0415

        message = register_run(mlflow.MlflowClient(), self._run_id, registry_criterion(catalog))
        if message is None:
            logger.warning("MLflow run %s registered no model version", self._run_id)
        else:
            logger.info(message)
        self._run_id = None


def registry_criterion(catalog: Any) -> Any:
    """`registry.criterion` of the parameters as a `registry.Criterion`, checked."""
    from image_colourisation.serving.registry import Criterion  # noqa: PLC0415

    criterion = catalog.load("params:registry")["criterion"]
    try:
        return Criterion(**criterion)
    except TypeError as error:
        raise click.UsageError(
            f"registry.criterion is {criterion!r}; it takes `metric` (a metric of the gan "
            "run, e.g. val_psnr) and `goal` (minimize or maximize)."
        ) from error
    except ValueError as error:
        raise click.UsageError(str(error)) from error
