"""What a generator's architecture record tells every runtime that runs it (PyTorch's
`models.Generator` and ONNX Runtime's `onnx_generator.OnnxGenerator`), in one place."""

from typing import Any


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
