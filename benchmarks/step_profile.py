"""Where a training step's time goes: torch.profiler's table by operator for the real `gan_step`.

Prints the top operators by self CPU time over a few profiled steps (after warm-up), for the
GAN step and, with --l1, the L1 baseline's step. Read it before tuning the step: the levers
(`torch.compile`, fused optimisers, fewer passes through D, memory layout, batch size) only pay
where the table says the time goes.

    .venv/bin/python benchmarks/step_profile.py
    .venv/bin/python benchmarks/step_profile.py --l1 --rows 15 --no-channels-last
"""

import argparse
import os
from dataclasses import replace

import torch
from torch.profiler import ProfilerActivity, profile
from train_throughput import synthetic_batch

from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from image_colourisation.pipelines.training.steps import build_models, gan_step


def profile_table(params: TrainingParams, steps: int, warmup: int, rows: int) -> str:
    """The profiler's operator table (self CPU time, descending) over `steps` steps."""
    models = build_models(params, torch.device("cpu"))
    lightness, ab = synthetic_batch(params)
    for _ in range(warmup):
        gan_step(models, lightness, ab, params)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            gan_step(models, lightness, ab, params)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main() -> None:
    defaults = project_training_params()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l1", action="store_true", help="profile the L1 baseline's step")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=defaults.channels_last
    )
    args = parser.parse_args()
    params = replace(
        defaults, batch_size=args.batch_size, channels_last=args.channels_last, device="cpu"
    )
    if args.l1:
        params = replace(params, adversarial_weight=0.0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads of {os.cpu_count()} "
        f"cores, load average {os.getloadavg()[0]:.2f}; {'L1' if args.l1 else 'GAN'} step, "
        f"batch {params.batch_size}, channels_last {params.channels_last}, {args.steps} steps"
    )
    print(profile_table(params, args.steps, args.warmup, args.rows))


if __name__ == "__main__":
    main()
