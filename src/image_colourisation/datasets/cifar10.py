"""The CIFAR-10 python archive as a read-only Kedro dataset: download, verify, read in place.

`load()` fetches the archive when it is missing, checks its md5 before reading a byte of it,
and streams the batches out of the .tar.gz (nothing is extracted to disk). The batches are
pickles, and unpickling runs code, so they go through an unpickler that can only build what
a CIFAR-10 batch holds: dicts, lists, bytes, ints and numpy arrays.
"""

import _codecs
import io
import logging
import pickle
import re
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from image_colourisation.download import download, file_md5, url_basename

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


def _encode_latin1(text: str, encoding: str) -> bytes:
    """What Python 3's protocol-2 pickles call to rebuild `bytes`; no other codec is allowed."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return _codecs.encode(text, "latin1")


class _BatchUnpickler(pickle.Unpickler):
    """Resolves only the globals a pickled numpy array needs; anything else is refused."""

    _ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _encode_latin1,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it asks for {module}.{name}, which a CIFAR-10 batch never needs"
            ) from None


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
        metadata: dict[str, Any] | None = None,
    ) -> None:
        md5 = str(md5).lower()
        if not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise DatasetError(
                f"cifar10 md5 must be 32 hexadecimal digits, got {md5!r}. Copy the checksum "
                "exactly (when it is given through --params, make sure it was not cut short)."
            )
        self._url = url
        self._md5 = md5
        self._filepath = Path(directory) / url_basename(url)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        if self._filepath.exists():
            self._verify_existing()
        else:
            logger.info("%s is missing: downloading it from %s", self._filepath, self._url)
            download(self._url, self._filepath, self._md5)
        return _read_archive(self._filepath)

    def save(self, data: Any) -> None:
        raise DatasetError(
            "The CIFAR-10 archive is read-only: it is downloaded, never written by a pipeline."
        )

    def _verify_existing(self) -> None:
        actual = file_md5(self._filepath)
        if actual != self._md5:
            raise DatasetError(
                f"{self._filepath} has md5 {actual}, but {self._md5} was expected. It is "
                "either a different archive or a damaged copy. Delete or move it to download "
                "it again, or set cifar10.url and cifar10.md5 to the archive you mean to use."
            )

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "url": self._url, "md5": self._md5}


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Assemble the data contract from the archive's meta and batch members."""
    members = _read_members(path)
    if b"label_names" not in members[_META]:
        raise DatasetError(f"{_FOLDER}/{_META} in {path} has no b'label_names'.")
    class_names = [name.decode() for name in members[_META][b"label_names"]]
    images, labels, splits = [], [], []
    for name, split in _BATCH_SPLITS.items():
        batch_images, batch_labels = _batch_arrays(path, name, members.pop(name))
        images.append(batch_images)
        labels.append(batch_labels)
        splits.append(np.full(len(batch_labels), split))
    return {
        "images": np.concatenate(images),
        "labels": np.concatenate(labels),
        "split": np.concatenate(splits),
        "class_names": np.array(class_names),
    }


def _read_members(path: Path) -> dict[str, dict]:
    """Unpickle the wanted members while streaming the .tar.gz once, in whatever order."""
    wanted = {f"{_FOLDER}/{name}": name for name in [_META, *_BATCH_SPLITS]}
    members: dict[str, dict] = {}
    try:
        with tarfile.open(path, "r|gz") as archive:
            for member in archive:
                if member.name in wanted and member.isfile():
                    payload = archive.extractfile(member).read()
                    members[wanted[member.name]] = _unpickle_member(path, member.name, payload)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DatasetError(
            f"{path} is truncated or not a valid .tar.gz ({error}), although its md5 matches: "
            "the source archive itself is damaged. Point cifar10.url and cifar10.md5 at a "
            "complete copy."
        ) from error
    missing = [member for member, name in wanted.items() if name not in members]
    if missing:
        raise DatasetError(
            f"{path} lacks {', '.join(missing)}: it is not a complete CIFAR-10 python archive. "
            "Point cifar10.url at the python version of CIFAR-10 (cifar-10-python.tar.gz)."
        )
    return members


def _unpickle_member(path: Path, member: str, payload: bytes) -> dict:
    try:
        content = _BatchUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except pickle.UnpicklingError as error:
        raise DatasetError(
            f"Refused to unpickle {member} in {path}: {error}. Nothing in it was run. The "
            "archive is not a genuine CIFAR-10 python archive: delete it and download the "
            "official one."
        ) from error
    except Exception as error:  # a damaged pickle can fail in many ways
        raise DatasetError(f"{member} in {path} is not a readable pickle: {error}") from error
    if not isinstance(content, dict):
        raise DatasetError(f"{member} in {path} holds a {type(content).__name__}, not a dict.")
    return content


def _batch_arrays(path: Path, name: str, batch: dict) -> tuple[np.ndarray, np.ndarray]:
    """A batch's N x 3072 planar rows -> images (N, 32, 32, 3) and int64 labels (N,)."""
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise DatasetError(f"{_FOLDER}/{name} in {path}: b'data' is not a 2-D uint8 array.")
    if data.shape[1] != _ROW_BYTES or labels is None or len(labels) != len(data):
        raise DatasetError(
            f"{_FOLDER}/{name} in {path}: expected N x {_ROW_BYTES} data with N labels, got "
            f"data {data.shape} and {None if labels is None else len(labels)} labels."
        )
    images = data.reshape(-1, 3, _IMAGE_SIDE, _IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)
