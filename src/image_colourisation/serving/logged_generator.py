"""A trained generator as an MLflow model: its payload (weights plus architecture record) and
its ONNX export, as plain files, loaded by this module alone.

MLflow records this module's name as the model's `loader_module` and calls `_load_pyfunc`
with the folder of files; nothing is pickled, so no later move of the networks' code can break
a logged run. Keep this module's path and these two functions' names: every run logged since
the regroup into packages (December 2026) names them. `model_sources` reads the payload
directly, with the checks every payload file gets.
"""

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

PAYLOAD_FILE = "generator.pt"
ONNX_FILE = "generator.onnx"
DATA_FOLDER = "generator"  # MLflow keeps it as data/generator beside the MLmodel file


def log_generator(payload: dict[str, Any], name: str) -> str:
    """Log `payload` and its ONNX export to the active MLflow run as model `name`; its URI.

    Served with `mlflow models serve`, the model maps normalised L (N, 1, H, W), H and W
    multiples of the generator's size multiple, to normalised ab (N, 2, H, W).
    """
    import mlflow  # noqa: PLC0415 - slow import
    import torch  # noqa: PLC0415
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import Schema, TensorSpec  # noqa: PLC0415

    from image_colourisation.models.onnx_export import payload_onnx  # noqa: PLC0415

    float32 = np.dtype(np.float32)
    signature = ModelSignature(
        inputs=Schema([TensorSpec(float32, (-1, 1, -1, -1))]),  # normalised L
        outputs=Schema([TensorSpec(float32, (-1, 2, -1, -1))]),  # normalised ab
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / DATA_FOLDER
        folder.mkdir()
        torch.save(payload, folder / PAYLOAD_FILE)
        (folder / ONNX_FILE).write_bytes(payload_onnx(payload))
        info = mlflow.pyfunc.log_model(
            name=name,
            loader_module=__name__,
            data_path=str(folder),
            signature=signature,
            metadata={"architecture": dict(payload["architecture"])},
            # Pinned here rather than inferred: inference loads the model in a subprocess.
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
        )
    return info.model_uri


def payload_file(model_folder: Path, data: str) -> Path | None:
    """Where a downloaded model of this kind keeps its payload (`data`: its MLmodel's data
    folder), or None when that folder would lie outside the model."""
    path = (model_folder / data / PAYLOAD_FILE).resolve()
    return path if path.is_relative_to(model_folder.resolve()) else None


class LoggedGenerator:
    """What `mlflow.pyfunc.load_model` gives for such a model: `predict(L) -> ab`."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator

    def predict(self, model_input: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
        import torch  # noqa: PLC0415

        with torch.no_grad():
            return self.generator(torch.as_tensor(np.asarray(model_input, np.float32))).numpy()


def _load_pyfunc(data_path: str) -> LoggedGenerator:
    """MLflow's entry point: the generator rebuilt from the payload file, checked as any is."""
    from image_colourisation.models.payloads import (  # noqa: PLC0415 - imports torch
        generator_from_payload,
        load_payload,
    )

    path = Path(data_path) / PAYLOAD_FILE
    return LoggedGenerator(generator_from_payload(load_payload(path, "MLflow model"), str(path)))
