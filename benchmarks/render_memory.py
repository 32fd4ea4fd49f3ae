"""Peak memory of one colourisation against `GeneratorRecord.memory_needed`'s estimate, which
`render.check_memory` compares with the memory the machine has free before the generator runs.

Each case runs in a fresh process (its peak resident size is the measure), for both runtimes
(PyTorch and the ONNX export in ONNX Runtime), on a 4:3 working image at each render size:

    .venv/bin/python benchmarks/render_memory.py
    .venv/bin/python benchmarks/render_memory.py --sizes 256 512 --widths 32 --attention
"""

import argparse
import resource
import subprocess
import sys

import numpy as np


def measure(runtime: str, width: int, attention: bool, size: int) -> tuple[int, int]:
    """(bytes the colourisation added to the process's peak, the estimate), in this process."""
    import torch  # noqa: PLC0415

    from image_colourisation.imaging.render import working_shape  # noqa: PLC0415
    from image_colourisation.models.networks import Generator  # noqa: PLC0415
    from image_colourisation.models.onnx_export import generator_onnx  # noqa: PLC0415
    from image_colourisation.models.onnx_runtime import OnnxGenerator  # noqa: PLC0415

    torch.set_num_threads(2)
    generator = Generator(width=width, depth=5, attention=attention).eval()
    model = (
        OnnxGenerator(generator_onnx(generator), "benchmark") if runtime == "onnx" else generator
    )
    _, (height, breadth) = working_shape(size * 3 // 4, size, size, model.size_multiple)
    lightness = np.zeros((1, 1, height, breadth), np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model.colour(lightness)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return after - before, model.memory_needed(height, breadth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--attention", action="store_true", help="only generators with it")
    parser.add_argument("--case", nargs=4, help=argparse.SUPPRESS)  # one case, in a child
    args = parser.parse_args()
    if args.case:
        runtime, width, attention, size = args.case
        used, estimate = measure(runtime, int(width), attention == "1", int(size))
        print(used, estimate)
        return
    print("| runtime | width | attention | render size (4:3) | peak added (MB) | estimate (MB) |")
    print("|---|---|---|---|---|---|")
    for attention in [True] if args.attention else [False, True]:
        for width in args.widths:
            for size in args.sizes:
                if attention and size > 512:
                    continue  # 24 GB at 1024: the estimate is what refuses it
                for runtime in ("torch", "onnx"):
                    case = [runtime, str(width), str(int(attention)), str(size)]
                    result = subprocess.run(
                        [sys.executable, __file__, "--case", *case],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    used, estimate = map(int, result.stdout.split()[-2:])
                    print(
                        f"| {runtime} | {width} | {attention} | {size} | {used / 1e6:,.0f} | "
                        f"{estimate / 1e6:,.0f} |"
                    )


if __name__ == "__main__":
    main()
