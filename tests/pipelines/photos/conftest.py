"""A folder of scikit-image's photographs, their crops and rescaled copies, and broken files."""

from pathlib import Path

import pytest

from tests.photo_folders import write_photo_folder


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(folder, {broken file: a word of why it is skipped}); 14 usable photos."""
    folder = tmp_path_factory.mktemp("user") / "pictures"
    return folder, write_photo_folder(folder, copies=1)
