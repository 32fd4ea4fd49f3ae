"""The team's tracking server for real (docs/team-server.md): PostgreSQL and `mlflow server` with
its basic-auth app, started by tools/team_server.sh as a team starts it, on free ports of
127.0.0.1 in temporary folders. A tiny `kedro run --env team` logs and registers through it,
the champion loads from it, two processes register at once, and the faults a machine meets
(a refused login, no server) stop a run before any training, in one line. No mocks."""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from image_colourisation.serving.model_sources import load_generator
from image_colourisation.serving.registry import CHALLENGER, CHAMPION, CHAMPION_URI, MODEL_NAME
from tests.conftest import archive_params, run_kedro
from tests.pipelines.training.test_end_to_end import TINY_TRAINING
from tests.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "team_server.sh"
START_TIMEOUT_S = 120.0  # a first start creates the cluster and MLflow's tables: ~30 s here
ADMIN = "admin"


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TeamServer:
    """The script's process and what a client needs: URL and the admin's login."""

    url: str
    password: str
    state: Path
    process: subprocess.Popen
    log: Path
    up: bool = field(default=False)

    def ready(self) -> "TeamServer":
        """Wait until the server answers (the first call), failing with the script's log."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.up:
            if self.process.poll() is not None or time.monotonic() > deadline:
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
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(SCRIPT), "start", str(state)], env=env, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield TeamServer(f"http://127.0.0.1:{port}", password, state, process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the script stops the server, then the database
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        subprocess.run([str(SCRIPT), "stop", str(state)], env=env, check=False, timeout=60)
        shutil.rmtree(cluster, ignore_errors=True)


@pytest.fixture(scope="session")
def team_project(
    team_server: TeamServer,
    tiny_archive: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A project copy whose tiny training run logged and registered through the server. Its
    data is prepared locally while the server starts."""
    project = copy_project(tmp_path_factory.mktemp("team") / "project")
    run_kedro(project, "run", "--pipelines", "ingestion,preprocessing",
              "--params", archive_params(tiny_archive))  # fmt: skip
    training = kedro(project, team_server.ready().env(), "--pipelines", "training",
                     "--params", TINY_TRAINING)  # fmt: skip
    assert training.returncode == 0, training.stdout + training.stderr
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


def test_a_training_run_logs_and_registers_through_the_server(
    team_project: Path, team_server: TeamServer, client: MlflowClient
) -> None:
    experiment = client.get_experiment_by_name("image-colourisation")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert {"training", "gan", "l1"} <= runs.keys()
    gan = runs["gan"]
    assert gan.data.params["training.width"] == "4"
    assert [point.step for point in client.get_metric_history(gan.info.run_id, "val_psnr")] == [
        1,
        2,
    ]
    samples = [artifact.path for artifact in client.list_artifacts(gan.info.run_id, "samples")]
    assert "samples/epoch_002.png" in samples
    # Artifacts went through the server into its store, not into the machine's project.
    assert list((team_server.state / "artifacts").rglob("epoch_002.png"))
    assert not (team_project / "mlruns").exists()

    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert champion.run_id == runs["training"].info.run_id
    assert sorted(champion.aliases) == [CHALLENGER, CHAMPION]


def test_the_champion_loads_from_the_server(team_project: Path, client: MlflowClient) -> None:
    generator = load_generator(CHAMPION_URI)
    with torch.no_grad():
        ab = generator(torch.rand(1, 1, 32, 32) * 2 - 1)
    assert ab.shape == (1, 2, 32, 32) and torch.isfinite(ab).all()


REGISTER = textwrap.dedent(
    """
    import sys
    from mlflow import MlflowClient
    name, source, model_id, count = sys.argv[1:]
    client = MlflowClient()
    print("ready", flush=True)
    sys.stdin.readline()  # "go": both processes begin together
    versions = [client.create_model_version(name, source, model_id=model_id) for _ in range(int(count))]
    print(*[version.version for version in versions])
    """
)


def test_two_processes_registering_at_once_get_distinct_version_numbers(
    team_project: Path, team_server: TeamServer, client: MlflowClient
) -> None:
    """Two machines registering at once: PostgreSQL keeps the numbers 1..n, each given once."""
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    name, count = "team-race", 5
    client.create_registered_model(name)
    model_id = champion.source.removeprefix("models:/")  # the logged model: models:/m-...
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", REGISTER, name, champion.source, model_id, str(count)],
            env=team_server.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready", racer.communicate(timeout=60)
    for racer in racers:
        racer.stdin.write("go\n")
        racer.stdin.flush()
    answers = [racer.communicate(timeout=120) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), answers
    numbers = [int(number) for out, _ in answers for number in out.split()]
    assert sorted(numbers) == list(range(1, 2 * count + 1))
    listed = client.search_model_versions(f"name = '{name}'")
    assert sorted(int(version.version) for version in listed) == sorted(numbers)


def test_a_wrong_password_is_refused_in_one_line_before_any_training(
    team_server: TeamServer, kedro_project: Path
) -> None:
    team_server.ready()
    with pytest.raises(MlflowException, match="401|not authenticated"):
        MlflowClient(tracking_uri=team_server.url).search_experiments()  # no login at all
    result = kedro(kedro_project, team_server.env(password="wrong"), "--pipelines", "training")
    output = one_line(result)
    assert result.returncode == 1, output
    assert (
        f"Error: The MLflow tracking server at {team_server.url} refused the login (user "
        f"'{ADMIN}')" in output
    )
    assert "Traceback" not in output
    assert not (kedro_project / "data" / "06_models" / "checkpoints").exists()


def test_a_server_that_is_down_stops_the_run_at_once(kedro_project: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_TRACKING_URI": url}
    started = time.monotonic()
    result = kedro(kedro_project, env, "--pipelines", "training")
    output = one_line(result)
    assert result.returncode == 1, output
    assert f"Error: The MLflow tracking server at {url} does not answer" in output
    assert "Traceback" not in output and time.monotonic() - started < 60
    assert not (kedro_project / "data" / "06_models" / "checkpoints").exists()

    env.pop("MLFLOW_TRACKING_URI")
    unset = kedro(kedro_project, env, "--pipelines", "training")
    assert unset.returncode == 2
    assert "Environment variable 'MLFLOW_TRACKING_URI' not found" in one_line(unset)
