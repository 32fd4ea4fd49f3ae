"""A generator exported to ONNX (`onnx_export.py`), run by ONNX Runtime: the same L* (+ hints)
-> ab as `networks.Generator` (`render.AbModel`), without importing torch, which is most of the
start-up of a one-photo `colourise` run.

The file is checked before use: its inputs and output must be the ones the exporter writes
(names, element type, channels, free height and width), its metadata must record the
architecture, its operators must be the exporter's and its numbers bounded, so a foreign,
stale or forged file is refused with what to do instead. Each answer is checked too: a graph
can say one output shape and give another. What a graph computes can also be far larger than
its architecture says (a 1 KB graph of Resize nodes asked for 2.1 GB): the session's memory is
capped at the machine's budget (`core/memory.memory_budget`), so ONNX Runtime refuses such an
allocation before making it.
"""

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import FileProblem, open_regular_file
from image_colourisation.core.memory import memory_budget
from image_colourisation.core.ranges import shortened
from image_colourisation.imaging.hints import NO_HINT_INPUTS
from image_colourisation.models.onnx_contents import contents_problem
from image_colourisation.models.record import (
    GENERATOR_ARCHITECTURE,
    MAX_MODEL_BYTES,
    MAX_NORMALISED_AB,
    GeneratorRecord,
    architecture_problem,
)

Runtime = Literal["onnx", "torch"]  # what runs a generator: ONNX Runtime, or PyTorch
RUNTIMES: tuple[Runtime, ...] = ("onnx", "torch")
LIGHTNESS, HINTS, AB = "lightness", "hints", "ab"  # the graph's input and output names
CHANNELS = {LIGHTNESS: 1, HINTS: 3, AB: 2}
ARCHITECTURE_KEY, RENDER_SIZE_KEY = "architecture", "render_size"  # metadata entries
# What an ONNX file may hold with its external data (ONNX Runtime reads it all): the limit
# every saved generator has.
MAX_ONNX_BYTES = MAX_MODEL_BYTES
# One image through a generator of this project takes seconds on 2 cores, even at render size
# 1024; a run past this is a forged or broken graph, stopped by name.
MAX_SECONDS_PER_IMAGE = 300.0
EXPORT_COMMAND = (
    "python -m image_colourisation.models.onnx_export PAYLOAD"  # writes PAYLOAD's .onnx
)


def onnx_beside(payload_file: Path) -> Path:
    """Where the ONNX export of a payload file lies: beside it, `.onnx` for its suffix."""
    return payload_file.with_suffix(".onnx")


class OnnxFileError(UserValueError):
    """An ONNX file that is not a generator this project exported."""


class OnnxGenerator(GeneratorRecord):
    """A generator's ONNX export in an ONNX Runtime session on the CPU: `render.AbModel`."""

    def __init__(self, model: Path | bytes, source: str) -> None:
        data = model_bytes(model, source)
        self._budget = memory_budget()
        try:
            self._session = _capped_session(model, self._budget[0])
        except Exception as error:  # ONNX Runtime raises its own kinds for any unreadable file
            raise OnnxFileError(
                f"{source} is not an ONNX model ONNX Runtime can load "
                f"({type(error).__name__}: {str(error).splitlines()[0][:200]}); write it again "
                f"from the generator's payload: {EXPORT_COMMAND}"
            ) from error
        metadata = self._session.get_modelmeta().custom_metadata_map
        self.architecture = _architecture(metadata, source)
        self.render_size: int | None = _render_size(metadata, source)
        problem = graph_problem(self._session, self.architecture) or contents_problem(data)
        if problem:
            raise OnnxFileError(
                f"{source} is not a generator exported by this project: {problem}; write it "
                f"again from the generator's payload: {EXPORT_COMMAND}"
            )
        self._source = source

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        try:
            return _stoppable_run(self._session, feeds, self._source)
        except onnxruntime.capi.onnxruntime_pybind11_state.Fail as error:
            asked = _refused_allocation(str(error))
            if asked is None:
                raise
            budget, budget_source = self._budget
            height, width = feeds[LIGHTNESS].shape[2:]
            raise OnnxFileError(
                f"{self._source} asked for {asked / 1e9:,.2f} GB at once to colour one "
                f"{width} x {height} image, more than the {budget / 1e9:,.2f} GB {budget_source} "
                f"(a generator of its architecture needs about "
                f"{self.memory_needed(height, width) / 1e9:,.2f} GB in all); choose a smaller "
                f"render size, or, if the file is not a sound export, write it again from the "
                f"generator's payload: {EXPORT_COMMAND}"
            ) from None

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """Normalised L (N, 1, H, W) and hints (N, 3, H, W) or None -> normalised ab."""
        feeds = {LIGHTNESS: np.ascontiguousarray(lightness, dtype=np.float32)}
        if self.takes_hints:  # no hints: a hint model reads all zeros (as `Generator` does)
            shape = (lightness.shape[0], CHANNELS[HINTS], *lightness.shape[2:])
            feeds[HINTS] = np.zeros(shape, np.float32) if hints is None else hints
        elif hints is not None:
            raise ValueError(NO_HINT_INPUTS)
        ab = self._run(feeds)
        problem = answer_problem(ab, (lightness.shape[0], CHANNELS[AB], *lightness.shape[2:]))
        if problem:
            raise OnnxFileError(
                f"{self._source} {problem}, so it is not a sound generator of this project; "
                f"write it again from a sound generator payload: {EXPORT_COMMAND}"
            )
        return ab


# One arena per session, registered for the session being built (ONNX Runtime hands the
# environment's newest CPU allocator to sessions that ask for it); the lock keeps two loads
# from swapping caps.
_ARENA_LOCK = threading.Lock()
_CPU_ARENA = onnxruntime.OrtMemoryInfo(
    "Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, onnxruntime.OrtMemType.DEFAULT
)
_REFUSED_ALLOCATION = re.compile(
    r"Available memory of \d+ is smaller than requested bytes of (\d+)"
)


def _capped_session(model: Path | bytes, limit: int) -> onnxruntime.InferenceSession:
    """A CPU session whose memory arena holds at most `limit` bytes: an allocation past it
    fails at once (`_refused_allocation`) instead of being made."""
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # fatal only: a refused allocation is told by the caller
    options.add_session_config_entry("session.use_env_allocators", "1")
    with _ARENA_LOCK:
        onnxruntime.create_and_register_allocator(
            _CPU_ARENA, onnxruntime.OrtArenaCfg(limit, -1, -1, -1)
        )
        return onnxruntime.InferenceSession(
            model if isinstance(model, bytes) else str(model),
            options,
            providers=["CPUExecutionProvider"],
        )


def _refused_allocation(message: str) -> int | None:
    """The bytes of the allocation that ONNX Runtime's capped arena refused, as its error
    `message` says them, or None for any other failure."""
    found = _REFUSED_ALLOCATION.search(message)
    return int(found[1]) if found else None


def _stoppable_run(session: Any, feeds: dict[str, np.ndarray], source: str) -> np.ndarray:
    """`session.run` in a thread of its own, so that Ctrl+C ends it at once (ONNX Runtime's
    call holds the main thread: a forged graph ignored Ctrl+C for 30 s) and so that a run past
    `MAX_SECONDS_PER_IMAGE` is stopped by name; both through ONNX Runtime's own `terminate`."""
    options = onnxruntime.RunOptions()
    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer["ab"] = session.run([AB], feeds, options)[0]
        except Exception as error:  # handed to the caller's thread
            answer["error"] = error

    worker = threading.Thread(target=run, name="onnx-run", daemon=True)
    deadline = time.monotonic() + MAX_SECONDS_PER_IMAGE
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
            if worker.is_alive() and time.monotonic() > deadline:
                options.terminate = True
                worker.join()
                raise OnnxFileError(
                    f"{source} ran longer than {MAX_SECONDS_PER_IMAGE:g} s on one image and was "
                    "stopped: no generator of this project comes near that; write it again from "
                    f"a sound generator payload: {EXPORT_COMMAND}"
                )
    except KeyboardInterrupt:
        options.terminate = True
        worker.join()
        raise
    if "error" in answer:
        raise answer["error"]
    return answer["ab"]


def answer_problem(ab: np.ndarray, expected: tuple[int, ...]) -> str | None:
    """What is wrong with a graph's answer, as "gave ...", or None.

    The checks at load read what a graph declares; what it computes can differ (an output
    said to be [batch, 2, height, width] can be 1x1), and overflow inside it gives NaN or
    infinity: each answer is checked for shape and range, else garbage or black photos.
    """
    if ab.shape != expected:
        return f"gave colours of shape {ab.shape}, expected {expected}"
    if not np.isfinite(ab).all():
        return "gave NaN or infinite colours (every photo would come out black)"
    peak = float(np.abs(ab).max()) if ab.size else 0.0
    if peak > MAX_NORMALISED_AB:
        return f"gave colours up to {peak:.3g}, outside the normalised ab range [-1, 1]"
    return None


def model_bytes(model: Path | bytes, source: str) -> bytes:
    """An ONNX file's bytes (`model` itself, or the regular file it names) once it and its
    external data are known to hold at most `MAX_ONNX_BYTES`, else `OnnxFileError`.

    ONNX Runtime reads the weights a file keeps in other files ("external data") whole, so
    both count. Finding them needs the onnx package (0.7 s to import), so it is asked only
    when the file holds the word every external reference has ("location").
    """
    if isinstance(model, bytes):
        size, folder, data = len(model), Path.cwd(), model
    else:
        try:
            with open_regular_file(model) as file:
                size = os.fstat(file.fileno()).st_size
                data = file.read(size) if size <= MAX_ONNX_BYTES else b""
        except FileProblem as error:
            raise OnnxFileError(str(error)) from error
        folder = model.parent
    external = _external_bytes(data, folder) if b"location" in data else 0
    if size + external > MAX_ONNX_BYTES:
        extra = f" with {external:,} bytes of external data" if external else ""
        raise OnnxFileError(
            f"{source} is {size:,} bytes{extra}, more than the {MAX_ONNX_BYTES:,} any "
            f"generator of this project needs, so it was not loaded; write it again from the "
            f"generator's payload: {EXPORT_COMMAND}"
        )
    return data


def _external_bytes(data: bytes, folder: Path) -> int:
    """The bytes of external data the ONNX model `data` refers to (files in `folder`)."""
    import onnx  # noqa: PLC0415 - slow, and only files with external data need it
    from onnx.external_data_helper import _get_all_tensors, uses_external_data  # noqa: PLC0415

    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # not ONNX: ONNX Runtime refuses it with its own reason
        return 0
    total = 0
    for tensor in _get_all_tensors(model):
        if not uses_external_data(tensor):
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        if entries.get("length", "").isdigit():
            total += int(entries["length"][:18])
        else:
            try:
                total += (folder / entries.get("location", "")).stat().st_size
            except (OSError, ValueError):
                pass  # missing or unreadable: ONNX Runtime names it
    return total


def graph_problem(
    session: onnxruntime.InferenceSession, architecture: dict[str, Any]
) -> str | None:
    """What is wrong with the session's inputs and outputs for `architecture`, or None."""
    expected_inputs = [LIGHTNESS, HINTS] if architecture.get("hints") else [LIGHTNESS]
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name: node for node in session.get_outputs()}
    if sorted(inputs) != sorted(expected_inputs):
        return f"its inputs are {sorted(inputs)}, expected {expected_inputs}"
    if AB not in outputs:
        return f"its outputs are {sorted(outputs)}, expected {[AB]}"
    for node in [*inputs.values(), outputs[AB]]:
        shape = node.shape
        if node.type != "tensor(float)" or len(shape) != 4 or shape[1] != CHANNELS[node.name]:
            return (
                f"{node.name!r} is {node.type} {shape}, expected tensor(float) "
                f"[batch, {CHANNELS[node.name]}, height, width]"
            )
        if any(isinstance(side, int) for side in shape[2:]):
            return f"{node.name!r} has a fixed size {shape[2:]}; photos need free height and width"
    return None


def _architecture(metadata: dict[str, str], source: str) -> dict[str, Any]:
    """The architecture record in the file's metadata, checked as a payload's is."""
    try:
        architecture = json.loads(metadata[ARCHITECTURE_KEY])
    except (KeyError, ValueError) as error:
        raise OnnxFileError(
            f"{source} records no generator architecture in its metadata, so this project did "
            f"not export it; export the generator's payload: {EXPORT_COMMAND}"
        ) from error
    problem = architecture_problem(architecture, GENERATOR_ARCHITECTURE)
    if problem:
        raise OnnxFileError(
            f"{source}'s architecture record {problem}; export the generator's payload: "
            f"{EXPORT_COMMAND}"
        )
    return architecture


def _render_size(metadata: dict[str, str], source: str) -> int | None:
    text = metadata.get(RENDER_SIZE_KEY)
    if not text:
        return None
    # str.isdigit takes "²" and other digits int() refuses; four digits hold every render size.
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        raise OnnxFileError(
            f"{source} records render size {shortened(text)}, not a whole number of pixels"
        )
    return int(text)
