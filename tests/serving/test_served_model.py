"""The registered colouriser end to end: the tiny default `kedro run` registers it, the
Makefile's `serve` serves it over HTTP, and `colourise` takes it by default."""

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from PIL import Image

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.models.onnx_export import payload_onnx
from image_colourisation.models.payloads import generator_payload
from image_colourisation.serving import local_store
from image_colourisation.serving.registry import (
    CHAMPION,
    MODEL_NAME,
    SERVED_GENERATOR,
    SERVED_GENERATOR_ONNX,
)
from tests.browser.servers import free_port, serve
from tests.photo_models import ab_distance_near, real_photo, tiny_hint_generator
from tests.project_copy import PROJECT_ROOT

BIN = Path(sys.executable).parent


def encoded(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_the_run_registers_one_version_tagged_with_the_gan_runs_evaluation(
    tracked_project: Path,
) -> None:
    client = mlflow.MlflowClient(f"sqlite:///{tracked_project / 'mlflow.db'}")
    (version,) = client.search_model_versions(f"name = '{MODEL_NAME}'")
    aliases = client.get_registered_model(MODEL_NAME).aliases
    assert aliases == {"champion": version.version, "challenger": version.version}
    runs = client.search_runs(
        [client.get_experiment_by_name("image-colourisation").experiment_id],
        f"tags.mlflow.parentRunId = '{version.run_id}'",
    )
    by_name = {run.info.run_name: run.data.metrics for run in runs}
    assert set(by_name) == {"gan", "l1", "gray"}
    for metrics in by_name.values():  # every model's figures on its own run
        assert {"test_mae", "test_psnr", "test_colourfulness_truth"} <= metrics.keys()
    assert by_name["gray"]["test_colourfulness"] == 0
    assert float(version.tags["test_mae"]) == pytest.approx(by_name["gan"]["test_mae"], rel=1e-5)


def test_make_serve_answers_photos_at_their_size_without_the_venv_on_path(
    tracked_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user types it without activating the venv: PATH lacks the venv's bin folder."""
    path = [p for p in os.environ["PATH"].split(os.pathsep) if Path(p).resolve() != BIN.resolve()]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    photos = [
        real_photo("astronaut").convert("L").resize((128, 96)),
        real_photo("chelsea").resize((150, 100)),  # sides not multiples of 32
    ]
    rows = [[encoded(photo), ""] for photo in photos] + [[base64.b64encode(b"hello").decode(), ""]]
    rows.append([encoded(photos[0]), '[{"x": 500, "y": 5, "colour": "#00ff00"}]'])  # x > 127
    columns = ["image", "hints"]  # hints: optional, JSON text in the photo's pixels
    body = json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()
    port = free_port()
    command = ["make", "-f", str(PROJECT_ROOT / "Makefile"), "serve"]
    command += [f"VENV={BIN.parent}", f"PORT={port}"]
    url = f"http://127.0.0.1:{port}"
    with serve(command, tracked_project, f"{url}/ping", tmp_path / "serve.log", timeout=120):
        request = urllib.request.Request(
            f"{url}/invocations", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answers = json.load(response)["predictions"]

    assert [answer["error"] for answer in answers[:2]] == ["", ""]
    assert "not a readable picture" in answers[2]["error"]
    assert answers[3]["error"].startswith("hint 500,5,#00ff00 is outside the 128x96 photo")
    for photo, answer in zip(photos, answers, strict=False):
        coloured = Image.open(io.BytesIO(base64.b64decode(answer["image"])))
        assert coloured.size == photo.size == (answer["width"], answer["height"])
        rgb = np.asarray(coloured.convert("RGB"))
        lightness = rgb_to_lab(rgb)[..., 0]
        assert np.abs(lightness - rgb_to_lab(np.asarray(photo.convert("RGB")))[..., 0]).max() < 1
        # Not gray (where R = G = B everywhere); two tiny epochs paint faintly, so about half
        # the pixels carry a colour, and a quarter is asked for.
        assert np.mean(rgb.max(axis=-1) > rgb.min(axis=-1)) > 0.25


def champion_with_a_hint_generator(copy: Path) -> Path:
    """A copy of the registered champion (its MLflow pyfunc model folder) whose served
    generator and ONNX export are `tiny_hint_generator`, which has learnt to follow hints: the
    tiny run's own generator (width 8, two epochs on the tiny archive) is too faint to show one."""
    served = local_store.alias_artifact(MODEL_NAME, CHAMPION, SERVED_GENERATOR)
    assert served is not None, "the tiny run registered no champion"
    folder = next(parent for parent in served.parents if (parent / "MLmodel").is_file())
    shutil.copytree(folder, copy)
    payload = generator_payload(tiny_hint_generator())
    torch.save(payload, copy / served.relative_to(folder))
    onnx = local_store.alias_artifact(MODEL_NAME, CHAMPION, SERVED_GENERATOR_ONNX)
    assert onnx is not None, "the champion has no ONNX export"
    (copy / onnx.relative_to(folder)).write_bytes(payload_onnx(payload))
    return copy


def test_make_serve_colours_a_hinted_region_in_the_hinted_colour(
    tracked_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served model's hints column over HTTP, as the README's client sends it."""
    monkeypatch.chdir(tracked_project)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    model = champion_with_a_hint_generator(tmp_path / "model")
    coffee = encoded(real_photo("coffee"))  # 600x400
    green = "#2ecc71"
    hint = json.dumps([{"x": 300, "y": 200, "colour": green}])
    # Rows with a render size and rows without, and one not whole: each row answered alone
    # (MLflow's "long" column refused such a request whole).
    rows = [[coffee, hint, None], [coffee, "", 64], [coffee, "", 64.9]]
    body = {"dataframe_split": {"columns": ["image", "hints", "render_size"], "data": rows}}
    port = free_port()
    command = ["make", "-f", str(PROJECT_ROOT / "Makefile"), "serve"]
    command += [f"VENV={BIN.parent}", f"PORT={port}", f"MODEL={model}"]
    url = f"http://127.0.0.1:{port}"
    with serve(command, tracked_project, f"{url}/ping", tmp_path / "serve.log", timeout=120):
        request = urllib.request.Request(
            f"{url}/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            hinted, plain, unwhole = json.load(response)["predictions"]

    assert hinted["error"] == plain["error"] == ""
    assert unwhole["error"].startswith("render_size 64.9 is not a whole number; give one")
    near_hint = ab_distance_near(hinted["image"], 300, 200, green)
    without = ab_distance_near(plain["image"], 300, 200, green)
    assert near_hint < 0.75 * without  # measured over HTTP: 34.3 against 70.8


def test_colourise_uses_the_registered_champion_by_default(
    tracked_project: Path, tmp_path: Path
) -> None:
    real_photo("coffee").resize((96, 64)).save(tmp_path / "coffee.png")
    result = subprocess.run(
        [str(BIN / "colourise"), str(tmp_path / "coffee.png"), "-o", str(tmp_path / "out")],
        cwd=tracked_project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "model: models:/image-colourisation@champion" in result.stderr
    assert "runtime: onnx\n" in result.stderr  # the registered version's ONNX export
    assert Image.open(tmp_path / "out" / "coffee.png").size == (96, 64)
