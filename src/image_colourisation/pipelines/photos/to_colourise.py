"""What the photos pipeline colourises with the GAN it trained: a folder named for the run, else
the held-out test photos of the training folder."""

import logging
from collections.abc import Callable
from functools import partial

import pandas as pd
from PIL import Image

from image_colourisation.core.errors import UserValueError
from image_colourisation.imaging.photo_files import photo_from_bytes

logger = logging.getLogger(__name__)

NAMED_FOLDER = "photos.colourise_folder"  # the runtime parameter that names a folder


def photos_to_colourise(
    named_folder: dict[str, Callable[[], Image.Image]] | None,
    index: pd.DataFrame,
    training_folder: dict[str, Callable[[], bytes]],
) -> dict[str, Callable[[], Image.Image]]:
    """The photos of the folder named with `--params photos.colourise_folder=DIR` (None: not
    named), else the training folder's held-out test photos by their paths there: never
    trained on, so their colourised twins show the model on photos it has not seen."""
    if named_folder is not None:
        if not named_folder:
            raise UserValueError(
                f"The folder that {NAMED_FOLDER} names holds no photos: name a folder of JPEG "
                "or PNG photos, or leave it out to colourise the held-out test photos."
            )
        logger.info(
            "photos: colourising the %d photos of the folder that %s names",
            len(named_folder), NAMED_FOLDER,
        )  # fmt: skip
        return named_folder
    test = sorted(index.loc[index["split"] == "test", "path"])
    logger.info(
        "photos: colourising the %d held-out test photos of the training folder (never trained "
        "on; --params %s=DIR colourises another folder)", len(test), NAMED_FOLDER,
    )  # fmt: skip
    return {path: partial(_opened, training_folder[path]) for path in test}


def _opened(read: Callable[[], bytes]) -> Image.Image:
    return photo_from_bytes(read())
