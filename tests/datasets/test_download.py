"""download(): http:// and file:// sources, resume from a .part file, md5 check, errors."""

import errno
import hashlib
import io
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from image_colourisation.datasets import download as download_module
from image_colourisation.datasets.download import DownloadError, download, file_md5, url_basename
from tests.http_server import ServerState, serve_directory, silent_server

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: several read chunks would be needed if smaller
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
DOWNLOAD_IN_A_CHILD = "import sys; from image_colourisation.datasets.download import download; download(*sys.argv[1:])"


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
    for url in ["https://host/dir/", "https://host/dir/..", "file:///data/."]:
        with pytest.raises(ValueError, match="does not end in a file name"):
            url_basename(url)


def test_switched_off_progress_bar_does_not_break_the_download(
    server: ServerState, tmp_path: Path
) -> None:
    """TQDM_DISABLE (read by tqdm at import, hence a fresh process) leaves the bar's counter at 0."""
    target = tmp_path / "archive.tar.gz"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", DOWNLOAD_IN_A_CHILD, server.url("archive.tar.gz"), str(target), PAYLOAD_MD5],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == PAYLOAD


@pytest.mark.parametrize("obstacle", ["read-only folder", "a file where the folder goes"])
def test_unwritable_folder_is_named_with_the_real_reason(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, obstacle: str
) -> None:
    if obstacle == "read-only folder":
        folder = tmp_path / "raw"
        folder.mkdir(mode=0o555)
        reason = "Permission denied"
        if os.geteuid() == 0:  # root writes anywhere: open() answers as it would anyone else

            def refuse(path: Path, *args: object, **kwargs: object) -> None:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

            monkeypatch.setattr(download_module, "open", refuse, raising=False)
    else:
        (tmp_path / "data").write_text("a file, not a folder")
        folder = tmp_path / "data" / "raw"
        reason = "Not a directory"
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), folder / "archive.tar.gz", PAYLOAD_MD5)
    message = str(caught.value)
    assert f"Cannot write the download into {folder}: {reason}" in message
    assert "No such file" not in message and caught.value.__cause__.strerror == reason
    assert server.ranges == []  # refused before asking the server for anything


def test_read_only_part_file_names_the_folder(server: ServerState, tmp_path: Path) -> None:
    """A real failure for root too: the .part name is taken by a folder."""
    (tmp_path / "archive.tar.gz.part").mkdir()
    with pytest.raises(DownloadError, match=f"Cannot write the download into {tmp_path}: Is a dir"):
        download(server.url("archive.tar.gz"), tmp_path / "archive.tar.gz", PAYLOAD_MD5)


def test_a_server_that_never_answers_times_out_naming_the_url(tmp_path: Path) -> None:
    target = tmp_path / "archive.tar.gz"
    with silent_server() as url, pytest.raises(DownloadError) as caught:
        download(url, target, PAYLOAD_MD5, timeout=0.3)
    message = str(caught.value)
    for expected in [url, "sent nothing for 0.3 s", "can be resumed", "cifar10.timeout"]:
        assert expected in message
    assert list(tmp_path.iterdir()) == []  # nothing arrived, so no empty .part either


def test_a_server_that_goes_silent_midway_keeps_the_bytes_for_resuming(
    server: ServerState, tmp_path: Path
) -> None:
    target = tmp_path / "archive.tar.gz"
    server.stall_after = 200_000
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5, timeout=0.3)
    message = str(caught.value)
    assert "sent nothing for 0.3 s" in message and "200,000 bytes" in message
    assert "archive.tar.gz.part: run again to resume" in message
    server.stall_after = None
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5, timeout=0.3)
    assert server.ranges == [None, "bytes=200000-"]
    assert target.read_bytes() == PAYLOAD


class _NearlyFullDisk(io.FileIO):
    """A file on a disk with room for `ROOM` bytes: a short write, then ENOSPC."""

    ROOM = 300_000

    def __init__(self, path: Path, mode: str, buffering: int) -> None:
        assert buffering == 0  # the real sink is unbuffered too
        super().__init__(path, mode)

    def write(self, data: bytes) -> int:
        room = self.ROOM - os.fstat(self.fileno()).st_size
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
        return super().write(bytes(data[:room]))


def test_full_disk_says_so_and_keeps_the_partial_download(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "archive.tar.gz"
    monkeypatch.setattr(download_module, "open", _NearlyFullDisk, raising=False)
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    message = str(caught.value)
    for expected in [f"in {tmp_path}: the disk is full", "free some space there", "300,000 bytes",
                     "kept in", "run again to resume"]:  # fmt: skip
        assert expected in message
    monkeypatch.undo()
    assert target.with_name("archive.tar.gz.part").stat().st_size == 300_000
    download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert server.ranges[-1] == "bytes=300000-" and target.read_bytes() == PAYLOAD


def test_file_size_limit_reached_is_explained(tmp_path: Path) -> None:
    """A real errno 27 (EFBIG): a child process whose `ulimit -f` is 300,000 bytes."""
    source = tmp_path / "source.tar.gz"
    source.write_bytes(PAYLOAD)
    target = tmp_path / "raw" / "archive.tar.gz"

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    result = subprocess.run(
        [sys.executable, "-c", DOWNLOAD_IN_A_CHILD, source.as_uri(), str(target), PAYLOAD_MD5],
        preexec_fn=limit_file_size, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    for expected in [
        "largest size allowed here (File too large)",
        "ulimit -f",
        "run again to resume",
    ]:
        assert expected in result.stderr
    assert target.with_name("archive.tar.gz.part").stat().st_size == 300_000


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_server_trickling_a_byte_at_a_time_is_given_up_at_the_deadline(
    server: ServerState, tmp_path: Path, headers_too: bool
) -> None:
    """Never silent for the timeout, never done: a byte every 0.05 s, deadline 1 s."""
    server.trickle_every, server.trickle_headers = 0.05, headers_too
    target = tmp_path / "archive.tar.gz"
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5, timeout=0.5, deadline=1.0)
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert "was still sending after 1 s, so the download was given up" in message
    assert "cifar10.deadline" in message and "sent nothing" not in message
    partial = target.with_name("archive.tar.gz.part")
    if headers_too:  # nothing of the file arrived
        assert not partial.exists()
    else:  # what arrived is kept for the next run to resume from
        assert 0 < partial.stat().st_size < 100 and "run again to resume" in message


def test_a_server_streaming_forever_is_stopped_at_max_bytes_and_nothing_kept(
    server: ServerState, tmp_path: Path
) -> None:
    server.endless = True  # no Content-Length: the 1 MiB file over and over
    target = tmp_path / "raw" / "archive.tar.gz"
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5, max_bytes=3_000_000)
    message = str(caught.value)
    assert (
        "archive.tar.gz may be at most 3,000,000 bytes (cifar10.max_bytes; the official" in message
    )
    assert "the download goes on past that, so it was stopped and nothing was kept" in message
    assert list(target.parent.iterdir()) == []


def test_a_file_announced_larger_than_max_bytes_is_refused_before_a_byte_is_kept(
    server: ServerState, tmp_path: Path
) -> None:
    source = server.root / "archive.tar.gz"
    target = tmp_path / "raw" / "archive.tar.gz"
    for url in [server.url("archive.tar.gz"), source.as_uri()]:
        with pytest.raises(DownloadError, match="at most 1,000 bytes .*is 1,048,576 bytes"):
            download(url, target, PAYLOAD_MD5, max_bytes=1_000)
        assert list(target.parent.iterdir()) == []


def test_a_content_length_that_is_no_number_is_named(server: ServerState, tmp_path: Path) -> None:
    server.content_length = "12abc"
    target = tmp_path / "raw" / "archive.tar.gz"
    with pytest.raises(DownloadError) as caught:
        download(server.url("archive.tar.gz"), target, PAYLOAD_MD5)
    assert f"{server.url('archive.tar.gz')} announced a Content-Length of '12abc', which is " in (
        str(caught.value)
    )
    assert list(target.parent.iterdir()) == []


def test_a_tls_handshake_trickled_a_byte_at_a_time_is_given_up(
    tmp_path: Path,
) -> None:
    """Connecting (the TCP and TLS handshakes) comes before the deadline's watch: it is bounded
    by the timeout alone, which Python applies to a TLS handshake as a whole, so a server
    announcing a 16 kB handshake record and sending a byte every 0.05 s is given up too."""
    stop = threading.Event()

    def trickle(listener: socket.socket) -> None:
        client, _ = listener.accept()
        with client:
            client.sendall(b"\x16\x03\x03\x40\x00")  # a TLS handshake record of 16 kB
            while not stop.wait(0.05):
                try:
                    client.sendall(b"\x00")
                except OSError:  # the client gave up
                    return

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        thread = threading.Thread(target=trickle, args=(listener,), daemon=True)
        thread.start()
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/archive.tar.gz"
        started = time.monotonic()
        try:
            with pytest.raises(DownloadError) as caught:
                download(url, tmp_path / "archive.tar.gz", PAYLOAD_MD5, timeout=0.5, deadline=60)
        finally:
            stop.set()
            thread.join(10)
    assert time.monotonic() - started < 3
    assert f"{url} sent nothing for 0.5 s, so the download was given up" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
