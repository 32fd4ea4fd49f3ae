"""Project pipelines: one per folder under `pipelines/`, and `__default__` running them all."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from image_colourisation.pipelines.evaluation.pipeline import after_training

EVERY_PIPELINE = ("ingestion", "preprocessing", "training", "evaluation", "colourisation")


def register_pipelines() -> dict[str, Pipeline]:
    """`kedro run --pipelines <name>` for each pipeline; plain `kedro run` runs every one.

    Kedro discovers only the pipelines a run asks for, so `__default__` is built only when all
    are there. In it the evaluation scores the generators this very run trained (not whatever
    the models layer held before), which also makes Kedro order it after training.
    """
    pipelines = find_pipelines(raise_errors=True)
    if set(EVERY_PIPELINE) <= pipelines.keys():
        pipelines["__default__"] = (
            pipelines["ingestion"]
            + pipelines["preprocessing"]
            + pipelines["training"]
            + after_training(pipelines["evaluation"])
            + pipelines["colourisation"]
        )
    return pipelines
