"""A versioned Kedro dataset for a model payload (architecture + state dict) saved by torch.

The generators and the evaluation's classifier are both stored this way.
"""

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io import AbstractDataset, AbstractVersionedDataset, DatasetError, Version

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.core.files import FileProblem, atomic_write, read_small_file
from image_colourisation.models.onnx_export import payload_onnx
from image_colourisation.models.onnx_runtime import MAX_ONNX_BYTES, onnx_beside
from image_colourisation.models.payloads import PAYLOAD_KEYS, load_payload

logger = logging.getLogger(__name__)


class ModelPayloadDataset(AbstractVersionedDataset[dict[str, Any], dict[str, Any]]):
    """Saves and loads model payloads (`payloads.generator_payload`, `classifier_payload`).

    Loading uses `weights_only=True` (plain tensors and containers only, never arbitrary
    pickles). Saving writes a temporary file beside the target and renames it into place, so
    an interrupted save never leaves a truncated file that looks like a model. With
    `versioned: true` in the catalog every save lands in a new timestamped folder
    (`<filepath>/<version>/<name>`), so a second run never overwrites the first.

    With `onnx: true` (the generators) each save also writes the payload's ONNX export beside
    it (`onnx_export.py`: `<name>.onnx` in the same version folder), which `colourise` runs
    with ONNX Runtime, without importing torch.

    With `optional: true` (for a cache, such as the evaluation's previously trained classifier)
    a missing file loads as None, and so, with a warning, does a file that is not a payload
    (truncated, corrupt, foreign): the node that reads it then makes a new one.
    """

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        optional: bool = False,
        onnx: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(PurePosixPath(Path(filepath).as_posix()), version)
        self._optional = optional
        self._onnx = onnx
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
        path = Path(self._get_save_path())
        if self._onnx:  # first: a payload saved is never without its export
            with atomic_write(onnx_beside(path)) as file:
                file.write(payload_onnx(data))
        with atomic_write(path) as file:
            torch.save(data, file)

    def _exists(self) -> bool:
        return Path(self._get_load_path()).is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "version": self._version,
            "optional": self._optional,
            "onnx": self._onnx,
        }


class OnnxModelDataset(AbstractDataset[bytes, bytes]):
    """An ONNX file's bytes (`onnx_export.payload_onnx`), written atomically: the registered
    model's `served_generator_onnx`, which ONNX Runtime runs (`onnx_runtime.OnnxGenerator`)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> bytes:
        try:  # bounded as ONNX Runtime's loads are (`onnx_runtime.model_bytes`)
            return read_small_file(self._filepath, MAX_ONNX_BYTES)
        except FileProblem as error:
            raise UserDatasetError(
                f"{error}; `kedro run --pipelines training` writes it."
            ) from error

    def save(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise DatasetError(f"{self._filepath}: expected ONNX bytes, got {type(data).__name__}.")
        with atomic_write(self._filepath) as file:
            file.write(data)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
