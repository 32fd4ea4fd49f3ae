"""Fetch a file from an http(s):// or file:// URL with a progress bar, resume and md5 check.

The bytes go to `<destination>.part` first; a later call resumes from the end of that file
(an HTTP Range request). Only when the md5 of the whole file matches is it renamed into
place, so a file at `destination` is always complete and verified.
"""

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_TIMEOUT_SECONDS = 60
_RANGE_NOT_SATISFIABLE = 416
_PARTIAL_CONTENT = 206
_KEPT_FOR_RESUME = "The bytes received so far are kept in the .part file: run again to resume."


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


def download(url: str, destination: Path, md5: str) -> Path:
    """Fetch `url` to `destination`, resuming `<destination>.part`; verify `md5`; return the path.

    Raises `DownloadError` when the source cannot be read or the checksum does not match;
    on a mismatch the partial file is deleted (resuming it could only fail again) and
    nothing appears at `destination`.
    """
    fetch = {"file": _fetch_file, "http": _fetch_http, "https": _fetch_http}.get(
        urlparse(url).scheme
    )
    if fetch is None:
        raise DownloadError(
            f"Cannot download {url!r}: only http://, https:// and file:// URLs are supported."
        )
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    if partial.exists():
        logger.info("Resuming %s from byte %d", partial, partial.stat().st_size)
    try:
        with open(partial, "ab") as sink:
            fetch(url, sink, desc=destination.name)
    except BaseException:
        if partial.stat().st_size == 0:  # nothing arrived: leave no empty file behind
            partial.unlink()
        raise

    actual = file_md5(partial)
    if actual != md5.lower():
        partial.unlink()
        raise DownloadError(
            f"Checksum mismatch for {destination.name} downloaded from {url}: expected md5 "
            f"{md5}, got {actual}. The download was deleted and nothing was saved at "
            f"{destination}. Check that the URL and the md5 (parameters cifar10.url and "
            "cifar10.md5) belong to the same file, then run again to download afresh."
        )
    os.replace(partial, destination)
    logger.info("Saved %s (md5 %s)", destination, actual)
    return destination


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


def _fetch_http(url: str, sink: BinaryIO, desc: str) -> None:
    """Append the rest of `url` after the bytes `sink` already holds (an HTTP Range request)."""
    offset = sink.tell()
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        if error.code == _RANGE_NOT_SATISFIABLE and offset:
            return  # the partial file already holds every byte; the md5 check decides
        raise DownloadError(
            f"Downloading {url} failed: HTTP {error.code} {error.reason}. Check the URL, or "
            "point cifar10.url at a local copy with a file:// URL."
        ) from error
    except urllib.error.URLError as error:
        raise DownloadError(
            f"Cannot reach {url}: {error.reason}. Check the network, or point cifar10.url at "
            "a local copy with a file:// URL."
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
        except (OSError, http.client.HTTPException) as error:
            message = f"The download of {url} broke off ({error}). {_KEPT_FOR_RESUME}"
            raise DownloadError(message) from error


def _copy(source: BinaryIO, sink: BinaryIO, offset: int, total: int | None, desc: str) -> None:
    """Stream `source` into `sink` with a bytes / rate / ETA progress bar.

    A source that ends before its announced size (a dropped connection) raises, so that the
    bytes received so far stay in the partial file for the next attempt to resume from.
    """
    with tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    ) as bar:
        while chunk := source.read(_CHUNK_BYTES):
            sink.write(chunk)
            bar.update(len(chunk))
    if total is not None and bar.n < total:
        raise DownloadError(
            f"The download of {desc} stopped at byte {bar.n} of {total}. {_KEPT_FOR_RESUME}"
        )
