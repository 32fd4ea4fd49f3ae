"""Project pipelines: one per folder under `pipelines/`, and `__default__` running them all."""

import importlib.resources
from collections.abc import Iterable

import click
from kedro.framework.project import find_pipelines
from kedro.framework.project import pipelines as project_pipelines
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
    # Kedro 1.7 keeps the names given to `kedro run --pipelines` here (no public accessor);
    # when a later Kedro moves them, the check is skipped and Kedro's own error remains.
    refuse_unknown_pipelines(getattr(project_pipelines, "_requested_pipelines", None) or [])
    pipelines = find_pipelines(raise_errors=True)
    if set(EVERY_PIPELINE) <= pipelines.keys():
        pipelines["__default__"] = (
            pipelines["ingestion"]
            + pipelines["preprocessing"]
            + pipelines["training"]
            + after_training(pipelines["evaluation"] + pipelines["colourisation"])
        )
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

    Without this, Kedro's pipeline discovery answers `--pipeline nosuch` with an ImportError
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
