"""Photo files: which names are photos, opening them whole, writing results (frames kept),
and finding the photos of a folder safely.

`render.py` turns an opened photo into a colourised one; the command, the page and the
catalog's photo datasets read and write the files through this module.
"""

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from PIL import ExifTags, Image

from image_colourisation.core.files import atomic_write, entry_problem, read_small_file

JPEG_QUALITY = 95  # Pillow's default of 75 visibly blurs colour edges
# An animation's cost grows with its frames (one generator pass each) and with their pixels (all
# colourised frames are kept until written, 3-4 bytes a pixel), and its header claims both.
MAX_FRAMES = 1_000  # 40 s at 25 frames a second
MAX_FRAME_PIXELS = 100_000_000  # all frames together: about Pillow's limit for one picture
# A photo file is read whole, so its size is checked first: Pillow's largest picture (179
# megapixels) as an uncompressed 16-bit RGB TIFF is 1.1 GB; a sparse 8 GB file is refused unread.
MAX_PHOTO_BYTES = 2 << 30


# Multi-picture JPEGs (MPO, written by many phones and cameras) carry a depth map, an HDR gain
# map or a preview beside the photo: more images, not more of the picture. One picture each.
_ONE_PICTURE_FORMATS = {"MPO"}
# Formats whose header says how many frames follow (APNG's acTL chunk, WebP's ANIM frames).
_COUNTED_IN_HEADER = {"PNG", "WEBP"}
_QUARTER_TURNS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


# Formats whose reading runs another program: Pillow hands EPS and PostScript to Ghostscript,
# which would interpret whatever the file says. Never opened, whatever the file is named.
_EXTERNAL_PROGRAM_FORMATS = frozenset({"EPS"})


@cache
def photo_formats() -> tuple[str, ...]:
    """The formats photos are opened as: Pillow's own readers, without those that run
    another program."""
    Image.init()
    return tuple(sorted(set(Image.OPEN) - _EXTERNAL_PROGRAM_FORMATS))


@cache
def photo_suffixes() -> frozenset[str]:
    """File name endings (lower case, with the dot) of the formats photos are opened as."""
    formats = photo_formats()
    return frozenset(
        suffix for suffix, kind in Image.registered_extensions().items() if kind in formats
    )


def open_image(source: Path | BinaryIO) -> Image.Image:
    """Pillow's `Image.open` (the header only) restricted to `photo_formats`: the one door
    every photo comes in by. An EPS file is "cannot identify image file", not Ghostscript."""
    return Image.open(source, formats=photo_formats())


def is_photo_name(name: str) -> bool:
    """Whether a file name looks like an image Pillow reads (hidden files such as .gitkeep do not)."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.name.startswith(".") and path.suffix.lower() in photo_suffixes()


def frame_count(image: Image.Image, limit: int = MAX_FRAMES) -> int:
    """How many frames (animation frames, TIFF pages) of `image` are part of its picture,
    counted up to `limit + 1` ("more than any animation may have here").

    APNG and WebP state their count in the header. Other files are walked frame by frame, and
    the walk stops there: a TIFF's pages are a chain that only walking finds (Pillow's
    `n_frames` walked a 23 MB TIFF's 200,000 pages for 303 s before the refusal).
    """
    if image.format in _ONE_PICTURE_FORMATS:
        return 1
    if image.format in _COUNTED_IN_HEADER or not getattr(image, "is_animated", False):
        return getattr(image, "n_frames", 1)
    start, count = image.tell(), 0
    try:
        while count <= limit:
            image.seek(count)
            count += 1
    except EOFError:
        pass
    finally:
        image.seek(start)
    return count


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) of the photo as shown, its EXIF orientation applied, without decoding
    its pixels: the size that hints and the colourised result have."""
    width, height = image.size
    turned = image.getexif().get(ExifTags.Base.Orientation) in _QUARTER_TURNS
    return (height, width) if turned else (width, height)


def check_frames(frames: int, pixels: int) -> None:
    """Raise ValueError when `frames` frames of `pixels` pixels in all are more than
    colourising takes, saying how to make the animation fit.

    Called with what the header claims before any frame is decoded, so a small file claiming
    20,001 frames of 1000 x 1000 costs nothing.
    """
    if frames > MAX_FRAMES:
        raise ValueError(
            f"it has more than the {MAX_FRAMES:,} frames an animation may have here; shorten "
            "it (or save its frames as separate photos) and colourise that."
        )
    if pixels > MAX_FRAME_PIXELS:
        raise ValueError(
            f"its {frames:,} frames hold {pixels / 1e6:,.3g} megapixels in all, more than the "
            f"{MAX_FRAME_PIXELS / 1e6:,.3g} an animation may hold here; shrink it or shorten "
            "it and colourise that."
        )


def can_hold_frames(image_format: str | None) -> bool:
    """Whether Pillow writes files of `image_format` with several frames (GIF, PNG, TIFF...)."""
    Image.init()
    return (image_format or "").upper() in Image.SAVE_ALL


def too_many_pixels(error: Image.DecompressionBombError) -> str:
    """Pillow's refusal of a picture too large to open safely, with what to do about it."""
    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
    return (
        f"too many pixels to open safely ({error}); if it is a real photo, shrink it below "
        f"{limit:.3g} megapixels first."
    )


def open_photo(path: Path) -> Image.Image:
    """Open a photo with all its frames; its bytes are read at once, so no file stays open,
    once it is known to be a regular file of at most `MAX_PHOTO_BYTES` (else `FileProblem`)."""
    return photo_from_bytes(read_small_file(path, MAX_PHOTO_BYTES))


def photo_from_bytes(data: bytes) -> Image.Image:
    """A photo file's bytes opened with all their frames, as `open_photo` opens a file."""
    return open_image(io.BytesIO(data))


def save_photo(
    image: Image.Image | Sequence[Image.Image], target: Path, source_format: str | None = None
) -> None:
    """Write a photo, or its frames (from `colourise_frames`), to `target` in the format its
    extension names (else `source_format`), as `write_photo` encodes it.

    Written to a temporary file beside the target and renamed into place, so an interrupted
    run never leaves a half-written photo that a later run would skip as done.
    """
    with atomic_write(target) as file:
        write_photo(image, file, photo_format(target.name, source_format), target.name)


def photo_format(name: str, source_format: str | None) -> str | None:
    """The format a result named `name` is written in: its extension's, else `source_format`."""
    return Image.registered_extensions().get(PurePosixPath(name).suffix.lower(), source_format)


def write_photo(
    image: Image.Image | Sequence[Image.Image],
    file: BinaryIO,
    image_format: str | None,
    name: str,
) -> None:
    """Encode a photo or its frames into `file`; frames keep their durations and loop count.

    The one encoder of results, for files (`save_photo`) and for answers in memory (the page);
    `name` is the photo's, for the message when the format cannot hold several frames.
    """
    frames = [image] if isinstance(image, Image.Image) else list(image)
    options: dict = {"quality": JPEG_QUALITY}
    if len(frames) > 1:
        if not can_hold_frames(image_format):
            raise ValueError(
                f"{name}: {image_format} files hold one frame, not {len(frames)}; keep the "
                "extension of the input (.gif, .png, .webp, .tif) for animations and pages."
            )
        options |= {"save_all": True, "append_images": frames[1:]}
        durations = [frame.info.get("duration") for frame in frames]
        if None not in durations:
            options["duration"] = durations
        if "loop" in frames[0].info:
            options["loop"] = frames[0].info["loop"]
    frames[0].save(file, format=image_format, **options)


@dataclass
class FolderScan:
    """The photos of a folder, and the entries `scan_photo_folder` would not read (with why)."""

    photos: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # links out, special files
    broken: list[tuple[Path, str]] = field(default_factory=list)  # dangling links, no access


def scan_photo_folder(folder: Path, wanted: Callable[[str], bool] = is_photo_name) -> FolderScan:
    """Every photo under `folder` (sub-folders too, sorted), by extension; or every file whose
    name is `wanted` (the command takes videos too: `video.py` names them, and imports this).

    Symbolic links are followed only while they stay inside `folder`: a link pointing out of
    it (to /etc/passwd, to someone else's files) is skipped, and so are FIFOs and devices,
    which could block or leak. A link pointing nowhere or back to itself (a loop) and a
    sub-folder that cannot be listed are broken. Each skipped or broken entry comes with the
    reason, for the caller to report. A folder that does not exist holds no photos.
    """
    scan = FolderScan()
    if not folder.exists():
        return scan
    root = folder.resolve()

    def unreadable(error: OSError) -> None:
        scan.broken.append((Path(error.filename), f"cannot be listed ({error.strerror})"))

    for directory, subfolders, files in os.walk(folder, onerror=unreadable):
        subfolders.sort()
        for name in subfolders:  # os.walk does not enter linked folders: say so for outside ones
            path = Path(directory, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                scan.skipped.append((path, f"links to {path.resolve()}, outside {folder}"))
        for name in sorted(files):
            if wanted(name):
                _sort_entry(Path(directory, name), root, folder, scan)
    return scan


def _sort_entry(path: Path, root: Path, folder: Path, scan: FolderScan) -> None:
    """Put one photo-named entry of a folder scan among the photos, skipped or broken."""
    problem = entry_problem(path)
    if path.is_symlink() and not path.exists():  # pointing nowhere, or a loop
        scan.broken.append((path, problem or "cannot be followed"))
        return
    target = path.resolve()
    if not target.is_relative_to(root):
        scan.skipped.append((path, f"links to {target}, outside {folder} (not followed)"))
    elif problem:  # FIFOs, devices, sockets
        scan.skipped.append((path, problem))
    else:
        scan.photos.append(path)
