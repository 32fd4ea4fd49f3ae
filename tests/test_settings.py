"""settings.py: an `--env` that names no configuration environment stops the run at once."""

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from image_colourisation.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS


@pytest.mark.parametrize("env", ["nosuch", "../../elsewhere", "base"])
def test_an_environment_that_is_no_folder_of_conf_is_refused(kedro_project: Path, env: str) -> None:
    with pytest.raises(click.UsageError) as refused:
        CONFIG_LOADER_CLASS(str(kedro_project / "conf"), env, **CONFIG_LOADER_ARGS)
    assert refused.value.message == (
        f"--env {env!r} is not a configuration environment of this project; the environments "
        f"are the folders of {kedro_project / 'conf'} read over base/: gpu, local, team."
    )
    for known in [None, "gpu", "local"]:
        CONFIG_LOADER_CLASS(str(kedro_project / "conf"), known, **CONFIG_LOADER_ARGS)


def test_kedro_run_with_an_unknown_environment_is_one_usage_error(kedro_project: Path) -> None:
    """It was an MLflow error about the file store, after a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "nosuch", "--pipelines", "ingestion"],
        cwd=kedro_project, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, output
    assert "Error: --env 'nosuch' is not a configuration environment" in output
    assert "gpu, local, team" in output and "Traceback" not in output and "Mlflow" not in output
    assert not (kedro_project / "mlflow.db").exists()
