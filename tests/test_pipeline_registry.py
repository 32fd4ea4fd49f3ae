"""The pipeline registry: an unknown `--pipeline` name is a usage error listing the real ones."""

import subprocess
import sys
from pathlib import Path

import click
import pytest

from image_colourisation.pipeline_registry import (
    EVERY_PIPELINE,
    pipeline_names,
    refuse_unknown_pipelines,
)

LISTED = (
    "Its pipelines are: benchmark, colourisation, evaluation, ingestion, photos, preprocessing, "
    "training"
)


def test_the_pipelines_are_the_folders_under_pipelines() -> None:
    # The default run's pipelines, and `photos`, the same stages on a folder of the user's photos.
    assert pipeline_names() == sorted((*EVERY_PIPELINE, "photos"))


def test_known_names_and_the_default_pass() -> None:
    refuse_unknown_pipelines(["ingestion", "__default__", "training"])


def test_unknown_names_are_listed_with_the_real_ones() -> None:
    with pytest.raises(click.UsageError, match="no pipeline named 'nosuch', 'trainign'") as caught:
        refuse_unknown_pipelines(["ingestion", "nosuch", "trainign"])
    assert LISTED in caught.value.message


def test_kedro_run_with_an_unknown_pipeline_says_so_once(kedro_project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines", "ingestion,nosuch"],
        cwd=kedro_project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"Error: This project has no pipeline named 'nosuch'. {LISTED}" in output
    assert "Traceback" not in output and "ImportError" not in output
    assert not (kedro_project / "data/02_intermediate/cifar10_images.npz").exists()
