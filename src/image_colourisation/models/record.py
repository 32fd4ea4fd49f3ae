"""A generator's architecture record: what it may say (checked the same way for a payload, an
MLflow model and an ONNX export) and what it tells every runtime that runs it (PyTorch's
`networks.Generator` and ONNX Runtime's `onnx_runtime.OnnxGenerator`), in one place, torch-free.
"""

from collections.abc import Mapping
from typing import Any

from image_colourisation.core.ranges import Setting

MAX_PARAMETERS = 250_000_000  # 1 GB of float32; the default generator has 4.2 million
# What a saved generator may inflate to (a payload's zip entries, an ONNX file with its external
# data): every weight a model may have as float32, and room for its buffers and record.
MAX_MODEL_BYTES = 4 * MAX_PARAMETERS + (16 << 20)
# The largest |value| a saved model's weight, buffer or ONNX constant may hold. Measured: 40.7 in
# the trained generators (a BatchNorm running_var; the discriminator 1.2, the classifier 22.7),
# 6.1 in the ImageNet encoder, 1.1 when freshly initialised, 15.1 in the ONNX exports (where
# BatchNorm is folded into convolutions, which can multiply a weight by 1/sqrt(eps) = 316).
# 1e6 leaves a margin of 25,000 over those; a weight of 3e38 is finite, yet overflows the first
# layer it meets and turns every photo black.
MAX_WEIGHT_MAGNITUDE = 1e6
# A generator's output is normalised ab (`imaging.colour.AB_SCALE` a*b* units per 1): a tanh, or
# a mean of colour-bin centres that lie within [-1, 1], only ever pulled towards gray. An answer
# beyond it, by more than float rounding, comes from a model this project did not make.
MAX_NORMALISED_AB = 1.001
# Generous bounds: far beyond what the training parameters produce (width 32, depth 5, up to
# 529 colour bins), far below what would exhaust memory. The parameter count then bounds the
# combinations (width 1024 at depth 10 is in range, but not its 20 billion weights).
GENERATOR_ARCHITECTURE = {
    "width": Setting(int, 1, 1024),
    "depth": Setting(int, 2, 10),  # depth 1 has no decoder level to join the skip to
    "dropout": Setting(float, 0.0, 1.0, high_open=True),
    "bins": Setting(int, 2, 4096, required=False, zero_allowed=True),
    "temperature": Setting(float, 0.0, 1.0, required=False, low_open=True),
    "hints": Setting(bool, 0, 1, required=False),  # absent in payloads from before hints
    "classes": Setting(int, 2, 10_000, required=False),  # with a class head (training only)
    "attention": Setting(bool, 0, 1, required=False),  # capacity, recorded only when added
    "residual_blocks": Setting(int, 1, 16, required=False),
    # ImageNet encoder's input side in pixels; its cost grows with the square (issue 33)
    "imagenet_encoder": Setting(int, 32, 512, required=False),
    "confidence": Setting(float, 0.0, 100.0, required=False, low_open=True),
}


def architecture_problem(architecture: Any, settings: Mapping[str, Setting]) -> str | None:
    """What is wrong with an architecture record (as "... is ..."), or None when it is fine."""
    if not isinstance(architecture, Mapping):
        return f"is a {type(architecture).__name__}, not a mapping such as {{'width': 32, ...}}"
    unknown = sorted(str(key) for key in architecture if key not in settings)
    if unknown:
        return f"has unknown keys {unknown}; known: {sorted(settings)}"
    missing = [name for name, s in settings.items() if s.required and name not in architecture]
    if missing:
        return f"lacks {missing}"
    for name, value in architecture.items():
        problem = settings[name].problem(name, value)
        if problem:
            return f"says {problem}"
    return None


# `GeneratorRecord.memory_needed`'s measured constants.
ACTIVATION_FLOATS = 2.5
ATTENTION_FLOATS = 2.5
FIXED_BYTES = 64 << 20  # the ImageNet encoder at its own size, the runtime's own buffers


class GeneratorRecord:
    """Read-outs of `architecture`, the record a generator payload (or its export) carries."""

    architecture: dict[str, Any]

    @property
    def takes_hints(self) -> bool:
        """Whether the generator was built (and trained) with hint inputs."""
        return bool(self.architecture.get("hints"))

    @property
    def size_multiple(self) -> int:
        """What height and width must be multiples of: the U-Net halves them `depth` times."""
        return 2 ** self.architecture["depth"]

    def memory_needed(self, height: int, width: int) -> int:
        """Bytes one colourisation of a `height` x `width` working image takes at its peak,
        estimated (`benchmarks/render_memory.py` prints it beside what both runtimes use).

        The U-Net's activations grow with its width and the pixels: measured 2.0-2.1 floats
        per channel of the first level and pixel in PyTorch and ONNX Runtime, so 2.5 here.
        Self-attention (after the second level: a position per 4 x 4 pixels) holds its score
        matrix and its softmax on CPU in both runtimes: measured 2.1-2.2 floats per pair of
        positions, so 2.5 here (24 GB for a 4:3 photo at render size 1024).
        """
        pixels = height * width
        needed = int(ACTIVATION_FLOATS * self.architecture["width"] * pixels * 4) + FIXED_BYTES
        if self.architecture.get("attention"):
            positions = pixels // 16
            needed += int(ATTENTION_FLOATS * positions**2 * 4)
        return needed
