"""ModelPayloadDataset: versioned, weights-only, atomic."""

import io
import zipfile
from pathlib import Path

import pytest
import torch
from kedro.io import DatasetError, Version

from image_colourisation.datasets import ModelPayloadDataset, OnnxModelDataset
from image_colourisation.models import payloads
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_from_payload, generator_payload


def _payload(seed: int) -> dict:
    torch.manual_seed(seed)
    return generator_payload(Generator(width=4))


def test_round_trip_gives_the_same_weights(tmp_path: Path) -> None:
    dataset = ModelPayloadDataset(str(tmp_path / "g.pt"))
    payload = _payload(0)
    dataset.save(payload)
    loaded = dataset.load()
    assert loaded["architecture"] == {"width": 4, "depth": 5, "dropout": 0.5}
    for name, tensor in payload["state_dict"].items():
        assert torch.equal(loaded["state_dict"][name], tensor)
    assert isinstance(generator_from_payload(loaded), Generator)
    assert [p.name for p in tmp_path.iterdir()] == ["g.pt"]  # no temporary file left behind


def test_versioned_saves_keep_every_version_and_load_the_newest(tmp_path: Path) -> None:
    path = str(tmp_path / "generator_gan.pt")
    ModelPayloadDataset(path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(_payload(0))
    ModelPayloadDataset(path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(_payload(1))
    versions = sorted(p.name for p in (tmp_path / "generator_gan.pt").iterdir())
    assert versions == ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"]
    newest = ModelPayloadDataset(path, version=Version(None, None)).load()
    expected = _payload(1)["state_dict"]
    assert all(torch.equal(newest["state_dict"][k], v) for k, v in expected.items())
    with pytest.raises(DatasetError, match="must not exist"):
        ModelPayloadDataset(path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(
            _payload(2)
        )


class NotWeights:
    """Any class outside torch's weights-only allowlist stands in for a malicious pickle."""


def test_load_refuses_arbitrary_pickles(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"architecture": {}, "state_dict": NotWeights()}, path)
    with pytest.raises(DatasetError, match="weights_only=True"):
        ModelPayloadDataset(str(path)).load()


def test_missing_file_and_wrong_content_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="kedro run --pipelines training"):
        ModelPayloadDataset(str(tmp_path / "absent.pt")).load()
    with pytest.raises(DatasetError, match="expected a model payload"):
        ModelPayloadDataset(str(tmp_path / "x.pt")).save({"weights": 1})
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(DatasetError, match=r"not a model payload with keys"):
        ModelPayloadDataset(str(tmp_path / "other.pt")).load()


def test_exists_is_false_for_a_folder_without_versions(tmp_path: Path) -> None:
    (tmp_path / "generator_gan.pt").mkdir()
    dataset = ModelPayloadDataset(str(tmp_path / "generator_gan.pt"), version=Version(None, None))
    assert not dataset.exists()


def test_an_optional_payload_loads_as_none_when_missing_or_unreadable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """For a cache: missing is normal, corrupt is worth a warning, neither is fatal."""
    path = tmp_path / "semantic_classifier.pt"
    cache = ModelPayloadDataset(str(path), optional=True)
    assert cache.load() is None
    assert (
        ModelPayloadDataset(str(tmp_path / "v.pt"), Version(None, None), optional=True).load()
        is None
    )
    path.write_bytes(b"not a torch file")
    with caplog.at_level("WARNING"):
        assert cache.load() is None
    assert "Ignoring" in caplog.text and "semantic_classifier.pt" in caplog.text
    torch.save({"weights": torch.zeros(1)}, path)
    assert cache.load() is None
    ModelPayloadDataset(str(path)).save(_payload(0))
    assert cache.load()["architecture"] == _payload(0)["architecture"]
    with pytest.raises(DatasetError, match="not a model payload"):
        path.write_bytes(b"not a torch file")
        ModelPayloadDataset(str(path)).load()  # not optional: still an error


def test_a_payload_inflating_past_the_bound_is_refused_before_torch_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch.save's zip re-packed with deflate: 0.26 MB on disk, 4.3 MB inflated. The bound is
    shrunk to 1 MB so that a tiny file crosses it (the real one is 1 GB: 250 million float32)."""
    saved = io.BytesIO()
    torch.save({**_payload(0), "padding": torch.zeros(1 << 20)}, saved)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(saved) as plain, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in plain.infolist():
            out.writestr(entry.filename, plain.read(entry))
    assert bomb.stat().st_size < 300_000
    monkeypatch.setattr(payloads, "MAX_PAYLOAD_BYTES", 1 << 20)
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("torch.load ran"))
    with pytest.raises(DatasetError) as refused:
        ModelPayloadDataset(str(bomb)).load()
    assert f"{bomb} is not a model payload of this project: its entries inflate to 4," in str(
        refused.value
    )
    assert "more than the 1,048,576 any model" in str(refused.value)
    assert "so it was not loaded (it may be a decompression bomb)" in str(refused.value)


def test_an_onnx_file_is_saved_whole_and_read_back(tmp_path: Path) -> None:
    dataset = OnnxModelDataset(str(tmp_path / "models" / "served_generator.onnx"))
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="served_generator.onnx does not exist"):
        dataset.load()
    dataset.save(b"onnx bytes")
    assert dataset.load() == b"onnx bytes"
    with pytest.raises(DatasetError, match="expected ONNX bytes, got dict"):
        dataset.save({})
