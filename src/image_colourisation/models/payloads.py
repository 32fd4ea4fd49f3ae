"""Model payloads (architecture record + state dict, written by torch.save): reading the files
safely and checking that a payload describes a model this project can build and fill.

The generators and the evaluation's classifier are stored this way, by `ModelPayloadDataset`
in the catalog; `colourise --model` and the pipelines' model choices read the same files.
Nothing real is allocated before a payload is known to fit (`rebuild_model`).
"""

import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from image_colourisation.core.errors import ModelFileError, UserDatasetError
from image_colourisation.core.files import printable
from image_colourisation.core.ranges import Setting
from image_colourisation.models.networks import Generator
from image_colourisation.models.record import (
    GENERATOR_ARCHITECTURE,
    MAX_MODEL_BYTES,
    MAX_PARAMETERS,
    MAX_WEIGHT_MAGNITUDE,
    architecture_problem,
)

PAYLOAD_KEYS = ("architecture", "state_dict")
# torch.save writes a zip archive and torch.load inflates compressed entries whole, so a 3.8 MB
# file can claim a 2.8 GB tensor; the claim is read first, against the models' one limit.
MAX_PAYLOAD_BYTES = MAX_MODEL_BYTES


def load_payload(path: Path, what: str) -> dict[str, Any]:
    """Read a payload with `weights_only=True`, so a file from elsewhere cannot run code,
    once its zip entries are known to inflate to at most `MAX_PAYLOAD_BYTES`.

    `what` names the source in errors (a dataset, a CLI argument), so the user knows which
    file is wrong.
    """
    inflated = declared_bytes(path)
    if inflated > MAX_PAYLOAD_BYTES:
        raise UserDatasetError(
            f"{what}: {path} is not a model payload of this project: its entries inflate to "
            f"{inflated:,} bytes, more than the {MAX_PAYLOAD_BYTES:,} any model of this project "
            f"needs ({MAX_PARAMETERS:,} float32 weights at most), so it was not loaded (it may "
            "be a decompression bomb): give a file written by the training pipeline."
        )
    packed = compressed_entry(path)
    if packed:
        raise UserDatasetError(
            f"{what}: {path} is not a model payload of this project: {packed}, so it was not "
            "loaded: give a file written by the training pipeline."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise UserDatasetError(
            f"{what}: {path} does not exist: run the pipeline that trains it first "
            "(`kedro run --pipelines training` for the generators)."
        ) from error
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise UserDatasetError(
            f"{what}: {path} is not a model payload of this project ({refusal_reason(error)}); "
            "the safe loader (weights_only=True) refused it, so do not trust it and never load "
            "it with weights_only=False: give a file written by the training pipeline."
        ) from error
    if not isinstance(payload, dict) or any(key not in payload for key in PAYLOAD_KEYS):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise UserDatasetError(
            f"{what}: {path} holds {found}, not a model payload with keys {list(PAYLOAD_KEYS)}."
        )
    return payload


def declared_bytes(path: Path) -> int:
    """What the zip entries of a torch.save file say they inflate to, read from its central
    directory (as torch.load reads it) without inflating anything; 0 for a file that is not
    a zip archive or cannot be read, which torch.load then refuses with its own reason."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0


def compressed_entry(path: Path) -> str | None:
    """Which zip entry of a torch.save file is compressed, as the end of a sentence, or None.

    torch.save stores every entry as it is and torch.load inflates each entry whole, so a
    compressed entry was put there by something else, and it is how an 8 MB file makes
    torch.load fill 5 GB: refused, the memory torch.load uses is at most the file's size.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a zip archive: torch.load refuses it with its own reason
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED:
            return (
                f"its entry {printable(entry.filename)} is compressed ({entry.compress_size:,} "
                f"bytes inflating to {entry.file_size:,}), which torch.save never writes"
            )
    return None


def refusal_reason(error: BaseException) -> str:
    """Why `torch.load(..., weights_only=True)` refused a file, in a few words.

    Torch's own message advises retrying with `weights_only=False`, which would run whatever
    code a hostile file holds; this project never does that, so the advice is left out.
    """
    text = str(error)
    code = re.search(r"GLOBAL ([\w.]+)", text)
    if code:
        return f"it asks to import {code.group(1)}, which no file of this project does"
    if isinstance(error, EOFError) or "EOF" in text:
        return "it is empty or cut short"
    if isinstance(error, pickle.UnpicklingError) or "zip" in text.lower() or "archive" in text:
        return "it is not a file that torch.save wrote, or it is damaged"
    lines = [line for line in text.splitlines() if "weights_only" not in line and line.strip()]
    return f"{type(error).__name__}: {lines[0][:200] if lines else 'unreadable'}"


def generator_payload(generator: Generator) -> dict[str, Any]:
    """What the models layer stores: the architecture and the weights (plain tensors only)."""
    return {"architecture": dict(generator.architecture), "state_dict": generator.state_dict()}


Model = TypeVar("Model", bound=nn.Module)


def rebuild_model(
    payload: Any,
    build: Callable[..., Model],
    settings: Mapping[str, Setting],
    source: str,
    *,
    kind: str,
    pipeline: str = "training",
) -> Model:
    """Build `build(**architecture)` from a payload and load its weights strictly, in eval mode.

    Nothing real is allocated before the payload is known to fit: the architecture record's
    keys, types and ranges are checked, then the number of weights it implies, counted on a
    model built on the `meta` device (shapes only: 0.15 s for the largest record allowed),
    then every weight's name, shape and kind against the meta model's; only then is the model built
    on the CPU and filled strictly. Any problem raises `ModelFileError` naming `source` (and
    the `pipeline` that writes such models).
    """

    def refuse(problem: str) -> ModelFileError:
        return ModelFileError(
            f"{source} is not a usable {kind}: {problem}; give a {kind} written by this "
            f"project's {pipeline} pipeline."
        )

    if not isinstance(payload, Mapping) or not {"architecture", "state_dict"} <= payload.keys():
        found = sorted(map(str, payload)) if isinstance(payload, Mapping) else _type(payload)
        raise refuse(f"it holds {found}, not a payload with 'architecture' and 'state_dict'")
    architecture, state = payload["architecture"], payload["state_dict"]
    problem = architecture_problem(architecture, settings)
    if problem:
        raise refuse(f"its architecture record {problem}")
    if not isinstance(state, Mapping):
        raise refuse(f"its state_dict is {_type(state)}, not a mapping of weight names to tensors")
    with torch.device("meta"):
        blueprint = build(**architecture)
    weights = sum(parameter.numel() for parameter in blueprint.parameters())
    if weights > MAX_PARAMETERS:
        raise refuse(
            f"its architecture {dict(architecture)} implies {weights:,} weights, more than the "
            f"{MAX_PARAMETERS:,} a model of this project may have"
        )
    problem = weights_problem(state, blueprint.state_dict())
    if problem:
        raise refuse(f"its weights do not fit its architecture {dict(architecture)}: {problem}")
    problem = unbounded_problem(state)
    if problem:
        raise refuse(f"{problem}, so everything it made would be meaningless (black photos)")
    # The blueprint takes the payload's tensors as they are (assign): no CPU copy to allocate
    # and no random initialisation to throw away (seconds at `colourise`'s start).
    try:
        blueprint.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, TypeError, ValueError) as error:  # checked above; belt and braces
        raise refuse(f"its weights could not be loaded ({_first_line(error)})") from error
    if any(tensor.is_meta for tensor in (*blueprint.parameters(), *blueprint.buffers())):
        raise refuse("it leaves some of the model's tensors without values")
    return blueprint.eval()


def weights_problem(state: Mapping[Any, Any], expected: Mapping[str, torch.Tensor]) -> str | None:
    """How a state dict differs from the one `expected` (names, shapes), or None when it fits."""
    missing = [name for name in expected if name not in state]
    unexpected = [str(name) for name in state if name not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"it lacks {len(missing)} weights it needs ({_few(missing)})")
        if unexpected:
            parts.append(
                f"it has {len(unexpected)} weights it has no place for ({_few(unexpected)})"
            )
        return " and ".join(parts)
    for name, reference in expected.items():
        value = state[name]
        if not isinstance(value, torch.Tensor):
            return f"{name} is {_type(value)}, not a tensor"
        if value.shape != reference.shape:
            return f"{name} has shape {tuple(value.shape)}, the architecture needs " + str(
                tuple(reference.shape)
            )
        if value.layout != torch.strided or value.is_meta:
            return f"{name} is a {value.layout} tensor on {value.device}, not plain weights"
        if value.is_floating_point() != reference.is_floating_point() or value.is_complex():
            return f"{name} holds {value.dtype}, the architecture needs {reference.dtype}"
    return None


MAX_SUBNORMAL_SHARE = 0.01


def unbounded_problem(state: Mapping[str, torch.Tensor]) -> str | None:
    """Which weight holds NaN, infinity or a value beyond `MAX_WEIGHT_MAGNITUDE` (a training
    that diverged, a damaged or forged file), or weights that are mostly subnormal, or None.

    Such weights pass every check of names and shapes, then overflow the first layer they
    meet and turn every output to NaN or to the same colour: a black photo, with exit 0.
    """
    for name, value in state.items():
        if not value.is_floating_point() or not value.numel():
            continue
        low, high = torch.aminmax(value.float())  # float(): float8 has no aminmax of its own
        if -MAX_WEIGHT_MAGNITUDE <= low and high <= MAX_WEIGHT_MAGNITUDE:
            continue
        bad = int(value.numel() - torch.isfinite(value).sum())
        if bad:
            return f"its weight {name} holds {bad:,} NaN or infinite values"
        return (
            f"its weight {name} holds {max(-low, high).item():.3g}, beyond the "
            f"{MAX_WEIGHT_MAGNITUDE:,.0f} no weight of this project's models comes near"
        )
    return _subnormal_problem(state)


def _subnormal_problem(state: Mapping[str, torch.Tensor]) -> str | None:
    """Weights that are mostly subnormal numbers (below the smallest normal float, 1.2e-38):
    a model of almost-zeros that colours every photo gray, each multiplication many times
    slower. Trained generators hold a few (47 of 6.9 million in this project's GAN), so only
    a share above `MAX_SUBNORMAL_SHARE` is refused."""
    total = subnormal = 0
    for value in state.values():
        if value.is_floating_point() and value.numel():
            size = value.abs()
            subnormal += int(((size > 0) & (size < torch.finfo(value.dtype).tiny)).sum())
            total += value.numel()
    if total and subnormal > MAX_SUBNORMAL_SHARE * total:
        return (
            f"{subnormal / total:.0%} of its weights are subnormal numbers (below "
            f"{torch.finfo(torch.float32).tiny:.2g}), which trained weights are not: it would "
            "colour every photo gray"
        )
    return None


def generator_from_payload(payload: dict[str, Any], source: str | None = None) -> Generator:
    """Rebuild a generator, in eval mode, from `generator_payload`'s output.

    `source` names the file or URI in errors; by default the payload's own "source" entry (the
    catalog's GeneratorChoiceDataset adds one), else "the generator payload". A payload that
    does not fit (see `rebuild_model`) raises `ModelFileError`, a ValueError.
    """
    if source is None:
        source = (
            str(payload.get("source", "the generator payload"))
            if isinstance(payload, Mapping)
            else "the generator payload"
        )
    return rebuild_model(
        payload,
        Generator,
        GENERATOR_ARCHITECTURE,
        source,
        kind="generator",
    )


def _type(value: Any) -> str:
    return f"a {type(value).__name__}"


def _first_line(error: BaseException, limit: int = 200) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:limit] if lines else ''}".rstrip(": ")


def _few(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")
