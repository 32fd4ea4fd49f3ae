"""Resumed training in MLflow: the killed run's nested run goes on, metrics at the next step."""

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from image_colourisation.core.errors import TrackingLostError
from image_colourisation.datasets.model_runs import ModelRunMetricsDataset
from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from image_colourisation.pipelines.training.nodes import train_l1_baseline
from image_colourisation.pipelines.training.tracking import server_lost, variant_run
from tests.imagenet_weights import shared_imagenet_weights
from tests.pipelines.training.synthetic import synthetic_set
from tests.project_copy import PROJECT_ROOT

KILLED_AFTER_EPOCH = 2
# Trains the L1 baseline for 3 epochs inside a parent run, as `kedro run` would, and hangs
# once epoch 2 is logged, so that the test can kill it there with SIGKILL.
TRAIN_AND_HANG = f"""
import sys, time
import mlflow
from image_colourisation.pipelines.training import nodes
from tests.imagenet_weights import shared_imagenet_weights
from tests.pipelines.training.test_tracking import dataset, tiny_params

logged = nodes.log_metrics
def log_then_hang(metrics, epoch, run_id):
    logged(metrics, epoch, run_id)
    if epoch == {KILLED_AFTER_EPOCH}:
        print("logged", flush=True)
        time.sleep(600)
nodes.log_metrics = log_then_hang

mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run(run_name="training"):
    nodes.train_l1_baseline(dataset(16, 0), dataset(4, 1), shared_imagenet_weights, tiny_params(sys.argv[2]))
"""


def dataset(count: int, seed: int) -> dict[str, np.ndarray]:
    lightness, ab = synthetic_set(count, seed)
    return {"L": lightness, "ab": ab, "labels": np.zeros(count, np.int64)}


def tiny_params(checkpoint_dir: str, **changes: object) -> TrainingParams:
    settings = {"epochs": 3, "batch_size": 8, "width": 4, "sample_every": 100, "device": "cpu"}
    return project_training_params(
        PROJECT_ROOT, **{**settings, "checkpoint_dir": checkpoint_dir, **changes}
    )


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[MlflowClient]:
    """A fresh sqlite store; runs go to its Default experiment (`mlflow.set_experiment` would
    leave its experiment id active, in this process and in MLFLOW_EXPERIMENT_ID, for later
    tests)."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        yield MlflowClient()
    finally:
        mlflow.set_tracking_uri(None)


def _variant_runs(client: MlflowClient, variant: str) -> list:
    experiment = client.get_experiment_by_name("Default")
    runs = client.search_runs([experiment.experiment_id])
    return [run for run in runs if run.data.tags.get("variant") == variant]


def _steps(client: MlflowClient, run_id: str) -> list[int]:
    return [point.step for point in client.get_metric_history(run_id, "g_l1_loss")]


def test_a_resumed_training_continues_the_killed_nested_run(
    tmp_path: Path, tracking: MlflowClient
) -> None:
    """kill -9 after epoch 2 of 3 left the nested run and its parent RUNNING. Resuming reopens
    that nested run (epoch 3 lands at step 3 beside 1 and 2), finishes it, marks the dead
    parent KILLED, and links the parents both ways."""
    checkpoints = str(tmp_path / "checkpoints")
    killed = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(TRAIN_AND_HANG), mlflow.get_tracking_uri(),
         checkpoints],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert killed.stdout.readline().strip() == "logged"  # bounded: the script's own sleep
    finally:
        killed.kill()
        killed.wait(timeout=60)
    (interrupted,) = _variant_runs(tracking, "l1")
    old_parent = interrupted.data.tags["mlflow.parentRunId"]
    assert interrupted.info.status == "RUNNING" == tracking.get_run(old_parent).info.status

    with mlflow.start_run(run_name="training") as parent:
        train_l1_baseline(
            dataset(16, 0),
            dataset(4, 1),
            shared_imagenet_weights,
            tiny_params(checkpoints, resume=True),
        )

    (run,) = _variant_runs(tracking, "l1")  # no second nested run
    assert run.info.run_id == interrupted.info.run_id and run.info.status == "FINISHED"
    assert _steps(tracking, run.info.run_id) == [1, 2, 3]
    assert run.data.tags["resumed_in"] == parent.info.run_id
    assert run.data.tags["resumed_after_epoch"] == str(KILLED_AFTER_EPOCH)
    assert run.data.params["training.resume"] == "False"  # as first logged; params never change
    assert run.data.tags["resumed_with.training.resume"] == "True"
    assert tracking.get_run(old_parent).info.status == "KILLED"
    assert tracking.get_run(old_parent).data.tags["l1_continued_in"] == parent.info.run_id
    assert tracking.get_run(parent.info.run_id).data.tags["l1_continues_run"] == run.info.run_id


def test_resuming_a_finished_run_starts_a_new_one_linked_to_it(
    tmp_path: Path, tracking: MlflowClient
) -> None:
    """Training on past its end (more epochs): the finished run stays as it was; the new one
    holds the later epochs and names the run it continues."""
    checkpoints = str(tmp_path / "checkpoints")
    with mlflow.start_run(run_name="training"):
        train_l1_baseline(
            dataset(16, 0),
            dataset(4, 1),
            shared_imagenet_weights,
            tiny_params(checkpoints, epochs=1),
        )
    (first,) = _variant_runs(tracking, "l1")
    with mlflow.start_run(run_name="training"):
        train_l1_baseline(
            dataset(16, 0),
            dataset(4, 1),
            shared_imagenet_weights,
            tiny_params(checkpoints, epochs=2, resume=True),
        )
    second = next(
        run for run in _variant_runs(tracking, "l1") if run.info.run_id != first.info.run_id
    )
    assert _steps(tracking, first.info.run_id) == [1]
    assert _steps(tracking, second.info.run_id) == [2]
    assert second.data.tags["resumed_from_run"] == first.info.run_id
    assert tracking.get_run(first.info.run_id).info.status == "FINISHED"


def test_photo_runs_are_named_apart_from_cifar_runs_and_found_by_their_tags(
    tracking: MlflowClient,
) -> None:
    with mlflow.start_run(run_name="__default__"), variant_run("gan", {}):
        pass
    with mlflow.start_run(run_name="photos") as parent:
        with variant_run("gan", {}, data="photos"):
            pass
        ModelRunMetricsDataset(data="photos").save(
            {"gan": {"source": "x", "metrics": {"test_mae": 1.0}},
             "gray": {"source": "gray", "metrics": {"test_mae": 2.0}}}
        )  # fmt: skip
    runs = {run.info.run_name: run for run in _variant_runs(tracking, "gan")}
    runs |= {run.info.run_name: run for run in _variant_runs(tracking, "gray")}
    assert set(runs) == {"gan", "photos-gan", "photos-gray"}
    assert runs["photos-gray"].data.tags["data"] == runs["photos-gan"].data.tags["data"] == "photos"
    assert runs["gan"].data.tags["data"] == "cifar10"
    # the evaluation's figures reach the photo-trained run through its variant tag
    assert runs["photos-gan"].data.metrics == {"test_mae": 1.0}
    assert runs["photos-gray"].data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_a_failed_call_to_a_tracking_server_names_the_checkpoint_to_resume_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against a server, MLflow's failure becomes a user error that says what to do; against a
    local store it stays what it is (a bug or a full disk, not a lost server)."""
    refused = (
        "API request to http://127.0.0.1:9/api/2.0/mlflow/runs/log-batch failed with exception "
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded (Caused by "
        "NewConnectionError('<...>: Failed to establish a new connection: [Errno 111] "
        "Connection refused'))"
    )
    checkpoint = Path("checkpoints/gan/last.pt")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.raises(TrackingLostError) as lost:
        with server_lost("after epoch 3 of the gan training", checkpoint):
            raise mlflow.exceptions.MlflowException(refused)
    assert str(lost.value).startswith(
        "The MLflow tracking server at http://127.0.0.1:9 failed after epoch 3 of the gan "
        "training ([Errno 111] Connection refused). The training so far is saved in "
        "checkpoints/gan/last.pt: once the server answers, run the same command with "
        "`--params training.resume=true`"
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    with pytest.raises(mlflow.exceptions.MlflowException, match="disk I/O error"):
        with server_lost("after epoch 3 of the gan training", checkpoint):
            raise mlflow.exceptions.MlflowException("disk I/O error")
