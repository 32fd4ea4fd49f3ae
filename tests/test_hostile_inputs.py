"""Issue 35's hostile inputs, one test per class, each input built here and tiny where the
bound shows on a header or a count: Python's own limits (nesting, digits, names, numbers) end
as one clear message naming the problem (class 3), and files read whole through side doors
(hints, a pyproject.toml, a file:// download) are refused by kind and size, never waited on
(class 1)."""

import io
import json
import os
import pickle
import threading
import zipfile
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest

from image_colourisation.app.cli import EXIT_SOME_FAILED, EXIT_USAGE, main
from image_colourisation.app.page import PageSettings, create_app
from image_colourisation.core.errors import UserError
from image_colourisation.datasets import OnnxModelDataset
from image_colourisation.datasets.cifar10 import CIFAR10ArchiveDataset
from image_colourisation.datasets.download import download
from image_colourisation.imaging.photo_files import open_photo
from image_colourisation.models.onnx_runtime import OnnxGenerator
from image_colourisation.models.payloads import load_payload
from image_colourisation.pipelines.colourisation.nodes import (
    colourise_photos,
    decode_request_photos,
)
from tests.app.test_page import ask_page
from tests.cifar_archive import archive_members, write_tar
from tests.http_server import serve_directory

DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in json.loads and tomllib
LONG_NUMBER = "9" * 5_000  # past int()'s 4,300 digits
DEEP_HINT_PROBLEM = "nested 100,000 deep, more than the 32 levels it may have"
DIGITS_PROBLEM = "holds a number of 5,000 digits, more than the 18 any number may have here"
BIG = 2 << 30  # a sparse file: 2 GiB claimed, nothing written


def cli_error(*args: object, exit_status: int = EXIT_USAGE) -> str:
    """What `colourise ARGS` writes on stderr, once it has ended with `exit_status` and
    without a traceback."""
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        try:
            status = main([str(arg) for arg in args])
        except SystemExit as stopped:
            status = stopped.code
    text = stderr.getvalue()
    assert status == exit_status, text
    assert "Traceback" not in text
    return text


def page_error(tmp_path: Path, endpoint: str, **query: object) -> str:
    """The 400 the page, started in `tmp_path`, answers to a request at `endpoint` with
    `query`, before any model is looked for (the model file it names is never read)."""
    settings = PageSettings("model.pt", None, tmp_path / "kept", max_upload_mb=1)
    query = {"name": "photo.png", "model": "model.pt", "x": 1, "y": 1} | query
    status, _, body = ask_page(create_app(settings), f"/api/{endpoint}?{urlencode(query)}", b"x")
    assert status == 400, body
    return json.loads(body)["detail"]


def raised(action: Callable[[], object]) -> str:
    """The message of the user error `action` raises."""
    with pytest.raises(UserError) as caught:
        action()
    return str(caught.value)


def answer_within(action: Callable[[], str], case: str, seconds: float) -> str:
    """What `action` answers, run in a thread that the test stops waiting for after
    `seconds` (a hung or slow door fails the test instead of holding up pytest)."""
    answer: list[str | BaseException] = []

    def knock() -> None:
        try:
            answer.append(action())
        except BaseException as error:  # handed to the test's own thread
            answer.append(error)

    door = threading.Thread(target=knock, daemon=True)
    door.start()
    door.join(timeout=seconds)
    assert answer, f"{case}: still waiting after {seconds} s"
    if isinstance(answer[0], BaseException):
        raise answer[0]
    return answer[0]


def served_row_error(hints: str) -> str:
    """The error the served model's answer gives a row with `hints` (the others go on)."""
    requests = pd.DataFrame({"image": ["AAAA"], "hints": [hints]})
    return decode_request_photos(requests, 64)[0].error


def content_length_error(tmp_path: Path, announced: str) -> str:
    (tmp_path / "archive.tar.gz").write_bytes(b"archive")
    with serve_directory(tmp_path) as server:
        server.content_length = announced
        url = server.url("archive.tar.gz")
        message = raised(lambda: download(url, tmp_path / "got" / "a.tar.gz", "0" * 32))
    assert url in message
    return message


def hints_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hints.json"
    path.write_text(text)
    return path


PYTHONS_LIMITS: dict[str, tuple[Callable[[Path], str], str]] = {
    "--hints nested 100,000 deep": (
        lambda tmp: cli_error("photo.png", "--hints", hints_file(tmp, DEEP)),
        f"--hints: hints file {{tmp}}/hints.json has lists or objects {DEEP_HINT_PROBLEM}",
    ),
    "--hints with a 5,000-digit coordinate": (
        lambda tmp: cli_error(
            "photo.png", "--hints", hints_file(tmp, f'[{{"x": {LONG_NUMBER}, "y": 1}}]')
        ),
        f"--hints: hints file {{tmp}}/hints.json {DIGITS_PROBLEM}",
    ),
    "--hint with a 5,000-digit coordinate": (
        lambda tmp: cli_error("photo.png", "--hint", f"{LONG_NUMBER},1,#ff0000"),
        f"argument --hint: the hint's x {DIGITS_PROBLEM}",
    ),
    "the page's colourise, hints nested deep": (
        lambda tmp: page_error(tmp, "colourise", hints=DEEP),
        f"hints has lists or objects {DEEP_HINT_PROBLEM}",
    ),
    "the page's suggest, hints nested deep": (
        lambda tmp: page_error(tmp, "suggest", hints=DEEP),
        f"hints has lists or objects {DEEP_HINT_PROBLEM}",
    ),
    "the page, a 5,000-digit hint": (
        lambda tmp: page_error(tmp, "suggest", hints=f'[{{"x": {LONG_NUMBER}}}]'),
        f"hints {DIGITS_PROBLEM}",
    ),
    "the page, a NUL in the name": (
        lambda tmp: page_error(tmp, "colourise", name="photo\0.png"),
        "File name 'photo\\x00.png' holds control characters (such as NUL or a line break)",
    ),
    "the page, a 300-character name": (
        lambda tmp: page_error(tmp, "colourise", name="a" * 296 + ".png"),
        "is 300 bytes long, more than the 255 a file name may have",
    ),
    "the served model's hints nested deep": (
        lambda tmp: served_row_error(DEEP),
        f"hints has lists or objects {DEEP_HINT_PROBLEM}",
    ),
    "the served model's 5,000-digit hint": (
        lambda tmp: served_row_error(f"[[{LONG_NUMBER}]]"),
        f"hints {DIGITS_PROBLEM}",
    ),
    "Content-Length: ²": (
        lambda tmp: content_length_error(tmp, "²"),
        "announced a Content-Length of '²', which is not a number of bytes (digits 0-9",
    ),
    "a 5,000-digit Content-Length": (
        lambda tmp: content_length_error(tmp, LONG_NUMBER),
        "announced a Content-Length of '99999",
    ),
    "cifar10.url with %00": (
        lambda tmp: raised(
            lambda: CIFAR10ArchiveDataset(str(tmp), url="https://example.org/c%00.tar.gz")
        ),
        "cifar10.url: The URL 'https://example.org/c%00.tar.gz' names a file that holds "
        "control characters (%00 is a NUL)",
    ),
    "cifar10.url file:// with %00 in a folder": (
        lambda tmp: raised(lambda: CIFAR10ArchiveDataset(str(tmp), url="file:///a%00/c.tar.gz")),
        "holds control characters (%00 is a NUL), which no path may",
    ),
    "colourisation.render_size='64'": (
        lambda tmp: raised(lambda: colourise_photos({}, {}, "64", 8)),
        "render_size must be a multiple of 32 from 32 to 1024 (e.g. 64), got '64' (str).",
    ),
    "--max-upload-mb nan": (
        lambda tmp: cli_error("--serve", "--max-upload-mb", "nan"),
        "argument --max-upload-mb: the size in MB is nan; allowed: a number in (0, 100000]",
    ),
    "--max-upload-mb inf": (
        lambda tmp: cli_error("--serve", "--max-upload-mb", "inf"),
        "argument --max-upload-mb: the size in MB is inf; allowed",
    ),
    "--port 70000": (
        lambda tmp: cli_error("--serve", "--port", "70000"),
        "argument --port: the port is 70000; allowed: an integer in [1, 65535]",
    ),
    "--port -1": (
        lambda tmp: cli_error("--serve", "--port", "-1"),
        "argument --port: the port is -1; allowed: an integer in [1, 65535]",
    ),
}


@pytest.mark.parametrize("case", PYTHONS_LIMITS)
def test_pythons_own_limits_end_as_one_message_naming_the_problem(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Class 3: nesting, digits, a Unicode digit, names no file can have, a string where a
    number goes, NaN and out-of-range numbers: each door says what is wrong, no traceback."""
    monkeypatch.chdir(tmp_path)
    action, expected = PYTHONS_LIMITS[case]
    message = action(tmp_path)
    assert expected.format(tmp=tmp_path) in message
    assert len(message) < 2_000  # the input is named, not printed


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def sparse(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        file.truncate(BIG)
    return path


def from_a_folder_below(tmp: Path, pyproject: Callable[[Path], Path]) -> str:
    """`colourise` run in a folder below one whose pyproject.toml `pyproject` makes: it goes
    on to the installed project (the photo is missing, so nothing is colourised)."""
    pyproject(tmp / "parent" / "pyproject.toml")
    (tmp / "parent" / "photos").mkdir()
    os.chdir(tmp / "parent" / "photos")
    return cli_error("missing.png", exit_status=EXIT_SOME_FAILED)


def deep_toml(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"a = {DEEP}\n")
    return path


def sparse_of(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        file.truncate(size)
    return path


def with_deflated_entry(path: Path, state: dict) -> Path:
    """`state` saved by torch.save, plus a compressed entry (1 MiB of zeros in 1 KB): an
    extra key of 4 GB is the same file with a longer entry."""
    import torch  # noqa: PLC0415 - slow, only these cases need it

    torch.save(state, path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("archive/data/extra", bytes(1 << 20), zipfile.ZIP_DEFLATED)
    return path


def checkpoint_error(path: Path) -> str:
    from image_colourisation.pipelines.training.checkpoints import (  # noqa: PLC0415
        CheckpointError,
        read_checkpoint,
    )

    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    return str(caught.value)


def onnx_with_external_data(folder: Path, size: int) -> Path:
    """A one-weight ONNX graph whose weight lies in `weights.bin`, a sparse file of `size`."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper  # noqa: PLC0415

    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[size // 4])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in {"location": "weights.bin", "length": str(size)}.items():
        weight.external_data.add(key=key, value=value)
    node = helper.make_node("Identity", ["w"], ["ab"])
    output = helper.make_tensor_value_info("ab", TensorProto.FLOAT, [size // 4])
    graph = helper.make_graph([node], "g", [], [output], initializer=[weight])
    sparse_of(folder / "weights.bin", size)
    onnx.save_model(helper.make_model(graph), folder / "model.onnx")
    return folder / "model.onnx"


def registry_error(tmp: Path, make: Callable[[Path], object]) -> str:
    """What `colourise`'s direct read of the local registry says of a store that is not one."""
    from image_colourisation.serving.local_store import has_alias  # noqa: PLC0415

    make(tmp / "mlflow.db")
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    try:
        return raised(lambda: has_alias("image-colourisation", "champion"))
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI")
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before


SIDE_DOORS: dict[str, tuple[Callable[[Path], str], str]] = {
    "--hints /dev/zero": (
        lambda tmp: cli_error("photo.png", "--hints", "/dev/zero"),
        "--hints: hints file /dev/zero cannot be read: it is a character device",
    ),
    "--hints a FIFO": (
        lambda tmp: cli_error("photo.png", "--hints", fifo(tmp / "hints.json")),
        "hints file {tmp}/hints.json cannot be read: it is a FIFO (named pipe), not a file",
    ),
    "--hints a 2 GiB file": (
        lambda tmp: cli_error("photo.png", "--hints", sparse(tmp / "hints.json")),
        "it is 2,147,483,648 bytes, more than the 1,048,576 such a file may have here",
    ),
    "a FIFO pyproject.toml in a parent folder": (
        lambda tmp: from_a_folder_below(tmp, fifo),
        "note: not the project: {tmp}/parent/pyproject.toml cannot be read: it is a FIFO",
    ),
    "a 2 GiB pyproject.toml in a parent folder": (
        lambda tmp: from_a_folder_below(tmp, sparse),
        "not the project: {tmp}/parent/pyproject.toml cannot be read: it is 2,147,483,648 bytes",
    ),
    "--project with a FIFO pyproject.toml": (
        lambda tmp: cli_error("photo.png", "--project", fifo(tmp / "p" / "pyproject.toml").parent),
        "--project {tmp}/p is not the image-colourisation project ({tmp}/p/pyproject.toml "
        "cannot be read: it is a FIFO",
    ),
    "--project with a 2 GiB pyproject.toml": (
        lambda tmp: cli_error(
            "photo.png", "--project", sparse(tmp / "p" / "pyproject.toml").parent
        ),
        "{tmp}/p/pyproject.toml cannot be read: it is 2,147,483,648 bytes, more than",
    ),
    "--project with a pyproject.toml nested 100,000 deep": (
        lambda tmp: cli_error(
            "photo.png", "--project", deep_toml(tmp / "p" / "pyproject.toml").parent
        ),
        "({tmp}/p/pyproject.toml nests arrays or tables deeper than Python's TOML reader goes)",
    ),
    "cifar10.url=file:// a FIFO": (
        lambda tmp: raised(
            lambda: download(fifo(tmp / "c.tar.gz").as_uri(), tmp / "got" / "c.tar.gz", "0" * 32)
        ),
        "Cannot read {tmp}/c.tar.gz (from file://{tmp}/c.tar.gz): it is a FIFO (named pipe)",
    ),
    "a sparse 8 GB photo in a photo folder": (
        lambda tmp: raised(lambda: open_photo(sparse_of(tmp / "photos" / "big.png", 8 << 30))),
        "{tmp}/photos/big.png is 8,589,934,592 bytes, more than the 2,147,483,648 such a file",
    ),
    "a checkpoint with a deflated extra key": (
        lambda tmp: checkpoint_error(with_deflated_entry(tmp / "last.pt", {"epoch": 1})),
        "{tmp}/last.pt is not a checkpoint of this project: its entry archive/data/extra is "
        "compressed (1,",
    ),
    "a payload with a deflated extra key": (
        lambda tmp: raised(
            lambda: load_payload(with_deflated_entry(tmp / "g.pt", {"a": 1}), "--model")
        ),
        "--model: {tmp}/g.pt is not a model payload of this project: its entry "
        "archive/data/extra is compressed",
    ),
    "ONNX external data of 3 GB": (
        lambda tmp: raised(lambda: OnnxGenerator(onnx_with_external_data(tmp, 3 << 30), "m")),
        "with 3,221,225,472 bytes of external data, more than the 1,016,777,216 any generator",
    ),
    "a random file as the MLflow registry `colourise` reads": (
        lambda tmp: registry_error(tmp, lambda path: path.write_bytes(b"\x00garbage" * 100)),
        "The MLflow store {tmp}/mlflow.db is not a sqlite database (it begins b'\\x00garbage'); "
        "move it away",
    ),
    "a FIFO as the MLflow registry `colourise` reads": (
        lambda tmp: registry_error(tmp, os.mkfifo),
        "The MLflow store {tmp}/mlflow.db is a FIFO (named pipe), not a file",
    ),
    "a sparse 2 GiB served ONNX file": (
        lambda tmp: raised(OnnxModelDataset(str(sparse(tmp / "served.onnx"))).load),
        "{tmp}/served.onnx is 2,147,483,648 bytes, more than the 1,016,777,216 such a file",
    ),
}


@pytest.mark.parametrize("case", SIDE_DOORS)
def test_side_doors_refuse_special_and_huge_files_by_name_at_once(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Class 1: hints, a pyproject.toml found above or named with --project and a file://
    download read only regular files of a bounded size; a FIFO is refused, never waited on
    (the door runs in a thread that the test stops waiting for after 20 s)."""
    monkeypatch.chdir(tmp_path)
    action, expected = SIDE_DOORS[case]
    answer = answer_within(lambda: action(tmp_path), case, seconds=20)
    assert expected.format(tmp=tmp_path) in answer
    assert len(answer) < 4_000


def shared_lists(levels: int) -> bytes:
    """Pickle opcodes of a list of two lists of two ... (`levels` deep), each level the one
    below fetched twice from the memo: 2**levels leaves from a few bytes per level."""
    ops = b"](K\x00K\x00eq\x01"  # [0, 0] kept as memo 1
    for level in range(1, levels + 1):
        ops += b"](h" + bytes([level]) + b"h" + bytes([level]) + b"eq" + bytes([level + 1])
    return ops


def deep_lists(depth: int) -> bytes:
    """Pickle opcodes of a list nested `depth` deep: MARK ... MARK [] LIST ... LIST."""
    return b"(" * depth + b"]" + b"l" * depth


def batch_with(key: bytes, value_ops: bytes) -> bytes:
    """A protocol-3 pickle of the dict {key: the value `value_ops` builds}."""
    return b"\x80\x03}q\x00C" + bytes([len(key)]) + key + value_ops + b"s."


def archive_error(tmp: Path, member: str, payload: bytes) -> str:
    """The refusal of a CIFAR-10 archive whose `member` is `payload`."""
    members = archive_members()
    members[member] = payload
    md5 = write_tar(tmp / "odd.tar.gz", members)
    dataset = CIFAR10ArchiveDataset(str(tmp / "raw"), url=(tmp / "odd.tar.gz").as_uri(), md5=md5)
    return raised(dataset.load)


BATCH = "Refused to unpickle cifar-10-batches-py/data_batch_1 in {tmp}/raw/odd.tar.gz: it "
META = "Refused to unpickle cifar-10-batches-py/batches.meta in {tmp}/raw/odd.tar.gz: it "
SHARED = "uses a list it built before a second time (a memo reference)"
AMPLIFYING_PICKLES: dict[str, tuple[Callable[[Path], str], str]] = {
    "labels of 2**30 leaves shared from the memo": (
        lambda tmp: archive_error(tmp, "data_batch_1", batch_with(b"labels", shared_lists(30))),
        BATCH + SHARED,
    ),
    "class names of 2**30 leaves shared from the memo": (
        lambda tmp: archive_error(
            tmp, "batches.meta", batch_with(b"label_names", shared_lists(30))
        ),
        META + SHARED,
    ),
    "a 5,000-digit label": (
        lambda tmp: archive_error(
            tmp, "data_batch_1", pickle.dumps({b"labels": [0, 10**5000 - 1]}, protocol=2)
        ),
        BATCH + "holds a whole number of about 5,000 digits, more than any field",
    ),
    "labels nested 200,000 deep": (
        lambda tmp: archive_error(tmp, "data_batch_1", batch_with(b"labels", deep_lists(200_000))),
        BATCH + "nests lists, tuples or dicts more than 32 deep",
    ),
    "a dict key of tuples nested 200,000 deep": (
        lambda tmp: archive_error(
            tmp, "data_batch_1", b"\x80\x03}q\x00)" + b"\x85" * 200_000 + b"K\x00s."
        ),
        BATCH + "nests lists, tuples or dicts more than 32 deep",
    ),
}


@pytest.mark.parametrize("case", AMPLIFYING_PICKLES)
def test_archive_pickles_are_bounded_while_they_are_built(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Class 2: a CIFAR-10 member that shares lists to grow into billions of items, holds a
    5,000-digit number or nests 200,000 deep is refused while it is unpickled, naming the
    member, within seconds, and the refusal does not print what was built."""
    monkeypatch.chdir(tmp_path)
    action, expected = AMPLIFYING_PICKLES[case]
    answer = answer_within(lambda: action(tmp_path), case, seconds=20)
    assert expected.format(tmp=tmp_path) in answer
    assert len(answer) < 1_000
