"""Champion and challenger: the new version is challenger; champion moves only on improvement."""

from collections.abc import Iterator

import mlflow
import pytest
import yaml

from image_colourisation.serving.registry import (
    MODEL_NAME,
    ORPHAN_TAG,
    Criterion,
    mark_orphans,
    register_run,
)
from tests.project_copy import PROJECT_ROOT


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> mlflow.MlflowClient:
    """One sqlite store per module: creating its tables takes seconds."""
    return mlflow.MlflowClient(f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}")


@pytest.fixture
def client(store: mlflow.MlflowClient) -> Iterator[mlflow.MlflowClient]:
    """The store with an empty `image-colourisation` registered model."""
    store.create_registered_model(MODEL_NAME)
    yield store
    store.delete_registered_model(MODEL_NAME)


def training_run(
    client: mlflow.MlflowClient, test_mae: float | None, val_psnr: float | None = 22.0
) -> str:
    """A kedro-mlflow run with its nested `gan` run (evaluated when `test_mae` is given) and
    the version it registered, as a `kedro run` leaves them."""
    experiment = client.get_experiment_by_name("Default").experiment_id
    parent = client.create_run(experiment, run_name="__default__").info.run_id
    gan = client.create_run(
        experiment, run_name="gan", tags={"mlflow.parentRunId": parent, "variant": "gan"}
    ).info.run_id
    if val_psnr is not None:
        client.log_metric(gan, "val_psnr", val_psnr - 1.0, step=1)
        client.log_metric(gan, "val_psnr", val_psnr, step=2)  # the last epoch's counts
    if test_mae is not None:
        client.log_metric(gan, "test_mae", test_mae)
        client.log_metric(gan, "test_psnr", 40 - test_mae)
    client.create_model_version(MODEL_NAME, source=f"runs:/{parent}/colouriser", run_id=parent)
    return parent


def aliases(client: mlflow.MlflowClient) -> dict[str, int]:
    return {alias: int(v) for alias, v in client.get_registered_model(MODEL_NAME).aliases.items()}


def test_the_champion_moves_only_when_the_criterion_improves(client) -> None:
    criterion = Criterion(metric="test_mae", goal="minimize")
    message = register_run(client, training_run(client, 14.0), criterion)
    assert aliases(client) == {"champion": 1, "challenger": 1}
    assert "the first version" in message
    version = client.get_model_version(MODEL_NAME, "1")
    assert version.tags["test_mae"] == "14" and version.tags["evaluated"] == "true"

    message = register_run(client, training_run(client, 15.5), criterion)  # worse
    assert aliases(client) == {"champion": 1, "challenger": 2}
    assert "version 1 stays champion" in message

    register_run(client, training_run(client, 14.0), criterion)  # a tie keeps the champion
    assert aliases(client) == {"champion": 1, "challenger": 3}

    message = register_run(client, training_run(client, 13.2), criterion)  # better
    assert aliases(client) == {"champion": 4, "challenger": 4}
    assert "test_mae 13.2 beats version 1's 14" in message

    register_run(client, training_run(client, None), criterion)  # `--pipelines training` alone
    assert aliases(client) == {"champion": 4, "challenger": 5}
    assert client.get_model_version(MODEL_NAME, "5").tags["evaluated"] == "false"


def test_the_default_criterion_is_the_validation_psnr_training_logs(client) -> None:
    settings = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_registry.yml").read_text())
    criterion = Criterion(**settings["registry"]["criterion"])
    assert (criterion.metric, criterion.goal) == ("val_psnr", "maximize")
    register_run(client, training_run(client, 14.0, val_psnr=22.0), criterion)
    message = register_run(client, training_run(client, 12.0, val_psnr=21.5), criterion)
    assert aliases(client) == {"champion": 1, "challenger": 2}  # a better test_mae is not asked
    register_run(client, training_run(client, None, val_psnr=22.5), criterion)  # training alone
    assert aliases(client) == {"champion": 3, "challenger": 3}
    assert client.get_model_version(MODEL_NAME, "3").tags["val_psnr"] == "22.5"
    assert "val_psnr 21.5" in message


def test_maximising_a_criterion_and_a_run_that_registered_nothing(client) -> None:
    criterion = Criterion(metric="test_psnr", goal="maximize")
    register_run(client, training_run(client, 14.0), criterion)  # psnr 26
    register_run(client, training_run(client, 13.0), criterion)  # psnr 27: better
    assert aliases(client) == {"champion": 2, "challenger": 2}
    experiment = client.get_experiment_by_name("Default").experiment_id
    bare = client.create_run(experiment).info.run_id
    assert register_run(client, bare, criterion) is None
    with pytest.raises(ValueError, match="goal is 'lower'; allowed: minimize, maximize"):
        Criterion(metric="test_mae", goal="lower")


def test_a_version_its_killed_run_never_ranked_is_marked_on_the_next_run(client) -> None:
    """kill -9 at "Created version" left a version without aliases or tags and its run
    RUNNING: the next run tags it orphan and ends the run as KILLED; ranked versions and
    versions younger than the ranking takes are left alone."""
    ranked = training_run(client, test_mae=5.0)
    register_run(client, ranked, Criterion("val_psnr", "maximize"))
    killed = training_run(client, test_mae=None)
    versions = {v.run_id: v for v in client.search_model_versions(f"name = '{MODEL_NAME}'")}
    created = versions[killed].creation_timestamp

    assert mark_orphans(client, now_ms=created + 1000) == []  # being ranked right now, maybe
    (message,) = mark_orphans(client, now_ms=created + 601_000)
    assert message.startswith(f"{MODEL_NAME} version {versions[killed].version} was left unranked")
    assert client.get_model_version(MODEL_NAME, versions[killed].version).tags[ORPHAN_TAG]
    assert client.get_run(killed).info.status == "KILLED"
    assert ORPHAN_TAG not in client.get_model_version(MODEL_NAME, versions[ranked].version).tags
    assert client.get_run(ranked).info.status == "RUNNING"  # its own process ends it
    assert mark_orphans(client, now_ms=created + 601_000) == []  # marked once
