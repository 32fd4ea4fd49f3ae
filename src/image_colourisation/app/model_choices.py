"""The models a person can pick on the colourise page, each a source `load_generator` takes.

The registered colouriser's aliases (champion first) and versions, read from the MLflow registry
of the working folder, then the newest trained GAN and L1 baseline when they exist, trained on
CIFAR-10 and on a folder of photos (the `photos` pipeline). The default
comes first; the page takes the command's (`--model`, else the champion, else the latest GAN).
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from image_colourisation.serving.local_store import RegisteredModel, registered_model
from image_colourisation.serving.model_sources import (
    LATEST_GAN,
    LATEST_L1,
    LATEST_PHOTOS_GAN,
    LATEST_PHOTOS_L1,
)
from image_colourisation.serving.registry import CHAMPION, MODEL_NAME, registry_exists

SHOWN_FIGURE = "test_mae"  # the headline figure (test split), beside each version


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the page's model list: the source to load and how it reads."""

    source: str
    label: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def model_choices(default: str) -> list[ModelChoice]:
    """Every model the page offers, `default` first (as listed, or by its source when the list
    lacks it, e.g. a file given with `--model`)."""
    choices = registered_choices() + trained_choices()
    first = next((choice for choice in choices if choice.source == default), None)
    return [first or ModelChoice(default, default)] + [
        choice for choice in choices if choice.source != default
    ]


def registered_choices() -> list[ModelChoice]:
    """Aliases (champion first, with the version each names) and versions, newest first, of the
    registered colouriser; none when the working folder has no MLflow store or no such model.
    Read from the local store's file when it can be (milliseconds), else from MLflow."""
    model = registered_model(MODEL_NAME)
    if model is None:
        model = _registered_model_from_mlflow()
    aliases = sorted(model.aliases.items(), key=lambda item: (item[0] != CHAMPION, item[0]))
    choices = [
        ModelChoice(
            f"models:/{MODEL_NAME}@{alias}",
            f"{MODEL_NAME}@{alias} (version {number}{_figure(model.version_tags.get(number))})",
        )
        for alias, number in aliases
    ]
    for number in sorted(model.version_tags, key=int, reverse=True):
        choices.append(
            ModelChoice(
                f"models:/{MODEL_NAME}/{number}",
                f"{MODEL_NAME} version {number}{_figure(model.version_tags[number])}",
            )
        )
    return choices


def _registered_model_from_mlflow() -> RegisteredModel:
    """The registered colouriser as MLflow's client reads it (a tracking server, another kind
    of store): slow to import and ask."""
    import mlflow  # noqa: PLC0415 - slow import

    if not registry_exists(mlflow.get_registry_uri()):
        return RegisteredModel({}, {})
    client = mlflow.MlflowClient()
    try:
        model = client.get_registered_model(MODEL_NAME)
    except mlflow.exceptions.MlflowException:  # nothing registered yet
        return RegisteredModel({}, {})
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    return RegisteredModel(
        {alias: str(number) for alias, number in model.aliases.items()},
        {str(version.version): dict(version.tags) for version in versions},
    )


def trained_choices() -> list[ModelChoice]:
    """The newest GAN and L1 baseline that `kedro run` saved in the working folder, if any:
    CIFAR-10's, then the photo-trained ones (each renders at its own recorded size)."""
    named = [
        (LATEST_GAN, "latest trained GAN"),
        (LATEST_L1, "latest L1 baseline"),
        (LATEST_PHOTOS_GAN, "latest photo-trained GAN"),
        (LATEST_PHOTOS_L1, "latest photo-trained L1 baseline"),
    ]
    return [
        ModelChoice(source, f"{label} ({source})")
        for source, label in named
        if Path(source).is_dir()
    ]


def _figure(tags: dict[str, str] | None) -> str:
    """`, test_mae 13.3` when the version was evaluated, else nothing."""
    value = (tags or {}).get(SHOWN_FIGURE)
    return f", {SHOWN_FIGURE} {value}" if value else ""
