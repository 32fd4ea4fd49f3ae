"""A run that logs to an MLflow tracking server (`--env team`, docs/team-server.md) asks it
once, before anything else, whether it answers and takes the login: MLflow's client would
retry a server that is down for minutes, and tell a refused password in a traceback, only once
kedro-mlflow sets up its experiment."""

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
