"""The cost of drawing training hints next to the training step they feed.

    .venv/bin/python benchmarks/hint_sampling.py [--batch 128] [--size 32] [--width 32]
                                                 [--repeats 20] [--threads N]

Times `hint_sampling.sample_hints` with the default `HintSampling` on a batch of random true ab, and
one L1 step (forward, backward, Adam) of a hint generator of the training default width on
the same batch; prints the medians and their ratio. Both run in this process, one after the
other, so other work on the machine skews them alike.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from image_colourisation.models.hint_sampling import sample_hints
from image_colourisation.models.networks import Generator
from image_colourisation.pipelines.training.config import project_training_params


def median_ms(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.batch, 1, args.size, args.size)
    lightness, ab = torch.rand(shape) * 2 - 1, torch.rand(args.batch, 2, args.size, args.size)
    draws = torch.Generator().manual_seed(0)
    settings = project_training_params().hints
    generator = Generator(width=args.width, hints=True)
    optimiser = torch.optim.Adam(generator.parameters(), lr=2e-4)
    hints = sample_hints(ab, settings, draws)

    def step() -> None:
        optimiser.zero_grad()
        torch.nn.functional.l1_loss(generator(lightness, hints), ab).backward()
        optimiser.step()

    sampling = median_ms(lambda: sample_hints(ab, settings, draws), args.repeats)
    training = median_ms(step, max(3, args.repeats // 5))
    print(
        f"batch {args.batch} of {args.size}x{args.size}, {settings}, torch threads "
        f"{torch.get_num_threads()}\n"
        f"sample_hints {sampling:.1f} ms; L1 step (width {args.width}) {training:.0f} ms; "
        f"sampling / step {sampling / training:.3f}"
    )


if __name__ == "__main__":
    main()
