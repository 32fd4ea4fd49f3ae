"""Project pipelines: one per folder under `pipelines/`, and `__default__` running them all."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from image_colourisation.pipelines.evaluation.pipeline import after_training


def register_pipelines() -> dict[str, Pipeline]:
    """`kedro run --pipeline <name>` for each pipeline; plain `kedro run` runs every one.

    In `__default__` the evaluation scores the generators this very run trained (not whatever
    the models layer held before), which also makes Kedro order it after training.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = (
        pipelines["ingestion"]
        + pipelines["preprocessing"]
        + pipelines["training"]
        + after_training(pipelines["evaluation"])
        + pipelines["colourisation"]
    )
    return pipelines
