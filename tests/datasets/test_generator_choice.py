"""GeneratorChoiceDataset: `latest`, an explicit file, a missing optional baseline, errors."""

import logging
from pathlib import Path

import pytest
import torch
from kedro.io import DatasetError, Version

from image_colourisation.datasets import GeneratorChoiceDataset, ModelPayloadDataset


def save_version(folder: Path, payload: dict, version: str) -> Path:
    ModelPayloadDataset(str(folder), version=Version(None, version)).save(payload)
    return folder / version / folder.name


def same_weights(first: dict, second: dict) -> bool:
    return all(torch.equal(first[name], second[name]) for name in first)


def test_latest_loads_the_newest_version_and_names_it(tmp_path: Path, generator) -> None:
    folder = tmp_path / "generator_gan.pt"
    save_version(folder, generator, "2026-01-01T00.00.00.000Z")
    newer = {**generator, "state_dict": {k: v + 1 for k, v in generator["state_dict"].items()}}
    newest = save_version(folder, newer, "2026-02-01T00.00.00.000Z")

    loaded = GeneratorChoiceDataset(source="latest", latest_folder=str(folder)).load()
    assert loaded["source"] == newest.as_posix()
    assert loaded["architecture"] == generator["architecture"]
    assert same_weights(loaded["state_dict"], newer["state_dict"])


def test_an_explicit_source_goes_to_load_generator(tmp_path: Path, generator) -> None:
    path = save_version(tmp_path / "generator_l1.pt", generator, "2026-01-01T00.00.00.000Z")
    dataset = GeneratorChoiceDataset(source=str(path), latest_folder=str(tmp_path / "unused"))
    loaded = dataset.load()
    assert loaded["source"] == str(path)
    assert same_weights(loaded["state_dict"], generator["state_dict"])


def test_a_missing_optional_baseline_loads_as_none_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = GeneratorChoiceDataset("latest", str(tmp_path / "generator_l1.pt"), optional=True)
    with caplog.at_level(logging.WARNING):
        assert dataset.load() is None
    assert "row is left out" in caplog.text


def test_a_missing_required_generator_says_how_to_get_one(tmp_path: Path) -> None:
    dataset = GeneratorChoiceDataset("latest", str(tmp_path / "generator_gan.pt"))
    with pytest.raises(DatasetError, match="kedro run --pipelines training"):
        dataset.load()


def test_an_explicit_source_that_does_not_exist_fails_even_when_optional(tmp_path: Path) -> None:
    dataset = GeneratorChoiceDataset(str(tmp_path / "nope.pt"), str(tmp_path), optional=True)
    with pytest.raises(DatasetError, match="does not exist"):
        dataset.load()


def test_the_dataset_is_read_only(tmp_path: Path, generator) -> None:
    with pytest.raises(DatasetError, match="read-only"):
        GeneratorChoiceDataset("latest", str(tmp_path)).save(generator)
