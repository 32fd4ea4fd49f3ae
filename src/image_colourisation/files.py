"""Writing files so that an interrupted write never leaves a truncated file that looks complete."""

import glob
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

# A temporary file this old is stale even if its process id is in use again (after a reboot).
STALE_AFTER_SECONDS = 24 * 3600


@contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; rename it onto `path` on success.

    The rename is atomic on one file system, so readers see the old file or the new one, never
    half of one; on any error (or Ctrl-C) the temporary file is removed and `path` is untouched.
    A process killed outright (kill -9, power cut) cannot clean up, so the temporary files it
    left beside `path` are removed by the next write of `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    temporary = _temporary(path, os.getpid())
    try:
        with temporary.open("w+b") as file:  # readable too: Pillow reads back TIFF pages
            yield file
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files of `path` whose writer is gone; return what was deleted.

    A temporary file names its writer's process id; one whose process still runs is another
    write in progress and is left alone (unless it is older than `STALE_AFTER_SECONDS`).
    """
    removed = []
    prefix = f".{path.name}."
    for leftover in path.parent.glob(glob.escape(prefix) + "*.tmp"):
        pid = leftover.name[len(prefix) : -len(".tmp")]
        if not pid.isdigit() or not _is_stale(leftover, int(pid)):
            continue
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
        logger.info("Removed %s, left behind by an interrupted write of %s", leftover, path.name)
    return removed


def _temporary(path: Path, pid: int) -> Path:
    """The temporary file process `pid` writes before renaming it onto `path`."""
    return path.with_name(f".{path.name}.{pid}.tmp")


def _is_stale(leftover: Path, pid: int) -> bool:
    try:
        age = time.time() - leftover.stat().st_mtime
    except FileNotFoundError:  # its writer just renamed or removed it
        return False
    return age > STALE_AFTER_SECONDS or (pid != os.getpid() and not _is_running(pid))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
