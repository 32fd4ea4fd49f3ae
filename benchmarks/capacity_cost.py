"""What the generator's capacity options cost per training step, against today's generator.

Builds the default models and each capacity variant (self-attention at 8x8, residual blocks at
the bottleneck, both), then times their GAN steps interleaved, one step of each in turn, so
that a shared machine's load falls on all of them alike: the ratio of median step times is
the figure to quote, with the FLOPs per image counted by torch and the weights of each G.

    .venv/bin/python benchmarks/capacity_cost.py
    .venv/bin/python benchmarks/capacity_cost.py --steps 30 --residual-blocks 4
"""

import argparse
import os
import statistics
import time
from dataclasses import replace

import torch
from train_throughput import step_flops, synthetic_batch

from image_colourisation.pipelines.training.config import project_training_params
from image_colourisation.pipelines.training.steps import build_models, gan_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--residual-blocks", type=int, default=2)
    args = parser.parse_args()
    today = project_training_params(device="cpu")
    variants = {
        "today": today,
        "attention": replace(today, attention=True),
        f"residual {args.residual_blocks}": replace(today, residual_blocks=args.residual_blocks),
        "both": replace(today, attention=True, residual_blocks=args.residual_blocks),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads of {os.cpu_count()} "
        f"cores, load average {os.getloadavg()[0]:.2f}; batch {today.batch_size}, "
        f"{args.steps} interleaved GAN steps per variant"
    )
    models = {name: build_models(params, torch.device("cpu")) for name, params in variants.items()}
    lightness, ab = synthetic_batch(today)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for step in range(args.warmup + args.steps):
        for name, params in variants.items():
            started = time.perf_counter()
            gan_step(models[name], lightness, ab, params)
            if step >= args.warmup:
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times["today"])
    base_flops = step_flops(today)
    print(
        f"{'variant':<12} {'G weights':>10} {'GFLOP/image':>12} {'median step':>12} {'x today':>8}"
    )
    for name, params in variants.items():
        weights = sum(p.numel() for p in models[name].generator.parameters())
        flops = base_flops if name == "today" else step_flops(params)
        median = statistics.median(times[name])
        print(
            f"{name:<12} {weights:>10,} {flops / params.batch_size / 1e9:>12.3f} "
            f"{median * 1000:>10.0f} ms {median / base:>8.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
