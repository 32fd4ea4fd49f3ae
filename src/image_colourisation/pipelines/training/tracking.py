"""MLflow logging for the training loop: nested runs, metrics, sample grids, the generator.

Logging is the documented exception to "nodes are pure": it happens inside the loop, and only
when kedro-mlflow (or a caller) has an active run, so unit tests create no stray runs.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from image_colourisation.colour import model_arrays_to_rgb
from image_colourisation.models import Generator

GENERATOR_ARTIFACT = "generator"


def tracking_active() -> bool:
    """True when an MLflow run is open (kedro-mlflow opens one around every `kedro run`)."""
    import mlflow  # noqa: PLC0415 - keep `import` of the training modules fast

    return mlflow.active_run() is not None


@contextmanager
def variant_run(variant: str, params: Mapping[str, Any]) -> Iterator[bool]:
    """Open a nested run named after the variant under the active run; yield whether it did."""
    if not tracking_active():
        yield False
        return
    import mlflow  # noqa: PLC0415

    with mlflow.start_run(run_name=variant, nested=True):
        mlflow.set_tag("variant", variant)
        mlflow.log_params(flatten(params))
        yield True


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}, as kedro-mlflow flattens the parent run's params."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def log_metrics(metrics: Mapping[str, float], epoch: int) -> None:
    """Log one epoch's figures with `step=epoch`."""
    import mlflow  # noqa: PLC0415

    mlflow.log_metrics(dict(metrics), step=epoch)


def sample_grid(lightness: np.ndarray, predicted_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """One row per image: gray | predicted | truth, as a uint8 RGB picture (N*H, 3*W, 3)."""
    gray = model_arrays_to_rgb(lightness, np.zeros_like(true_ab))
    predicted = model_arrays_to_rgb(lightness, predicted_ab)
    truth = model_arrays_to_rgb(lightness, true_ab)
    rows = np.concatenate([gray, predicted, truth], axis=2)  # N, H, 3W, 3
    return rows.reshape(-1, *rows.shape[2:])


def log_sample_grid(grid: np.ndarray, epoch: int) -> None:
    import mlflow  # noqa: PLC0415

    mlflow.log_image(grid, f"samples/epoch_{epoch:03d}.png")


def log_generator(generator: Generator, input_example: np.ndarray) -> str:
    """Log the generator with mlflow.pytorch in the safe `pt2` format; return its model URI.

    pt2 (torch.export) needs an input example; the traced graph is fixed to its size, so the
    architecture goes into the model metadata and `model_sources.load_generator` rebuilds the
    fully convolutional `Generator` from the logged weights.
    """
    import mlflow  # noqa: PLC0415
    import mlflow.pytorch  # noqa: PLC0415
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import Schema, TensorSpec  # noqa: PLC0415

    float32 = np.dtype(np.float32)
    # Unnamed tensors: a named one turns the serving example into a dict, which the pytorch
    # flavour rejects ("does not support List or Dict input types") when MLflow validates it.
    signature = ModelSignature(
        inputs=Schema([TensorSpec(float32, (-1, 1, -1, -1))]),  # normalised L
        outputs=Schema([TensorSpec(float32, (-1, 2, -1, -1))]),  # normalised ab
    )
    generator = generator.cpu().eval()
    info = mlflow.pytorch.log_model(
        generator,
        name=GENERATOR_ARTIFACT,
        input_example=np.ascontiguousarray(input_example, dtype=np.float32),
        signature=signature,
        metadata={"architecture": dict(generator.architecture)},
        # Pinned here rather than inferred: inference loads the model in a subprocess (slow).
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
    )
    return info.model_uri
