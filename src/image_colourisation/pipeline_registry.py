"""Project pipelines: one per folder under `pipelines/`, and `__default__` running them all."""

import importlib.resources
from collections.abc import Iterable

import click
from kedro.framework.project import find_pipelines
from kedro.framework.project import pipelines as project_pipelines
from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory
from kedro_mlflow.pipeline.pipeline_ml import PipelineML

from image_colourisation.pipelines.colourisation.pipeline import (
    REQUESTS,
    create_inference_pipeline,
    create_serving_pipeline,
)
from image_colourisation.serving.registry import log_model_kwargs

EVERY_PIPELINE = (
    "ingestion",
    "preprocessing",
    "training",
    "evaluation",
    "colourisation",
    "benchmark",
)
# Alone, evaluation, colourisation and the benchmark read their generators through
# GeneratorChoiceDataset entries (`latest`, or a model named with --params); after training they
# take its outputs.
TRAINED_GENERATORS = {
    "evaluation_gan_generator": "generator_gan",
    "evaluation_l1_generator": "generator_l1",
    "colourisation_generator": "generator_gan",
    "benchmark_gan_generator": "generator_gan",
    "benchmark_l1_generator": "generator_l1",
}


def after_training(pipeline: Pipeline) -> Pipeline:
    """`pipeline` fed by the training pipeline's generators instead of the choice datasets.

    Without this data dependency Kedro is free to run the evaluation, the colourisation or the
    benchmark before the training nodes, on an older model or none.
    """
    chosen = pipeline.inputs() & TRAINED_GENERATORS.keys()
    return Pipeline(pipeline, inputs={name: TRAINED_GENERATORS[name] for name in chosen})


def with_served_model(training: Pipeline) -> PipelineML:
    """`training` bound to the inference pipeline: at the end of a run kedro-mlflow logs that
    pipeline with the GAN it trained as one `KedroPipelineModel` and registers it."""
    return pipeline_ml_factory(
        training=training + create_serving_pipeline(),
        inference=create_inference_pipeline(),
        input_name=REQUESTS,
        log_model_kwargs=log_model_kwargs(),
    )


def register_pipelines() -> dict[str, Pipeline]:
    """`kedro run --pipelines <name>` for each pipeline; plain `kedro run` runs every one.

    Kedro discovers only the pipelines a run asks for, so `__default__` is built only when all
    are there. In it the evaluation, the colourisation and the benchmark use the generators this
    very run trained, which also makes Kedro order them after training. `training` and `__default__`
    log and register the served model (`with_served_model`); a sum of pipelines named on the
    command line (`--pipelines training,evaluation`) is a plain pipeline to kedro-mlflow and
    registers nothing.
    """
    # Kedro 1.7 keeps the names given to `kedro run --pipelines` here (no public accessor);
    # when a later Kedro moves them, the check is skipped and Kedro's own error remains.
    refuse_unknown_pipelines(getattr(project_pipelines, "_requested_pipelines", None) or [])
    pipelines = find_pipelines(raise_errors=True)
    if set(EVERY_PIPELINE) <= pipelines.keys():
        pipelines["__default__"] = with_served_model(
            pipelines["ingestion"]
            + pipelines["preprocessing"]
            + pipelines["training"]
            + after_training(
                pipelines["evaluation"] + pipelines["colourisation"] + pipelines["benchmark"]
            )
        )
    if "training" in pipelines:
        pipelines["training"] = with_served_model(pipelines["training"])
    return pipelines


def pipeline_names() -> list[str]:
    """The project's pipelines: one package each under `pipelines/`."""
    folder = importlib.resources.files("image_colourisation.pipelines")
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and entry.joinpath("__init__.py").is_file()
    )


def refuse_unknown_pipelines(requested: Iterable[str]) -> None:
    """Stop a run that names a pipeline this project lacks, listing the ones it has.

    Without this, Kedro's pipeline discovery answers `--pipelines nosuch` with an ImportError
    about a module `image_colourisation.pipelines.nosuch`. A click `UsageError` is printed by
    the `kedro` command as one message, without a traceback, and exits with status 2.
    """
    known = pipeline_names()
    unknown = [name for name in requested if name != "__default__" and name not in known]
    if unknown:
        raise click.UsageError(
            f"This project has no pipeline named {', '.join(map(repr, unknown))}. Its pipelines "
            f"are: {', '.join(known)} (`kedro run --pipelines a,b` runs several; plain "
            "`kedro run` runs them all)."
        )
