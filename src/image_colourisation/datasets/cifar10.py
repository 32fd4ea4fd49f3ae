"""The CIFAR-10 python archive as a read-only Kedro dataset: download, verify, read in place.

`load()` fetches the archive when it is missing, checks its md5 before reading a byte of it,
and streams the batches out of the .tar.gz (nothing is extracted to disk). The batches are
pickles, and unpickling runs code, so they go through an unpickler that can only build what
a CIFAR-10 batch holds: dicts, lists, bytes, ints and numpy arrays. Even those are built only
the way numpy's own pickles build them (an empty array filled with bytes the pickle holds), so
a small pickle cannot make a large array: `numpy.ndarray(shape, dtype, buffer, strides)` called
directly (700,008 images over one row with a stride of 0, or 100 million rows allocated) and
`bytes(n)` are refused by name. What it builds is bounded as it is built (`_BatchUnpickler`):
the number of steps, how deep lists, tuples and dicts nest, the size of whole numbers, and no
list or dict may be used twice (a memo reference), so a 93 KB pickle cannot share its way to
a structure of 10^9 items, nest 200,000 deep or hold a 5,000-digit label.

A matching md5 only says the file is the one named in the configuration, not that it is
sound, so reading is bounded too: no entry may declare more than `MAX_MEMBER_BYTES`, no more
than `MAX_MEMBERS` entries, and the decompressed stream is cut off at `MAX_ARCHIVE_BYTES`
(a 13 MB decompression bomb stops within a second instead of filling the memory). Every field
of every batch is checked (labels are whole numbers within the classes of `batches.meta`) and
a bad one is refused naming the archive member and the problem.
"""

import _codecs
import gzip
import io
import logging
import math
import pickle
import reprlib
import tarfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from image_colourisation.core.errors import UserDatasetError
from image_colourisation.core.files import printable
from image_colourisation.core.ranges import Rules, Setting, Text, problems_in, shortened
from image_colourisation.datasets.download import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    download,
    file_md5,
    url_basename,
)

logger = logging.getLogger(__name__)

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"

_FOLDER = "cifar-10-batches-py"
_META = "batches.meta"
_BATCH_SPLITS = {
    **{f"data_batch_{index}": "train" for index in range(1, 6)},
    "test_batch": "test",
}
_IMAGE_SIDE = 32
_ROW_BYTES = 3 * _IMAGE_SIDE * _IMAGE_SIDE

# An official batch (10,000 images) is a 31 MB pickle and the official archive expands to
# 178 MiB in 8 entries; these bounds are generous for any archive in that format.
MAX_MEMBER_BYTES = 64 << 20
MAX_MEMBERS = 64
MAX_ARCHIVE_BYTES = 512 << 20
_HEADER_BYTES = 1 << 20  # room for the tar headers (long names, pax records) before an entry
# What one member's pickle may build: an official batch takes about 60,000 steps (10,000
# labels and file names), nests 3 deep and needs no whole number past 64 bits.
MAX_PICKLE_STEPS = 1_000_000
MAX_PICKLE_DEPTH = 32
MAX_PICKLE_INT_BITS = 256
_CONTAINERS = (list, tuple, dict, set, frozenset)
_FETCHES = {pickle.GET[0], pickle.BINGET[0], pickle.LONG_BINGET[0], pickle.DUP[0]}
_ADD_ONE = {pickle.APPEND[0]: 1, pickle.SETITEM[0]: 2}  # items added to the container below
_ADD_MARKED = {pickle.APPENDS[0], pickle.SETITEMS[0], pickle.ADDITEMS[0]}  # items since MARK
_BUILD = {  # a new container, empty or holding the items it was built from
    op[0]
    for op in (pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3, pickle.LIST)
    + (pickle.DICT, pickle.FROZENSET, pickle.EMPTY_TUPLE, pickle.EMPTY_LIST)
    + (pickle.EMPTY_DICT, pickle.EMPTY_SET)
}
_WHOLE_NUMBERS = {op[0] for op in (pickle.INT, pickle.LONG, pickle.LONG1, pickle.LONG4)}
_SHOWN = reprlib.Repr()  # values in messages: a few levels and items, never the whole thing
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 2, 60, 60


def _encode_latin1(text: str, encoding: str) -> bytes:
    """What Python 3's protocol-2 pickles call to rebuild `bytes`; no other codec is allowed."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refusing _codecs.encode with encoding {_SHOWN.repr(encoding)}"
        )
    return _codecs.encode(text, "latin1")


class _ArrayType:
    """What the name `numpy.ndarray` stands for in a batch: the type `_reconstruct` is told to
    build, never something to call. Called, numpy.ndarray builds whatever the pickle claims (a
    view of any size over a few bytes, or any allocation), which no CIFAR-10 batch does."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise pickle.UnpicklingError(
            "it calls numpy.ndarray directly, building an array of a shape and strides of its "
            "own choosing instead of one filled with the bytes it holds (as numpy pickles do)"
        )


_ARRAY_TYPE = _ArrayType()


def _empty_array(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    """numpy's `_reconstruct`, as numpy's pickles call it: an empty plain array, which
    `__setstate__` then fills with bytes that must match its shape. Any other size would be
    allocated on the pickle's word alone."""
    if subtype is not _ARRAY_TYPE or shape != (0,):
        raise pickle.UnpicklingError(
            f"it asks numpy._reconstruct for a {_SHOWN.repr(shape)} array, where numpy's "
            "own pickles start from an empty one and fill it with the bytes they hold"
        )
    return np._core.multiarray._reconstruct(np.ndarray, shape, dtype_code)


def _empty_bytes(*args: Any) -> bytes:
    """`bytes()`: how protocol-2 pickles write b''; `bytes(n)` would allocate n bytes."""
    if args:
        raise pickle.UnpicklingError(
            f"it calls bytes{_SHOWN.repr(args)}, where a CIFAR-10 batch only ever needs "
            "bytes() (an empty value)"
        )
    return b""


class _BatchUnpickler(pickle._Unpickler):
    """Resolves only the globals a pickled numpy array needs, and bounds what it builds.

    Python's own unpickler (this one, step by step) builds whatever the opcodes say. Every
    step is counted (`MAX_PICKLE_STEPS`); each list, tuple, dict or set built records how deep
    it nests (`MAX_PICKLE_DEPTH`, checked before a deep tuple can be hashed as a dict key);
    whole numbers are bounded (`MAX_PICKLE_INT_BITS`); and fetching a list, dict or set again
    from the memo (or DUP) is refused, as are tuples holding containers: shared structure is how
    a few bytes grow into billions of items, and no CIFAR-10 batch shares any.
    """

    dispatch = {
        key: (lambda self, key=key, load=load: self._step(key, load))
        for key, load in pickle._Unpickler.dispatch.items()
    }

    _ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"): _empty_array,
        ("numpy.core.multiarray", "_reconstruct"): _empty_array,
        ("numpy", "ndarray"): _ARRAY_TYPE,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _encode_latin1,
        ("__builtin__", "bytes"): _empty_bytes,
        ("builtins", "bytes"): _empty_bytes,
    }

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, encoding="bytes")
        self._steps = 0
        self._depths: dict[int, int] = {}  # id of each container built: how deep it nests
        self._kept: list[Any] = []  # the containers themselves, so that no id is reused

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it asks for {module}.{name}, which a CIFAR-10 batch never needs"
            ) from None

    def _step(self, key: int, load: Any) -> None:
        """Run one opcode's `load`, counted and checked."""
        self._steps += 1
        if self._steps > MAX_PICKLE_STEPS:
            raise pickle.UnpicklingError(
                f"it takes more than {MAX_PICKLE_STEPS:,} steps to build, far more than a "
                "CIFAR-10 batch (about 60,000)"
            )
        if key in _ADD_ONE:
            added = self.stack[-_ADD_ONE[key] :]
        elif key in _ADD_MARKED:
            added = list(self.stack)  # the items since the MARK, about to be added
        load(self)
        if not self.stack:
            return
        top = self.stack[-1]
        if key in _FETCHES:
            self._check_shared(top)
        elif key in _ADD_ONE or key in _ADD_MARKED:
            self._nest(top, added)
        elif key in _BUILD:
            self._nest(top, [*top.keys(), *top.values()] if isinstance(top, dict) else top)
        elif key in _WHOLE_NUMBERS:
            self._check_whole_number(top)

    def _nest(self, container: Any, items: Any) -> None:
        """Record that `container` now holds `items`, refusing it past `MAX_PICKLE_DEPTH`."""
        depth = max(
            self._depths.get(id(container), 1),
            1 + max((self._depths.get(id(item), 0) for item in items), default=0),
        )
        if depth > MAX_PICKLE_DEPTH:
            raise pickle.UnpicklingError(
                f"it nests lists, tuples or dicts more than {MAX_PICKLE_DEPTH} deep, where a "
                "CIFAR-10 batch nests 3 deep"
            )
        if id(container) not in self._depths:
            self._kept.append(container)
        self._depths[id(container)] = depth

    def _check_shared(self, value: Any) -> None:
        """A value fetched again (memo or DUP): atoms and flat tuples only."""
        if not isinstance(value, _CONTAINERS):
            return
        if type(value) is tuple and self._depths.get(id(value), 1) == 1:
            self._steps += len(value)  # each item is one more to walk through
            return
        raise pickle.UnpicklingError(
            f"it uses a {type(value).__name__} it built before a second time (a memo "
            "reference), which no CIFAR-10 batch does: shared lists can grow a few bytes into "
            "billions of items"
        )

    def _check_whole_number(self, value: Any) -> None:
        if type(value) is int and value.bit_length() > MAX_PICKLE_INT_BITS:
            digits = math.floor((value.bit_length() - 1) * math.log10(2)) + 1
            raise pickle.UnpicklingError(
                f"it holds a whole number of about {digits:,} digits, more than any field of "
                f"a CIFAR-10 batch may have ({MAX_PICKLE_INT_BITS} bits)"
            )


class ArchiveURL:
    """`cifar10.url`: an http(s) or file URL whose path ends in the archive's file name."""

    def problem(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return f"{name} is {shortened(value)}; allowed: {self.describe()}"
        try:
            url_basename(value)
        except ValueError as error:
            return f"{name}: {error}"
        return None

    def describe(self) -> str:
        return "the archive's URL (https://, http:// or file://, ending in its file name)"


# `cifar10.*` (conf/base/globals.yml, or --params): where the archive comes from and how long
# and how large its download may be.
RULES: Rules = {
    "url": ArchiveURL(),
    "md5": Text("the archive's MD5 checksum: 32 hexadecimal digits", 32, "[0-9a-fA-F]{32}"),
    "timeout": Setting(float, 0.0, 86_400.0, low_open=True),  # seconds, at most a day
    "deadline": Setting(float, 0.0, 30 * 86_400.0, low_open=True),  # seconds, at most 30 days
    "max_bytes": Setting(int, 1, 10 << 30),  # 10 GiB; the official archive is 170 MB
}


class CIFAR10ArchiveDataset(AbstractDataset[None, dict[str, np.ndarray]]):
    """The CIFAR-10 python archive (`cifar-10-python.tar.gz` or one in the same format).

    The local copy lives at `directory / <file name at the end of url>`. `load()` returns
    `images` uint8 (N, 32, 32, 3), `labels` int64 (N,), `split` ("train"/"test", N) and
    `class_names` (10,), training batches first, in archive order.
    """

    def __init__(
        self,
        directory: str,
        url: str = OFFICIAL_URL,
        md5: str = OFFICIAL_MD5,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        limits = {
            "url": url,
            "md5": md5,
            "timeout": timeout,
            "deadline": deadline,
            "max_bytes": max_bytes,
        }
        found = problems_in(RULES, limits, "cifar10")
        if found:
            raise UserDatasetError("; ".join(found))
        md5 = md5.lower()
        self._url = url
        self._md5 = md5
        self._timeout = float(timeout)
        self._deadline = float(deadline)
        self._max_bytes = max_bytes
        self._filepath = Path(directory) / url_basename(url)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        if self._filepath.exists():
            self._verify_existing()
        else:
            logger.info("%s is missing: downloading it from %s", self._filepath, self._url)
            download(
                self._url,
                self._filepath,
                self._md5,
                self._timeout,
                deadline=self._deadline,
                max_bytes=self._max_bytes,
            )
        return _read_archive(self._filepath)

    def save(self, data: Any) -> None:
        raise DatasetError(
            "The CIFAR-10 archive is read-only: it is downloaded, never written by a pipeline."
        )

    def _verify_existing(self) -> None:
        actual = file_md5(self._filepath)
        if actual != self._md5:
            raise UserDatasetError(
                f"{self._filepath} has md5 {actual}, but {self._md5} was expected. It is "
                "either a different archive or a damaged copy. Delete or move it to download "
                "it again, or set cifar10.url and cifar10.md5 to the archive you mean to use."
            )

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "url": self._url,
            "md5": self._md5,
            "timeout": self._timeout,
            "deadline": self._deadline,
            "max_bytes": self._max_bytes,
        }


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Assemble the data contract from the archive's meta and batch members."""
    members = _read_members(path)
    class_names = _class_names(path, members[_META])
    images, labels, splits = [], [], []
    for name, split in _BATCH_SPLITS.items():
        batch_images, batch_labels = _batch_arrays(
            f"{_FOLDER}/{name} in {path}", members.pop(name), len(class_names)
        )
        images.append(batch_images)
        labels.append(batch_labels)
        splits.append(np.full(len(batch_labels), split))
    return {
        "images": np.concatenate(images),
        "labels": np.concatenate(labels),
        "split": np.concatenate(splits),
        "class_names": np.array(class_names),
    }


class _BoundedStream:
    """The decompressed .tar stream, cut off where a CIFAR-10 archive would have ended.

    tarfile reads an entry's headers (long names and pax records too, whatever their size)
    before the loop sees the entry, so the bound is kept here, on the bytes themselves:
    after each entry the stream may go on for that entry's declared size plus room for the
    next entry's headers, and never past `MAX_ARCHIVE_BYTES` in all.
    """

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        self._raw = raw
        self._path = path
        self._position = 0
        self._limit = _HEADER_BYTES
        self._after = "the start of the archive"

    def allow(self, member: tarfile.TarInfo) -> None:
        """Let reading go on through `member`'s data and the headers of the entry after it."""
        self._limit = self._position + member.size + _HEADER_BYTES
        self._after = member.name

    def read(self, size: int = -1) -> bytes:
        limit = min(self._limit, MAX_ARCHIVE_BYTES)
        room = limit - self._position
        chunk = self._raw.read(room + 1 if size < 0 or size > room else size)
        self._position += len(chunk)
        if self._position > limit:
            raise UserDatasetError(self._overrun_message(limit))
        return chunk

    def _overrun_message(self, limit: int) -> str:
        if limit == MAX_ARCHIVE_BYTES:
            problem = f"expands to more than {MAX_ARCHIVE_BYTES >> 20} MiB"
        else:
            problem = f"has more than {_HEADER_BYTES >> 20} MiB of tar headers after {self._after}"
        return (
            f"{self._path} {problem}, far beyond any CIFAR-10 archive (the official one "
            "expands to 178 MiB): reading stopped there. It is not a CIFAR-10 archive (it may "
            "be a decompression bomb): delete it and point cifar10.url and cifar10.md5 at the "
            "real one."
        )


def _read_members(path: Path) -> dict[str, dict]:
    """Unpickle the wanted members while streaming the .tar.gz once, in whatever order."""
    wanted = {f"{_FOLDER}/{name}": name for name in [_META, *_BATCH_SPLITS]}
    members: dict[str, dict] = {}
    try:
        with gzip.open(path, "rb") as raw:
            stream = _BoundedStream(raw, path)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for count, member in enumerate(archive, start=1):
                    _check_member(path, member, count)
                    stream.allow(member)
                    if member.name in wanted and member.isfile():
                        if wanted[member.name] in members:
                            raise UserDatasetError(
                                f"{path} holds {printable(member.name)} twice, so which one is the real "
                                "batch is unknown: it is not a CIFAR-10 archive. Point "
                                "cifar10.url and cifar10.md5 at the real one."
                            )
                        payload = archive.extractfile(member).read()
                        members[wanted[member.name]] = _unpickle_member(path, member.name, payload)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise UserDatasetError(
            f"{path} is truncated or not a valid .tar.gz ({error}), although its md5 matches: "
            "the source archive itself is damaged. Point cifar10.url and cifar10.md5 at a "
            "complete copy."
        ) from error
    missing = [member for member, name in wanted.items() if name not in members]
    if missing:
        raise UserDatasetError(
            f"{path} lacks {', '.join(missing)}: it is not a complete CIFAR-10 python archive. "
            "Point cifar10.url at the python version of CIFAR-10 (cifar-10-python.tar.gz)."
        )
    return members


def _check_member(path: Path, member: tarfile.TarInfo, count: int) -> None:
    """Refuse an entry before reading it: too many entries, or one larger than any batch."""
    if count > MAX_MEMBERS:
        raise UserDatasetError(
            f"{path} holds more than {MAX_MEMBERS} entries (the CIFAR-10 archive has 8): it "
            "is not a CIFAR-10 archive. Point cifar10.url and cifar10.md5 at the real one."
        )
    if member.size > MAX_MEMBER_BYTES:
        raise UserDatasetError(
            f"{printable(member.name)} in {path} declares {member.size:,} bytes, more than the "
            f"{MAX_MEMBER_BYTES >> 20} MiB any CIFAR-10 batch can need (an official batch is "
            "31 MB), so it was not read: the archive is not a CIFAR-10 archive (it may be a "
            "decompression bomb). Point cifar10.url and cifar10.md5 at the real one."
        )


def _unpickle_member(path: Path, member: str, payload: bytes) -> dict:
    try:
        content = _BatchUnpickler(io.BytesIO(payload)).load()
    except pickle.UnpicklingError as error:
        raise UserDatasetError(
            f"Refused to unpickle {member} in {path}: {error}. Nothing in it was run. The "
            "archive is not a genuine CIFAR-10 python archive: delete it and download the "
            "official one."
        ) from error
    except Exception as error:  # a damaged pickle can fail in many ways
        raise UserDatasetError(f"{member} in {path} is not a readable pickle: {error}") from error
    if not isinstance(content, dict):
        raise UserDatasetError(f"{member} in {path} holds a {type(content).__name__}, not a dict.")
    return content


def _class_names(path: Path, meta: dict) -> list[str]:
    """The class names from `batches.meta`: a non-empty list of distinct UTF-8 names."""
    where = f"{_FOLDER}/{_META} in {path}"
    names = meta.get(b"label_names")
    if not isinstance(names, list | tuple) or not names:
        raise UserDatasetError(
            f"{where}: b'label_names' must be a non-empty list of class names, got "
            f"{_described(names)}."
        )
    decoded = []
    for index, name in enumerate(names):
        try:
            decoded.append(name if isinstance(name, str) else name.decode("utf-8"))
        except (AttributeError, UnicodeDecodeError):
            raise UserDatasetError(
                f"{where}: b'label_names' must hold text; entry {index} is {_SHOWN.repr(name)}."
            ) from None
    if len(set(decoded)) != len(decoded):
        raise UserDatasetError(f"{where}: b'label_names' repeats a name: {_SHOWN.repr(decoded)}.")
    return decoded


def _batch_arrays(where: str, batch: dict, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch's N x 3072 planar rows -> images (N, 32, 32, 3) and int64 labels (N,).

    Every field is checked first; `where` (member and archive) starts each refusal.
    """
    data = batch.get(b"data")
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == _ROW_BYTES
    ):
        raise UserDatasetError(
            f"{where}: b'data' must be a uint8 array of N rows x {_ROW_BYTES} bytes (one "
            f"32 x 32 RGB image a row), got {_described(data)}."
        )
    rows = len(data)
    if not rows:
        raise UserDatasetError(
            f"{where}: b'data' holds no images (0 rows); every CIFAR-10 batch holds some (the "
            "official ones 10,000 each). Point cifar10.url and cifar10.md5 at a complete archive."
        )
    labels = _labels(where, batch.get(b"labels"), rows, num_classes)
    filenames = batch.get(b"filenames")
    if filenames is not None and (
        not isinstance(filenames, list | tuple)
        or len(filenames) != rows
        or not all(isinstance(name, bytes | str) for name in filenames)
    ):
        raise UserDatasetError(
            f"{where}: b'filenames' must be a list of {rows} names (one per image), got "
            f"{_described(filenames)}."
        )
    images = data.reshape(-1, 3, _IMAGE_SIDE, _IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _labels(where: str, labels: Any, rows: int, num_classes: int) -> np.ndarray:
    """`labels` as int64 after checking they are `rows` whole numbers in 0..num_classes-1.

    A float (3.7), a bool, bytes or text is refused, never rounded or parsed: a label that
    is not a class number means the archive is not what it claims to be.
    """
    allowed = f"whole numbers 0-{num_classes - 1} (one per class in {_META})"
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        outside = np.flatnonzero((labels < 0) | (labels >= num_classes))
        if outside.size:
            index = int(outside[0])
            raise UserDatasetError(
                f"{where}: b'labels' must be {allowed}; label {index} is {labels[index]} "
                f"({outside.size} outside the range)."
            )
        values = labels.astype(np.int64)
    elif isinstance(labels, list | tuple):
        for index, label in enumerate(labels):
            if type(label) is not int or not 0 <= label < num_classes:
                kind = "" if type(label) is int else f" (a {type(label).__name__})"
                raise UserDatasetError(
                    f"{where}: b'labels' must be {allowed}; label {index} is "
                    f"{_SHOWN.repr(label)}{kind}."
                )
        values = np.array(labels, dtype=np.int64)
    else:
        raise UserDatasetError(
            f"{where}: b'labels' must be a list of {allowed}, got {_described(labels)}."
        )
    if len(values) != rows:
        raise UserDatasetError(
            f"{where}: {len(values)} labels for {rows} images in b'data'; each image needs one."
        )
    return values


def _described(value: Any) -> str:
    """A short description of what a field holds, for an error message."""
    if value is None:
        return "nothing (the field is missing)"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, list | tuple):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {len(value)} ({', '.join(kinds) or 'empty'})"
    return f"{type(value).__name__} {_SHOWN.repr(value)}"
