"""The project folder `colourise` belongs to, so that it works from any folder.

Its default models are relative to the Kedro project, as in `kedro run`: the trained
generators in `data/06_models/`, the registry in `mlflow.db` (conf/base/mlflow.yml's
`sqlite:///mlflow.db`) with its artifacts in `mlruns/`. Run from another folder, the command
found none of them and said only that `data/06_models/generator_gan.pt` does not exist.
"""

import os
from pathlib import Path
from typing import Any

from image_colourisation.core.bounded import toml_from_text
from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import read_small_text

PACKAGE = "image_colourisation"
# src/image_colourisation/app/project.py: the project of an editable install is 3 folders up.
INSTALLED_FROM = Path(__file__).resolve().parents[3]
# The project's own pyproject.toml is 3 kB; any folder above the one `colourise` runs in may
# hold one, so a FIFO, a device, a huge or a deeply nested one is refused, never waited on.
MAX_PYPROJECT_BYTES = 1 << 20


def project_problem(folder: Path) -> str | None:
    """Why `folder` is not this Kedro project, as a sentence naming it, or None when it is:
    its pyproject.toml names the package in [tool.kedro] (another Kedro project's models
    would not fit)."""
    try:
        config = _pyproject(folder)
    except UserValueError as error:
        return str(error)
    if config is None:
        return f"{folder} has no pyproject.toml"
    if not _names_package(config):
        return f"{folder / 'pyproject.toml'} does not name {PACKAGE} in [tool.kedro]"
    return None


def is_project(folder: Path) -> bool:
    """Whether `folder` is this Kedro project (`project_problem`)."""
    return project_problem(folder) is None


def find_project(start: Path, unreadable: list[str] | None = None) -> Path | None:
    """`start` or the nearest folder above it that is the project, else the project this
    package was installed from (`pip install -e .`), else None.

    A pyproject.toml on the way that cannot be read (a FIFO, a device, too large, not TOML)
    is skipped, and said in `unreadable` when a list is given.
    """
    start = start.resolve()
    for folder in [start, *start.parents, INSTALLED_FROM]:
        try:
            config = _pyproject(folder)
        except UserValueError as error:
            if unreadable is not None:
                unreadable.append(str(error))
            continue
        if config is not None and _names_package(config):
            return folder
    return None


def _pyproject(folder: Path) -> dict[str, Any] | None:
    """The pyproject.toml of `folder`, None when it has none; UserValueError naming it when it
    cannot be read within `MAX_PYPROJECT_BYTES`, is not UTF-8 or not TOML."""
    path = folder / "pyproject.toml"
    if not os.path.lexists(path):
        return None
    return toml_from_text(read_small_text(path, MAX_PYPROJECT_BYTES, str(path)), str(path))


def _names_package(config: dict[str, Any]) -> bool:
    tool = config.get("tool")
    kedro = tool.get("kedro") if isinstance(tool, dict) else None
    return isinstance(kedro, dict) and kedro.get("package_name") == PACKAGE


def no_project_advice(start: Path) -> str:
    """What to do when `find_project(start)` found nothing."""
    return (
        f"No image-colourisation project in {start} or the folders above it, nor where the "
        f"package is installed from ({INSTALLED_FROM}); its models (data/06_models/, "
        "mlflow.db) are looked for there. Run colourise inside the project folder, give "
        "--project DIR (the folder with its pyproject.toml), or --model FILE."
    )
