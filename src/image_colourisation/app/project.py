"""The project folder `colourise` belongs to, so that it works from any folder.

Its default models are relative to the Kedro project, as in `kedro run`: the trained
generators in `data/06_models/`, the registry in `mlflow.db` (conf/base/mlflow.yml's
`sqlite:///mlflow.db`) with its artifacts in `mlruns/`. Run from another folder, the command
found none of them and said only that `data/06_models/generator_gan.pt` does not exist.
"""

import tomllib
from pathlib import Path

PACKAGE = "image_colourisation"
# src/image_colourisation/app/project.py: the project of an editable install is 3 folders up.
INSTALLED_FROM = Path(__file__).resolve().parents[3]


def is_project(folder: Path) -> bool:
    """Whether `folder` is this Kedro project: its pyproject.toml names the package in
    [tool.kedro] (another Kedro project's models would not fit)."""
    try:
        config = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return config.get("tool", {}).get("kedro", {}).get("package_name") == PACKAGE


def find_project(start: Path) -> Path | None:
    """`start` or the nearest folder above it that is the project, else the project this
    package was installed from (`pip install -e .`), else None."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if is_project(folder):
            return folder
    return INSTALLED_FROM if is_project(INSTALLED_FROM) else None


def no_project_advice(start: Path) -> str:
    """What to do when `find_project(start)` found nothing."""
    return (
        f"No image-colourisation project in {start} or the folders above it, nor where the "
        f"package is installed from ({INSTALLED_FROM}); its models (data/06_models/, "
        "mlflow.db) are looked for there. Run colourise inside the project folder, give "
        "--project DIR (the folder with its pyproject.toml), or --model FILE."
    )
