"""Training on several processes (gloo on CPU): the launcher, DDP, shards, failure and resume."""

import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml
from torch.utils.data import DistributedSampler

from image_colourisation.pipelines.training import launch
from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from image_colourisation.pipelines.training.distributed import scale_learning_rates
from image_colourisation.pipelines.training.nodes import imagenet_start, l1_params
from image_colourisation.pipelines.training.steps import build_models
from image_colourisation.pipelines.training.world import World
from tests.conftest import run_kedro
from tests.imagenet_weights import shared_imagenet_weights
from tests.pipelines.training.synthetic import synthetic_set, train_arrays
from tests.pipelines.training.test_end_to_end import TINY_TRAINING
from tests.project_copy import PROJECT_ROOT

TRAIN, VALIDATION = synthetic_set(32, 0), synthetic_set(8, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def on(params: TrainingParams, **distributed: object) -> TrainingParams:
    """`params` on the processes and nodes asked for, meeting at a free port of this machine."""
    spec = {"port": free_port(), "lr_scaling": "none", **distributed}
    return replace(params, distributed=replace(params.distributed, **spec))


@pytest.mark.parametrize(("size", "items"), [(2, 24), (3, 31)])
def test_a_shard_is_what_distributed_sampler_gives_each_rank(size: int, items: int) -> None:
    per_rank = items // size - 1
    for rank in range(size):
        sampler = DistributedSampler(range(items), size, rank, shuffle=False, drop_last=True)
        expected = list(sampler)[:per_rank]
        assert list(World(rank, size).shard(range(items), per_rank)) == expected


@pytest.mark.parametrize(
    ("distributed", "problem"),
    [
        ({"processes": 0}, "training.distributed.processes is 0; allowed: an integer in [1, 1024]"),
        ({"nodes": 2, "node_rank": 2}, "node_rank is 2 with nodes 2; allowed: 0 (the head"),
        ({"port": 70000}, "training.distributed.port is 70000; allowed: an integer in [1, 65535]"),
        ({"lr_scaling": "cube"}, "lr_scaling is 'cube'; allowed: one of none, linear, sqrt"),
        ({"gpus": 2}, "training.distributed.gpus is not a parameter of training.distributed"),
    ],
)
def test_bad_distributed_parameters_are_named(distributed: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace("[", r"\[")):
        project_training_params(PROJECT_ROOT, distributed=distributed)


@pytest.mark.parametrize(("rule", "target"), [("linear", 4.0), ("sqrt", 2.0), ("none", 1.0)])
def test_learning_rates_warm_up_to_the_scaled_rate(
    params: TrainingParams, rule: str, target: float
) -> None:
    distributed = replace(params.distributed, lr_scaling=rule, warmup_epochs=2)
    params = replace(params, distributed=distributed)
    models = build_models(params, torch.device("cpu"))
    rates = []
    for epochs in (0.0, 1.0, 2.0, 5.0):
        scale_learning_rates(models, params.lr, params.distributed, World(0, 4), epochs)
        rates.append(models.d_optimizer.param_groups[0]["lr"] / params.lr)
    assert rates == pytest.approx([1.0, (1.0 + target) / 2, target, target])
    scale_learning_rates(models, params.lr, params.distributed, World(), 0.5)  # alone: `lr` itself
    assert models.g_optimizer.param_groups[0]["lr"] == params.lr


# Rank 1 fails at its first step; the Kedro process and rank 0 never run this code.
FAILING_STEP = """
import os
import time
from image_colourisation.pipelines.training import loop

real_step = loop.gan_step
def gan_step(*args, **kwargs):
    if os.environ.get("RANK") == "1":
        raise RuntimeError("injected failure: rank 1 lost its data")
    time.sleep(5)  # rank 0 fails only after rank 1 (its peer died), as in a real crash
    return real_step(*args, **kwargs)
loop.gan_step = gan_step
"""


def test_a_failing_worker_fails_the_run_with_its_error(
    params: TrainingParams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sitecustomize.py").write_text(FAILING_STEP)  # read by every new interpreter
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{PROJECT_ROOT}")
    with pytest.raises(launch.WorkerFailedError) as failure:
        train_arrays(TRAIN, VALIDATION, on(params, processes=2), "l1", via=launch.train)
    assert "worker rank 1 failed" in str(failure.value)
    assert "RuntimeError: injected failure: rank 1 lost its data" in str(failure.value)
    assert not (tmp_path / "checkpoints" / "l1" / "last.pt").exists()  # rank 0 stopped first


def test_resume_with_another_number_of_processes(params: TrainingParams) -> None:
    """One process trains epoch 1; two processes resume it: rank 0 reads the checkpoint and
    gives its state to rank 1, and both go on from epoch 2."""
    alone = replace(params, epochs=1, batch_size=8)
    train_arrays(TRAIN, VALIDATION, alone, "gan")
    path = Path(params.checkpoint_dir) / "gan" / "last.pt"
    first = torch.load(path, weights_only=True)
    resumed = on(replace(params, epochs=2, batch_size=4, resume=True), processes=2)
    generator = train_arrays(TRAIN, VALIDATION, resumed, "gan", via=launch.train)
    second = torch.load(path, weights_only=True)
    assert (first["epoch"], second["epoch"], second["target_epochs"]) == (1, 2, 2)
    assert second["generator"].keys() == first["generator"].keys()  # no DDP prefixes
    kept = generator.state_dict()
    assert all(torch.equal(second["ema"][name], value) for name, value in kept.items())


TWO_NODES = """
import sys
import torch
from dataclasses import replace
from image_colourisation.pipelines.training import launch
from image_colourisation.pipelines.training.config import project_training_params
from tests.pipelines.training.synthetic import synthetic_set, train_arrays

if __name__ == "__main__":
    rank, port, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    spec = {"nodes": 2, "node_rank": rank, "port": port, "lr_scaling": "none"}
    params = project_training_params(
        epochs=1, batch_size=4, width=4, discriminator_width=4, device="cpu", ema_decay=0.0,
        imagenet_encoder=0, checkpoint_dir=f"{folder}/node{rank}", distributed=spec,
    )
    generator = train_arrays(synthetic_set(32, 0), synthetic_set(8, 1), params, "l1", via=launch.train)
    torch.save(generator.state_dict(), f"{folder}/generator{rank}.pt")
"""


def test_two_nodes_meet_on_127_0_0_1_and_train_alike(tmp_path: Path) -> None:
    """Two "machines" of one process each: the head node (rank 0) checkpoints, both nodes'
    Kedro processes receive the same generator."""
    script = tmp_path / "node.py"
    script.write_text(textwrap.dedent(TWO_NODES))
    port = str(free_port())
    nodes = [
        subprocess.Popen(
            [sys.executable, str(script), str(rank), port, str(tmp_path)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=180)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(outputs)
    head, other = (torch.load(tmp_path / f"generator{rank}.pt") for rank in (0, 1))
    assert all(torch.equal(head[name], other[name]) for name in head if "running" not in name)
    assert (tmp_path / "node0" / "l1" / "last.pt").is_file()
    assert not (tmp_path / "node1" / "l1").exists()


def test_kedro_run_on_two_processes_logs_once_and_matches_one_process(
    kedro_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kedro run --pipelines training` with 2 processes of batch 4 against 1 process of batch 8
    (the same global batch, lr unscaled): one set of metrics per epoch, one generator each."""
    data = kedro_project / "data" / "05_model_input"
    for name, (lightness, ab) in (
        ("train_set", synthetic_set(48, 0)),
        ("validation_set", VALIDATION),
    ):
        labels, classes = np.zeros(len(lightness), np.int64), np.array(["thing"])
        np.savez(data / f"{name}.npz", L=lightness, ab=ab, labels=labels, class_names=classes)
    two = "training.batch_size=4,training.distributed.processes=2,training.distributed.lr_scaling"
    two += f"=none,training.distributed.port={free_port()}"
    run_kedro(kedro_project, "run", "--pipelines", "training", "--params", f"{TINY_TRAINING},{two}")

    monkeypatch.chdir(kedro_project)
    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    try:
        client = mlflow.MlflowClient()
        runs = {run.info.run_name: run for run in client.search_runs(["1"])}
        for variant in ("gan", "l1"):
            assert runs[variant].data.params["training.distributed.processes"] == "2"
            for name in ("g_l1_loss", "val_l1", "images_per_s"):
                history = client.get_metric_history(runs[variant].info.run_id, name)
                assert [point.step for point in history] == [1, 2], (variant, name)
        logged = client.get_metric_history(runs["l1"].info.run_id, "g_l1_loss")[-1].value
    finally:
        mlflow.set_tracking_uri(None)
    for variant in ("gan", "l1"):
        assert len(list((kedro_project / f"data/06_models/generator_{variant}.pt").iterdir())) == 1

    settings = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_training.yml").read_text())
    tiny = dict(item.split("=") for item in TINY_TRAINING.split(","))
    tiny = {key.removeprefix("training."): int(value) for key, value in tiny.items()}
    alone = TrainingParams(**{**settings["training"], **tiny, "batch_size": 8})
    alone = replace(l1_params(alone), checkpoint_dir=str(kedro_project / "alone"))
    seen: list[float] = []
    train_arrays(
        synthetic_set(48, 0), VALIDATION, alone, "l1", lambda _, m, __: seen.append(m["g_l1_loss"]),
        init=imagenet_start(shared_imagenet_weights, alone),  # as the node gives it
    )  # fmt: skip
    gap = f"g_l1_loss after 2 epochs: 2 processes {logged:.5f}, 1 process {seen[-1]:.5f}"
    assert logged == pytest.approx(seen[-1], rel=0.005), gap  # measured: 0.05% apart
