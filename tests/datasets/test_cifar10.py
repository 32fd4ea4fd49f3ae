"""CIFAR10ArchiveDataset: download, md5 before reading, in-place reading, refusing bad pickles."""

import _codecs
import gzip
import hashlib
import io
import os
import pickle
import shlex
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, DatasetError

from image_colourisation.datasets import CIFAR10ArchiveDataset
from image_colourisation.datasets import cifar10 as cifar10_module
from image_colourisation.datasets.download import file_md5
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
    with pytest.raises(
        DatasetError, match="cifar10.md5 is '1234'; allowed: the archive's MD5 checksum: 32 hex"
    ):
        _dataset(tmp_path, path.as_uri(), "1234")


def _load_members(tmp_path: Path, members: dict[str, bytes]) -> dict[str, np.ndarray]:
    md5 = write_tar(tmp_path / "odd.tar.gz", members)
    return _dataset(tmp_path / "raw", (tmp_path / "odd.tar.gz").as_uri(), md5).load()


def _batch(**fields: object) -> bytes:
    """A 3-image batch pickle of valid fields, with `fields` (bytes keys as text) replaced."""
    batch = {
        b"batch_label": b"odd",
        b"labels": [0, 1, 2],
        b"data": smooth_images(np.random.default_rng(0), 3).transpose(0, 3, 1, 2).reshape(3, -1),
        b"filenames": [b"a.png", b"b.png", b"c.png"],
    }
    for key, value in fields.items():
        if value is None:
            del batch[key.encode()]
        else:
            batch[key.encode()] = value
    return pickle.dumps(batch, protocol=2)


_MEMBER = "cifar-10-batches-py/data_batch_2 in .*odd.tar.gz: .*"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"labels": [3.7, 1, 2]}, r"b'labels' must be whole numbers 0-9 .*label 0 is 3.7 \(a float\)"),
        ({"labels": [0, 1, 2.0]}, r"label 2 is 2.0 \(a float\)"),
        ({"labels": b"\x00\x01\x02"}, r"b'labels' must be a list of whole numbers 0-9 .*got bytes"),
        ({"labels": [b"0", b"1", b"2"]}, r"label 0 is b'0' \(a bytes\)"),
        ({"labels": ["0", "1", "2"]}, r"label 0 is '0' \(a str\)"),
        ({"labels": [True, 1, 2]}, r"label 0 is True \(a bool\)"),
        ({"labels": [0, 10, 2]}, r"whole numbers 0-9 .*label 1 is 10\."),
        ({"labels": [0, -1, 2]}, r"label 1 is -1\."),
        ({"labels": [0, 2**70, 2]}, r"label 1 is 1180591620717411303424\."),
        ({"labels": np.array([0.0, 1.0, 2.0])}, r"got a float64 array of shape \(3,\)"),
        ({"labels": np.array([0, 12, 2])}, r"label 1 is 12 \(1 outside the range\)"),
        ({"labels": [0, 1]}, r"2 labels for 3 images in b'data'"),
        ({"labels": None}, r"b'labels' must be .*got nothing \(the field is missing\)"),
        ({"data": np.zeros((3, 3072), np.float32)}, r"b'data' must be a uint8 array .*float32"),
        ({"data": np.zeros((3, 1024), np.uint8)}, r"b'data' must be .*got a uint8 array of shape \(3, 1024\)"),
        ({"data": [[0] * 3072 for _ in range(3)]}, r"b'data' must be .*got a list of 3 \(list\)"),
        ({"filenames": [b"a.png"]}, r"b'filenames' must be a list of 3 names .*list of 1 \(bytes\)"),
        ({"filenames": [1, 2, 3]}, r"b'filenames' must be a list of 3 names .*list of 3 \(int\)"),
    ],
)  # fmt: skip
def test_every_field_of_a_batch_is_checked_naming_the_member(
    tmp_path: Path, fields: dict, message: str
) -> None:
    members = archive_members()
    members["data_batch_2"] = _batch(**fields)
    with pytest.raises(DatasetError, match=_MEMBER + message):
        _load_members(tmp_path, members)


def test_labels_as_a_numpy_integer_array_are_accepted(tmp_path: Path) -> None:
    members = archive_members()
    members["data_batch_2"] = _batch(labels=np.array([7, 8, 9], dtype=np.uint8))
    data = _load_members(tmp_path, members)
    assert data["labels"].dtype == np.int64 and data["labels"][10:13].tolist() == [7, 8, 9]


def test_labels_must_lie_within_the_classes_of_batches_meta(tmp_path: Path) -> None:
    members = archive_members()
    meta = {b"label_names": [b"cat", b"dog", b"frog"]}
    members["batches.meta"] = pickle.dumps(meta, protocol=2)  # 3 classes; batches cycle 0-9
    with pytest.raises(DatasetError, match=r"data_batch_1 in .*whole numbers 0-2 .*label 3 is 3\."):
        _load_members(tmp_path, members)


@pytest.mark.parametrize(
    ("label_names", "message"),
    [
        (None, r"b'label_names' must be a non-empty list .*got nothing"),
        ([], r"b'label_names' must be a non-empty list .*got a list of 0 \(empty\)"),
        ([b"cat", 7], r"must hold text; entry 1 is 7"),
        ([b"cat", b"\xff"], r"must hold text; entry 1 is b'\\xff'"),
        ([b"cat", b"cat"], r"repeats a name"),
    ],
)
def test_class_names_in_batches_meta_are_checked(
    tmp_path: Path, label_names: object, message: str
) -> None:
    members = archive_members()
    meta = {} if label_names is None else {b"label_names": label_names}
    members["batches.meta"] = pickle.dumps(meta, protocol=2)
    with pytest.raises(
        DatasetError, match="cifar-10-batches-py/batches.meta in .*odd.tar.gz: .*" + message
    ):
        _load_members(tmp_path, members)


def _gzip_tar_header(path: Path, name: str, declared: int) -> str:
    """A .tar.gz holding only the header of an entry that claims `declared` bytes (and 1 KiB)."""
    info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
    info.size = declared
    path.write_bytes(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024)))
    return file_md5(path)


@pytest.mark.parametrize("name", ["data_batch_1", "readme.html"])
def test_an_entry_declaring_more_than_a_batch_can_be_is_refused_unread(
    tmp_path: Path, name: str
) -> None:
    md5 = _gzip_tar_header(tmp_path / "bomb.tar.gz", name, 3 << 30)
    started = time.perf_counter()
    with pytest.raises(DatasetError) as caught:
        _dataset(tmp_path / "raw", (tmp_path / "bomb.tar.gz").as_uri(), md5).load()
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert f"cifar-10-batches-py/{name} in " in message
    assert "declares 3,221,225,472 bytes, more than the 64 MiB" in message
    assert "not read" in message and "decompression bomb" in message


def test_huge_tar_headers_are_cut_off_while_reading(tmp_path: Path) -> None:
    """A pax record is read whole by tarfile before the entry is seen: the stream stops it."""
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.pax_headers = {"comment": "x" * (3 << 20)}  # 3 MiB that gzip makes 3 KiB
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(
        DatasetError, match="has more than 1 MiB of tar headers after the start of the archive"
    ):
        _dataset(tmp_path / "raw", path.as_uri(), file_md5(path)).load()


def test_archive_expanding_past_the_bound_stops_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-archive bound, shrunk to 100 kB so a tiny archive (215 kB) crosses it."""
    monkeypatch.setattr(cifar10_module, "MAX_ARCHIVE_BYTES", 100_000)
    with pytest.raises(DatasetError, match=r"expands to more than 0 MiB.*reading stopped"):
        _load_members(tmp_path, archive_members())


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    members = {f"empty_{index}": b"" for index in range(70)}
    with pytest.raises(DatasetError, match="holds more than 64 entries"):
        _load_members(tmp_path, {**members, **archive_members()})


class _Reduced:
    """A pickle field that unpickles as `call(*args)`: how a small pickle asks for a big array."""

    def __init__(self, call: object, *args: object) -> None:
        self.call, self.args = call, args

    def __reduce__(self) -> tuple:
        return self.call, self.args


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (  # 3 kB of pickle, 700,008 images: one row repeated by a stride of 0
            _Reduced(np.ndarray, (700_008, 3072), np.dtype("u1"), bytes(3072), 0, (0, 1)),
            "it calls numpy.ndarray directly",
        ),
        (_Reduced(np.ndarray, (10**8, 3072), np.dtype("u1")), "it calls numpy.ndarray directly"),
        (
            _Reduced(np._core.multiarray._reconstruct, np.ndarray, (10**8, 3072), b"B"),
            r"asks numpy._reconstruct for a \(100000000, 3072\) array",
        ),
        (_Reduced(bytes, 10**10), r"it calls bytes\(10000000000,\)"),
    ],
)
def test_a_small_pickle_cannot_build_a_large_array(
    tmp_path: Path, data: _Reduced, message: str
) -> None:
    members = archive_members()
    members["data_batch_2"] = _batch(data=data)
    with pytest.raises(DatasetError, match="Refused to unpickle .*data_batch_2.*" + message):
        _load_members(tmp_path, members)


def test_a_batch_without_images_is_refused_by_name(tmp_path: Path) -> None:
    """numpy pickles an empty array's data as bytes(), which the unpickler must read."""
    members = archive_members()
    members["test_batch"] = batch_pickle("test_batch", np.zeros((0, 32, 32, 3), np.uint8), [])
    with pytest.raises(DatasetError, match=r"test_batch in .*b'data' holds no images \(0 rows\)"):
        _load_members(tmp_path, members)


def test_a_batch_stored_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.tar.gz"
    members = archive_members()
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in [*members.items(), ("data_batch_1", members["data_batch_1"])]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    with pytest.raises(DatasetError, match="holds cifar-10-batches-py/data_batch_1 twice"):
        _dataset(tmp_path / "raw", path.as_uri(), file_md5(path)).load()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("timeout", r"cifar10.timeout is .*; allowed: a number in \(0, 86400\]"),
        ("deadline", r"cifar10.deadline is .*; allowed: a number in \(0, 2592000\]"),
        ("max_bytes", r"cifar10.max_bytes is .*; allowed: an integer in \[1, 10737418240\]"),
    ],
)
def test_limits_must_be_positive_numbers(tmp_path: Path, name: str, message: str) -> None:
    for value in [0, -1, "60", True, float("nan"), float("inf"), 10**30]:
        with pytest.raises(DatasetError, match=message):
            CIFAR10ArchiveDataset(str(tmp_path), **{name: value})


def test_a_url_that_names_no_file_is_refused_by_name(tmp_path: Path) -> None:
    """`..` would make the folder above data/01_raw the archive's path."""
    with pytest.raises(DatasetError, match=r"cifar10.url: The URL 'https://host/a/\.\.' does not"):
        CIFAR10ArchiveDataset(str(tmp_path), url="https://host/a/..")


def test_the_catalog_takes_the_cifar10_limits_from_params_or_globals(kedro_project: Path) -> None:
    """The defaults also when conf/local/globals.yml sets only the url and md5."""
    local = kedro_project / "conf" / "local" / "globals.yml"
    local.write_text(f"cifar10: {{url: 'file:///data/a.tar.gz', md5: '{'0' * 32}'}}\n")
    limits = {"timeout": 5, "deadline": 9, "max_bytes": 1000}
    defaults = {"timeout": 60.0, "deadline": 3600.0, "max_bytes": 170_498_071}
    for runtime_params, expected in [({}, defaults), ({"cifar10": limits}, limits)]:
        config = OmegaConfigLoader(
            str(kedro_project / "conf"), base_env="base", default_run_env="local",
            runtime_params=runtime_params,
        )  # fmt: skip
        archive = DataCatalog.from_config(config["catalog"]).get("cifar10_archive")
        assert {key: archive._describe()[key] for key in limits} == expected
