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

# pytest-xdist (`make test`: `pytest -n 2 --dist loadgroup`): the workers share the cores, so
# each one's torch, and what it starts (OMP_NUM_THREADS), takes its share instead of them all.
if "PYTEST_XDIST_WORKER" in os.environ:
    _cores = len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores)))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# Under xdist, the files that share a session's expensive set-up run on one worker, which builds
# it once: the tiny tracked `kedro run` (tracked_runs.py) and the team server (tests/team). Each
# other file runs whole on one worker, so that its module fixtures are built once too.
SHARED_SET_UPS = {
    "tracked_project": (
        "tests/browser/test_kedro_viz.py",
        "tests/browser/test_mlflow_ui.py",
        "tests/serving/test_local_store.py",
        "tests/serving/test_served_model.py",
        "tests/test_end_to_end_default.py",
        "tests/test_notebook.py",
    ),
    "team_server": ("tests/team/",),
}
# The slowest files after those two groups (`--durations`), started early so that no long file
# is left to run alone at the end (with `--no-loadscope-reorder`); only an order.
SLOW_FILES = (
    "tests/test_gpu_check.py",
    "tests/pipelines/evaluation/test_end_to_end.py",
    "tests/pipelines/training/test_distributed.py",
    "tests/pipelines/training/test_end_to_end.py",
    "tests/pipelines/photos/test_end_to_end.py",
    "tests/browser/test_colourise_page.py",
)


def group_of(nodeid: str) -> str:
    """The worker's share a test goes in: its shared set-up's files, or its own file."""
    file = nodeid.split("::", maxsplit=1)[0]
    for fixture, files in SHARED_SET_UPS.items():
        if file.startswith(files):
            return fixture
    return file


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadgroup` with the groups of `group_of`, each whole on one worker. Not by
    `xdist_group` marks: with pytest 9.2 xdist 3.8 loses them (pytest-xdist issue 1386)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415 - only with xdist

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist: the shared set-ups and the slow files first (the scheduler keeps this order
    with `--no-loadscope-reorder`); a warning for a test whose shared set-up misses its file."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    first = [*SHARED_SET_UPS, *SLOW_FILES]
    groups = {item: group_of(item.nodeid) for item in items}
    items.sort(key=lambda item: first.index(groups[item]) if groups[item] in first else len(first))
    for item in items:
        for fixture in SHARED_SET_UPS:
            if fixture in item.fixturenames and groups[item] != fixture:
                item.warn(
                    pytest.PytestWarning(
                        f"{item.nodeid} uses {fixture}: add its file to SHARED_SET_UPS in "
                        "tests/conftest.py, or each worker builds its own"
                    )
                )


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
