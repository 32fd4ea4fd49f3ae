"""A Kedro dataset for a named set of numpy arrays in one `.npz` file, with no pickle."""

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from image_colourisation.files import atomic_write


class NpzDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """Saves and loads `dict[str, np.ndarray]` as an uncompressed `.npz` file.

    Loading never unpickles (`allow_pickle=False`), so only plain numeric and string arrays
    round-trip. Saving writes a temporary file beside the target and renames it into place,
    so a crash never leaves a half-written file that looks complete.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self._filepath, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except FileNotFoundError as error:
            raise DatasetError(
                f"{self._filepath} does not exist: run the pipeline that writes it first."
            ) from error

    def save(self, data: dict[str, np.ndarray]) -> None:
        with atomic_write(self._filepath) as file:
            np.savez(file, **data)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
