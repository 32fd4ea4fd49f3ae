"""The CUDA path in one check: `make gpu-check` (under 8 minutes on one GPU), one table out.

1. the device (name, torch version) and its bf16 matrix rate (8192^3 matmul),
2. images/s of the real GAN step (hints on, bf16 autocast) per batch size,
3. ab parity: one batch through the same generator on the CPU (fp32) and on the GPU, fp32 and
   bf16, max |Δab| in Lab units,
4. the DDP path on the GPUs present (torch's elastic launcher, nccl, one process per GPU;
   needs 2 GPUs: with one it says so),
5. a short `kedro run --env gpu` end to end on a tiny archive built here (skipped, saying
   why, when kedro-mlflow is not installed).

    .venv/bin/python benchmarks/gpu_check.py            # on a machine with a GPU
    .venv/bin/python benchmarks/gpu_check.py --dry-run  # the same code on the CPU, tiny sizes

The dry run is what the tests run (tests/test_gpu_check.py), so the check cannot rot between
the rare times a GPU is at hand.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torchvision.models import mobilenet_v2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.cifar_archive builds the tiny archive

from image_colourisation.imaging.colour import denormalise_ab  # noqa: E402
from image_colourisation.models.networks import Generator  # noqa: E402
from image_colourisation.pipelines.training import launch  # noqa: E402
from image_colourisation.pipelines.training.config import project_training_params  # noqa: E402
from image_colourisation.pipelines.training.data import ImageArrays  # noqa: E402
from image_colourisation.pipelines.training.nodes import imagenet_start  # noqa: E402
from image_colourisation.pipelines.training.steps import build_models, gan_step  # noqa: E402
from tests.cifar_archive import write_cifar_archive  # noqa: E402

Row = tuple[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes (the tests)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[128, 512, 2048])
    args = parser.parse_args()
    device = torch.device("cpu" if args.dry_run else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --dry-run to check the code on the CPU")
    sizes = [8] if args.dry_run else args.batch_sizes
    sections: list[tuple[str, Callable[[], list[Row]]]] = [
        ("device", lambda: device_rows(device, args.dry_run)),
        ("GAN step", lambda: step_rows(device, sizes, args.dry_run)),
        ("ab parity", lambda: parity_rows(device, args.dry_run)),
        ("DDP", lambda: ddp_rows(device, args.dry_run)),
        ("kedro run --env gpu", lambda: kedro_rows(args.dry_run)),
    ]
    rows: list[Row] = []
    for name, section in sections:
        started = time.perf_counter()
        try:
            rows += section()
        except Exception as error:  # one broken section must not hide the others' figures
            rows.append((name, f"FAILED: {type(error).__name__}: {error}"[:300]))
        rows.append((f"  ({name})", f"{time.perf_counter() - started:.1f} s"))
    width = max(len(name) for name, _ in rows)
    sys.stdout.write("\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n")


def device_rows(device: torch.device, dry_run: bool) -> list[Row]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    size = 256 if dry_run else 8192
    dtype = torch.float32 if dry_run else torch.bfloat16
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    seconds = _timed(lambda: a @ b, device, repeats=3 if dry_run else 10)
    return [
        ("device", f"{name}, torch {torch.__version__}"),
        (
            f"matmul {size}^3 {str(dtype).removeprefix('torch.')}",
            f"{2 * size**3 / seconds / 1e12:.1f} TFLOP/s",
        ),
    ]


def step_rows(device: torch.device, sizes: list[int], dry_run: bool) -> list[Row]:
    """images/s of `gan_step` (default recipe, hints on) at each batch size."""
    rows = []
    for batch in sizes:
        params = project_training_params(
            batch_size=batch, device=device.type, width=8 if dry_run else 32,
            discriminator_width=8 if dry_run else 32, channels_last=device.type == "cpu",
        )  # fmt: skip
        models = build_models(params, device)
        lightness = torch.rand(batch, 1, 32, 32, device=device) * 2 - 1
        ab = (torch.rand(batch, 2, 32, 32, device=device) - 0.5) * 0.6
        step = partial(gan_step, models, lightness, ab, params)
        seconds = _timed(step, device, 2 if dry_run else 20)
        rows.append((f"GAN step, batch {batch}", f"{batch / seconds:,.0f} images/s"))
    return rows


def parity_rows(device: torch.device, dry_run: bool) -> list[Row]:
    """The same weights and batch on the CPU (fp32) and on `device`, fp32 and bf16."""
    torch.manual_seed(0)
    generator = Generator(width=8 if dry_run else 32, hints=True).eval()
    lightness = torch.rand(64, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        reference = generator(lightness)
        moved = generator.to(device)
        fp32 = moved(lightness.to(device)).cpu()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            bf16 = moved(lightness.to(device)).float().cpu()
    return [
        (f"max |Δab| {device.type} fp32 vs CPU", f"{_lab_units(fp32 - reference):.2e} Lab units"),
        (f"max |Δab| {device.type} bf16 vs CPU", f"{_lab_units(bf16 - reference):.2e} Lab units"),
    ]


def ddp_rows(device: torch.device, dry_run: bool) -> list[Row]:
    """One short training through the launcher, one process per GPU (2 gloo processes on
    the CPU in the dry run)."""
    processes = 2 if dry_run else torch.cuda.device_count()
    if processes < 2:
        return [("DDP", f"skipped: {processes} GPU here, DDP over nccl needs 2 or more")]
    with tempfile.TemporaryDirectory() as folder:
        params = project_training_params(
            epochs=1, batch_size=8 if dry_run else 512, width=8, discriminator_width=8,
            device=device.type, checkpoint_dir=folder, channels_last=device.type == "cpu",
            distributed={"processes": processes, "port": _free_port()},
        )  # fmt: skip
        rng = np.random.default_rng(0)
        count = 64 if dry_run else 8192

        def arrays(images: int) -> ImageArrays:
            lightness = rng.uniform(-1, 1, (images, 1, 32, 32)).astype(np.float32)
            ab = (0.3 * lightness).repeat(2, axis=1)
            return ImageArrays.of({"L": lightness, "ab": ab}, "synthetic", params.depth)

        # The default recipe's ImageNet encoder, its weights random: the timing and the
        # plumbing are the same, and the check needs no weights file.
        init = imagenet_start(lambda: mobilenet_v2().state_dict(), params)
        started = time.perf_counter()
        launch.train(arrays(count), arrays(64), params, "l1", init=init)
        seconds = time.perf_counter() - started
    backend = "gloo" if device.type == "cpu" else "nccl"
    return [
        (f"DDP, {processes} processes ({backend})", f"1 epoch of {count} images in {seconds:.1f} s")
    ]


def kedro_rows(dry_run: bool) -> list[Row]:
    """`kedro run --env gpu` (CPU in the dry run) on a tiny archive: 1 L1 and 1 GAN epoch."""
    try:
        import kedro_mlflow  # noqa: F401, PLC0415 - only to say why the section is skipped
    except ImportError:
        return [("kedro run --env gpu", "skipped: kedro-mlflow is not installed here")]
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "cifar-10-tiny-python.tar.gz"
        md5 = write_cifar_archive(archive)
        overrides = [
            f"cifar10.url={archive.as_uri()}", f"cifar10.md5={md5}", "training.epochs=1",
            "training.gan_epochs=1", "evaluation.classifier.epochs=1", "evaluation.critic.epochs=1",
        ]  # fmt: skip
        if dry_run:
            overrides += ["training.device=cpu", "training.batch_size=16"]
        command = [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--env",
            "gpu",
            "--params",
            ",".join(overrides),
        ]
        project = Path(folder) / "project"
        _copy_project(project)
        started = time.perf_counter()
        env = os.environ | {"PYTHONPATH": str(REPO / "src")}  # installed or not
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return [("kedro run --env gpu", f"FAILED (exit {done.returncode}): {' | '.join(tail)}")]
    return [("kedro run --env gpu", f"every pipeline, exit 0, {seconds:.0f} s")]


def _copy_project(target: Path) -> None:
    """The project's configuration and empty data layers, so the run writes nothing here."""
    from tests.project_copy import copy_project  # noqa: PLC0415 - the tests' own helper

    copy_project(target)


def _timed(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Mean seconds of `run` after one warm-up, synchronising the GPU."""
    run()
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    _sync(device)
    return (time.perf_counter() - started) / repeats


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _lab_units(difference: torch.Tensor) -> float:
    return float(np.abs(denormalise_ab(difference.numpy())).max())


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    main()
