"""A run that logs to an MLflow tracking server (`--env team`, docs/team-server.md) asks it
once, before anything else, whether it answers and takes the login: MLflow's client would
retry a server that is down for minutes, and tell a refused password in a traceback, only once
kedro-mlflow sets up its experiment. A server lost mid-run gets one quick try to hear that its
runs failed (`abandon_runs`)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

ANSWER_TIMEOUT_S = 10.0
# A cheap call that needs a login on a server with MLflow's basic-auth app.
PROBE = "/api/2.0/mlflow/experiments/search"


def check_tracking_server(uri: str) -> None:
    """Stop with one line naming `uri` unless the server there answers `PROBE` with 200, with
    the login MLflow's client would send (MLFLOW_TRACKING_USERNAME / _PASSWORD, or
    ~/.mlflow/credentials)."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415 - kedro-mlflow loads it anyway
    from mlflow.utils.credentials import get_default_host_creds  # noqa: PLC0415
    from mlflow.utils.rest_utils import http_request  # noqa: PLC0415

    creds = get_default_host_creds(uri)
    try:
        response = http_request(
            creds, PROBE, "GET", params={"max_results": 1},
            max_retries=0, timeout=ANSWER_TIMEOUT_S, raise_on_status=False,
        )  # fmt: skip
    except MlflowException as error:  # refused, unknown host, timed out: MLflow wraps them all
        cause = error.__cause__ or error.__context__ or error
        raise click.ClickException(
            f"The MLflow tracking server at {uri} does not answer ({type(cause).__name__}); "
            "start it (docs/team-server.md) or set MLFLOW_TRACKING_URI to the one that runs."
        ) from None
    user = f"user {creds.username!r}" if creds.username else "no user"
    if response.status_code == 401:
        raise click.ClickException(
            f"The MLflow tracking server at {uri} refused the login ({user}): check "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or ~/.mlflow/credentials)."
        )
    if response.status_code == 403:
        raise click.ClickException(
            f"The MLflow tracking server at {uri} took the login ({user}) but does not let it "
            "read experiments; ask the server's admin for a permission."
        )
    if response.status_code != 200:
        raise click.ClickException(
            f"The MLflow tracking server at {uri} answered HTTP {response.status_code} to "
            f"{PROBE}: {response.text[:200]}"
        )


def abandon_runs() -> None:
    """End every MLflow run this process has open as FAILED, one quick try each (no retries,
    `ANSWER_TIMEOUT_S`), and forget it either way. The server was just lost: MLflow's retries
    would hold the run's end for minutes per run. A run the server does not hear of stays
    RUNNING, as a killed process leaves it, and a resumed training continues it."""
    import mlflow  # noqa: PLC0415

    with quick_requests():
        while mlflow.active_run():
            try:
                mlflow.end_run("FAILED")  # forgets the run first, then tells the server
            except mlflow.exceptions.MlflowException:
                pass


@contextmanager
def quick_requests() -> Iterator[None]:
    """MLflow's HTTP requests without retries and with a short timeout, inside the block."""
    names = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": f"{ANSWER_TIMEOUT_S:.0f}",  # MLflow reads whole seconds
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
