"""One kind of lock for work that two processes must not do at once.

`file_lock` holds an exclusive `flock` on a lock file, which the operating system releases
when its process ends in any way (kill -9 included), so a lock left by a dead process is
simply taken over. While held, the file names the holder (PID, host, start time), so whoever
waits or is refused is told who holds it. Used for a variant's checkpoint folder
(`checkpoint_lock`: refuse at once), for `colourise`'s output folder (`output_lock`: refuse
at once; the command for its whole run, the page for each saved copy) and for creating the
MLflow store (`hooks/project.py`: wait).
"""

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path

try:  # POSIX; on Windows the locks are skipped with a warning
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms this project runs on
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LOCK_NAME = "training.lock"  # in a variant's checkpoint folder
OUTPUT_LOCK_NAME = ".colourise.lock"  # in colourise's output folder; no photo's name
_POLL_S = 0.05
_held: dict[Path, int] = {}  # lock file -> descriptor, for the locks this process holds


class LockBusyError(RuntimeError):
    """Another live process holds the lock; `owner` is its record (pid, host, since)."""

    def __init__(self, path: Path, owner: dict[str, str]) -> None:
        self.path, self.owner = path, owner
        super().__init__(
            f"{path} is held by PID {owner.get('pid', '?')} on {owner.get('host', '?')} since "
            f"{owner.get('since', '?')}"
        )

    def holder(self) -> str:
        """Who holds the lock, for a message: `PID 12 on host, since ...; lock file ...`."""
        owner = self.owner
        return (
            f"PID {owner.get('pid', '?')} on {owner.get('host', '?')}, since "
            f"{owner.get('since', '?')}; lock file {self.path}"
        )


class CheckpointInUseError(LockBusyError):
    """Another live process is training the same variant into the same checkpoint folder."""

    def __str__(self) -> str:
        return (
            f"{self.path.parent} is being trained into by another run ({self.holder()}): wait "
            "for it to finish or stop it, since two runs would overwrite each other's checkpoint."
        )


class OutputInUseError(LockBusyError):
    """Another live `colourise` (a command or a page saving a copy) writes into the folder."""

    def __str__(self) -> str:
        return (
            f"output folder {self.path.parent} is being written by another colourise run "
            f"({self.holder()}): wait for it to finish, or choose another folder with -o OUTDIR"
        )


@contextmanager
def file_lock(path: Path, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the lock file `path` (created if need be, removed on release); yield it.

    Waits up to `wait_s` for another holder, then raises `LockBusyError`. Re-entrant within
    one process; a child of the holder (a parallel runner's worker) is let through.
    """
    path = Path(path).absolute()
    if path in _held or fcntl is None:
        if fcntl is None:  # pragma: no cover
            logger.warning("No file locks on this platform: %s is not protected", path.parent)
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            descriptor = _acquire(path)
            break
        except LockBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_POLL_S)
    if descriptor is None:  # held by the parent process: run inside its lock
        yield path
        return
    _held[path] = descriptor
    try:
        yield path
    finally:
        del _held[path]
        path.unlink(missing_ok=True)  # while still locked: nobody can hold the old file
        os.close(descriptor)  # releases the lock


@contextmanager
def checkpoint_lock(folder: Path) -> Iterator[Path]:
    """Hold `folder/training.lock` while training into `folder`; refuse at once when another
    run holds it (`CheckpointInUseError`, naming it)."""
    try:
        with file_lock(Path(folder) / LOCK_NAME) as path:
            yield path
    except CheckpointInUseError:
        raise
    except LockBusyError as busy:
        raise CheckpointInUseError(busy.path, busy.owner) from None


def _acquire(path: Path) -> int | None:
    """Lock `path` and write this process into it; the descriptor, or None inside the
    parent's lock. Raises `LockBusyError` when another process holds it."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            owner = _owner(path)
            if owner.get("pid") == str(os.getppid()):
                return None
            raise LockBusyError(path, owner) from None
        # The previous holder may have removed the file between our open and our lock:
        # then this lock is on a deleted file, and the path must be opened afresh.
        try:
            same = os.path.samestat(os.fstat(descriptor), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)
    since = time.strftime("%Y-%m-%d %H:%M:%S")
    record = f"pid={os.getpid()}\nhost={socket.gethostname()}\nsince={since}\n"
    os.ftruncate(descriptor, 0)
    os.write(descriptor, record.encode())
    return descriptor


def _owner(path: Path) -> dict[str, str]:
    """The holder's record in a lock file; waits briefly for a holder that is writing it."""
    for _ in range(20):
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if "pid" in fields:
            return fields
        time.sleep(_POLL_S)
    return {}


@contextmanager
def output_lock(outdir: Path) -> Iterator[Path]:
    """Hold `outdir/.colourise.lock` while writing into `outdir`; refuse at once when another
    process holds it (`OutputInUseError`), so that two writers cannot each skip only what the
    other has not written yet and both claim every photo. Folders made for the lock are removed
    again while empty, so a run that writes nothing leaves nothing behind."""
    outdir = Path(outdir)
    made = list(takewhile(lambda folder: not folder.exists(), [outdir, *outdir.parents]))
    try:
        with file_lock(outdir / OUTPUT_LOCK_NAME) as path:
            yield path
    except OutputInUseError:
        raise
    except LockBusyError as busy:
        raise OutputInUseError(busy.path, busy.owner) from None
    finally:
        for folder in made:  # the innermost first; one holding anything stays, with its parents
            try:
                folder.rmdir()
            except OSError:
                break
