"""Runs started side by side, as real processes: one MLflow store, one training per variant."""

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Pipeline

from image_colourisation.core.errors import TRACEBACK_SWITCH, UserDatasetError
from image_colourisation.core.locks import LOCK_NAME
from image_colourisation.hooks.project import TrainingLockHook, UserErrorHook
from image_colourisation.pipelines.training import create_pipeline as training
from image_colourisation.pipelines.training.config import project_training_params
from tests.lock_holder import start_lock_holder
from tests.project_copy import PROJECT_ROOT

PROCESS_TIMEOUT_S = 240  # each process imports Kedro, MLflow and torch: slow on a busy CPU

# What `kedro run` does first: open a session and create its context, whose hooks set up the
# MLflow store. The processes import everything, say so, and start together on a signal.
OPEN_STORE = """
import sys, time
from pathlib import Path
import kedro_mlflow, mlflow  # noqa: F401
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project, start = Path(sys.argv[1]), Path(sys.argv[2])
bootstrap_project(project)
print("ready", flush=True)
deadline = time.monotonic() + 60
while not start.exists():
    if time.monotonic() > deadline:
        sys.exit("the start signal never came")
    time.sleep(0.002)
with KedroSession.create(project) as session:
    session.load_context()
"""


def test_two_fresh_runs_create_the_mlflow_store_together(kedro_project: Path) -> None:
    """Unprotected, one of them died in the table creation (`table latest_metrics already
    exists`, or Alembic's "Online migration expected to match one row")."""
    start = kedro_project / "start"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(OPEN_STORE), str(kedro_project), str(start)],
            cwd=kedro_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        for process in processes:
            wait_for_line(process, "ready")
        start.touch()
        results = [process.communicate(timeout=PROCESS_TIMEOUT_S) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    with sqlite3.connect(kedro_project / "mlflow.db") as database:
        names = [row[0] for row in database.execute("SELECT name FROM experiments")]
    assert sorted(names) == ["Default", "image-colourisation"]


def wait_for_line(process: subprocess.Popen, line: str) -> None:
    """Read `process`'s output up to `line` (bounded: each script exits or says it)."""
    seen = []
    while (text := process.stdout.readline()) and text.strip() != line:
        seen.append(text)
    assert text, f"the process ended without saying {line!r}:\n{''.join(seen)}"


def test_a_second_training_run_stops_at_once_naming_the_first(kedro_project: Path) -> None:
    """While another process trains the GAN into the same checkpoint folder, `kedro run
    --pipelines training` stops before any node runs (no data is even needed), naming that
    process and the lock file; it opens no MLflow run and keeps no lock of its own."""
    checkpoints = kedro_project / "data" / "06_models" / "checkpoints"
    holder = start_lock_holder(checkpoints / "gan", PROCESS_TIMEOUT_S)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "kedro", "run", "--pipelines", "training"],
            cwd=kedro_project, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
            capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, check=False,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait(timeout=PROCESS_TIMEOUT_S)
    output = " ".join((second.stdout + second.stderr).split())  # undo rich's line wrapping
    assert second.returncode != 0
    assert f"another run (PID {holder.pid}" in output
    assert str(checkpoints / "gan" / LOCK_NAME) in output.replace(" ", "")  # paths may wrap
    assert "train_set" not in output  # stopped before loading any data
    assert not (checkpoints / "l1" / LOCK_NAME).exists()  # the l1 lock it took was released
    with sqlite3.connect(kedro_project / "mlflow.db") as database:
        assert database.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_a_foreign_checkpoint_stops_the_run_before_any_work(kedro_project: Path) -> None:
    """Random bytes where `training.resume=true` expects a checkpoint: a usage error (exit 2)
    in one message, no traceback, no torch advice to load it unsafely, no MLflow run, no lock
    left behind."""
    checkpoints = kedro_project / "data" / "06_models" / "checkpoints"
    (checkpoints / "gan").mkdir(parents=True)
    (checkpoints / "gan" / "last.pt").write_bytes(bytes(range(256)) * 16)
    returncode, output = kedro_run(
        kedro_project, "--pipelines", "training", "--params", "training.resume=true"
    )
    assert returncode == 2, output
    assert "last.pt is not a checkpoint of this project" in output
    assert "must not be trusted" in output and "will likely succeed" not in output
    assert "Traceback" not in output and "train_set" not in output
    assert not list(checkpoints.glob(f"*/{LOCK_NAME}"))
    with sqlite3.connect(kedro_project / "mlflow.db") as database:
        assert database.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_a_photos_run_locks_its_own_checkpoint_folders(tmp_path: Path) -> None:
    """While a CIFAR-10 training holds its gan folder, the photos namespace's training nodes
    lock the folders of their own `params:photos.training`, and only those."""
    cifar, photos = tmp_path / "cifar", tmp_path / "photos"
    holder = start_lock_holder(cifar / "gan", PROCESS_TIMEOUT_S)
    catalog = DataCatalog(
        {
            "params:training": MemoryDataset(
                project_training_params(PROJECT_ROOT, checkpoint_dir=str(cifar))
            ),
            "params:photos.training": MemoryDataset(
                project_training_params(PROJECT_ROOT, checkpoint_dir=str(photos))
            ),
        }
    )
    pipeline = Pipeline(training(), namespace="photos")
    hook = TrainingLockHook()
    try:
        hook.before_pipeline_run({}, pipeline, catalog)  # not stopped by the CIFAR-10 lock
        locked = sorted(path.parent.name for path in photos.glob(f"*/{LOCK_NAME}"))
        hook.after_pipeline_run({}, {}, pipeline)
    finally:
        holder.kill()
        holder.wait(timeout=PROCESS_TIMEOUT_S)
    assert locked == ["gan", "l1"]
    assert not list(photos.glob(f"*/{LOCK_NAME}"))  # released after the run
    assert not (cifar / "l1").exists()  # CIFAR-10's folders untouched


def _failed_load(cause: Exception) -> DatasetError:
    """What Kedro raises when a dataset's load fails: its own error, raised from the cause."""
    try:
        raise DatasetError("Failed while loading data from dataset photos.source.") from cause
    except DatasetError as wrapped:
        return wrapped


def test_a_user_error_ends_the_run_with_its_message_and_a_bug_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TRACEBACK_SWITCH, raising=False)
    hook = UserErrorHook()
    mistake = UserDatasetError("/nowhere is not a folder: point the photo pipeline at it.")
    with pytest.raises(click.ClickException) as ended:
        hook.on_pipeline_error(_failed_load(mistake), {}, Pipeline([]))
    assert ended.value.message.startswith("/nowhere is not a folder: point the photo pipeline")
    assert f"run again with {TRACEBACK_SWITCH}=1" in ended.value.message
    for bug in [_failed_load(KeyError("images")), ZeroDivisionError()]:
        assert hook.on_pipeline_error(bug, {}, Pipeline([])) is None  # Kedro re-raises it whole
    monkeypatch.setenv(TRACEBACK_SWITCH, "1")
    assert hook.on_pipeline_error(_failed_load(mistake), {}, Pipeline([])) is None


def test_kedro_run_on_a_missing_photo_folder_prints_one_message(kedro_project: Path) -> None:
    """It was the message at the end of ~300 lines of traceback."""
    missing = kedro_project / "no-such-folder"
    returncode, output = kedro_run(
        kedro_project, "--pipelines", "photos", "--params", f"photos.folder={missing}"
    )
    assert returncode == 1, output
    assert f"Error: {missing} is not a folder: point the photo pipeline at your pictures" in output
    assert "Traceback" not in output and f"{TRACEBACK_SWITCH}=1" in output


def test_a_random_file_as_the_mlflow_store_stops_the_run_in_one_message(
    kedro_project: Path,
) -> None:
    """Random bytes where conf/base/mlflow.yml's sqlite:///mlflow.db lies: a usage error that
    names the file and what to do, no SQLAlchemy traceback, and the file left as it was."""
    store = kedro_project / "mlflow.db"
    store.write_bytes(bytes(range(256)) * 16)
    returncode, output = kedro_run(kedro_project, "--pipelines", "ingestion")
    assert returncode == 2, output
    assert f"The MLflow store {store} is not a sqlite database" in output
    assert "move it away" in output and "Traceback" not in output
    assert store.read_bytes() == bytes(range(256)) * 16


def kedro_run(project: Path, *args: str) -> tuple[int, str]:
    """`kedro run` in `project` as a user types it: its exit code and its output on one line."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, check=False,
    )  # fmt: skip
    return result.returncode, " ".join((result.stdout + result.stderr).split())
