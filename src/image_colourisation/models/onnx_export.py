"""A generator payload exported to ONNX, for ONNX Runtime (`onnx_runtime.py`): free height and
width (and batch), the hint inputs when the generator takes hints, and the architecture and
render size in the file's metadata, so the file alone is enough to colourise.

The catalog writes one beside every generator payload it saves (`ModelPayloadDataset` with
`onnx: true`) and one for the registered model (`served_generator_onnx`). For a payload saved
before that, `python -m image_colourisation.models.onnx_export PAYLOAD...` writes `PAYLOAD`'s `.onnx`
beside it (never over an existing file).
"""

import io
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch

from image_colourisation.core.errors import UserError
from image_colourisation.core.files import atomic_write
from image_colourisation.models.networks import Generator
from image_colourisation.models.onnx_runtime import (
    AB,
    ARCHITECTURE_KEY,
    CHANNELS,
    HINTS,
    LIGHTNESS,
    RENDER_SIZE_KEY,
    onnx_beside,
)
from image_colourisation.models.payloads import generator_from_payload, load_payload

OPSET = 17
_EXAMPLE_SIZE = 64  # any multiple of 2**depth: the axes are exported free


def payload_onnx(payload: dict[str, Any]) -> bytes:
    """The ONNX file (bytes) of a generator payload, recording its render size when it has one."""
    return generator_onnx(generator_from_payload(payload), payload.get("render_size"))


def generator_onnx(generator: Generator, render_size: int | None = None) -> bytes:
    """`generator` in eval mode as an ONNX file (bytes) with free batch, height and width.

    The TorchScript exporter (`dynamo=False`) is used: it takes `dynamic_axes` directly and
    needs no `onnxscript`; its graph matches PyTorch within 1e-6 here (tests/models/test_onnx_*.py).
    """
    generator.eval()
    names = [LIGHTNESS, HINTS] if generator.takes_hints else [LIGHTNESS]
    side = max(_EXAMPLE_SIZE, generator.size_multiple)
    example = tuple(torch.zeros(1, CHANNELS[name], side, side) for name in names)
    free = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the shape checks in `forward` are constants once traced
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            generator,
            example,
            buffer,
            input_names=names,
            output_names=[AB],
            dynamic_axes={name: free for name in [*names, AB]},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    metadata = {ARCHITECTURE_KEY: json.dumps(generator.architecture)}
    if render_size is not None:
        metadata[RENDER_SIZE_KEY] = str(render_size)
    onnx.helper.set_model_props(model, metadata)
    return model.SerializeToString()


def export_beside(payload_file: Path) -> Path:
    """Write `payload_file`'s ONNX export beside it; refuse to replace an existing file."""
    target = onnx_beside(payload_file)
    if target.exists():
        raise FileExistsError(f"{target} exists already; move it away to export again")
    data = payload_onnx(load_payload(payload_file, f"payload {payload_file}"))
    with atomic_write(target) as file:
        file.write(data)
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m image_colourisation.models.onnx_export PAYLOAD...`: each payload's `.onnx` beside it."""
    failed = 0
    for name in argv if argv is not None else sys.argv[1:]:
        try:
            print(f"wrote {export_beside(Path(name))}")  # noqa: T201 - the command's answer
        except (OSError, UserError, ValueError) as error:
            print(f"{name}: {error}", file=sys.stderr)  # noqa: T201
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
