"""A folder of a user's photos, read and written as Kedro partitions (one Pillow image per file)."""

import logging
from collections.abc import Callable
from typing import Any

from kedro.io import DatasetError
from kedro_datasets.partitions import PartitionedDataset
from PIL import Image
from tqdm.auto import tqdm

from image_colourisation.photos import JPEG_QUALITY, is_photo_name

logger = logging.getLogger(__name__)


class PhotoFolderDataset(PartitionedDataset):
    """`PartitionedDataset` of `pillow.ImageDataset`, made safe for a folder of someone's photos.

    Partition ids are paths relative to the folder (`trip/beach.jpg`), so names, sub-folders and
    formats (chosen by extension) carry over from input to output. Differences from the parent:

    - only files Pillow can open by their extension count (`.gitkeep`, notes are left out);
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
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(replace_existing, bool):
            raise DatasetError(
                f"PhotoFolderDataset({path}): replace_existing must be true or false, "
                f"got {replace_existing!r}."
            )
        super().__init__(
            path=path,
            dataset={"type": "pillow.ImageDataset", "save_args": {"quality": JPEG_QUALITY}},
            metadata=metadata,
        )
        self._replace_existing = replace_existing

    def _list_partitions(self) -> list[str]:
        return [path for path in super()._list_partitions() if is_photo_name(path)]

    def load(self) -> dict[str, Callable[[], Image.Image]]:
        try:
            return super().load()
        except DatasetError:
            if self._list_partitions():
                raise
            logger.warning(
                "No photos in %s: put the JPEG or PNG photos to colourise there (sub-folders "
                "are fine).",
                self._path,
            )
            return {}

    def save(self, data: dict[str, Image.Image | Callable[[], Image.Image]]) -> None:
        failures: list[str] = []
        skipped = 0
        for partition_id, photo in tqdm(sorted(data.items()), desc=self._path, unit="photo"):
            target = self._partition_to_path(partition_id)
            if not self._replace_existing and self._filesystem.exists(target):
                logger.warning(
                    "Skipped %s: %s already exists (nothing is overwritten; run with "
                    "--params colourisation.overwrite=true to replace it).",
                    partition_id,
                    target,
                )
                skipped += 1
                continue
            try:
                image = photo() if callable(photo) else photo
            except Exception as error:  # one unreadable photo must not stop the others
                reason = error.__cause__ if isinstance(error, DatasetError) else None
                reason = reason or error  # Pillow's own words, not Kedro's wrapper around them
                failures.append(f"{partition_id}: {type(reason).__name__}: {reason}")
                logger.error("Could not colourise %s", failures[-1])
                continue
            super().save({partition_id: image})
        written = len(data) - skipped - len(failures)
        logger.info(
            "Wrote %d photos to %s, skipped %d that already existed.", written, self._path, skipped
        )
        if failures:
            raise DatasetError(
                f"{len(failures)} of {len(data)} photos could not be colourised (the others were "
                "written):\n  " + "\n  ".join(failures)
            )
