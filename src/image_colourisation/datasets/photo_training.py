"""The datasets of training on a folder of photos: the user's folder (read only) and the cache
of working-size copies that the training loader reads."""

import logging
import shutil
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from PIL import Image
from tqdm.auto import tqdm

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.imaging.photo_files import scan_photo_folder

logger = logging.getLogger(__name__)


class PhotoSourceDataset(AbstractDataset[None, dict[str, Callable[[], bytes]]]):
    """The user's folder of photos, read only: `{relative path: () -> the file's bytes}`.

    Every photo-named file under `path` (sub-folders too, sorted) is listed. A link leading out
    of the folder, a FIFO or device, a dangling link or an unlistable sub-folder is listed too,
    as a callable that raises with the reason, so the ingestion reports it with the others.
    Nothing is ever written, moved or deleted here.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, Callable[[], bytes]]:
        if not self._path.is_dir():
            raise UserDatasetError(
                f"{self._path} is not a folder: point the photo pipeline at your pictures with "
                '`kedro run --pipelines photos --params "photos.folder=/path/to/pictures"`.'
            )
        scan = scan_photo_folder(self._path)
        files = {self._name(path): path.read_bytes for path in scan.photos}
        for path, reason in scan.skipped + scan.broken:
            files[self._name(path)] = partial(_refuse, reason)
        return dict(sorted(files.items()))

    def _name(self, path: Path) -> str:
        return path.relative_to(self._path).as_posix()

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is the user's photo folder: it is never written.")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def _refuse(reason: str) -> bytes:
    raise OSError(reason)


class WorkingImageCacheDataset(AbstractDataset[dict[str, Callable[[], Image.Image]], dict]):
    """A folder of PNG images written afresh on every save; loads as `{name: file path}`.

    Saving takes `{name: () -> image}` and computes each image just before writing it, so a
    folder of 100,000 photos never sits in memory. The images go to a new folder that then
    replaces the old one, so no image of an earlier folder of photos survives into training.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def save(self, data: dict[str, Callable[[], Image.Image]]) -> None:
        fresh = self._path.with_name(f".{self._path.name}.{uuid.uuid4().hex}")
        try:
            for name, image in tqdm(data.items(), desc="working-size copies", unit="photo"):
                target = fresh / f"{name}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                image().save(target, compress_level=1)  # fast to write and to read back
            fresh.mkdir(parents=True, exist_ok=True)
            if self._path.exists():
                shutil.rmtree(self._path)
            fresh.rename(self._path)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)

    def load(self) -> dict[str, Path]:
        if not self._path.is_dir():
            raise UserDatasetError(
                f"{self._path} does not exist: run `kedro run --pipelines photos` to build it."
            )
        return {
            path.relative_to(self._path).as_posix().removesuffix(".png"): path
            for path in sorted(self._path.rglob("*.png"))
        }

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
