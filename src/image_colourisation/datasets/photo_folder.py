"""A folder of a user's photos and videos, read and written as Kedro partitions (one Pillow
image, or one clip, per file)."""

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets.partitions import PartitionedDataset
from PIL import Image
from tqdm.auto import tqdm

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.core.files import printable
from image_colourisation.imaging.photo_files import (
    is_photo_name,
    open_photo,
    save_photo,
    scan_photo_folder,
)
from image_colourisation.imaging.video import (
    Clip,
    ColouredClip,
    is_video_name,
    open_clip,
    write_clip,
)

logger = logging.getLogger(__name__)

Photo = Image.Image | Sequence[Image.Image]  # a picture, or the frames of an animation


def is_photo_or_video_name(name: str) -> bool:
    return is_photo_name(name) or is_video_name(name)


class PhotoFileDataset(AbstractDataset[Photo | ColouredClip, Image.Image | Clip]):
    """One photo file, through `photo_files.open_photo` and `photo_files.save_photo`, or one
    video file, through `video.open_clip` and `video.write_clip`.

    A photo loads with every frame (an animated GIF stays animated, a TIFF keeps its pages)
    and saves one picture or a list of frames in the format the file's extension names. A
    video loads as its header (`Clip`): its frames stream from the file while the colourised
    clip is written. Both are written atomically.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Image.Image | Clip:
        if is_video_name(self._filepath.name):
            return open_clip(self._filepath)
        return open_photo(self._filepath)

    def save(self, data: Photo | ColouredClip) -> None:
        if isinstance(data, ColouredClip):
            write_clip(data, self._filepath)
        else:
            save_photo(data, self._filepath)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class PhotoFolderDataset(PartitionedDataset):
    """`PartitionedDataset` of `PhotoFileDataset`, made safe for a local folder of someone's photos.

    Partition ids are paths relative to the folder (`trip/beach.jpg`), so names, sub-folders and
    formats (chosen by extension) carry over from input to output. Differences from the parent:

    - only files Pillow can open count by their extension, and with `videos` the clips PyAV
      reads (`.gitkeep`, notes are left out);
      links that lead out of the folder, FIFOs and devices are skipped with a warning each, and
      a dangling link fails like an unreadable photo (`photo_files.scan_photo_folder`);
    - an empty or missing folder loads as `{}` with a logged hint instead of failing;
    - saving never replaces an existing file unless `replace_existing` is true;
    - a photo that cannot be produced (corrupt, not an image) is logged by name with the reason
      and the others are still saved; the save then fails, naming every such photo.

    Values to save may be lazy (callables), as for the parent: each is computed just before it
    is written, so a folder of large photos never sits in memory at once.
    """

    def __init__(
        self,
        *,
        path: str,
        replace_existing: bool = False,
        videos: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for name, value in (("replace_existing", replace_existing), ("videos", videos)):
            if not isinstance(value, bool):
                raise UserDatasetError(
                    f"PhotoFolderDataset({path}): {name} must be true or false, got {value!r}."
                )
        super().__init__(path=path, dataset=PhotoFileDataset, metadata=metadata)
        self._replace_existing = replace_existing
        self._wanted = is_photo_or_video_name if videos else is_photo_name
        self._broken: dict[str, str] = {}  # dangling links, unreadable folders -> why

    def _list_partitions(self) -> list[str]:
        """The photos, then the broken entries (which `load` turns into failing photos)."""
        if self._cached_partitions is None:
            folder = Path(self._filesystem._strip_protocol(self._path))
            scan = scan_photo_folder(folder, self._wanted)
            for path, reason in scan.skipped:
                logger.warning("Skipped %s", printable(f"{path.relative_to(folder)}: {reason}"))
            self._broken = {path.as_posix(): reason for path, reason in scan.broken}
            self._cached_partitions = [path.as_posix() for path in scan.photos] + [*self._broken]
        return self._cached_partitions

    def load(self) -> dict[str, Callable[[], Image.Image]]:
        try:
            partitions = super().load()
        except DatasetError:
            if self._list_partitions():
                raise
            logger.warning(
                "No photos in %s: put the JPEG or PNG photos to colourise there (sub-folders "
                "are fine).",
                self._path,
            )
            return {}
        for path, reason in self._broken.items():  # fail when read, named, like a bad photo
            partitions[self._path_to_partition(path)] = partial(_unreadable, reason)
        return partitions

    def save(self, data: dict[str, Photo | Callable[[], Photo]]) -> None:
        failures: list[str] = []
        skipped = 0
        for partition_id, photo in tqdm(sorted(data.items()), desc=self._path, unit="photo"):
            target = self._partition_to_path(partition_id)
            if not self._replace_existing and self._filesystem.exists(target):
                logger.warning(
                    "Skipped %s: %s already exists (nothing is overwritten; run with "
                    "--params colourisation.overwrite=true to replace it).",
                    printable(partition_id),
                    printable(target),
                )
                skipped += 1
                continue
            try:
                image = photo() if callable(photo) else photo
            except Exception as error:  # one unreadable photo must not stop the others
                reason = error.__cause__ if isinstance(error, DatasetError) else None
                reason = reason or error  # Pillow's own words, not Kedro's wrapper around them
                failures.append(printable(f"{partition_id}: {type(reason).__name__}: {reason}"))
                logger.error("Could not colourise %s", failures[-1])
                continue
            super().save({partition_id: image})
        written = len(data) - skipped - len(failures)
        logger.info(
            "Wrote %d photos to %s, skipped %d that already existed.", written, self._path, skipped
        )
        if failures:
            raise UserDatasetError(
                f"{len(failures)} of {len(data)} photos could not be colourised (the others were "
                "written):\n  " + "\n  ".join(failures)
            )


def _unreadable(reason: str) -> Image.Image:
    raise FileNotFoundError(reason)


class NamedPhotoFolderDataset(AbstractDataset[None, dict[str, Callable[[], Image.Image]] | None]):
    """The photos of a folder named for one run, read as `PhotoFolderDataset` reads them; None
    when `folder` is empty (no folder named), so a node can choose something else. Read only.
    (`folder`, not `path`: Kedro would turn an empty `path` into the project's own folder.)"""

    def __init__(self, folder: str = "", metadata: dict[str, Any] | None = None) -> None:
        self._folder = folder
        self.metadata = metadata

    def load(self) -> dict[str, Callable[[], Image.Image]] | None:
        if not self._folder:
            return None
        if not Path(self._folder).is_dir():
            raise UserDatasetError(f"{printable(self._folder)} is not a folder of photos.")
        photos = PhotoFolderDataset(path=self._folder).load()
        logger.info("%d photos to colourise in %s", len(photos), printable(self._folder))
        return photos

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._folder} holds photos to colourise: it is never written.")

    def _describe(self) -> dict[str, Any]:
        return {"folder": self._folder}
