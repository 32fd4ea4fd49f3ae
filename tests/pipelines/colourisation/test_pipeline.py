"""The colourisation pipeline: nodes, parameters, and a real `kedro run --pipelines colourisation`."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, DatasetError, Version
from PIL import Image

from image_colourisation.datasets import ModelPayloadDataset
from image_colourisation.imaging.render import DEFAULT_RENDER_SIZE
from image_colourisation.imaging.video import DEFAULT_KEY_EVERY, probe_video
from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_from_payload, generator_payload
from image_colourisation.pipelines.colourisation.nodes import colourise_photos
from image_colourisation.serving.model_sources import DEFAULT_RUNTIME
from tests.conftest import run_kedro
from tests.imaging.test_video import square_frames, write_clip
from tests.photo_models import real_photo, tiny_trained_generator
from tests.project_copy import PROJECT_ROOT


def same_weights(left: torch.nn.Module, right: torch.nn.Module) -> bool:
    pairs = zip(left.state_dict().values(), right.state_dict().values(), strict=True)
    return all(torch.equal(a, b) for a, b in pairs)


def test_the_catalog_takes_the_latest_gan_unless_colourisation_model_names_one(
    kedro_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    trained = tiny_trained_generator()
    models = kedro_project / "data/06_models/generator_gan.pt"
    ModelPayloadDataset(str(models), version=Version(None, None)).save(generator_payload(trained))
    torch.manual_seed(1)
    other = Generator(width=8)
    torch.save(generator_payload(other), tmp_path / "other.pt")
    monkeypatch.chdir(kedro_project)  # the catalog's paths are relative to the project
    named = {"colourisation": {"model": str(tmp_path / "other.pt")}}
    for runtime_params, expected in [({}, trained), (named, other)]:
        # The project's own catalog, resolved as `kedro run --params` would (no session: its
        # kedro-mlflow hooks would point this test process at the temporary MLflow store).
        config = OmegaConfigLoader(
            str(kedro_project / "conf"), base_env="base", default_run_env="local",
            runtime_params=runtime_params,
        )  # fmt: skip
        catalog = DataCatalog.from_config(config["catalog"])
        payload = catalog.get("colourisation_generator").load()
        assert same_weights(generator_from_payload(payload), expected)


def test_a_model_that_does_not_fit_stops_the_pipeline_naming_the_file(
    kedro_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Through the catalog, as `kedro run --pipelines colourisation` loads it: the newest saved
    version, or one named with --params; either way one sentence names the file."""
    payload = generator_payload(tiny_trained_generator())
    payload["architecture"] = {**payload["architecture"], "width": 1_000_000}
    models = kedro_project / "data/06_models/generator_gan.pt"
    ModelPayloadDataset(str(models), version=Version(None, None)).save(payload)
    (newest,) = models.glob("*/generator_gan.pt")
    payload["architecture"] = "width=8"
    torch.save(payload, tmp_path / "named.pt")
    monkeypatch.chdir(kedro_project)
    named = {"colourisation": {"model": str(tmp_path / "named.pt")}}
    for runtime_params, source, problem in [
        ({}, f"data/06_models/generator_gan.pt/{newest.parent.name}", "width is 1000000"),
        (named, f"Model source {str(tmp_path / 'named.pt')!r}", "architecture record is a str"),
    ]:
        config = OmegaConfigLoader(
            str(kedro_project / "conf"), base_env="base", default_run_env="local",
            runtime_params=runtime_params,
        )  # fmt: skip
        catalog = DataCatalog.from_config(config["catalog"])
        with pytest.raises((ValueError, DatasetError), match=problem) as error:
            # a named model is checked when the catalog loads it, the newest by the node
            colourise_photos({}, catalog.get("colourisation_generator").load(), 64, 8)
        assert f"{source}" in str(error.value) and "is not a usable generator" in str(error.value)


def test_colourise_photos_is_lazy_and_keeps_names():
    loads = []

    def loader(name: str):
        def load() -> Image.Image:
            loads.append(name)
            return real_photo(name)

        return load

    photos = {"rocket.jpg": loader("rocket"), "1969/cat.png": loader("chelsea")}
    coloured = colourise_photos(photos, generator_payload(tiny_trained_generator()), 64, 8)
    assert sorted(coloured) == ["1969/cat.png", "rocket.jpg"]
    assert loads == []  # nothing read until the output folder saves it
    (cat,) = coloured["1969/cat.png"]()  # a still photo: one frame
    assert cat.size == (451, 300)
    assert loads == ["chelsea"]


def test_colourise_photos_checks_render_size_before_any_work():
    with pytest.raises(ValueError, match="multiple of 32"):
        colourise_photos({}, generator_payload(tiny_trained_generator()), 48, 8)


def test_pipeline_defaults_are_the_command_defaults():
    parameters = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/parameters_colourisation.yml").read_text()
    )
    assert parameters["colourisation"] == {
        "render_size": DEFAULT_RENDER_SIZE,
        "runtime": DEFAULT_RUNTIME,
        "key_every": DEFAULT_KEY_EVERY,
    }


def test_kedro_run_colourises_the_photos_folder(kedro_project: Path):
    """One real run: the latest generator_gan, a sub-folder, and an output the user already has."""
    models = kedro_project / "data/06_models/generator_gan.pt"
    ModelPayloadDataset(str(models), version=Version(None, None)).save(
        generator_payload(tiny_trained_generator())
    )
    photos = kedro_project / "data/01_raw/photos"
    (photos / "1969").mkdir(parents=True)
    real_photo("rocket").save(photos / "rocket.jpg")
    real_photo("coffee").save(photos / "coffee.jpg")
    real_photo("chelsea").convert("L").save(photos / "1969" / "cat.png")
    frames = [
        real_photo("astronaut").convert("L").crop((60 * i, 0, 60 * i + 64, 48)) for i in (0, 1)
    ]
    frames[0].save(photos / "wave.gif", save_all=True, append_images=frames[1:], duration=90)
    write_clip(photos / "film.mp4", square_frames(9), "libx264")  # a video: key frames
    (photos / "passwd.jpg").symlink_to(kedro_project / "pyproject.toml")  # out of the folder
    (photos / ".gitkeep").touch()
    out = kedro_project / "data/07_model_output/colourised"
    out.mkdir(parents=True)
    (out / "rocket.jpg").write_bytes(b"the user's own edit")

    result = run_kedro(kedro_project, "run", "--pipelines", "colourisation")

    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "1969/cat.png",
        "coffee.jpg",
        "film.mp4",
        "rocket.jpg",
        "wave.gif",
    ]
    assert (out / "rocket.jpg").read_bytes() == b"the user's own edit"
    log = result.stdout + result.stderr
    assert "Skipped rocket.jpg" in log
    assert "Wrote 4 photos" in log
    assert "Skipped passwd.jpg: links to" in " ".join(log.split())  # the log wraps lines
    with Image.open(out / "wave.gif") as wave:
        assert (wave.n_frames, wave.info["duration"]) == (2, 90)
    film = probe_video(out / "film.mp4")
    assert (film.width, film.height, film.frames, film.rate) == (64, 48, 9, 25)
    for name, image_format, size in [
        ("coffee.jpg", "JPEG", (600, 400)),
        ("1969/cat.png", "PNG", (451, 300)),
    ]:
        with Image.open(out / name) as image:
            assert (image.format, image.size, image.mode) == (image_format, size, "RGB")
    colour = np.asarray(Image.open(out / "1969/cat.png"), dtype=np.int16)
    assert np.abs(colour[..., 0] - colour[..., 2]).mean() > 5  # not gray: R and B differ
