"""The model: networks (`networks.py`), the architecture record every saved generator carries
(`record.py`), the payload, i.e. the saved generator (`payloads.py`), its ONNX export and
ONNX Runtime (`onnx_export.py`, `onnx_runtime.py`), hint sampling and augmentation.

Importing this package imports no torch: `onnx_runtime.py` and `record.py` run without it.
"""

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    """`image_colourisation.models.Generator` and friends, as they were named before the
    networks moved to `models/networks.py`: torch pickles of earlier runs name them so (the
    test `tests/models/test_legacy_paths.py` loads one). Remove once no saved run predates
    the regroup into packages (December 2026)."""
    networks = importlib.import_module(f"{__name__}.networks")  # imports torch
    return getattr(networks, name)
