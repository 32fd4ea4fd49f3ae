"""A throw-away copy of the project to `kedro run` in (tests and benchmarks alike)."""

import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def copy_project(project: Path) -> Path:
    """The project's configuration and empty data layers in `project`; returns it.

    `src/` stays empty: Kedro insists on the folder, and the package itself is installed.
    """
    (project / "src").mkdir(parents=True)
    for name in ["pyproject.toml", ".telemetry"]:
        shutil.copy2(PROJECT_ROOT / name, project / name)
    shutil.copytree(PROJECT_ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    for layer in (PROJECT_ROOT / "data").iterdir():
        if layer.is_dir():
            (project / "data" / layer.name).mkdir(parents=True)
    return project
