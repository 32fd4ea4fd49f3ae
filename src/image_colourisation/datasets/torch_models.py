"""A versioned Kedro dataset for a model payload (architecture + state dict) saved by torch.

The generators and the evaluation's classifier are both stored this way.
"""

import logging
import pickle
import re
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io import AbstractVersionedDataset, DatasetError, Version

from image_colourisation.files import atomic_write

PAYLOAD_KEYS = ("architecture", "state_dict")
logger = logging.getLogger(__name__)


def load_payload(path: Path, what: str) -> dict[str, Any]:
    """Read a payload with `weights_only=True`, so a file from elsewhere cannot run code.

    `what` names the source in errors (a dataset, a CLI argument), so the user knows which
    file is wrong.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise DatasetError(
            f"{what}: {path} does not exist: run the pipeline that trains it first "
            "(`kedro run --pipeline training` for the generators)."
        ) from error
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise DatasetError(
            f"{what}: {path} is not a model payload of this project ({refusal_reason(error)}); "
            "the safe loader (weights_only=True) refused it, so do not trust it and never load "
            "it with weights_only=False: give a file written by the training pipeline."
        ) from error
    if not isinstance(payload, dict) or any(key not in payload for key in PAYLOAD_KEYS):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise DatasetError(
            f"{what}: {path} holds {found}, not a model payload with keys {list(PAYLOAD_KEYS)}."
        )
    return payload


def refusal_reason(error: BaseException) -> str:
    """Why `torch.load(..., weights_only=True)` refused a file, in a few words.

    Torch's own message advises retrying with `weights_only=False`, which would run whatever
    code a hostile file holds; this project never does that, so the advice is left out.
    """
    text = str(error)
    code = re.search(r"GLOBAL ([\w.]+)", text)
    if code:
        return f"it asks to import {code.group(1)}, which no file of this project does"
    if isinstance(error, EOFError) or "EOF" in text:
        return "it is empty or cut short"
    if isinstance(error, pickle.UnpicklingError) or "zip" in text.lower() or "archive" in text:
        return "it is not a file that torch.save wrote, or it is damaged"
    lines = [line for line in text.splitlines() if "weights_only" not in line and line.strip()]
    return f"{type(error).__name__}: {lines[0][:200] if lines else 'unreadable'}"


class ModelPayloadDataset(AbstractVersionedDataset[dict[str, Any], dict[str, Any]]):
    """Saves and loads model payloads (`models.generator_payload`, `classifier_payload`).

    Loading uses `weights_only=True` (plain tensors and containers only, never arbitrary
    pickles). Saving writes a temporary file beside the target and renames it into place, so
    an interrupted save never leaves a truncated file that looks like a model. With
    `versioned: true` in the catalog every save lands in a new timestamped folder
    (`<filepath>/<version>/<name>`), so a second run never overwrites the first.

    With `optional: true` (for a cache, such as the evaluation's previously trained classifier)
    a missing file loads as None, and so, with a warning, does a file that is not a payload
    (truncated, corrupt, foreign): the node that reads it then makes a new one.
    """

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(PurePosixPath(Path(filepath).as_posix()), version)
        self._optional = optional
        self.metadata = metadata

    def load(self) -> dict[str, Any] | None:
        what = f"dataset {self._filepath}"
        if not self._optional:
            return load_payload(Path(self._get_load_path()), what)
        try:
            path = Path(self._get_load_path())
        except DatasetError:  # versioned, and no version saved yet
            return None
        if not path.is_file():
            return None
        try:
            return load_payload(path, what)
        except DatasetError as error:
            logger.warning("Ignoring %s: %s", path, error)
            return None

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or any(key not in data for key in PAYLOAD_KEYS):
            raise DatasetError(
                f"{self._filepath}: expected a model payload "
                f"(a dict with {list(PAYLOAD_KEYS)}), got {type(data).__name__}."
            )
        with atomic_write(Path(self._get_save_path())) as file:
            torch.save(data, file)

    def _exists(self) -> bool:
        return Path(self._get_load_path()).is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "version": self._version,
            "optional": self._optional,
        }
