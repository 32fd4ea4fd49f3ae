"""The team's tracking server for real (docs/team-server.md), shared by its tests: PostgreSQL
and `mlflow server` with its basic-auth app, started by tools/team_server.sh as a team starts it,
on free ports of 127.0.0.1 in temporary folders, and a tiny project that ran through it."""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

from tests.browser.servers import free_port
from tests.conftest import archive_params, run_kedro
from tests.pipelines.training.test_end_to_end import TINY_TRAINING
from tests.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "team_server.sh"
START_TIMEOUT_S = 120.0  # a first start creates the cluster and MLflow's tables: ~30 s here
ADMIN = "admin"
TINY_RUN = f"{TINY_TRAINING},evaluation.classifier.epochs=1,evaluation.classifier.width=4"


def why_not_here() -> str | None:
    """Why this machine cannot start the server, or None."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return "PostgreSQL's initdb is not installed (Debian: apt-get install -y postgresql)"
    if os.geteuid() != 0:
        return "the set-up runs PostgreSQL as the `postgres` user, which needs root"
    missing = [name for name in ("flask_wtf", "psycopg") if importlib.util.find_spec(name) is None]
    if missing:
        return f"the team extra is not installed ({', '.join(missing)}): pip install -e '.[team]'"
    return None


@dataclass
class TeamServer:
    """tools/team_server.sh in a state folder, and what a client needs: URL and the admin's
    login. `stop()` and `start()` again keep the state: the database, the runs, the logins."""

    url: str
    password: str
    state: Path
    script_env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    up: bool = field(default=False)

    def start(self) -> "TeamServer":
        """Start the script (database and server) in the background; `ready()` waits for it."""
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [str(SCRIPT), "start", str(self.state)], env=self.script_env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.up = False
        return self

    def stop(self) -> None:
        """Stop the server and then the database, as Ctrl-C on `make team-server` does."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process, self.up = None, False

    def ready(self) -> "TeamServer":
        """Wait until the server answers (the first call), failing with the script's log."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.up:
            if self.process is None or self.process.poll() is not None:
                pytest.fail(f"the team server is not running:\n{self.log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the team server did not start:\n{self.log.read_text()[-4000:]}")
            try:
                self.up = requests.get(f"{self.url}/health", timeout=2).ok
            except requests.ConnectionError:
                time.sleep(0.5)
        return self

    def env(self, password: str | None = None) -> dict[str, str]:
        """The environment of a team member's machine (`password` to override the login)."""
        return {
            **os.environ,
            "KEDRO_DISABLE_TELEMETRY": "1",
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": ADMIN,
            "MLFLOW_TRACKING_PASSWORD": password or self.password,
        }


@pytest.fixture(scope="session")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    """tools/team_server.sh started once; waited for by `ready()`, so set-up work overlaps."""
    reason = why_not_here()
    if reason:  # CI must run these: there a missing prerequisite is a failure
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no team server: {reason}")
    state = tmp_path_factory.mktemp("team-server")
    # The cluster's folder: the postgres user cannot enter pytest's folders (mode 700).
    cluster = Path(tempfile.gettempdir()) / f"team-db-{os.getpid()}-{free_port()}"
    port, password = free_port(), f"pw-{os.urandom(6).hex()}"
    env = {
        **os.environ,
        "TEAM_SERVER_PORT": str(port),
        "TEAM_DB_PORT": str(free_port()),
        "TEAM_DB_DIR": str(cluster),
        "TEAM_SERVER_WORKERS": "1",
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
    }
    log = state.parent / "team-server.log"
    server = TeamServer(f"http://127.0.0.1:{port}", password, state, env, log).start()
    try:
        yield server
    finally:
        server.stop()
        subprocess.run([str(SCRIPT), "stop", str(state)], env=env, check=False, timeout=60)
        shutil.rmtree(cluster, ignore_errors=True)


@pytest.fixture(scope="session")
def team_project(
    team_server: TeamServer,
    tiny_archive: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A project copy whose tiny default run (training, evaluation, benchmark) logged and
    registered through the server. Its data is prepared locally while the server starts."""
    project = copy_project(tmp_path_factory.mktemp("team") / "project")
    data = archive_params(tiny_archive)
    run_kedro(project, "run", "--pipelines", "ingestion,preprocessing", "--params", data)
    (project / "mlflow.db").unlink()  # that local run's store: the team's runs need none
    run = kedro(project, team_server.ready().env(), "--params", f"{data},{TINY_RUN}")
    assert run.returncode == 0, run.stdout + run.stderr
    return project


def kedro(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`kedro run --env team *args` in `project` with `env`; the caller checks the outcome."""
    return subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "team", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())  # undo rich's line wrapping


@pytest.fixture
def client(team_server: TeamServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """MLflow's client on the server, logged in as the admin."""
    for name, value in team_server.ready().env().items():
        if name.startswith("MLFLOW_"):
            monkeypatch.setenv(name, value)
    return MlflowClient(tracking_uri=team_server.url)


@pytest.fixture(scope="session")
def two_process_run(team_project: Path, team_server: TeamServer) -> str:
    """The id of the L1 baseline's run of a second `kedro run --env team --pipelines training`
    on the same project, trained on two processes (the distributed launch) into its own
    checkpoint folder."""
    two = ",".join(
        [
            TINY_TRAINING.replace("training.batch_size=8", "training.batch_size=4"),
            "training.distributed.processes=2",
            f"training.distributed.port={free_port()}",
            "training.checkpoint_dir=data/06_models/checkpoints-two",
        ]
    )
    result = kedro(team_project, team_server.env(), "--pipelines", "training",
                   "--params", two)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.MonkeyPatch.context() as login:
        for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            login.setenv(name, team_server.env()[name])
        client = MlflowClient(tracking_uri=team_server.url)
        experiment = client.get_experiment_by_name("image-colourisation")
        (run,) = client.search_runs(
            [experiment.experiment_id],
            "params.`training.distributed.processes` = '2' and tags.mlflow.runName = 'l1'",
        )
    return run.info.run_id
