"""Give memory that nodes freed back to the system, fork DataLoader workers from a lean process,
and say how much memory the machine has free before a large piece of work asks for it.

glibc's malloc keeps freed blocks for reuse; after a node that allocated a lot (training's
activations, the classifier's batches) the process stays that large for the rest of the run.
`malloc_trim` hands the free pages back. Raising glibc's mmap threshold instead (big blocks
mapped and unmapped each time) also bounds memory, but made a CPU training step about 40 %
slower, so it is not done.

Forked DataLoader workers share the trainer's pages until one side writes to them; then the page
is copied and the old copy stays with the workers. Python's garbage collector writes to every
object it visits, so `lean_fork` freezes the objects alive at the fork (Python's documented
advice for fork without exec) and trims the heap first.
"""

import ctypes
import ctypes.util
import gc
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from image_colourisation.core.errors import UserValueError


@cache
def _malloc_trim() -> Any | None:
    """glibc's `malloc_trim`, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; False where that is not possible."""
    trim = _malloc_trim()
    return bool(trim is not None and trim(0))


@contextmanager
def lean_fork() -> Iterator[None]:
    """Around the life of forked workers: free pages returned and live objects frozen first."""
    gc.collect()
    release_free_memory()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def available_bytes() -> int:
    """Memory the machine can give this process now without swapping: Linux's MemAvailable
    (free pages plus caches it can drop), else the free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


# A limit below the machine's free memory, e.g. for a server whose photos share it with other
# work: COLOURISE_MEMORY_LIMIT_GB=4 colourise ... (and the page, the served model, the pipelines).
MEMORY_LIMIT_VARIABLE = "COLOURISE_MEMORY_LIMIT_GB"


def memory_budget() -> tuple[int, str]:
    """(bytes one piece of work may take, where that figure comes from): the machine's free
    memory (`available_bytes`), or less where `MEMORY_LIMIT_VARIABLE` says so."""
    free = available_bytes()
    text = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    if not text:
        return free, "this machine has free"
    try:
        limit = float(text)
    except ValueError:
        limit = math.nan
    if not (math.isfinite(limit) and limit > 0):
        raise UserValueError(
            f"{MEMORY_LIMIT_VARIABLE} is {text[:40]!r}; give a positive number of gigabytes "
            "(e.g. 4), or unset it to use the memory the machine has free."
        )
    if limit * 1e9 >= free:
        return free, "this machine has free"
    return int(limit * 1e9), f"{MEMORY_LIMIT_VARIABLE} allows"
