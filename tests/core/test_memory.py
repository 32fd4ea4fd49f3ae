"""Freed memory goes back to the system; workers are forked from a frozen heap."""

import gc
from pathlib import Path

import numpy as np
import pytest

from image_colourisation.core import memory
from image_colourisation.hooks.memory import ReleaseMemoryHook
from image_colourisation.settings import HOOKS


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(memory._malloc_trim() is None, reason="the C library has no malloc_trim")
def test_release_free_memory_returns_freed_heap_pages_to_the_system() -> None:
    # 64 KB blocks come from malloc's heap (below its mmap threshold); the one kept at the top
    # stops malloc from giving the others back by itself when they are freed.
    blocks = [np.ones(8192) for _ in range(3000)]  # 3000 x 64 KB = 196 MB
    kept = blocks[-1]
    del blocks
    before = resident_bytes()
    assert memory.release_free_memory()
    assert before - resident_bytes() > 100 * 2**20
    assert kept.sum() == 8192


def test_lean_fork_freezes_live_objects_for_its_duration_even_on_errors() -> None:
    assert gc.get_freeze_count() == 0
    with memory.lean_fork():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), memory.lean_fork():
        raise RuntimeError("a worker failed")
    assert gc.get_freeze_count() == 0


def test_every_kedro_run_releases_memory_after_each_node() -> None:
    hooks = [hook for hook in HOOKS if isinstance(hook, ReleaseMemoryHook)]
    assert len(hooks) == 1
    hooks[0].after_node_run()
