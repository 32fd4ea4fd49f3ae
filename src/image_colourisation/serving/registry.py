"""One registered model, `image-colourisation`: a version per training run, two aliases.

kedro-mlflow logs the inference pipeline of every training run as a `KedroPipelineModel` and
registers it (`log_model_kwargs` below, passed through `pipeline_ml_factory`). After the run,
`hooks.RegistryHook` tags the new version with the evaluation figures of the GAN it serves and
moves the aliases: the new version is always `challenger`; it also takes `champion` when there
is none yet, when the champion lacks the criterion's figure, or when it beats the champion on
the criterion named in `conf/base/parameters_registry.yml`. The criterion is a figure of the
validation split that training logs on the `gan` run (the test split only reports: choosing
the champion on it would tune on the test split), so `--pipelines training` versions compete too.
"""

import base64
import io
import logging
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from PIL import Image

from image_colourisation.serving.local_store import has_alias

MODEL_NAME = "image-colourisation"
CHAMPION, CHALLENGER = "champion", "challenger"
CHAMPION_URI = f"models:/{MODEL_NAME}@{CHAMPION}"
MODEL_ARTIFACT = "colouriser"
# The catalog entry (and model artifact) holding the served GAN's payload.
SERVED_GENERATOR = "served_generator"
# Its ONNX export, for ONNX Runtime (`onnx_export.py`), in every version registered since.
SERVED_GENERATOR_ONNX = "served_generator_onnx"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Criterion:
    """The metric of the `gan` run that decides the champion (its last logged value);
    `registry.criterion` in conf/base/parameters_registry.yml holds the default."""

    metric: str
    goal: Literal["minimize", "maximize"]

    def __post_init__(self) -> None:
        if self.goal not in ("minimize", "maximize"):
            raise ValueError(
                f"registry.criterion.goal is {self.goal!r}; allowed: minimize, maximize."
            )

    def beats(self, new: float, old: float) -> bool:
        """Whether `new` is strictly better than `old`: a tie keeps the champion."""
        return new < old if self.goal == "minimize" else new > old


def log_model_kwargs() -> dict[str, Any]:
    """What kedro-mlflow passes to `mlflow.pyfunc.log_model` for the inference pipeline.

    The requirements are pinned here rather than inferred: inference would load the model
    in a subprocess at the end of every training run. The model runs where this project is
    installed (`pip install -e .`): the pipeline's nodes are its functions. The input example,
    one small gray photo, is kept beside the model (how a request looks) and answered by the
    model as it is logged, so that a colouriser that cannot serve is said at once.
    """
    import pandas as pd  # noqa: PLC0415
    from mlflow.models import ModelSignature  # noqa: PLC0415 - slow import
    from mlflow.types import ColSpec, Schema  # noqa: PLC0415
    from mlflow.types.schema import AnyType  # noqa: PLC0415

    signature = ModelSignature(
        inputs=Schema(
            [
                ColSpec("string", "image"),
                # Any type: MLflow refused a whole request whose rows mix a render size and
                # none (pandas makes the column float, which a "long" column refuses); each
                # row's value is checked as that row's (colourisation/nodes._row_render_size).
                ColSpec(AnyType(), "render_size", required=False),
                ColSpec("string", "hints", required=False),  # JSON text, or empty
            ]
        ),
        outputs=Schema(
            [
                ColSpec("string", "image"),
                ColSpec("long", "width"),
                ColSpec("long", "height"),
                ColSpec("string", "error"),
            ]
        ),
    )
    packages = (
        *("kedro", "kedro-mlflow", "mlflow", "torch", "pandas", "pillow", "numpy"),
        *("onnx", "onnxruntime"),  # the generator's ONNX export (colourisation.runtime)
    )
    return {
        "name": MODEL_ARTIFACT,
        "registered_model_name": MODEL_NAME,
        "signature": signature,
        "input_example": pd.DataFrame({"image": [_example_photo()]}),
        "pip_requirements": [f"{package}=={version(package)}" for package in packages],
    }


def _example_photo() -> str:
    """A 32x32 gray PNG, base64-encoded as a request's `image`."""
    photo = io.BytesIO()
    Image.new("L", (32, 32), 128).save(photo, "PNG")
    return base64.b64encode(photo.getvalue()).decode("ascii")


def registry_exists(registry_uri: str) -> bool:
    """False for a local sqlite store that has no file yet: asking it would create one."""
    parsed = urlparse(registry_uri)
    if parsed.scheme != "sqlite":
        return True
    database = registry_uri.split(":///", 1)[1] if ":///" in registry_uri else ""
    return database.startswith(":memory:") or Path(database).is_file()


def champion_exists() -> bool:
    """Whether the registry at MLflow's registry URI has a `champion` of `MODEL_NAME`: read
    from the local store's file when it is one (`local_store`), else asked of MLflow."""
    known = has_alias(MODEL_NAME, CHAMPION)
    if known is not None:
        return known
    import mlflow  # noqa: PLC0415

    if not registry_exists(mlflow.get_registry_uri()):
        return False
    try:
        mlflow.MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return False
    return True


def gan_run_metrics(client: Any, run_id: str) -> dict[str, float]:
    """The last value of every metric of the `gan` run nested under `run_id`: training's
    validation figures and, once evaluated, the test split's `test_*` figures. Empty when the
    run trained no GAN."""
    experiment = client.get_run(run_id).info.experiment_id
    nested = client.search_runs(
        [experiment],
        f"tags.mlflow.parentRunId = '{run_id}' and tags.variant = 'gan'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return dict(nested[0].data.metrics) if nested else {}


def register_run(client: Any, run_id: str, criterion: Criterion) -> str | None:
    """Tag the version that run `run_id` registered and move the aliases; say what happened.

    None when the run registered no version (tracking off, or no model logged).
    """
    versions = client.search_model_versions(f"name = '{MODEL_NAME}' and run_id = '{run_id}'")
    if not versions:
        return None
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    new = max(versions, key=lambda found: int(found.version))
    metrics = gan_run_metrics(client, run_id)
    figures = {k: v for k, v in metrics.items() if k.startswith("test_") or k == criterion.metric}
    for name, value in figures.items():
        client.set_model_version_tag(MODEL_NAME, new.version, name, f"{value:.6g}")
    evaluated = any(name.startswith("test_") for name in figures)
    client.set_model_version_tag(MODEL_NAME, new.version, "evaluated", str(evaluated).lower())
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, new.version)
    value = figures.get(criterion.metric)
    try:
        champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException:  # no such alias yet
        champion = None
    held = champion.tags.get(criterion.metric) if champion is not None else None
    if champion is None:
        why = "the first version"
    elif held is None and value is not None:
        why = f"version {champion.version} has no {criterion.metric}"
    elif value is not None and criterion.beats(value, float(held)):
        why = f"{criterion.metric} {value:.4g} beats version {champion.version}'s {float(held):.4g}"
    else:
        reason = f"no {criterion.metric}" if value is None else f"{criterion.metric} {value:.4g}"
        return (
            f"{MODEL_NAME} version {new.version} is {CHALLENGER} ({reason}); version "
            f"{champion.version} stays {CHAMPION} ({criterion.metric} {held})"
        )
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, new.version)
    return f"{MODEL_NAME} version {new.version} is {CHAMPION} and {CHALLENGER}: {why}"


# A version is registered at the very end of its run and ranked seconds later; one still
# unranked after this long, whose run never ended, lost its process between the two.
ORPHAN_AFTER_SECONDS = 600
ORPHAN_TAG = "orphan"


def mark_orphans(
    client: Any, now_ms: int, after_seconds: float = ORPHAN_AFTER_SECONDS
) -> list[str]:
    """Versions whose run was killed after registering them and before ranking them (`kill -9`
    at "Created version"): unranked, older than the ranking takes, their run still RUNNING.
    Each version is tagged `orphan` (never champion nor challenger, its figures unknown) and
    its run ended as KILLED. Says what was marked.

    Called at the start of each training run that registers, so nothing stays half-done."""
    marked = []
    for found in client.search_model_versions(f"name = '{MODEL_NAME}'"):
        ranked = "evaluated" in found.tags or ORPHAN_TAG in found.tags
        young = now_ms - found.creation_timestamp < after_seconds * 1000
        if ranked or young or not found.run_id:
            continue
        if client.get_run(found.run_id).info.status != "RUNNING":
            continue  # a run that ended: its version predates ranking, not a killed one
        client.set_model_version_tag(
            MODEL_NAME,
            found.version,
            ORPHAN_TAG,
            "its run ended before the version was ranked; never champion or challenger",
        )
        client.set_terminated(found.run_id, "KILLED")
        marked.append(
            f"{MODEL_NAME} version {found.version} was left unranked by run {found.run_id} "
            f"(killed after registering it): tagged {ORPHAN_TAG!r}, the run marked KILLED"
        )
    return marked
