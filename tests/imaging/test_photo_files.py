"""Which files are photos, and the one door they are opened by."""

import io

import pytest
from PIL import Image, UnidentifiedImageError

from image_colourisation.imaging.photo_files import is_photo_name, open_image, photo_from_bytes

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\n"


def test_postscript_is_never_opened_as_a_photo_whatever_its_name() -> None:
    """Pillow reads EPS with Ghostscript, which would interpret what the file says."""
    assert Image.open(io.BytesIO(EPS)).format == "EPS"  # what Pillow alone would do
    assert not is_photo_name("drawing.eps") and not is_photo_name("page.ps")
    for opened in (lambda: open_image(io.BytesIO(EPS)), lambda: photo_from_bytes(EPS)):
        with pytest.raises(UnidentifiedImageError):
            opened()


def test_ordinary_photos_open_by_the_same_door() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3)).save(buffer, "PNG")
    assert open_image(io.BytesIO(buffer.getvalue())).size == (4, 3)
    assert is_photo_name("photo.JPG") and is_photo_name("scan.tiff")
