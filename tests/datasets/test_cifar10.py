"""CIFAR10ArchiveDataset: download, md5 before reading, in-place reading, refusing bad pickles."""

import _codecs
import hashlib
import os
import pickle
import shlex
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from image_colourisation.datasets import CIFAR10ArchiveDataset
from image_colourisation.download import file_md5
from tests.cifar_archive import (
    CLASS_NAMES,
    TRAIN_BATCHES,
    archive_members,
    batch_pickle,
    smooth_images,
    write_cifar_archive,
    write_tar,
)
from tests.http_server import ServerState, serve_directory


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerState]:
    root = tmp_path / "served"
    root.mkdir()
    with serve_directory(root) as state:
        yield state


def _dataset(directory: Path, url: str, md5: str) -> CIFAR10ArchiveDataset:
    return CIFAR10ArchiveDataset(directory=str(directory), url=url, md5=md5)


def test_downloads_when_missing_and_returns_the_data_contract(
    served: ServerState, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    members = archive_members(train_per_batch=4, test_rows=6)
    known = {name: smooth_images(rng, 3) for name in [*TRAIN_BATCHES, "test_batch"]}
    for name, images in known.items():
        members[name] = batch_pickle(name, images, [3, 0, 9])
    md5 = write_tar(served.root / "tiny.tar.gz", members)
    raw = tmp_path / "raw"

    data = _dataset(raw, served.url("tiny.tar.gz"), md5).load()

    assert (raw / "tiny.tar.gz").is_file()
    assert served.ranges == [None]
    assert data["images"].dtype == np.uint8 and data["images"].shape == (18, 32, 32, 3)
    np.testing.assert_array_equal(data["images"], np.concatenate(list(known.values())))
    assert data["labels"].dtype == np.int64
    assert data["labels"].tolist() == [3, 0, 9] * 6
    assert data["split"].tolist() == ["train"] * 15 + ["test"] * 3
    assert data["class_names"].tolist() == CLASS_NAMES


def test_existing_file_is_read_without_downloading(
    tiny_archive: tuple[Path, str], tmp_path: Path
) -> None:
    path, md5 = tiny_archive
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / path.name).write_bytes(path.read_bytes())
    data = _dataset(raw, "http://127.0.0.1:9/unreachable/" + path.name, md5).load()
    assert np.unique(data["split"], return_counts=True)[1].tolist() == [20, 50]


def test_file_url_copies_into_the_directory(tiny_archive: tuple[Path, str], tmp_path: Path) -> None:
    path, md5 = tiny_archive
    dataset = _dataset(tmp_path / "raw", path.as_uri(), md5)
    assert not dataset.exists()
    assert len(dataset.load()["labels"]) == 70
    assert dataset.exists()
    assert (tmp_path / "raw" / path.name).read_bytes() == path.read_bytes()


def test_existing_file_with_wrong_md5_is_refused_and_kept(
    tiny_archive: tuple[Path, str], tmp_path: Path
) -> None:
    path, md5 = tiny_archive
    raw = tmp_path / "raw"
    raw.mkdir()
    mine = raw / path.name
    mine.write_bytes(b"not the archive")
    with pytest.raises(DatasetError) as caught:
        _dataset(raw, path.as_uri(), md5).load()
    message = str(caught.value)
    actual = hashlib.md5(b"not the archive").hexdigest()
    for expected in [str(mine), md5, actual, "Delete or move it", "cifar10.md5"]:
        assert expected in message
    assert mine.read_bytes() == b"not the archive"  # a user's file is never deleted


def test_download_with_wrong_md5_leaves_no_file(served: ServerState, tmp_path: Path) -> None:
    write_cifar_archive(served.root / "tiny.tar.gz")
    with pytest.raises(DatasetError, match="Checksum mismatch for tiny.tar.gz.*expected md5 f{32}"):
        _dataset(tmp_path, served.url("tiny.tar.gz"), "f" * 32).load()
    assert list(tmp_path.glob("tiny.tar.gz*")) == []


@pytest.mark.parametrize("kept", [0.5, 0.99])
def test_truncated_archive_is_a_clear_error(tmp_path: Path, kept: float) -> None:
    """Truncated with its own md5, so that reading (not the checksum) has to notice."""
    full = tmp_path / "full.tar.gz"
    write_cifar_archive(full)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(full.read_bytes()[: int(full.stat().st_size * kept)])
    md5 = file_md5(truncated)
    with pytest.raises(
        DatasetError, match="truncated or not a valid .tar.gz.*source archive itself is damaged"
    ):
        _dataset(tmp_path / "raw", truncated.as_uri(), md5).load()


def test_missing_member_is_named(tmp_path: Path) -> None:
    members = archive_members()
    del members["data_batch_3"]
    md5 = write_tar(tmp_path / "partial.tar.gz", members)
    with pytest.raises(DatasetError, match="lacks cifar-10-batches-py/data_batch_3"):
        _dataset(tmp_path / "raw", (tmp_path / "partial.tar.gz").as_uri(), md5).load()


class _Exploit:
    """A pickle payload that runs a shell command when unpickled by a plain unpickler."""

    def __init__(self, marker: Path) -> None:
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self) -> tuple:
        return os.system, (self.command,)


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    armed = tmp_path / "armed"
    pickle.loads(pickle.dumps(_Exploit(armed), protocol=2))
    assert armed.exists(), "the payload must really run under a plain unpickler"

    marker = tmp_path / "pwned"
    members = archive_members()
    members["data_batch_2"] = pickle.dumps({b"labels": [0], b"data": _Exploit(marker)}, protocol=2)
    md5 = write_tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(DatasetError) as caught:
        _dataset(tmp_path / "raw", (tmp_path / "evil.tar.gz").as_uri(), md5).load()
    message = str(caught.value)
    assert "Refused to unpickle cifar-10-batches-py/data_batch_2" in message
    assert "system" in message and "Nothing in it was run" in message
    assert not marker.exists()


class _OddBytes:
    def __reduce__(self) -> tuple:
        return _codecs.encode, ("YWJj", "base64")


def test_bytes_from_an_unexpected_codec_are_refused(tmp_path: Path) -> None:
    members = archive_members()
    # Protocol 2 rebuilds bytes with _codecs.encode(text, "latin1"); any other codec is refused.
    members["batches.meta"] = pickle.dumps(_OddBytes(), protocol=2)
    md5 = write_tar(tmp_path / "odd.tar.gz", members)
    with pytest.raises(DatasetError, match="refusing _codecs.encode with encoding 'base64'"):
        _dataset(tmp_path / "raw", (tmp_path / "odd.tar.gz").as_uri(), md5).load()


def test_save_is_refused_and_md5_must_be_hex(
    tiny_archive: tuple[Path, str], tmp_path: Path
) -> None:
    path, md5 = tiny_archive
    with pytest.raises(DatasetError, match="read-only"):
        _dataset(tmp_path, path.as_uri(), md5).save({})
    with pytest.raises(DatasetError, match="32 hexadecimal digits, got '1234'"):
        _dataset(tmp_path, path.as_uri(), "1234")
