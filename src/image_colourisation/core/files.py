"""Writing files so that an interrupted write never leaves a truncated file that looks complete;
saying what a path is when it is no file or folder; reading small files (hints, a
pyproject.toml) only when they are regular files and within a size; names safe to print to a
terminal and names a file can have."""

import errno
import glob
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from image_colourisation.core.errors import UserValueError

logger = logging.getLogger(__name__)

# A temporary file this old is stale even if its process id is in use again (after a reboot).
STALE_AFTER_SECONDS = 24 * 3600
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a file: reading it could wait for ever"),
    (stat.S_ISCHR, "is a character device (like /dev/zero), not a file"),
    (stat.S_ISBLK, "is a block device (a disk), not a file"),
    (stat.S_ISSOCK, "is a socket, not a file"),
)
# The longest file name (in UTF-8 bytes) ext4, XFS, APFS and NTFS all take.
MAX_NAME_BYTES = 255
# Linux follows at most 40 symbolic links in a row (MAXSYMLINKS) before it answers ELOOP.
MAX_LINKS = 40


class FileProblem(UserValueError):
    """A path that cannot be read as a file; `problem` ends a sentence that names it
    ("is a FIFO ...", "is 3,400,000,000 bytes, more than ...")."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{printable(path)} {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple:  # rebuilt from both parts when it crosses processes
        return type(self), (self.path, self.problem)


def printable(text: object) -> str:
    """`text` (a file name, a message naming one) with its control characters escaped.

    A file name may hold terminal escape sequences that recolour, move the cursor or retitle
    the window when printed raw; escaped (`\\x1b`, `\\n`), the name reads as what it is.
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def entry_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file or a folder, as the end of a sentence naming it
    ("does not exist", "is a FIFO ...", "is a symbolic link that leads back to itself"), or
    None for a regular file or a folder (a link to one counts as one)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return _link_loop_problem(path)
        if error.errno not in (errno.ENOENT, errno.ENOTDIR):
            return f"cannot be read ({error.strerror})"
        if path.is_symlink():
            return f"is a link to {os.path.realpath(path)}, which does not exist"
        return "does not exist"
    for is_kind, problem in _SPECIAL_FILES:
        if is_kind(mode):
            return problem
    return None


def _link_loop_problem(path: Path) -> str:
    """The system's "too many levels of symbolic links" told apart: a chain that comes back
    to a link it passed is a loop; one that goes on past `MAX_LINKS` is only too long."""
    seen, current = set(), path
    while current.is_symlink() and len(seen) <= MAX_LINKS:
        here = os.path.abspath(current)
        if here in seen:
            break
        seen.add(here)
        current = Path(os.path.dirname(here), os.readlink(current))
    else:
        if len(seen) > MAX_LINKS:
            return (
                f"is a chain of more than {MAX_LINKS} symbolic links, more than the system "
                "follows; link to the file itself"
            )
    return "is a symbolic link that leads back to itself (a loop), not a file"


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a file's name, as the end of a sentence naming it, or None.

    A NUL makes every system call on the path raise ValueError, other control characters
    hide what the name is, and past `MAX_NAME_BYTES` the system refuses it (ENAMETOOLONG):
    names from a request or a URL are checked here before they become paths.
    """
    if not name.isprintable():
        return "holds control characters (such as NUL or a line break), which no file name may"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"is {size:,} bytes long, more than the {MAX_NAME_BYTES} a file name may have"
    return None


def open_regular_file(path: Path) -> BinaryIO:
    """`path` opened for binary reading when it is a regular file (or a link to one), else
    `FileProblem` saying what it is.

    Opened without blocking, so a FIFO, even one put there after any earlier check, is
    refused at once instead of waiting for a writer; a device such as /dev/zero, which never
    ends, is refused by kind before a byte is read.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except ValueError as error:  # a NUL in the path
        raise FileProblem(path, "holds a NUL character, which no path may") from error
    except OSError as error:
        problem = entry_problem(Path(path)) or f"cannot be read ({error.strerror or error})"
        raise FileProblem(path, problem) from error
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kinds = [problem for is_kind, problem in _SPECIAL_FILES if is_kind(mode)]
            raise FileProblem(path, kinds[0] if kinds else "is a folder, not a file")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_small_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, else `FileProblem`: for files that
    are read whole (hints, a pyproject.toml), so that a huge file, a device or a FIFO given in
    their place is refused by name instead of filling the memory or waiting for ever."""
    with open_regular_file(path) as file:
        size = os.fstat(file.fileno()).st_size
        data = file.read(max_bytes + 1)  # a file growing after fstat is cut here too
    size = max(size, len(data))
    if size > max_bytes:
        raise FileProblem(
            path, f"is {size:,} bytes, more than the {max_bytes:,} such a file may have here"
        )
    return data


def read_small_text(path: Path, max_bytes: int, what: str) -> str:
    """`read_small_file` as UTF-8 text; any problem is one UserValueError that starts with
    `what` (e.g. "hints file x.json") and says what is wrong with it."""
    try:
        return read_small_file(path, max_bytes).decode("utf-8")
    except FileProblem as error:
        raise UserValueError(f"{what} cannot be read: it {error.problem}") from error
    except UnicodeDecodeError as error:
        raise UserValueError(f"{what} is not UTF-8 text ({error.reason})") from error


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


def newest_version(folder: Path) -> Path | None:
    """The newest payload in a versioned folder (`<folder>/<timestamp>/<folder name>`), as
    Kedro's versioned datasets save them; None when none is saved yet."""
    saved = sorted(path for path in folder.glob(f"*/{folder.name}") if path.is_file())
    return saved[-1] if saved else None
