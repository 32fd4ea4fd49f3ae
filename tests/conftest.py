"""Shared fixtures: a tiny CIFAR-10 archive, a throw-away copy of the Kedro project and a
tiny generator payload."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from image_colourisation.models.imagenet import seed_hub_cache
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from tests.cifar_archive import write_cifar_archive
from tests.imagenet_weights import SHARED_WEIGHTS
from tests.project_copy import copy_project

# The `tracked_project` fixture: one tiny default `kedro run`, shared by browser and notebook tests.
pytest_plugins = ["tests.tracked_runs", "tests.browser.chromium"]
os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


@pytest.fixture(scope="session", autouse=True)
def torch_hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub cache of the session's own (never the user's), seeded with the shared ImageNet
    weights, so that every `kedro run` in a project copy finds the generator's encoder weights
    as a machine without network does (the copies have no ../shared beside them)."""
    home = tmp_path_factory.mktemp("torch-home")
    os.environ["TORCH_HOME"] = str(home)
    seed_hub_cache(SHARED_WEIGHTS)
    return home


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, md5) of a 50-train / 20-test archive in the official format."""
    path = tmp_path_factory.mktemp("archive") / "cifar-10-tiny-python.tar.gz"
    return path, write_cifar_archive(path)


@pytest.fixture
def generator() -> dict:
    """An untrained width-4 generator's payload, seeded."""
    torch.manual_seed(0)
    return generator_payload(Generator(width=4))


@pytest.fixture
def kedro_project(tmp_path: Path) -> Path:
    """A copy of the project's configuration and empty data layers, to `kedro run` in."""
    return copy_project(tmp_path / "project")


def run_kedro(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `kedro` CLI in `project`; fail the test with its output if it fails."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"kedro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def archive_params(archive: tuple[Path, str]) -> str:
    """The `--params` value that points the ingestion at a local archive."""
    path, md5 = archive
    return f"cifar10.url={path.as_uri()},cifar10.md5={md5}"
