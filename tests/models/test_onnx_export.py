"""`python -m image_colourisation.models.onnx_export PAYLOAD`: the export beside a payload saved before
the catalog wrote them, never over a file already there."""

from pathlib import Path

import torch

from image_colourisation.models.onnx_export import main
from image_colourisation.models.onnx_runtime import OnnxGenerator
from image_colourisation.models.payloads import generator_payload
from tests.photo_models import tiny_trained_generator


def test_the_export_is_written_beside_the_payload_and_never_over_a_file(tmp_path: Path, capsys):
    payload = tmp_path / "generator_gan.pt"
    torch.save(generator_payload(tiny_trained_generator()) | {"render_size": 64}, payload)
    assert main([str(payload)]) == 0
    exported = tmp_path / "generator_gan.onnx"
    assert f"wrote {exported}" in capsys.readouterr().out
    assert OnnxGenerator(exported, "the export").render_size == 64
    exported.write_bytes(b"the user's own file")
    assert main([str(payload), str(tmp_path / "nosuch.pt")]) == 1
    errors = capsys.readouterr().err
    assert "generator_gan.onnx exists already; move it away to export again" in errors
    assert "nosuch.pt does not exist" in errors
    assert exported.read_bytes() == b"the user's own file"
