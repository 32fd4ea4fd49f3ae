"""A JSON file read back as a cache: None when it is missing or cannot be read."""

import json
import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from image_colourisation.core.files import atomic_write

logger = logging.getLogger(__name__)


class JSONCacheDataset(AbstractDataset[dict[str, Any], dict[str, Any] | None]):
    """Saves a mapping as JSON (atomically); loads it back, or None when there is no file yet
    or, with a warning, when it is not readable JSON: the node that reads the cache then works
    everything out afresh instead of failing (the evaluation's critic results)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self._filepath.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning(
                "%s is not readable JSON (%s): working it out afresh", self._filepath, error
            )
            return None
        return value if isinstance(value, dict) else None

    def save(self, data: dict[str, Any]) -> None:
        with atomic_write(self._filepath) as file:
            file.write(json.dumps(data, indent=2, sort_keys=True).encode())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return self._filepath.is_file()
