"""Project hooks for runs started side by side: one MLflow database, one checkpoint per variant.

- `TrackingStoreHook` creates the local MLflow store (the `mlflow.db` tables and the
  experiment) under a lock (`locks.py`) before kedro-mlflow touches it. Two fresh `kedro run`s would
  otherwise both create the tables, and one dies with `sqlite3.OperationalError: table
  latest_metrics already exists` (or with "experiment already exists"). A tracking server is
  asked first whether it answers and takes the login (`tracking_server.py`).
- `TrainingLockHook` takes the checkpoint-folder lock of every variant a run will train
  before anything runs, so a second `kedro run --pipelines training` stops at once, naming the
  first one's PID and the lock file, instead of after its ingestion or its first variant. It
  also reads the checkpoints the run would resume or overwrite, so a file that is not a
  checkpoint of this project stops the run before any work, as a usage error (exit 2). The
  folders come from each training node's own parameters (`params:training`, or
  `params:photos.training` in the photos namespace), so a photos run and a CIFAR-10 run
  train side by side.
- `UserErrorHook` ends a run that failed on an error the project marks as the user's
  (`errors.UserError`: a missing photo folder, too few photos) with its message alone.
- `TrackingLostHook` does so at once for a tracking server lost mid-run, before kedro-mlflow
  would wait minutes on MLflow's retries to mark each open run failed on that server.
"""

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
from kedro.framework.hooks import hook_impl
from omegaconf.errors import InterpolationResolutionError

from image_colourisation.core.errors import TRACEBACK_SWITCH, TrackingLostError, user_error_in
from image_colourisation.core.locks import (
    CheckpointInUseError,
    LockBusyError,
    checkpoint_lock,
    file_lock,
)
from image_colourisation.hooks.tracking_server import abandon_runs, check_tracking_server
from image_colourisation.serving.local_store import sqlite_store_problem

logger = logging.getLogger(__name__)

# The training nodes' functions (by name: importing them here would load torch for every
# `kedro` command) and the variant each trains.
TRAINING_MODULE = "image_colourisation.pipelines.training.nodes"
TRAINING_FUNCTIONS = {"train_l1_baseline": "l1", "train_gan": "gan"}
STORE_LOCK_TIMEOUT_S = 120.0
STORE_LOCK_NAME = ".mlflow-store.lock"  # beside mlflow.db while the store is set up


class TrackingStoreHook:
    """Sets up the MLflow tracking store as kedro-mlflow will, but one process at a time."""

    @hook_impl(tryfirst=True)  # before kedro-mlflow's own after_context_created
    def after_context_created(self, context: Any) -> None:
        import mlflow  # noqa: PLC0415 - kedro-mlflow imports it anyway
        from kedro.config import MissingConfigException  # noqa: PLC0415
        from kedro.framework.startup import _get_project_metadata  # noqa: PLC0415
        from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig  # noqa: PLC0415

        if mlflow.active_run():  # kedro-mlflow then uses that run's store as it is
            return
        patterns = context.config_loader.config_patterns
        patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
        try:
            conf = dict(context.config_loader["mlflow"])
        except MissingConfigException:
            conf = {}
        except InterpolationResolutionError as error:  # `${oc.env:VAR}` of an unset variable
            # OmegaConf's first line: `KeyError raised while resolving interpolation: "<why>"`
            reason = str(error).splitlines()[0].split(": ", 1)[-1].strip('"')
            raise click.UsageError(f"mlflow.yml's {error.full_key}: {reason}.") from None
        config = KedroMlflowConfig.model_validate(conf)
        if conf.get("tracking", {}).get("experiment", {}).get("name") is None:
            # kedro-mlflow's default: the package name
            config.tracking.experiment.name = (
                context._package_name or _get_project_metadata(context.project_path).package_name
            )
        uri = config.server.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "mlruns")
        folder = store_folder(uri, Path(context.project_path))
        if urlparse(uri).scheme == "sqlite" and folder is not None:
            problem = sqlite_store_problem(folder / Path(urlparse(uri).path).name)
            if problem:
                raise click.UsageError(problem[0].upper() + problem[1:] + ".")
        if folder is None:  # a tracking server: it serialises creation itself
            if urlparse(uri).scheme in ("http", "https"):
                check_tracking_server(uri)
            return
        try:
            with file_lock(folder / STORE_LOCK_NAME, wait_s=STORE_LOCK_TIMEOUT_S):
                config.setup(context)  # creates the tables and the experiment if missing
        except LockBusyError as busy:
            raise TimeoutError(
                f"Another process ({busy}) has been setting up the MLflow store in {folder} "
                f"for over {STORE_LOCK_TIMEOUT_S:.0f} s; check that it is still alive and try "
                "again."
            ) from None


def store_folder(uri: str, project_path: Path) -> Path | None:
    """The folder that holds a local tracking store (sqlite file or mlruns folder), or None."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        database = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not database or database.startswith(":memory:"):
            return None
        return Path(database).absolute().parent  # as SQLAlchemy resolves it: from the cwd
    if parsed.scheme == "file":
        return Path(parsed.path).parent
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a path (or a Windows drive letter)
        return (project_path / uri).parent
    return None


class TrainingLockHook:
    """Locks the checkpoint folders of the variants a run trains, from start to end, and
    refuses checkpoints the training would refuse, before anything runs."""

    def __init__(self) -> None:
        self._locks = ExitStack()

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run that a refusal would orphan
    def before_pipeline_run(self, run_params: Any, pipeline: Any, catalog: Any) -> None:
        trainings = [training for node in pipeline.nodes if (training := training_node(node))]
        if not trainings:
            return
        from image_colourisation.pipelines.training.checkpoints import (  # noqa: PLC0415
            checkpoint_path,
            prior_checkpoint,
        )
        from image_colourisation.pipelines.training.config import TrainingParams  # noqa: PLC0415

        def params_of(name: str) -> TrainingParams:
            params = catalog.load(name)
            return params if isinstance(params, TrainingParams) else TrainingParams(**params)

        runs = [(params_of(name), variant) for variant, name in trainings]
        paths = [checkpoint_path(params.checkpoint_dir, variant) for params, variant in runs]
        locks = ExitStack()
        with locks:
            for path in paths:
                try:
                    locks.enter_context(checkpoint_lock(path.parent))
                except CheckpointInUseError as error:
                    # Printed by the `kedro` command as one message, without a traceback.
                    raise click.ClickException(str(error)) from error
            for (params, variant), path in zip(runs, paths, strict=True):
                target = params.gan_epochs if variant == "gan" else params.epochs
                try:  # what the training node will refuse when it reads the file, said now
                    prior_checkpoint(path, params.resume, target)
                except ValueError as error:  # a foreign file, or an unfinished run: exit 2
                    raise click.UsageError(str(error)) from error
            self._locks = locks.pop_all()  # keep them; a refusal above released the others

    @hook_impl
    def after_pipeline_run(self, run_params: Any, run_result: Any, pipeline: Any) -> None:
        self._locks.close()

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: Any, pipeline: Any) -> None:
        self._locks.close()


def training_node(node: Any) -> tuple[str, str] | None:
    """(variant, its parameters' dataset) of a training node, e.g. ("gan",
    "params:photos.training") in the photos namespace; None for any other node."""
    func = getattr(node, "func", None)
    if getattr(func, "__module__", None) != TRAINING_MODULE:
        return None
    variant = TRAINING_FUNCTIONS.get(getattr(func, "__name__", ""))
    params = [name for name in node.inputs if name.startswith("params:")]
    return (variant, params[0]) if variant and params else None


class UserErrorHook:
    """Ends a run that failed on a user error with its message alone (`Error: ...`, exit 1)
    instead of the message at the end of some 300 lines of traceback through Kedro and the
    node; any other error (a bug) keeps its traceback, and so does every error with
    IMAGE_COLOURISATION_TRACEBACK=1."""

    @hook_impl(trylast=True)  # after the other hooks released their locks and ended the run
    def on_pipeline_error(self, error: Exception, run_params: Any, pipeline: Any) -> None:
        problem = user_error_in(error)
        if problem is None or os.environ.get(TRACEBACK_SWITCH):
            return
        raise user_error_exit(problem) from error


class TrackingLostHook:
    """Ends a run whose tracking server was lost mid-run with the error's message (it names the
    checkpoint to resume from), after one quick try to mark its MLflow runs failed."""

    @hook_impl(tryfirst=True)  # before kedro-mlflow's, which would retry the lost server
    def on_pipeline_error(self, error: Exception, run_params: Any, pipeline: Any) -> None:
        lost = user_error_in(error)
        if not isinstance(lost, TrackingLostError):
            return
        abandon_runs()
        # Raised here, before kedro-mlflow's hook, which fails on a process with no open run.
        if os.environ.get(TRACEBACK_SWITCH):
            raise error
        raise user_error_exit(lost) from error


def user_error_exit(problem: Exception) -> click.ClickException:
    """The `Error: ...` a user error ends `kedro run` with: raised from a hook, it replaces the
    error Kedro re-raises, and click prints its message."""
    return click.ClickException(f"{problem}\n(The traceback: run again with {TRACEBACK_SWITCH}=1.)")
