"""Project pipelines: one per folder under `pipelines/`, and `__default__` running them all."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

EVERY_PIPELINE = ("ingestion", "preprocessing", "training", "evaluation", "colourisation")
# Alone, evaluation and colourisation read their generators through GeneratorChoiceDataset
# entries (`latest`, or a model named with --params); after training they take its outputs.
TRAINED_GENERATORS = {
    "evaluation_gan_generator": "generator_gan",
    "evaluation_l1_generator": "generator_l1",
    "colourisation_generator": "generator_gan",
}


def after_training(pipeline: Pipeline) -> Pipeline:
    """`pipeline` fed by the training pipeline's generators instead of the choice datasets.

    Without this data dependency Kedro is free to run the evaluation or the colourisation
    before the training nodes, on an older model or none.
    """
    chosen = pipeline.inputs() & TRAINED_GENERATORS.keys()
    return Pipeline(pipeline, inputs={name: TRAINED_GENERATORS[name] for name in chosen})


def register_pipelines() -> dict[str, Pipeline]:
    """`kedro run --pipelines <name>` for each pipeline; plain `kedro run` runs every one.

    Kedro discovers only the pipelines a run asks for, so `__default__` is built only when all
    are there. In it the evaluation and the colourisation use the generators this very run
    trained, which also makes Kedro order them after training.
    """
    pipelines = find_pipelines(raise_errors=True)
    if set(EVERY_PIPELINE) <= pipelines.keys():
        pipelines["__default__"] = (
            pipelines["ingestion"]
            + pipelines["preprocessing"]
            + pipelines["training"]
            + after_training(pipelines["evaluation"] + pipelines["colourisation"])
        )
    return pipelines
