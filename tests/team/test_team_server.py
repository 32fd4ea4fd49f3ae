"""The team's tracking server for real (docs/team-server.md): a tiny `kedro run --env team`
logs, evaluates and registers through it, on one process and on two; the champion loads and is
served from it; two processes register at once; and the faults a machine meets (a refused
login, no server, the server lost mid-run) stop a run in one line, losing no training. No mocks.
The server and the runs: conftest.py."""

import base64
import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from PIL import Image

from image_colourisation.app.model_choices import model_choices
from image_colourisation.serving.model_sources import load_generator
from image_colourisation.serving.registry import CHALLENGER, CHAMPION, CHAMPION_URI, MODEL_NAME
from tests.browser.servers import free_port, serve
from tests.pipelines.training.test_end_to_end import TINY_TRAINING
from tests.team.conftest import ADMIN, ROOT, TeamServer, kedro, one_line


def test_a_training_run_logs_and_registers_through_the_server(
    team_project: Path, team_server: TeamServer, client: MlflowClient
) -> None:
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    experiment = client.get_experiment_by_name("image-colourisation")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{champion.run_id}'"
    )
    runs = {run.info.run_name: run for run in children}
    assert runs.keys() == {"gan", "l1", "gray"}  # gray: the evaluation's baseline
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

    assert client.get_run(champion.run_id).info.run_name == "__default__"  # the `kedro run`
    assert sorted(champion.aliases) == [CHALLENGER, CHAMPION]


def test_the_evaluation_and_the_benchmark_log_through_the_server(
    team_project: Path, client: MlflowClient
) -> None:
    """The default run's evaluation and benchmark: every model's figures on its run, the
    reports on the parent, the headline figure on the registered version (the page shows it)."""
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    experiment = client.get_experiment_by_name("image-colourisation")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{champion.run_id}'"
    )
    for run in children:
        assert {"test_mae", "test_psnr"} <= run.data.metrics.keys(), run.info.run_name
    folders = {artifact.path for artifact in client.list_artifacts(champion.run_id)}
    assert folders == {"evaluation", "benchmark"}  # the reports, from the server's store
    reports = [artifact.path for artifact in client.list_artifacts(champion.run_id, "evaluation")]
    assert any(path.endswith(".csv") for path in reports), reports
    gan = next(run for run in children if run.info.run_name == "gan")
    assert float(champion.tags["test_mae"]) == pytest.approx(gan.data.metrics["test_mae"])


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


def test_make_serve_and_the_page_read_the_champion_from_the_server(
    team_project: Path, client: MlflowClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make serve` and `colourise --serve`'s model list in a project with no store of its
    own: all they know comes from the server named by MLFLOW_TRACKING_URI."""
    assert not (team_project / "mlruns").exists() and not (team_project / "mlflow.db").exists()
    monkeypatch.chdir(team_project)
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    first = model_choices(CHAMPION_URI)[0]
    assert first.source == CHAMPION_URI
    assert first.label.startswith(f"{MODEL_NAME}@{CHAMPION} (version {champion.version}, test_mae")

    port = free_port()
    command = ["make", "-f", str(ROOT / "Makefile"), "serve"]
    command += [f"VENV={Path(sys.executable).parent.parent}", f"PORT={port}"]
    url = f"http://127.0.0.1:{port}"
    photo = io.BytesIO()
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8)[:, None] * 4, (1, 48))).save(photo, "PNG")
    rows = [[base64.b64encode(photo.getvalue()).decode("ascii"), ""]]
    body = {"dataframe_split": {"columns": ["image", "hints"], "data": rows}}
    with serve(command, team_project, f"{url}/ping", tmp_path / "serve.log", timeout=120):
        answer = requests.post(f"{url}/invocations", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()["predictions"]
    assert prediction["error"] == "" and (prediction["width"], prediction["height"]) == (48, 64)


def test_two_processes_train_one_run_through_the_server(
    two_process_run: str, client: MlflowClient
) -> None:
    """The distributed launch: rank 0 logs the variant's run on the server once, for both
    processes: parameters, every epoch's figures and samples, the generator."""
    run = client.get_run(two_process_run)
    assert run.info.run_name == "l1" and run.info.status == "FINISHED"
    history = client.get_metric_history(two_process_run, "val_psnr")
    assert [point.step for point in history] == [1, 2]
    samples = [artifact.path for artifact in client.list_artifacts(two_process_run, "samples")]
    assert samples == ["samples/epoch_001.png", "samples/epoch_002.png"]
    models = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{two_process_run}'"
    )
    assert [model.name for model in models] == ["generator"]


def test_a_server_lost_mid_run_stops_it_clearly_and_the_checkpoint_resumes(
    team_project: Path, team_server: TeamServer, client: MlflowClient
) -> None:
    """The server killed while the L1 baseline trains: the run stops within seconds of
    MLflow's (here short) retries, naming the server, the checkpoint and the command that
    resumes; with the server back, the resumed run continues the same MLflow run."""
    folder = "data/06_models/checkpoints-lost"
    checkpoint = team_project / folder / "l1" / "last.pt"
    many = TINY_TRAINING.replace("training.epochs=2", "training.epochs=500")
    params = f"{many},training.checkpoint_dir={folder}"
    env = team_server.env() | {  # MLflow's documented knobs: one retry after a second
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    command = [sys.executable, "-m", "kedro", "run", "--env", "team"]
    command += ["--pipelines", "training"]
    run = subprocess.Popen(
        [*command, "--params", params], cwd=team_project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not checkpoint.exists():  # the first epoch is saved: now the server goes
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0]
        time.sleep(0.1)
    team_server.stop()
    lost_at = time.monotonic()
    output = " ".join(run.communicate(timeout=180)[0].split())
    assert run.returncode == 1, output
    assert time.monotonic() - lost_at < 60, output
    assert f"Error: The MLflow tracking server at {team_server.url} failed after epoch" in output
    assert f"saved in {folder}/l1/last.pt" in output and "training.resume=true" in output
    assert "Traceback" not in output
    epoch = int(output.split("failed after epoch ")[1].split()[0])
    assert torch.load(checkpoint, weights_only=False)["epoch"] == epoch  # nothing trained lost

    team_server.start().ready()
    resumed_params = params.replace("epochs=500", f"epochs={epoch + 1}")
    resumed = kedro(team_project, team_server.env(), "--pipelines", "training",
                    "--params", f"{resumed_params},training.resume=true")  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    experiment = client.get_experiment_by_name("image-colourisation")
    (l1,) = client.search_runs(
        [experiment.experiment_id],
        f"params.`training.checkpoint_dir` = '{folder}' and tags.mlflow.runName = 'l1'",
    )
    steps = [point.step for point in client.get_metric_history(l1.info.run_id, "val_psnr")]
    assert steps[-1] == epoch + 1 and steps[: epoch - 1] == list(range(1, epoch))
    assert l1.info.status == "FINISHED"


def test_kedro_viz_shows_the_pipelines_in_the_team_environment(
    team_project: Path, client: MlflowClient, tmp_path: Path
) -> None:
    """`kedro viz run --env team` on a team member's machine: every pipeline, as in `base`."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "kedro"), "viz", "run", "--env", "team"]
    command += ["--no-browser", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api/main"
    with serve(command, team_project, url, tmp_path / "viz.log", timeout=120):
        shown = requests.get(url, timeout=30).json()
    names = {pipeline["id"] for pipeline in shown["pipelines"]}
    assert names >= {"__default__", "ingestion", "preprocessing", "training", "evaluation"}
    assert {"train_gan", "train_l1_baseline"} <= {node["name"] for node in shown["nodes"]}
