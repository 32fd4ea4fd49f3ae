"""atomic_write: the target changes only when the whole write succeeded; printable names."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from image_colourisation.core.files import atomic_write, entry_problem, printable


def test_writes_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "model.pt"
    with atomic_write(target) as file:
        file.write(b"weights")
    assert target.read_bytes() == b"weights"
    assert [p.name for p in target.parent.iterdir()] == ["model.pt"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"the user's model")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as file:
        file.write(b"half of a new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"the user's model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


_WRITE_FOREVER = """
import sys, time
from pathlib import Path
from image_colourisation.core.files import atomic_write
with atomic_write(Path(sys.argv[1])):
    print("writing", flush=True)
    time.sleep(60)
"""


def _kill_a_writer(target: Path) -> None:
    """Start writing `target` in a child process and kill it (-9) mid-write."""
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITE_FOREVER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "writing\n"
    child.kill()
    child.wait(timeout=10)
    child.stdout.close()


def _finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temporaries_left_by_killed_writers_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "model [v2].pt"  # glob characters in the name are taken literally
    _kill_a_writer(target)
    (dead,) = tmp_path.glob(".model*.tmp")
    assert dead.stat().st_size == 0  # what a kill -9 mid-write leaves
    live = tmp_path / f".model [v2].pt.{os.getppid()}.tmp"  # another write still under way
    live.write_bytes(b"half")
    ancient = tmp_path / ".model [v2].pt.1.tmp"  # pid 1 always runs
    ancient.touch()
    long_ago = time.time() - 2 * 24 * 3600  # its pid may be in use again after a reboot
    os.utime(ancient, (long_ago, long_ago))
    others = [tmp_path / f".other.pt.{_finished_pid()}.tmp", tmp_path / ".model [v2].pt.x.tmp"]
    for other in others:
        other.touch()

    with atomic_write(target) as file:
        file.write(b"weights")

    assert target.read_bytes() == b"weights"
    assert not dead.exists() and not ancient.exists()
    assert live.read_bytes() == b"half"
    assert all(other.exists() for other in others)  # another target's, or not ours at all


def test_printable_escapes_control_characters_and_keeps_the_rest() -> None:
    assert printable("été/grand-mère.jpg") == "été/grand-mère.jpg"
    assert printable("a\x1b[31mb\nc\x07.jpg") == "a\\x1b[31mb\\nc\\x07.jpg"
    assert printable(Path("bad\udcff.jpg")) == "bad\\udcff.jpg"  # undecodable bytes, escaped


def test_a_long_chain_of_links_is_told_apart_from_a_loop(tmp_path: Path) -> None:
    """Both make the system answer ELOOP; only one of them goes round in a circle."""
    (tmp_path / "photo.png").write_bytes(b"png")
    previous = "photo.png"
    for number in range(45):
        (tmp_path / f"link{number}").symlink_to(previous)
        previous = f"link{number}"
    assert entry_problem(tmp_path / "link44") == (
        "is a chain of more than 40 symbolic links, more than the system follows; link to the "
        "file itself"
    )
    assert entry_problem(tmp_path / "link30") is None  # 31 links: the system follows them
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert entry_problem(tmp_path / "a") == (
        "is a symbolic link that leads back to itself (a loop), not a file"
    )
