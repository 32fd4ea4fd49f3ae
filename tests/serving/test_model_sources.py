"""load_generator: a payload file, a versioned folder, an MLflow URI, and clear errors."""

import os
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml
from kedro.io import Version

from image_colourisation.core.errors import ModelFileError
from image_colourisation.datasets import ModelPayloadDataset
from image_colourisation.models import payloads
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_runtime import OnnxGenerator
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.training.tracking import log_generator
from image_colourisation.serving import model_sources
from image_colourisation.serving.model_sources import load_generator, load_trained_generator
from tests.project_copy import PROJECT_ROOT


@pytest.fixture
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator(width=4).eval()


def _same_output(a: Generator, b: Generator, size: tuple[int, int] = (32, 64)) -> bool:
    lightness = torch.rand(2, 1, *size) * 2 - 1
    with torch.no_grad():
        return torch.allclose(a(lightness), b(lightness), atol=1e-6)


def test_payload_file_and_versioned_folder(tmp_path: Path, generator: Generator) -> None:
    folder = tmp_path / "generator_gan.pt"
    for version in ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"]:
        torch.manual_seed(int(version[9]))
        saved = generator if version.startswith("2026-01-02") else Generator(width=4)
        ModelPayloadDataset(str(folder), version=Version(None, version)).save(
            generator_payload(saved)
        )
    from_folder = load_generator(folder)  # the newest version
    from_file = load_generator(str(folder / "2026-01-02T00.00.00.000Z" / "generator_gan.pt"))
    for loaded in (from_folder, from_file):
        assert isinstance(loaded, Generator) and not loaded.training
        assert _same_output(loaded, generator)


def test_mlflow_run_uri_gives_a_fully_convolutional_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generator: Generator
) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run() as run:
            log_generator(generator)
        loaded = load_generator(f"runs:/{run.info.run_id}/generator")
        assert isinstance(loaded, Generator) and not loaded.training
        assert _same_output(loaded, generator, size=(64, 96))  # not tied to the logged size
        # The logged graph itself, as `mlflow models serve` runs it: any multiple of 32.
        served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/generator")
        for size in [(32, 32), (64, 96)]:
            lightness = np.random.default_rng(0).uniform(-1, 1, (1, 1, *size)).astype(np.float32)
            with torch.no_grad():
                expected = generator(torch.from_numpy(lightness)).numpy()
            assert np.asarray(served.predict(lightness)) == pytest.approx(expected, abs=1e-5)
        with pytest.raises(ValueError, match=r"runs:/0123.*could not be loaded from MLflow"):
            load_generator("runs:/0123/generator")
    finally:
        mlflow.set_tracking_uri(None)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("nowhere/generator.pt", "does not exist"),
        ("/dev/zero", r"is a character device \(like /dev/zero\), not a file"),
        ("s3://bucket/generator.pt", "unsupported URI scheme 's3'"),
    ],
)
def test_bad_sources_name_the_source_and_the_accepted_forms(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        load_generator(source)
    assert source in str(error.value) and "runs:/<run_id>/generator" in str(error.value)


def test_empty_folder_and_foreign_file(tmp_path: Path) -> None:
    (tmp_path / "generator_gan.pt").mkdir()
    with pytest.raises(ValueError, match="no saved versions"):
        load_generator(tmp_path / "generator_gan.pt")
    (tmp_path / "notes.pt").write_text("not a model")
    with pytest.raises(ValueError, match="notes.pt.*weights_only=True"):
        load_generator(tmp_path / "notes.pt")


class RunsCode:
    """Unpickling this would call print: a stand-in for a file that runs code when loaded."""

    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"architecture": {"width": 1_000_000, "depth": 5, "dropout": 0.5}}, "width is 1000000"),
        ({"architecture": ["width", 4]}, "architecture record is a list"),
        ({"architecture": {"width": 8, "depth": 5, "dropout": 0.5}}, "weights do not fit"),
    ],
)
def test_a_payload_file_that_does_not_fit_its_architecture_names_the_file(
    tmp_path: Path, generator: Generator, content: dict, problem: str
) -> None:
    path = tmp_path / "generator_gan.pt"
    torch.save({**generator_payload(generator), **content}, path)
    with pytest.raises(ValueError, match=problem) as error:
        load_generator(path)
    assert str(error.value).startswith(f"Model source {str(path)!r} is not a usable generator")
    assert "\n" not in str(error.value)


def test_a_file_that_would_run_code_is_refused_without_suggesting_the_unsafe_option(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "generator_gan.pt"
    torch.save({"architecture": {}, "state_dict": RunsCode()}, path)
    with pytest.raises(
        ValueError, match=r"asks to import [\w.]*print, which no file of this project"
    ) as error:
        load_generator(path)
    message = str(error.value)
    assert "must not be trusted" in message or "do not trust it" in message
    assert "never load it with weights_only=False" in message
    assert "will likely succeed" not in message  # torch's advice to use the unsafe option
    assert "this must never run" not in capsys.readouterr().out


def test_an_mlflow_model_inflating_past_the_payload_bound_is_refused_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generator: Generator
) -> None:
    """The bound a payload file gets holds for `runs:/` models too. A width-4 generator's
    weights alone are 263 kB: with the bound lowered below that, the model is refused by its
    size before torch inflates anything (the bomb itself need not be built)."""
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run() as run:
            log_generator(generator)
        monkeypatch.setattr(payloads, "MAX_PAYLOAD_BYTES", 10_000)
        monkeypatch.setattr(payloads, "load_payload", pytest.fail)  # never reached
        with pytest.raises(
            ModelFileError,
            match=r"its files inflate to [\d,]+ bytes, more than "
            r"the 10,000 any model of this project needs, so it was not loaded",
        ):
            load_generator(f"runs:/{run.info.run_id}/generator")
    finally:
        mlflow.set_tracking_uri(None)


def test_an_mlflow_model_stored_as_a_pickle_is_refused_as_untrusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generator: Generator
) -> None:
    """MLflow would unpickle it (its default allows that), running whatever it holds; a model
    bundling code (code_paths) would go on the import path. Both are refused as untrusted."""
    import mlflow.pytorch  # noqa: PLC0415

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run() as run:
            mlflow.pytorch.log_model(
                generator, name="generator", serialization_format="pickle",
                pip_requirements=["torch"], metadata={"architecture": generator.architecture},
            )  # fmt: skip
        with pytest.raises(ValueError, match="is stored as a pickle") as error:
            load_generator(f"runs:/{run.info.run_id}/generator")
        with pytest.raises(ValueError, match="bundles Python code"):
            with mlflow.start_run() as coded:
                (tmp_path / "helper.py").write_text("print('this must never run')\n")
                mlflow.pytorch.log_model(
                    generator, name="generator", input_example=np.zeros((1, 1, 32, 32), np.float32),
                    code_paths=[str(tmp_path / "helper.py")], pip_requirements=["torch"],
                    metadata={"architecture": generator.architecture},
                )  # fmt: skip
            load_generator(f"runs:/{coded.info.run_id}/generator")
    finally:
        mlflow.set_tracking_uri(None)
    assert "must not be trusted" in str(error.value)
    assert "MLFLOW_ALLOW_PICKLE_DESERIALIZATION" not in str(error.value)
    assert os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION") is None  # restored


def _saved_with_export(folder: Path, generator: Generator, onnx: bool) -> Path:
    """A versioned folder holding one payload, with its ONNX export beside it when `onnx`."""
    ModelPayloadDataset(
        str(folder), version=Version(None, "2026-01-01T00.00.00.000Z"), onnx=onnx
    ).save(generator_payload(generator) | {"render_size": 96})
    return folder / "2026-01-01T00.00.00.000Z" / folder.name


def test_the_onnx_runtime_runs_the_export_beside_the_payload(tmp_path: Path, generator) -> None:
    payload = _saved_with_export(tmp_path / "generator_gan.pt", generator, onnx=True)
    assert payload.with_suffix(".onnx").is_file()
    for source in (tmp_path / "generator_gan.pt", payload, payload.with_suffix(".onnx")):
        trained = load_trained_generator(source, "onnx")
        assert isinstance(trained.generator, OnnxGenerator)
        assert (trained.runtime, trained.render_size, trained.fallback) == ("onnx", 96, None)
    assert isinstance(load_trained_generator(payload, "torch").generator, Generator)


def test_without_an_export_pytorch_runs_and_says_how_to_write_one(
    tmp_path: Path, generator
) -> None:
    payload = _saved_with_export(tmp_path / "generator_gan.pt", generator, onnx=False)
    trained = load_trained_generator(tmp_path / "generator_gan.pt", "onnx")
    assert isinstance(trained.generator, Generator) and trained.runtime == "torch"
    assert trained.render_size == 96
    assert f"python -m image_colourisation.models.onnx_export {payload}" in trained.fallback
    assert "colourising with PyTorch instead" in trained.fallback


def test_a_missing_onnx_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nosuch\.onnx' does not exist"):
        load_trained_generator(tmp_path / "nosuch.onnx", "torch")


@pytest.mark.parametrize(
    ("catalog", "dataset", "constant"),
    [
        ("catalog_training.yml", "generator_gan", "LATEST_GAN"),
        ("catalog_training.yml", "generator_l1", "LATEST_L1"),
        ("catalog_photos.yml", "photos.generator_gan", "LATEST_PHOTOS_GAN"),
        ("catalog_photos.yml", "photos.generator_l1", "LATEST_PHOTOS_L1"),
    ],
)
def test_the_latest_models_offered_are_where_the_catalog_saves_them(
    catalog: str, dataset: str, constant: str
) -> None:
    entries = yaml.safe_load((PROJECT_ROOT / "conf/base" / catalog).read_text())
    assert entries[dataset]["filepath"] == getattr(model_sources, constant)
