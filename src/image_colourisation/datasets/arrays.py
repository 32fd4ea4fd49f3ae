"""A Kedro dataset for a named set of numpy arrays in one `.npz` file, with no pickle."""

import os
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError


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
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._filepath.with_name(f".{self._filepath.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as file:
                np.savez(file, **data)
            os.replace(temporary, self._filepath)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
