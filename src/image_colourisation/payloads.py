"""Model payload files (architecture + state dict, written by torch.save), read safely.

The generators and the evaluation's classifier are stored this way, by `ModelPayloadDataset`
in the catalog; `colourise --model` and the pipelines' model choices read the same files.
"""

import pickle
import re
from pathlib import Path
from typing import Any

import torch
from kedro.io import DatasetError

PAYLOAD_KEYS = ("architecture", "state_dict")


def load_payload(path: Path, what: str) -> dict[str, Any]:
    """Read a payload with `weights_only=True`, so a file from elsewhere cannot run code.

    `what` names the source in errors (a dataset, a CLI argument), so the user knows which
    file is wrong.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise DatasetError(
            f"{what}: {path} does not exist: run the pipeline that trains it first "
            "(`kedro run --pipeline training` for the generators)."
        ) from error
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise DatasetError(
            f"{what}: {path} is not a model payload of this project ({refusal_reason(error)}); "
            "the safe loader (weights_only=True) refused it, so do not trust it and never load "
            "it with weights_only=False: give a file written by the training pipeline."
        ) from error
    if not isinstance(payload, dict) or any(key not in payload for key in PAYLOAD_KEYS):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise DatasetError(
            f"{what}: {path} holds {found}, not a model payload with keys {list(PAYLOAD_KEYS)}."
        )
    return payload


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


def newest_version(folder: Path) -> Path | None:
    """The newest payload in a versioned folder (`<folder>/<timestamp>/<folder name>`), as
    Kedro's versioned datasets save them; None when none is saved yet."""
    saved = sorted(path for path in folder.glob(f"*/{folder.name}") if path.is_file())
    return saved[-1] if saved else None
