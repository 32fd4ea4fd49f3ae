"""A read-only Kedro dataset for "which generator does this evaluation row score?"."""

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError, Version

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.datasets.torch_models import ModelPayloadDataset
from image_colourisation.models.payloads import generator_payload
from image_colourisation.serving.model_sources import load_generator
from image_colourisation.serving.registry import CHAMPION_URI, champion_exists

LATEST = "latest"
logger = logging.getLogger(__name__)


class GeneratorChoiceDataset(AbstractDataset[None, dict[str, Any] | None]):
    """Loads the generator payload named by `source`: `latest`, a file or an MLflow model URI.

    `latest` is the newest version in the versioned folder `latest_folder` (what the training
    pipeline saved last); anything else goes to `model_sources.load_generator` unchanged. The
    catalog fills `source` from `--params` through `${runtime_params:...}`, so the model is
    chosen per run on the command line while the loading stays in the catalog.

    The result is a `payloads.generator_payload` dict, the same thing the training pipeline
    outputs, plus `source`: the exact file or URI, so a report can name what it used. With
    `optional: true`, an empty `latest` folder loads as None (the row is left out, with a log
    line) rather than failing; a source the user named explicitly must always load.

    With `champion_first: true` (the colourisation's choice), `latest` means the Model
    Registry's champion (`models:/image-colourisation@champion`) when there is one, and the
    newest saved version only when there is not.
    """

    def __init__(
        self,
        source: str,
        latest_folder: str,
        optional: bool = False,
        champion_first: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._source = str(source).strip()
        self._latest_folder = Path(latest_folder)
        self._optional = optional
        self._champion_first = champion_first
        self.metadata = metadata

    def load(self) -> dict[str, Any] | None:
        source = self._source
        if source == LATEST and self._champion_first and champion_exists():
            source = CHAMPION_URI
            logger.info("Using the registered champion, %s", CHAMPION_URI)
        if source != LATEST:
            return {**generator_payload(load_generator(source)), "source": source}
        versions = ModelPayloadDataset(str(self._latest_folder), version=Version(None, None))
        if not versions.exists():
            if self._optional:
                logger.warning(
                    "No generator saved under %s yet: its evaluation row is left out. Train it "
                    "with `kedro run --pipelines training`, or name one with --params.",
                    self._latest_folder,
                )
                return None
            raise UserDatasetError(
                f"No generator saved under {self._latest_folder}: run `kedro run --pipelines "
                "training` first, or name a model with --params, e.g. "
                '"colourisation.model=runs:/<run_id>/generator" or "evaluation.gan_model=...".'
            )
        newest = self._latest_folder / versions.resolve_load_version() / self._latest_folder.name
        return {**versions.load(), "source": newest.as_posix()}

    def save(self, data: Any) -> None:
        raise DatasetError(
            "GeneratorChoiceDataset is read-only: the training pipeline saves generators."
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "source": self._source,
            "latest_folder": str(self._latest_folder),
            "optional": self._optional,
            "champion_first": self._champion_first,
        }
