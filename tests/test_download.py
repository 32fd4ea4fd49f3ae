"""download(): http:// and file:// sources, resume from a .part file, md5 check, errors."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from image_colourisation.download import DownloadError, download, file_md5, url_basename
from tests.http_server import ServerState, serve_directory

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: several read chunks would be needed if smaller
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerState]:
    served = tmp_path / "served"
    served.mkdir()
    (served / "archive.tar.gz").write_bytes(PAYLOAD)
    with serve_directory(served) as state:
        yield state


def test_full_download_over_http(server: ServerState, tmp_path: Path) -> None:
    target = tmp_path / "raw" / "archive.tar.gz"
    assert download(server.url("archive.tar.gz"), target, PAYLOAD_MD5) == target
    assert target.read_bytes() == PAYLOAD
    assert server.ranges == [None]
    assert not target.with_name("archive.tar.gz.part").exists()


def test_resumes_from_partial_file_with_a_range_request(
    server: ServerState, tmp_path: Path
) -> None:
    target = tmp_path / "archive.tar.gz"
    target.with_name("archive.tar.gz.part").write_bytes(PAYLOAD[:300_000])
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert server.ranges == ["bytes=300000-"]
    assert target.read_bytes() == PAYLOAD


def test_broken_connection_keeps_the_part_file_and_the_next_call_resumes(
    server: ServerState, tmp_path: Path
) -> None:
    target = tmp_path / "archive.tar.gz"
    partial = target.with_name("archive.tar.gz.part")
    server.cut_after = 100_000
    with pytest.raises(DownloadError, match="stopped at byte 100000 of 1048576.*run again"):
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert partial.read_bytes() == PAYLOAD[:100_000]
    assert not target.exists()

    server.cut_after = None
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert server.ranges == [None, "bytes=100000-"]
    assert target.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(server: ServerState, tmp_path: Path) -> None:
    target = tmp_path / "archive.tar.gz"
    target.with_name("archive.tar.gz.part").write_bytes(b"stale bytes that must not survive")
    server.honour_ranges = False
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert target.read_bytes() == PAYLOAD


def test_complete_part_file_is_verified_and_moved_into_place(
    server: ServerState, tmp_path: Path
) -> None:
    target = tmp_path / "archive.tar.gz"
    target.with_name("archive.tar.gz.part").write_bytes(PAYLOAD)
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert server.ranges == [f"bytes={len(PAYLOAD)}-"]  # answered 416: nothing left to fetch
    assert target.read_bytes() == PAYLOAD


def test_md5_mismatch_names_file_and_checksums_and_leaves_nothing(
    server: ServerState, tmp_path: Path
) -> None:
    target = tmp_path / "archive.tar.gz"
    wrong = "0" * 32
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, wrong)
    message = str(caught.value)
    for expected in ["archive.tar.gz", wrong, PAYLOAD_MD5, "cifar10.md5", "run again"]:
        assert expected in message
    assert list(tmp_path.glob("archive.tar.gz*")) == []


def test_missing_file_on_server_is_a_clear_error(server: ServerState, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404.*file://"):
        download(server.url("nope.tar.gz"), tmp_path / "nope.tar.gz", PAYLOAD_MD5)
    assert not (tmp_path / "nope.tar.gz").exists()


def test_file_url_copies_and_resumes(tmp_path: Path) -> None:
    source = tmp_path / "source dir" / "archive.tar.gz"  # a space: the URL is percent-encoded
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    target = tmp_path / "raw" / "archive.tar.gz"
    target.parent.mkdir()
    target.with_name("archive.tar.gz.part").write_bytes(PAYLOAD[:5000])
    download(source.as_uri(), target, PAYLOAD_MD5)
    assert target.read_bytes() == PAYLOAD
    assert file_md5(target) == PAYLOAD_MD5


def test_missing_local_file_and_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="Cannot read .*absent.tar.gz"):
        download((tmp_path / "absent.tar.gz").as_uri(), tmp_path / "a.tar.gz", PAYLOAD_MD5)
    with pytest.raises(DownloadError, match="only http://, https:// and file://"):
        download("ftp://example.org/a.tar.gz", tmp_path / "a.tar.gz", PAYLOAD_MD5)
    assert list(tmp_path.iterdir()) == []


def test_url_basename() -> None:
    assert url_basename("https://host/~kriz/cifar-10-python.tar.gz") == "cifar-10-python.tar.gz"
    assert url_basename("file:///a/b%20c.tar.gz") == "b c.tar.gz"
    with pytest.raises(ValueError, match="does not end in a file name"):
        url_basename("https://host/dir/")
