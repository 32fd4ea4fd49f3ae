"""Turn a user's "which model?" answer into a `Generator`: a file, a versioned folder, or MLflow.

Evaluation and colourisation take the model as a parameter or CLI flag; this is the one place
that knows the three forms it can take:

- a payload file written by the training pipeline (`.../generator_gan.pt/<version>/generator_gan.pt`),
- a Kedro versioned-dataset folder (`data/06_models/generator_gan.pt`): its newest version,
- an MLflow model URI: a generator logged by the training pipeline (`runs:/<run_id>/generator`)
  or the registered colouriser (`models:/image-colourisation@champion`, `models:/<name>/<version>`),
  whose generator payload is read from the model's artifacts.

Each runs with PyTorch (`networks.Generator`) or, with `runtime="onnx"`, as its ONNX export with
ONNX Runtime (`models/onnx_runtime.py`): the `.onnx` file beside a payload file, or the registered
version's `served_generator_onnx` artifact; an `.onnx` file can also be given itself. Torch is
imported only when PyTorch runs, which is most of a one-photo `colourise` run's start-up.
"""

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import DatasetError

from image_colourisation.core.errors import ModelFileError, UserValueError
from image_colourisation.core.files import entry_problem, newest_version
from image_colourisation.imaging.render import DEFAULT_RENDER_SIZE, AbModel, check_render_size
from image_colourisation.models.onnx_runtime import (
    EXPORT_COMMAND,
    OnnxGenerator,
    Runtime,
    onnx_beside,
)
from image_colourisation.models.record import GENERATOR_ARCHITECTURE, architecture_problem
from image_colourisation.serving import logged_generator
from image_colourisation.serving.local_store import alias_artifact
from image_colourisation.serving.registry import (
    CHAMPION_URI,
    SERVED_GENERATOR,
    SERVED_GENERATOR_ONNX,
    champion_exists,
)

# ONNX Runtime, where an export exists: `colourise` of one 1024x768 photo with the champion took
# 0.77 s instead of 3.08 s (no torch to import), and a loaded model colourised a 512x512 photo
# in 0.12 s instead of 0.45 s (benchmarks/startup.py, 2 busy cores, load 1.9-2.4).
DEFAULT_RUNTIME: Runtime = "onnx"

MLFLOW_SCHEMES = ("runs", "models")
LATEST_GAN = "data/06_models/generator_gan.pt"  # the catalog's versioned generators
LATEST_L1 = "data/06_models/generator_l1.pt"
LATEST_PHOTOS_GAN = "data/06_models/photos/generator_gan.pt"  # the photos pipeline's (its catalog)
LATEST_PHOTOS_L1 = "data/06_models/photos/generator_l1.pt"
_FORMS = (
    "a payload file (data/06_models/generator_gan.pt/<version>/generator_gan.pt), "
    "a versioned folder (data/06_models/generator_gan.pt), an ONNX export (generator_gan.onnx) "
    "or an MLflow model URI "
    "(runs:/<run_id>/generator, models:/image-colourisation@champion, models:/<name>/<version>)"
)


@dataclass(frozen=True)
class TrainedGenerator:
    """A loaded generator and the render size its payload records (None when it records none:
    CIFAR-10 generators and those logged to MLflow runs), so that photos are colourised at the
    size it was trained at unless the user says otherwise; the runtime that runs it, and why it
    is not the one asked for (no ONNX export), if so."""

    generator: AbModel
    render_size: int | None
    runtime: Runtime = "torch"
    fallback: str | None = None

    def render_size_for(self, requested: int | None) -> int:
        """The user's render size, else the recorded one, else `DEFAULT_RENDER_SIZE`."""
        return requested or self.render_size or DEFAULT_RENDER_SIZE


def load_generator(source: str | Path) -> AbModel:
    """Load the generator that `source` names, on the CPU, in eval mode.

    Raises `ValueError` naming the source and what to give instead when it cannot be loaded.
    """
    return load_trained_generator(source).generator


def load_trained_generator(source: str | Path, runtime: Runtime = "torch") -> TrainedGenerator:
    """`load_generator`, with the render size the source records (photo-trained payloads).

    With `runtime="onnx"` the source's ONNX export runs when it has one; when it has none,
    PyTorch runs it and `fallback` says why and how to get one. An `.onnx` file runs with ONNX
    Runtime whatever `runtime` says: it holds nothing PyTorch can load.
    """
    where = f"Model source {str(source)!r}"
    if runtime == "onnx" or str(source).endswith(".onnx"):
        try:
            onnx = OnnxGenerator(onnx_export_of(source), where)
            return TrainedGenerator(onnx, _checked_render_size(onnx.render_size, where), "onnx")
        except NoOnnxExport as missing:
            fallback = f"{missing}; colourising with PyTorch instead."
    else:
        fallback = None
    from image_colourisation.models.payloads import generator_from_payload  # noqa: PLC0415 - torch

    payload = _load_payload(source)
    size = _checked_render_size(payload.get("render_size"), where)
    return TrainedGenerator(generator_from_payload(payload, where), size, "torch", fallback)


class NoOnnxExport(UserValueError):
    """The model has no ONNX export where it is looked for (older payloads and versions)."""


def onnx_export_of(source: str | Path) -> Path:
    """The ONNX file of `source`: itself when it is one, the `.onnx` beside a payload file (or
    the newest in a versioned folder), the registered version's `served_generator_onnx`.

    Raises `NoOnnxExport` saying why there is none and how to write one.
    """
    text = str(source)
    if text.startswith(tuple(f"{scheme}:/" for scheme in MLFLOW_SCHEMES)):
        alias = re.fullmatch(r"models:/([^/@]+)@([\w-]+)", text)
        found = alias and alias_artifact(alias[1], alias[2], SERVED_GENERATOR_ONNX)
        if found:
            return found
        raise NoOnnxExport(
            f"{text} has no ONNX export here (ONNX files are read for registered aliases in "
            "the local store, versions registered since ONNX export exists, payload files and "
            "versioned folders); `kedro run --pipelines training` registers a version with one"
        )
    path = Path(source)
    if text.endswith(".onnx"):
        if path.is_file():
            return path
        raise UserValueError(f"Model source {text!r} {entry_problem(path)}; give {_FORMS}.")
    payload = newest_version(path) if path.is_dir() else path
    if payload is None or not payload.is_file():  # PyTorch's loading says what is wrong
        raise NoOnnxExport(f"{text} is not a saved payload")
    onnx = onnx_beside(payload)
    if not onnx.is_file():
        raise NoOnnxExport(
            f"{payload} has no ONNX export beside it ({onnx.name}); write one with "
            f"`{EXPORT_COMMAND.replace('PAYLOAD', str(payload))}`"
        )
    return onnx


def _checked_render_size(size: Any, where: str) -> int | None:
    """A recorded `render_size`, checked as colourising needs it, or None when none is."""
    if size is None:
        return None
    try:
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValueError(f"render_size must be a whole number, got {size!r}.")
        return check_render_size(size)
    except ValueError as error:
        raise ModelFileError(
            f"{where} records a render size it cannot be used at: {error} Models this "
            "project trains record their crop size: give one of those."
        ) from error


def _load_payload(source: str | Path) -> Mapping[str, Any]:
    """The generator payload (architecture, weights, ...) that `source` names."""
    from image_colourisation.models.payloads import load_payload  # noqa: PLC0415 - imports torch

    text = str(source)
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):/", text)
    if scheme and scheme.group(1) in MLFLOW_SCHEMES:
        local = _registered_locally(text)
        if local is not None:  # the local store's own file: no MLflow client to import
            return load_payload(local, f"Model source {text!r}")
        try:
            return _from_mlflow(text)
        except DatasetError as error:
            raise UserValueError(str(error)) from error
    if scheme and len(scheme.group(1)) > 1:  # not a Windows drive letter
        raise UserValueError(
            f"Model source {text!r}: unsupported URI scheme {scheme.group(1)!r}; give {_FORMS}."
        )
    path = Path(source)
    try:
        if path.is_dir():
            newest = newest_version(path)
            if newest is None:
                raise UserValueError(
                    f"Model source {text!r} is a folder with no saved versions inside "
                    "(expected <folder>/<timestamp>/<name>): run `kedro run --pipelines training` "
                    f"to write one, or give {_FORMS}."
                )
            return load_payload(newest, f"Model source {text!r}")
        if path.is_file():
            return load_payload(path, f"Model source {text!r}")
        raise UserValueError(f"Model source {text!r} {entry_problem(path)}; give {_FORMS}.")
    except DatasetError as error:
        raise UserValueError(str(error)) from error


def _registered_locally(uri: str) -> Path | None:
    """The generator file of `models:/<name>@<alias>` in the local store, when it can be read
    there without MLflow (`local_store`); None sends the URI to MLflow."""
    alias = re.fullmatch(r"models:/([^/@]+)@([\w-]+)", uri)
    return alias_artifact(alias[1], alias[2], SERVED_GENERATOR) if alias else None


def _from_mlflow(uri: str) -> Mapping[str, Any]:
    """A generator payload from an MLflow model.

    The training pipeline logs the generator's payload file (`serving/logged_generator.py`),
    read here as any payload file is. Runs logged before December 2026 hold MLflow's `pt2`
    format (torch.export), which loads as a traced graph fixed to the logged input size and
    without `eval()`: its weights, copied into a fresh `Generator`, give back the fully
    convolutional module, shaped by the architecture in the model's metadata.

    Nothing in a model may run code: MLflow would unpickle a model saved as a pickle (its
    default allows it) and put a model's bundled `code` on the import path, so both are
    refused, the architecture in the metadata is checked before the weights are read, and
    what the model's files inflate to is bounded as a payload file's is.
    """
    import mlflow  # noqa: PLC0415 - slow import, only needed for MLflow sources
    import mlflow.pytorch  # noqa: PLC0415

    def unreadable(error: Exception) -> ValueError:
        return UserValueError(
            f"Model source {uri!r} could not be loaded from MLflow at "
            f"{mlflow.get_tracking_uri()} ({type(error).__name__}: {error}). Check the run id "
            "or model name in `mlflow ui` and run from the project root (where mlflow.db is)."
        )

    untrusted = (
        "which can run code when loaded; this project logs generators in the pickle-free pt2 "
        "format without code, so this model must not be trusted: give one logged by its "
        "training pipeline."
    )
    try:
        info = mlflow.models.get_model_info(uri)
    except Exception as error:  # MlflowException, OSError from the artifact store, ...
        raise unreadable(error) from error
    pyfunc = info.flavors.get("python_function") or {}
    if pyfunc.get("loader_module") == logged_generator.__name__:
        return _from_logged_generator(uri, str(pyfunc.get("data", "")), unreadable)
    if "pytorch" not in info.flavors:
        return _from_registered_colouriser(uri, info)
    if (info.flavors.get("pytorch") or {}).get("code"):
        raise UserValueError(f"Model source {uri!r} bundles Python code, {untrusted}")
    architecture = (info.metadata or {}).get("architecture")
    if architecture is None:
        raise UserValueError(
            f"Model source {uri!r} has no 'architecture' in its MLflow metadata, so it was not "
            "logged by this project's training pipeline; give one that was."
        )
    problem = architecture_problem(architecture, GENERATOR_ARCHITECTURE)
    if problem:  # before the weights are even read
        raise ModelFileError(
            f"Model source {uri!r} is not a usable generator: its architecture record {problem}; "
            "give a generator written by this project's training pipeline."
        )
    local = _downloaded_model(uri, unreadable)
    try:
        with _pickles_refused():
            module = mlflow.pytorch.load_model(str(local), map_location="cpu")
    except Exception as error:
        if "pickle" in str(error).lower():  # MLflow refused it, and advises allowing it
            raise UserValueError(
                f"Model source {uri!r} is stored as a pickle, {untrusted}"
            ) from error
        raise unreadable(error) from error
    return {"architecture": architecture, "state_dict": module.state_dict()}


def _from_logged_generator(
    uri: str, data: str, unreadable: Callable[[Exception], ValueError]
) -> Mapping[str, Any]:
    """The payload of a generator logged by `logged_generator`, bounded and read with
    `weights_only=True` like a payload file; nothing of the model is imported or unpickled."""
    from image_colourisation.models.payloads import load_payload  # noqa: PLC0415 - imports torch

    local = _downloaded_model(uri, unreadable)
    path = logged_generator.payload_file(local, data)
    if path is None:
        raise ModelFileError(
            f"Model source {uri!r} is not a usable generator: its data folder {data!r} lies "
            "outside the model; give a generator logged by this project's training pipeline."
        )
    return load_payload(path, f"Model source {uri!r}")


def _from_registered_colouriser(uri: str, info: Any) -> Mapping[str, Any]:
    """The generator inside a registered colouriser (kedro-mlflow's `KedroPipelineModel`).

    Only its generator payload is read, with `weights_only=True`, like a payload file: the
    model's pickled pipeline (`python_model.pkl`) is never unpickled here.
    """
    import mlflow.artifacts  # noqa: PLC0415

    from image_colourisation.models.payloads import load_payload  # noqa: PLC0415 - imports torch

    artifacts = (info.flavors.get("python_function") or {}).get("artifacts") or {}
    entry = artifacts.get(SERVED_GENERATOR)
    if not entry:
        raise UserValueError(
            f"Model source {uri!r} is neither a generator logged by the training pipeline nor "
            f"a colouriser it registered (no {SERVED_GENERATOR!r} artifact); give {_FORMS}."
        )
    path = mlflow.artifacts.download_artifacts(f"{uri.rstrip('/')}/{entry['path']}")
    return load_payload(Path(path), f"Model source {uri!r}")


def _downloaded_model(uri: str, unreadable: Callable[[Exception], ValueError]) -> Path:
    """The MLflow model's files, downloaded, once they are known not to inflate past a
    payload's bound (`_check_inflated_size`)."""
    import mlflow.artifacts  # noqa: PLC0415

    try:
        local = Path(mlflow.artifacts.download_artifacts(uri))
    except Exception as error:  # MlflowException, OSError from the artifact store, ...
        raise unreadable(error) from error
    _check_inflated_size(uri, local)
    return local


def _check_inflated_size(uri: str, folder: Path) -> None:
    """Refuse an MLflow model whose zip files (the pt2 program and its weights) say they
    inflate past what any generator of this project needs, before torch inflates them: the
    bound a payload file gets (`payloads.MAX_PAYLOAD_BYTES`)."""
    from image_colourisation.models.payloads import MAX_PAYLOAD_BYTES, declared_bytes  # noqa: PLC0415

    inflated = sum(declared_bytes(file) for file in folder.rglob("*") if file.is_file())
    if inflated > MAX_PAYLOAD_BYTES:
        raise ModelFileError(
            f"Model source {uri!r} is not a usable generator: its files inflate to "
            f"{inflated:,} bytes, more than the {MAX_PAYLOAD_BYTES:,} any model of this project "
            "needs, so it was not loaded (it may be a decompression bomb): give a generator "
            "logged by this project's training pipeline."
        )


@contextmanager
def _pickles_refused() -> Iterator[None]:
    """MLflow's switch for unpickling models, off while loading (MLflow's default is on)."""
    name = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def default_model_source() -> str:
    """The registry's champion when the MLflow store (from the working folder) has one, else
    the newest trained GAN: what `colourise` and its page use when not told."""
    return CHAMPION_URI if champion_exists() else LATEST_GAN
