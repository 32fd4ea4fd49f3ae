"""Fetch a file from an http(s):// or file:// URL with a progress bar, resume and md5 check.

The bytes go to `<destination>.part` first; a later call resumes from the end of that file
(an HTTP Range request). Only when the md5 of the whole file matches is it renamed into
place, so a file at `destination` is always complete and verified.

Every failure is a `DownloadError` that names the URL or the file and says what to do; a
failure part-way (a dropped connection, a silent server, a full disk) keeps the bytes received
so far in the .part file, so that running again resumes instead of starting over.
"""

import errno
import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 60.0
_CHUNK_BYTES = 1 << 20
_RANGE_NOT_SATISFIABLE = 416
_PARTIAL_CONTENT = 206
# Write errors that mean "no room" (what happened, what to do): the partial download is worth
# keeping for a later resume.
_FREE_SPACE = "free some space there (or move data/ to a larger disk)"
_NO_ROOM = {
    errno.ENOSPC: ("the disk is full", _FREE_SPACE),
    errno.EDQUOT: ("your disk quota is used up", _FREE_SPACE),
    errno.EFBIG: (
        "the file reached the largest size allowed here",
        "raise the limit (`ulimit -f unlimited`) or move data/ to a file system that allows it",
    ),
}

Fetch = Callable[[str, BinaryIO, str], None]


class DownloadError(RuntimeError):
    """The file could not be fetched, or what arrived is not the file that was asked for."""


def file_md5(path: Path) -> str:
    """The md5 of a file, read in chunks so that large archives need little memory."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def url_basename(url: str) -> str:
    """The file name at the end of a URL's path (`.../cifar-10-python.tar.gz`)."""
    name = os.path.basename(unquote(urlparse(url).path))
    if not name:
        raise ValueError(f"The URL {url!r} does not end in a file name.")
    return name


def download(
    url: str, destination: Path, md5: str, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Path:
    """Fetch `url` to `destination`, resuming `<destination>.part`; verify `md5`; return the path.

    `timeout` is how many seconds a server may stay silent (connecting, or between two
    pieces of data) before the attempt is given up. Raises `DownloadError` when the source
    cannot be read, the folder cannot be written or the checksum does not match; on a
    mismatch the partial file is deleted (resuming it could only fail again) and nothing
    appears at `destination`.
    """
    fetch = _fetcher(url, timeout)
    destination = Path(destination)
    partial_path = destination.with_name(destination.name + ".part")
    sink = _open_partial(partial_path)
    try:
        with sink:
            fetch(url, sink, destination.name)
    except BaseException:
        if partial_path.exists() and partial_path.stat().st_size == 0:
            partial_path.unlink()  # nothing arrived: leave no empty file behind
        raise

    actual = file_md5(partial_path)
    if actual != md5.lower():
        partial_path.unlink()
        raise DownloadError(
            f"Checksum mismatch for {destination.name} downloaded from {url}: expected md5 "
            f"{md5}, got {actual}. The download was deleted and nothing was saved at "
            f"{destination}. Check that the URL and the md5 (parameters cifar10.url and "
            "cifar10.md5) belong to the same file, then run again to download afresh."
        )
    os.replace(partial_path, destination)
    logger.info("Saved %s (md5 %s)", destination, actual)
    return destination


def _fetcher(url: str, timeout: float) -> Fetch:
    """The function that appends the bytes of `url` to a file, chosen by the URL's scheme."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        return _fetch_file
    if scheme in ("http", "https"):
        return partial(_fetch_http, timeout=timeout)
    raise DownloadError(
        f"Cannot download {url!r}: only http://, https:// and file:// URLs are supported."
    )


def _open_partial(partial_path: Path) -> BinaryIO:
    """Open (or create) the .part file for appending, unbuffered: every write reaches the disk
    at once, so a full disk is noticed on the write that hit it, never later on close.

    A folder that cannot be written (read-only, wrong owner) is named with the system's reason.
    """
    folder = partial_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if partial_path.exists():
            logger.info("Resuming %s from byte %d", partial_path, partial_path.stat().st_size)
        return open(partial_path, "ab", buffering=0)
    except OSError as error:
        raise DownloadError(
            f"Cannot write the download into {folder}: {error.strerror} "
            f"({error.filename or partial_path}). Make the folder writable (or free space "
            "there), or run from a copy of the project in a folder you can write to."
        ) from error


def _fetch_file(url: str, sink: BinaryIO, desc: str) -> None:
    """Append the bytes of a local file that come after the ones `sink` already holds."""
    source_path = Path(urllib.request.url2pathname(urlparse(url).path))
    try:
        source = open(source_path, "rb")
    except OSError as error:
        raise DownloadError(
            f"Cannot read {source_path} (from {url}): {error.strerror}. "
            "Check the path in the file:// URL."
        ) from error
    with source:
        offset = sink.tell()
        source.seek(offset)
        _copy(source, sink, offset, os.fstat(source.fileno()).st_size, desc)


def _fetch_http(url: str, sink: BinaryIO, desc: str, timeout: float) -> None:
    """Append the rest of `url` after the bytes `sink` already holds (an HTTP Range request)."""
    offset = sink.tell()
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == _RANGE_NOT_SATISFIABLE and offset:
            return  # the partial file already holds every byte; the md5 check decides
        raise DownloadError(
            f"Downloading {url} failed: HTTP {error.code} {error.reason}. Check the URL, or "
            "point cifar10.url at a local copy with a file:// URL."
        ) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise _timed_out(url, timeout, sink) from error
        raise DownloadError(
            f"Cannot reach {url}: {error.reason}. Check the network, or point cifar10.url at "
            "a local copy with a file:// URL."
        ) from error
    except TimeoutError as error:  # connected, but the server never answered the request
        raise _timed_out(url, timeout, sink) from error
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"{url} closed the connection without an answer ({error!r}). {_resume_hint(sink)}"
        ) from error
    with response:
        if offset and response.status != _PARTIAL_CONTENT:  # Range ignored: start over
            sink.seek(0)
            sink.truncate()
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        try:
            _copy(response, sink, offset, total, desc)
        except TimeoutError as error:
            raise _timed_out(url, timeout, sink) from error
        except (OSError, http.client.HTTPException) as error:
            message = f"The download of {url} broke off ({error}). {_resume_hint(sink)}"
            raise DownloadError(message) from error


def _copy(source: BinaryIO, sink: BinaryIO, offset: int, total: int | None, desc: str) -> None:
    """Stream `source` into `sink` with a bytes / rate / ETA progress bar.

    `read1` returns what has arrived (up to a chunk) instead of waiting for a whole chunk, so
    when a server goes silent every byte received before it did is in the partial file.
    The bytes are counted here, not by the bar (which may be switched off, e.g. with
    TQDM_DISABLE). A source that ends before its announced size (a dropped connection)
    raises, so that the bytes received so far stay in the partial file for the next attempt
    to resume from. A write that fails for lack of room says so (`DownloadError`).
    """
    received = offset
    with tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    ) as bar:
        while chunk := source.read1(_CHUNK_BYTES):  # what has arrived: a stall loses nothing
            _write(sink, chunk)
            received += len(chunk)
            bar.update(len(chunk))
    if total is not None and received < total:
        raise DownloadError(
            f"The download of {desc} stopped at byte {received} of {total}. {_resume_hint(sink)}"
        )


def _write(sink: BinaryIO, chunk: bytes) -> None:
    """Append `chunk`; a full disk becomes a `DownloadError` that says where and what to do.

    `sink` is unbuffered, and an unbuffered write may take only part of the chunk (the disk
    about to fill up): the rest is written again, and that write then reports the error.
    """
    rest = memoryview(chunk)
    try:
        while rest:
            rest = rest[sink.write(rest) :]
    except OSError as error:
        reason, fix = _NO_ROOM.get(error.errno, (error.strerror, "fix that"))
        raise DownloadError(
            f"Cannot write {sink.name} in {Path(sink.name).parent}: {reason} ({error.strerror}); "
            f"{fix}, then run again. {_resume_hint(sink)}"
        ) from error


def _timed_out(url: str, timeout: float, sink: BinaryIO) -> DownloadError:
    return DownloadError(
        f"{url} sent nothing for {timeout:g} s, so the download was given up; it can be "
        f"resumed. {_resume_hint(sink)} If the server is just slow, allow it longer with "
        "--params cifar10.timeout=<seconds>."
    )


def _resume_hint(sink: BinaryIO) -> str:
    """What a new run will do with the partial file (resume it, or start afresh when empty)."""
    held = sink.tell()
    if held:
        return f"The {held:,} bytes received so far are kept in {sink.name}: run again to resume."
    return "Nothing had arrived yet: run again to try again."
