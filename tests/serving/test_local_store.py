"""The local registry read without MLflow's client agrees with MLflow, and says when it cannot."""

import sqlite3
from pathlib import Path

import pytest
import torch

from image_colourisation.app.model_choices import _registered_model_from_mlflow
from image_colourisation.models.onnx_runtime import OnnxGenerator
from image_colourisation.serving import local_store
from image_colourisation.serving.model_sources import _from_mlflow
from image_colourisation.serving.registry import (
    CHAMPION,
    CHAMPION_URI,
    MODEL_NAME,
    SERVED_GENERATOR,
    SERVED_GENERATOR_ONNX,
)


def test_the_champion_and_its_generator_file_are_read_from_the_store_as_mlflow_reads_them(
    tracked_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tracked_project)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    assert local_store.has_alias(MODEL_NAME, CHAMPION) is True
    assert local_store.has_alias(MODEL_NAME, "nosuch") is False
    file = local_store.alias_artifact(MODEL_NAME, CHAMPION, SERVED_GENERATOR)
    assert file is not None and file.is_relative_to(tracked_project / "mlruns")
    direct = torch.load(file, weights_only=True)["state_dict"]
    through_mlflow = _from_mlflow(CHAMPION_URI)["state_dict"]
    assert direct.keys() == through_mlflow.keys()
    assert all(torch.equal(direct[name], through_mlflow[name]) for name in direct)
    exported = local_store.alias_artifact(MODEL_NAME, CHAMPION, SERVED_GENERATOR_ONNX)
    assert exported is not None and exported.parent == file.parent
    assert (
        OnnxGenerator(exported, "the champion's export").architecture
        == torch.load(file, weights_only=True)["architecture"]
    )
    # The versions the page lists, with their tags, as MLflow's client lists them.
    registered = local_store.registered_model(MODEL_NAME)
    assert registered == _registered_model_from_mlflow()
    assert registered.aliases[CHAMPION] in registered.version_tags


def test_what_cannot_be_read_here_is_left_to_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert local_store.has_alias(MODEL_NAME, CHAMPION) is False  # no store: no champion
    assert local_store.registered_model(MODEL_NAME) == local_store.RegisteredModel({}, {})
    assert not (tmp_path / "mlflow.db").exists()  # and none was created by asking
    sqlite3.connect(tmp_path / "mlflow.db").close()  # a database without MLflow's tables
    assert local_store.has_alias(MODEL_NAME, CHAMPION) is None
    assert local_store.alias_artifact(MODEL_NAME, CHAMPION, SERVED_GENERATOR) is None
    assert local_store.registered_model(MODEL_NAME) is None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")  # a tracking server
    assert (
        local_store.registry_file() is None and local_store.has_alias(MODEL_NAME, CHAMPION) is None
    )
