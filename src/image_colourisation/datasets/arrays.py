"""A Kedro dataset for a named set of numpy arrays in one `.npz` file, with no pickle."""

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.core.files import atomic_write


class NpzDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """Saves and loads `dict[str, np.ndarray]` as an uncompressed `.npz` file.

    Loading never unpickles (`allow_pickle=False`), so only plain numeric and string arrays
    round-trip. Saving writes a temporary file beside the target and renames it into place,
    so a crash never leaves a half-written file that looks complete.

    `written_by` names the pipeline that writes the file, so that a missing or damaged file
    (truncated by a full disk or a bad copy) comes with the command that rebuilds it.
    """

    def __init__(
        self,
        filepath: str,
        written_by: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._written_by = written_by
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self._filepath, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except FileNotFoundError as error:
            raise UserDatasetError(
                f"{self._filepath} does not exist: {self._rebuild_hint('first')}"
            ) from error
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
            raise UserDatasetError(
                f"{self._filepath} is damaged or was not written by this project "
                f"({type(error).__name__}: {error}). Delete it, then "
                f"{self._rebuild_hint('again to rebuild it')}"
            ) from error

    def save(self, data: dict[str, np.ndarray]) -> None:
        with atomic_write(self._filepath) as file:
            np.savez(file, **data)

    def _rebuild_hint(self, when: str) -> str:
        if self._written_by is None:
            return f"run the pipeline that writes it {when}."
        return f"run `kedro run --pipelines {self._written_by}` {when}."

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "written_by": self._written_by}
