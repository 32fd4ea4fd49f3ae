"""atomic_write: the target changes only when the whole write succeeded."""

from pathlib import Path

import pytest

from image_colourisation.files import atomic_write


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
