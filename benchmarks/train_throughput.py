"""Training throughput: images/s of the real `gan_step` against this machine's fp32 GEMM peak.

Prints, for the default training parameters unless overridden:
  - images/s of a full GAN step (G forward + backward, D forward + backward on real and fake,
    both Adam steps) and of an L1-only step (the baseline),
  - FLOPs per image of the GAN step (torch.utils.flop_counter.FlopCounterMode),
  - achieved GFLOP/s, the fp32 GEMM GFLOP/s (2048 x 2048 matmul) measured in the same run,
    and their ratio.

    .venv/bin/python benchmarks/train_throughput.py
    .venv/bin/python benchmarks/train_throughput.py --batch-size 256 --no-channels-last
    .venv/bin/python benchmarks/train_throughput.py --attention --residual-blocks 2  # capacity

The machine is shared: run it when `uptime` shows a load below ~1, and quote the load.
"""

import argparse
import os
import time
from dataclasses import replace

import torch
from torch.utils.flop_counter import FlopCounterMode

from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from image_colourisation.pipelines.training.steps import build_models, gan_step

GEMM_SIZE = 2048


def gemm_gflops(repeats: int = 20) -> float:
    """Best-of fp32 matmul throughput: the practical compute ceiling of this CPU."""
    a, b = torch.randn(GEMM_SIZE, GEMM_SIZE), torch.randn(GEMM_SIZE, GEMM_SIZE)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * GEMM_SIZE**3 / best / 1e9


def step_flops(params: TrainingParams) -> float:
    """FLOPs of one full training step, counted by torch for every conv/matmul fwd and bwd."""
    models = build_models(params, torch.device("cpu"))
    lightness, ab = synthetic_batch(params)
    with FlopCounterMode(display=False) as counter:
        gan_step(models, lightness, ab, params)
    return float(counter.get_total_flops())


def images_per_second(params: TrainingParams, steps: int, warmup: int) -> tuple[float, float]:
    """(mean, best-step) images/s over `steps` timed steps after `warmup` untimed ones.

    On a shared machine the best step is the one least disturbed by other processes; when
    the machine is quiet the two agree.
    """
    models = build_models(params, torch.device("cpu"))
    lightness, ab = synthetic_batch(params)
    for _ in range(warmup):
        gan_step(models, lightness, ab, params)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        gan_step(models, lightness, ab, params)
        times.append(time.perf_counter() - started)
    return params.batch_size * steps / sum(times), params.batch_size / min(times)


def synthetic_batch(params: TrainingParams) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of L and ab in the ranges the data has (the step does not care what)."""
    generator = torch.Generator().manual_seed(0)
    lightness = torch.rand(params.batch_size, 1, 32, 32, generator=generator) * 2 - 1
    ab = (torch.rand(params.batch_size, 2, 32, 32, generator=generator) - 0.5) * 0.6
    return lightness, ab


def _rates(name: str, mean: float, best: float, flops: float, peak: float) -> list[str]:
    return [
        f"  {name} {label:<5} {rate:7.1f} images/s = {rate * flops / 1e9:6.1f} GFLOP/s "
        f"= {rate * flops / 1e9 / peak:.2f} of the GEMM peak"
        for label, rate in (("mean", mean), ("best", best))
    ]


def main() -> None:
    defaults = project_training_params()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--discriminator-width", type=int, default=defaults.discriminator_width)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=defaults.channels_last
    )
    parser.add_argument("--attention", action="store_true", help="G's self-attention at 8x8")
    parser.add_argument("--residual-blocks", type=int, default=defaults.residual_blocks)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = replace(
        defaults,
        width=args.width,
        discriminator_width=args.discriminator_width,
        batch_size=args.batch_size,
        channels_last=args.channels_last,
        attention=args.attention,
        residual_blocks=args.residual_blocks,
        device="cpu",
    )

    lines = [
        f"torch {torch.__version__}, {args.threads} threads of {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}; width {params.width}, "
        f"D width {params.discriminator_width}, batch {params.batch_size}, "
        f"channels_last {params.channels_last}, attention {params.attention}, "
        f"residual blocks {params.residual_blocks}"
    ]
    peak = gemm_gflops()
    gan_flops = step_flops(params) / params.batch_size
    gan, gan_best = images_per_second(params, args.steps, args.warmup)
    baseline = replace(params, adversarial_weight=0.0)
    l1_flops = step_flops(baseline) / params.batch_size
    l1, l1_best = images_per_second(baseline, args.steps, args.warmup)
    lines += [
        f"fp32 GEMM {GEMM_SIZE}^2:  {peak:7.1f} GFLOP/s (best of 20)",
        f"GAN step (G+D fwd+bwd, Adam): {gan_flops / 1e9:.3f} GFLOP/image",
        *_rates("GAN", gan, gan_best, gan_flops, peak),
        f"L1-only step (G fwd+bwd, Adam): {l1_flops / 1e9:.3f} GFLOP/image",
        *_rates("L1", l1, l1_best, l1_flops, peak),
        f"load average after: {os.getloadavg()[0]:.2f}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
