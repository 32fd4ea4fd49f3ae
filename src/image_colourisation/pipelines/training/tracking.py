"""MLflow logging for the training loop: nested runs, metrics, sample grids, the generator.

Logging is the documented exception to "nodes are pure": it happens inside the loop, and only
when kedro-mlflow (or a caller) has an active run, so unit tests create no stray runs.

A resumed training continues the nested run of the interrupted one: the checkpoint records
that run's id, `variant_run` reopens it, and the metrics go on at the next epoch's step.

A tracking server that stops answering mid-run (`server_lost`) ends the training with a
`TrackingLostError` that names the checkpoint to resume from; the nested run is left open for
`hooks.project.TrackingLostHook` to end without waiting on MLflow's retries.
"""

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from image_colourisation.core.errors import TrackingLostError
from image_colourisation.imaging.colour import model_arrays_to_rgb
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from image_colourisation.serving import logged_generator
from image_colourisation.serving.run_names import CIFAR10, run_name

GENERATOR_ARTIFACT = "generator"
logger = logging.getLogger(__name__)


def tracking_active() -> bool:
    """True when an MLflow run is open (kedro-mlflow opens one around every `kedro run`)."""
    import mlflow  # noqa: PLC0415 - keep `import` of the training modules fast

    return mlflow.active_run() is not None


def active_run_id() -> str | None:
    """The id of the active MLflow run, None when there is none (or MLflow was never imported,
    which is never the case while kedro-mlflow tracks a run)."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    return run.info.run_id if run is not None else None


@contextmanager
def variant_run(
    variant: str,
    params: Mapping[str, Any],
    resumes: tuple[str | None, int] | None = None,
    data: str = CIFAR10,
) -> Iterator[bool]:
    """Open a nested run named after the variant and its training `data` (`run_name`) under
    the active run, tagged with both; yield whether it did.

    `resumes` is (run id, last finished epoch) of the checkpoint this run continues from
    (the checkpoint's `mlflow_run_id` and `epoch`, `checkpoints.prior_checkpoint`). That run, left RUNNING by a killed process (or FAILED), is
    reopened rather than a new one started, so its metrics continue at the next step; its old
    parent, left RUNNING by the same kill, is marked KILLED; both parents get a tag naming
    the other. A finished run, or one this tracking store does not hold, is not reopened: the
    new nested run then names it in the tag `resumed_from_run`.
    """
    if not tracking_active():
        yield False
        return
    import mlflow  # noqa: PLC0415

    flat = {key: str(value) for key, value in flatten(params).items()}
    continued = _continuable(resumes[0]) if resumes and resumes[0] else None
    if continued is None:
        with nested_run(run_name=run_name(variant, data)):
            mlflow.set_tags({"variant": variant, "data": data})
            if resumes:
                mlflow.set_tags(
                    {"resumed_from_run": str(resumes[0]), "resumed_after_epoch": resumes[1]}
                )
            mlflow.log_params(flat)
            yield True
        return
    parent = mlflow.active_run().info.run_id
    client = mlflow.MlflowClient()
    old_parent = continued.data.tags.get("mlflow.parentRunId")
    if old_parent and old_parent != parent and client.get_run(old_parent).info.status == "RUNNING":
        client.set_terminated(old_parent, status="KILLED")  # its process died mid-training
        client.set_tag(old_parent, f"{variant}_continued_in", parent)
    client.set_tag(parent, f"{variant}_continues_run", continued.info.run_id)
    logger.info(
        "%s: continuing MLflow run %s after epoch %d", variant, continued.info.run_id, resumes[1]
    )
    with nested_run(run_id=continued.info.run_id):
        mlflow.set_tags({"resumed_in": parent, "resumed_after_epoch": resumes[1]})
        logged = continued.data.params
        mlflow.log_params({key: value for key, value in flat.items() if key not in logged})
        changed = {k: v for k, v in flat.items() if k in logged and logged[k] != v}
        # MLflow params cannot change; what the resumed run changed (training.resume at
        # least) is kept as tags.
        mlflow.set_tags({f"resumed_with.{key}": value for key, value in changed.items()})
        yield True


@contextmanager
def nested_run(**start: Any) -> Iterator[None]:
    """`mlflow.start_run(nested=True, **start)` as a context, ended FINISHED or FAILED as
    MLflow's own, except on a lost tracking server: ending the run then would wait minutes on
    MLflow's retries against that server, so the run stays open for the hook to end."""
    import mlflow  # noqa: PLC0415

    mlflow.start_run(nested=True, **start)
    try:
        yield
    except TrackingLostError:
        raise
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run()


@contextmanager
def server_lost(when: str, checkpoint: Path) -> Iterator[None]:
    """Turn an MLflow call that failed on a tracking server into a `TrackingLostError` that
    says `when` and that `checkpoint` holds the training so far; other stores' errors pass."""
    import mlflow  # noqa: PLC0415

    try:
        yield
    except mlflow.exceptions.MlflowException as error:
        uri = mlflow.get_tracking_uri()
        if urlparse(uri).scheme not in ("http", "https"):
            raise
        raise TrackingLostError(
            f"The MLflow tracking server at {uri} failed {when} ({failure_reason(error)}). "
            f"The training so far is saved in {checkpoint}: once the server answers, run the "
            "same command with `--params training.resume=true` to continue from it (and its "
            "MLflow run)."
        ) from error


def failure_reason(error: BaseException) -> str:
    """A short reason for a failed MLflow request: the system's words for a failed connection
    (`[Errno 111] Connection refused`), else the error's first line, cut at 200 characters."""
    text = str(error)
    errno = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    if errno:
        return errno.group(0).strip()
    if "Read timed out" in text:
        return "no answer within MLFLOW_HTTP_REQUEST_TIMEOUT"
    return text.splitlines()[0][:200] if text else type(error).__name__


def _continuable(run_id: str) -> Any:
    """The run `run_id` when it can be continued under the active run: same experiment, not
    deleted, not finished. None otherwise (with the reason logged)."""
    import mlflow  # noqa: PLC0415

    try:
        run = mlflow.MlflowClient().get_run(run_id)
    except mlflow.exceptions.MlflowException:
        logger.warning("MLflow run %s of the checkpoint is not in this tracking store", run_id)
        return None
    experiment = mlflow.active_run().info.experiment_id
    if run.info.experiment_id != experiment or run.info.lifecycle_stage != "active":
        logger.warning("MLflow run %s is deleted or in another experiment: not continued", run_id)
        return None
    if run.info.status == "FINISHED":
        return None
    return run


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


def log_metrics(metrics: Mapping[str, float], epoch: int, run_id: str | None = None) -> None:
    """Log one epoch's figures with `step=epoch` to run `run_id` (None: the active run)."""
    import mlflow  # noqa: PLC0415

    mlflow.log_metrics(dict(metrics), step=epoch, run_id=run_id)


def sample_grid(lightness: np.ndarray, predicted_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """One row per image: gray | predicted | truth, as a uint8 RGB picture (N*H, 3*W, 3)."""
    gray = model_arrays_to_rgb(lightness, np.zeros_like(true_ab))
    predicted = model_arrays_to_rgb(lightness, predicted_ab)
    truth = model_arrays_to_rgb(lightness, true_ab)
    rows = np.concatenate([gray, predicted, truth], axis=2)  # N, H, 3W, 3
    return rows.reshape(-1, *rows.shape[2:])


def log_sample_grid(grid: np.ndarray, epoch: int, run_id: str | None = None) -> None:
    """Log the grid as an image artifact of run `run_id` (None: the active run)."""
    import mlflow  # noqa: PLC0415

    run_id = run_id or mlflow.active_run().info.run_id
    mlflow.MlflowClient().log_image(run_id, grid, f"samples/epoch_{epoch:03d}.png")


def log_generator(generator: Generator) -> str:
    """Log the generator to the active run as its payload and ONNX export, read by one stable
    module (`serving/logged_generator.py`); return its model URI."""
    return logged_generator.log_generator(
        generator_payload(generator.cpu().eval()), GENERATOR_ARTIFACT
    )
