"""Fetch a file from an http(s):// or file:// URL with a progress bar, resume and md5 check.

The bytes go to `<destination>.part` first; a later call resumes from the end of that file
(an HTTP Range request). Only when the md5 of the whole file matches is it renamed into
place, so a file at `destination` is always complete and verified.

Every failure is a `DownloadError` that names the URL or the file and says what to do; a
failure part-way (a dropped connection, a silent or too slow server, a full disk) keeps the
bytes received so far in the .part file, so that running again resumes instead of starting over.

Whatever a server claims or does, an attempt is bounded: it stops when the server stays silent
for `timeout` seconds, when the whole attempt takes longer than `deadline` seconds (a byte every
two seconds is never silent), and when more than `max_bytes` would arrive (a server streaming
forever); bytes past `max_bytes` cannot be the file, so they are not kept.
"""

import errno
import hashlib
import http.client
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from tqdm.auto import tqdm

from image_colourisation.core.bounded import MAX_DIGITS, whole_number
from image_colourisation.core.errors import UserError
from image_colourisation.core.files import FileProblem, name_problem, open_regular_file
from image_colourisation.core.ranges import shortened

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_DEADLINE_SECONDS = 3600.0  # the official archive in an hour is 47 kB/s; then it resumes
DEFAULT_MAX_BYTES = 170_498_071  # the official CIFAR-10 python archive, to the byte
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


class DownloadError(UserError, RuntimeError):
    """The file could not be fetched, or what arrived is not the file that was asked for."""


class _TooLarge(DownloadError):
    """More bytes than the file can have: the partial download is worthless."""


def file_md5(path: Path) -> str:
    """The md5 of a file, read in chunks so that large archives need little memory."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def url_basename(url: str) -> str:
    """The file name at the end of a URL's path (`.../cifar-10-python.tar.gz`); ValueError for
    a URL whose path no file could have (`%00` in it, a name past 255 bytes)."""
    path = unquote(urlparse(url).path)
    name = os.path.basename(path)
    if name in ("", ".", ".."):  # `..` would name the folder above the download folder
        raise ValueError(
            f"The URL {url!r} does not end in a file name; give the archive's own URL "
            "(e.g. .../cifar-10-python.tar.gz)."
        )
    problem = (
        name_problem(name)
        if path.isprintable()
        else "holds control characters (%00 is a NUL), which no path may"
    )
    if problem:
        raise ValueError(
            f"The URL {url!r} names a file that {problem}; give the archive's own URL "
            "(e.g. .../cifar-10-python.tar.gz)."
        )
    return name


def download(
    url: str,
    destination: Path,
    md5: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    *,
    deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Fetch `url` to `destination`, resuming `<destination>.part`; verify `md5`; return the path.

    `timeout` is how many seconds a server may stay silent (connecting, or between two
    pieces of data), `deadline` how many seconds an attempt may take in all, and `max_bytes`
    how large the file may be, before the attempt is given up. Raises `DownloadError` when the
    source cannot be read, the folder cannot be written, the file is too large or the checksum
    does not match; in the last two cases the partial file is deleted (resuming it could only
    fail again) and nothing appears at `destination`.
    """
    fetch = _fetcher(url, timeout, deadline, max_bytes)
    destination = Path(destination)
    partial_path = destination.with_name(destination.name + ".part")
    sink = _open_partial(partial_path)
    try:
        with sink:
            fetch(url, sink, destination.name)
    except BaseException as error:
        if partial_path.exists() and (
            isinstance(error, _TooLarge) or partial_path.stat().st_size == 0
        ):
            partial_path.unlink()  # nothing arrived, or nothing worth resuming: leave no file
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


def _fetcher(url: str, timeout: float, deadline: float, max_bytes: int) -> Fetch:
    """The function that appends the bytes of `url` to a file, chosen by the URL's scheme."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        return partial(_fetch_file, max_bytes=max_bytes)
    if scheme in ("http", "https"):
        return partial(_fetch_http, timeout=timeout, deadline=deadline, max_bytes=max_bytes)
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


def _fetch_file(url: str, sink: BinaryIO, desc: str, *, max_bytes: int) -> None:
    """Append the bytes of a local file that come after the ones `sink` already holds."""
    source_path = Path(urllib.request.url2pathname(urlparse(url).path))
    try:  # a FIFO or a device would never end: only a regular file is read
        source = open_regular_file(source_path)
    except FileProblem as error:
        raise DownloadError(
            f"Cannot read {source_path} (from {url}): it {error.problem}. "
            "Check the path in the file:// URL."
        ) from error
    with source:
        offset = sink.tell()
        source.seek(offset)
        _copy(source, sink, offset, os.fstat(source.fileno()).st_size, desc, max_bytes=max_bytes)


def _fetch_http(
    url: str, sink: BinaryIO, desc: str, *, timeout: float, deadline: float, max_bytes: int
) -> None:
    """`_fetch_http_within`, given up once it has taken `deadline` seconds in all."""
    with _Deadline(deadline) as watch:
        try:
            _fetch_http_within(
                url, sink, desc, timeout=timeout, max_bytes=max_bytes, opener=watch.opener()
            )
        except Exception as error:  # cutting the connection fails whatever was reading it
            if watch.expired:
                raise _too_slow(url, deadline, sink) from error
            raise
        if watch.expired:  # the cut looked like the end of a download of unknown length
            raise _too_slow(url, deadline, sink)


class _Deadline:
    """Cuts the connections of one attempt once it has lasted `seconds`, whatever the server
    trickles: the socket timeout only notices silence, and headers sent a byte at a time are
    read before any code here runs."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def opener(self) -> urllib.request.OpenerDirector:
        """urllib's opener, handing each connection's socket to `track` once connected."""
        track = self.track

        class HTTPConnection(http.client.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                track(self.sock)

        class HTTPSConnection(http.client.HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                track(self.sock)

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(HTTPConnection, request)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(HTTPSConnection, request, context=self._context)

        return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


def _shut(sock: socket.socket) -> None:
    """End a connection another thread may be reading: the read returns at once."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _fetch_http_within(
    url: str,
    sink: BinaryIO,
    desc: str,
    *,
    timeout: float,
    max_bytes: int,
    opener: urllib.request.OpenerDirector,
) -> None:
    """Append the rest of `url` after the bytes `sink` already holds (an HTTP Range request)."""
    offset = sink.tell()
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = opener.open(request, timeout=timeout)
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
        try:
            total = None if length is None else offset + whole_number(length.strip(), "it")
        except ValueError as error:
            raise DownloadError(
                f"{url} announced a Content-Length of {shortened(length)}, which is not a "
                f"number of bytes (digits 0-9, at most {MAX_DIGITS}): the server is broken. "
                "Try again later, or point cifar10.url at a local copy with a file:// URL."
            ) from error
        try:
            _copy(response, sink, offset, total, desc, max_bytes=max_bytes)
        except TimeoutError as error:
            raise _timed_out(url, timeout, sink) from error
        except (OSError, http.client.HTTPException) as error:
            message = f"The download of {url} broke off ({error}). {_resume_hint(sink)}"
            raise DownloadError(message) from error


def _copy(
    source: BinaryIO, sink: BinaryIO, offset: int, total: int | None, desc: str, *, max_bytes: int
) -> None:
    """Stream `source` into `sink` with a bytes / rate / ETA progress bar, never past
    `max_bytes` (refused at once when the announced `total` is larger).

    `read1` returns what has arrived (up to a chunk) instead of waiting for a whole chunk, so
    when a server goes silent every byte received before it did is in the partial file.
    The bytes are counted here, not by the bar (which may be switched off, e.g. with
    TQDM_DISABLE). A source that ends before its announced size (a dropped connection)
    raises, so that the bytes received so far stay in the partial file for the next attempt
    to resume from. A write that fails for lack of room says so (`DownloadError`).
    """
    if total is not None and total > max_bytes:
        raise _too_large(desc, f"is {total:,} bytes", max_bytes)
    received = offset
    with tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    ) as bar:
        while chunk := source.read1(_CHUNK_BYTES):  # what has arrived: a stall loses nothing
            if received + len(chunk) > max_bytes:
                raise _too_large(desc, "goes on past that", max_bytes)
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


def _too_large(desc: str, problem: str, max_bytes: int) -> _TooLarge:
    return _TooLarge(
        f"{desc} may be at most {max_bytes:,} bytes (cifar10.max_bytes; the official CIFAR-10 "
        f"archive is {DEFAULT_MAX_BYTES:,}), but the download {problem}, so it was stopped and "
        "nothing was kept: the source is not sending that archive. Check cifar10.url, or for a "
        "larger archive of your own raise --params cifar10.max_bytes=<bytes>."
    )


def _too_slow(url: str, deadline: float, sink: BinaryIO) -> DownloadError:
    return DownloadError(
        f"{url} was still sending after {deadline:g} s, so the download was given up; it can "
        f"be resumed. {_resume_hint(sink)} On a slow connection allow it longer with --params "
        "cifar10.deadline=<seconds>."
    )


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
