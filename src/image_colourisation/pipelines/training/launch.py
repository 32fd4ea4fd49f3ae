"""Where training runs: in the Kedro process, or in workers started by torch's elastic launcher.

One process on one node (`training.distributed` left at its defaults) trains in the Kedro
process itself, exactly as before. Otherwise `train` starts `processes` workers on this machine
with `elastic_launch` (the engine behind `torchrun`); they meet the other nodes' workers at
`address:port` (static rendezvous: node_rank 0 is the head node and its first worker is rank 0,
the one that checkpoints and logs), and `train` waits for them and returns the generator of
this node's first worker: DDP keeps every rank's weights alike. A worker that fails stops them
all, and its error becomes this node's error.
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from image_colourisation.models.networks import Generator

from .config import TrainingParams
from .data import ImageArrays, TrainingImages
from .loop import EpochCallback, fit
from .world import World


class WorkerFailedError(RuntimeError):
    """A training worker failed; every other worker was stopped with it."""


def train(
    images: TrainingImages,
    validation: ImageArrays,
    params: TrainingParams,
    variant: str,
    on_epoch: EpochCallback | None = None,
    *,
    init: dict[str, torch.Tensor] | None = None,
    resume: dict[str, Any] | None = None,
) -> Generator:
    """`loop.fit` here, or on all the processes `params.distributed` asks for; G on the CPU.

    `on_epoch` runs on rank 0 only: in a worker process it must be picklable.
    """
    spec = params.distributed
    if spec.world_size == 1:
        return fit(images, validation, params, variant, on_epoch, init=init, resume=resume)
    config = LaunchConfig(
        min_nodes=spec.nodes,
        max_nodes=spec.nodes,
        nproc_per_node=spec.processes,
        run_id=f"image-colourisation-{variant}",
        rdzv_backend="static",
        rdzv_endpoint=f"{spec.address}:{spec.port}",
        rdzv_configs={"rank": spec.node_rank},
        max_restarts=0,
        start_method="spawn",
    )
    job = _Job(
        images.for_workers(), validation.for_workers(), params, variant, on_epoch, init, resume
    )
    try:
        results = elastic_launch(config, _worker)(job)
    except ChildFailedError as error:
        rank, failure = _root_failure(error)
        raise WorkerFailedError(
            f"{variant}: training worker rank {rank} failed (exit code {failure.exitcode}), "
            f"so all workers were stopped; its error:\n{failure.message}"
        ) from None
    return results[min(results)]


# What a worker says when another one died under it: not the cause, so not what to report.
_PEER_DIED = ("Connection closed by peer", "remote worker crashing", "Connection reset by peer")


def _root_failure(error: ChildFailedError) -> tuple[int, Any]:
    """The failure that stopped the others (rank, failure): a worker whose peer died reports
    only that its connection closed, and the first failure by time is often that one (their
    timestamps are whole seconds, ties go to rank 0)."""
    by_time = sorted(error.failures.items(), key=lambda item: (item[1].timestamp, item[0]))
    for rank, failure in by_time:
        if not any(sign in str(failure.message) for sign in _PEER_DIED):
            return rank, failure
    return error.get_first_failure()


@dataclass(frozen=True)
class _Job:
    """What every worker receives (pickled; arrays as shared-memory tensors)."""

    images: TrainingImages
    validation: ImageArrays
    params: TrainingParams
    variant: str
    on_epoch: Callable | None
    init: dict[str, torch.Tensor] | None
    resume: dict[str, Any] | None  # read by rank 0 only


def _worker(job: _Job) -> Generator | None:
    """One training process: join the process group, fit, return G from each node's first."""
    world = World.from_environment()
    logging.basicConfig(  # a spawned process has not got Kedro's logging: rank 0 reports
        level=logging.INFO if world.main else logging.WARNING,
        format=f"[rank {world.rank}] %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # The machine's cores split between its workers, so that they do not oversubscribe them.
    cores = len(os.sched_getaffinity(0)) // job.params.distributed.processes
    torch.set_num_threads(max(1, min(torch.get_num_threads(), cores)))
    device = world.device(job.params.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        generator = fit(
            job.images, job.validation, job.params, job.variant,
            job.on_epoch if world.main else None, init=job.init, resume=job.resume, world=world,
        )  # fmt: skip
    finally:
        dist.destroy_process_group()
    return generator if world.local_rank == 0 else None
