"""The colourise page (`colourise --serve`) in a real browser: the registry's champion is the
default model, photos come back at full size, bad files and models are named, nothing is kept
unless asked and nothing saved is overwritten."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from image_colourisation.colour import rgb_to_lab
from image_colourisation.payloads import generator_payload
from image_colourisation.serving.registry import CHAMPION, MODEL_NAME, SERVED_GENERATOR
from tests.browser.conftest import BIN
from tests.browser.servers import free_port, serve
from tests.photo_models import real_photo, tiny_trained_generator

CHAMPION_SOURCE = f"models:/{MODEL_NAME}@{CHAMPION}"


class RegisteredColouriser(mlflow.pyfunc.PythonModel):
    """Stands in for kedro-mlflow's pipeline model: the page reads only its generator artifact."""

    def predict(self, context, model_input, params=None):
        raise NotImplementedError("the page never runs the registered pipeline")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root after training: the tiny generator saved as the newest GAN and L1
    baseline in `data/06_models/` (the registry comes with the page, `register_champion`)."""
    payload = generator_payload(tiny_trained_generator())
    for variant in ("gan", "l1"):
        version = tmp_path / f"data/06_models/generator_{variant}.pt/2026-01-01T00.00.00.000Z"
        version.mkdir(parents=True)
        torch.save(payload, version / f"generator_{variant}.pt")
    return tmp_path


def register_champion(project: Path) -> None:
    """The newest GAN registered as the champion in the project's `mlflow.db`, as a `kedro run`
    leaves it (kedro-mlflow's pipeline model holds the generator as an artifact)."""
    (payload,) = project.glob("data/06_models/generator_gan.pt/*/generator_gan.pt")
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    try:
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="colouriser", python_model=RegisteredColouriser(),
                artifacts={SERVED_GENERATOR: str(payload)}, registered_model_name=MODEL_NAME,
                pip_requirements=[],
            )  # fmt: skip
        mlflow.MlflowClient().set_registered_model_alias(
            MODEL_NAME, CHAMPION, info.registered_model_version
        )
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture
def colourise_page(project: Path, artifacts: Path) -> Iterator[str]:
    """`colourise --serve` from the project root on a free port, photos up to 1 MB; stopped by
    its PID (process group) when the test ends. The MLflow store is created while it starts
    (seconds each): the page reads the registry when it is loaded."""
    port = free_port()
    command = [str(BIN / "colourise"), "--serve", "--port", str(port)]
    command += ["--max-upload-mb", "1", "-o", "kept"]
    url = f"http://127.0.0.1:{port}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        registered = pool.submit(register_champion, project)
        with serve(command, project, f"{url}/", artifacts / "colourise-page.log"):
            registered.result()
            yield url


def card(page: Page, name: str, index: int = 0) -> Locator:
    return page.locator(f"article.photo[data-name='{name}']").nth(index)


def drop_file(page: Page, name: str, content: bytes) -> None:
    """Drag a file onto the drop zone, as a person dropping it from their file manager."""
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name));
            return transfer;
        }""",
        [name, list(content)],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def test_photos_are_colourised_at_full_size_and_bad_files_are_named(
    page: Page,
    colourise_page: str,
    project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> None:
    photos = tmp_path_factory.mktemp("photos")
    photo = photos / "astronaut.png"
    real_photo("astronaut").convert("L").save(photo)
    noise = photos / "noise.png"  # over the 1 MB limit: refused before it is sent
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (800, 800, 3), np.uint8)).save(noise)

    page.goto(colourise_page)
    expect(page.locator("#model")).to_have_value(CHAMPION_SOURCE)
    options = page.locator("#model option").all_inner_texts()
    assert options[0].startswith(f"{MODEL_NAME}@{CHAMPION} (version 1")
    assert f"{MODEL_NAME} version 1" in options
    assert any(text.startswith("latest trained GAN") for text in options)
    assert any(text.startswith("latest L1 baseline") for text in options)
    expect(page.locator("#render-size")).to_have_value("")  # the model's own, else 64
    expect(page.locator("#render-size option").first).to_have_text(
        "the model's own (64 px if it records none)"
    )

    page.locator("#files").set_input_files([photo, noise])
    drop_file(page, "broken.jpg", b"this is not a photo")
    expect(page.locator("#summary")).to_have_text(  # the first photo loads the model too
        "1 of 3 photos colourised, 2 failed.", timeout=60_000
    )
    expect(card(page, "broken.jpg").locator(".status")).to_contain_text(
        "broken.jpg is not a photo this page can read"
    )
    expect(card(page, "noise.png").locator(".status")).to_contain_text(
        "is larger than this page takes (1 MB)"
    )
    result = card(page, "astronaut.png")
    expect(result.locator(".status")).to_contain_text("colourised, 512 × 512 px")
    for side in ("before", "after"):
        assert result.locator(f"img.{side}").evaluate("image => image.naturalWidth") == 512
    page.evaluate("document.activeElement.blur()")
    page.screenshot(path=artifacts / "colourise-page.png", full_page=True)

    with page.expect_download() as download:
        result.locator("a.download").click()
    assert download.value.suggested_filename == "astronaut.png"
    coloured = np.asarray(Image.open(download.value.path()).convert("RGB"))
    original = np.asarray(Image.open(photo).convert("RGB"))
    assert coloured.shape == original.shape
    assert np.abs(rgb_to_lab(coloured)[..., 0] - rgb_to_lab(original)[..., 0]).max() < 1
    assert np.mean(coloured.max(axis=-1) > coloured.min(axis=-1)) > 0.5  # not gray
    assert not (project / "kept").exists()  # nothing uploaded is kept unless asked

    page.locator("#model-file").fill("missing/generator.pt")
    page.locator("#files").set_input_files(photo)
    expect(card(page, "astronaut.png", 1).locator(".status")).to_contain_text(
        "The model cannot be loaded. Model source 'missing/generator.pt' does not exist"
    )

    page.locator("#model-file").fill("")
    page.locator("#save").check()
    for index, said in [(2, "Saved as"), (3, "Not saved: ")]:
        page.locator("#files").set_input_files(photo)
        expect(card(page, "astronaut.png", index).locator(".status")).to_contain_text(said)
    assert [path.name for path in (project / "kept").iterdir()] == ["astronaut.png"]
    with Image.open(project / "kept" / "astronaut.png") as kept:
        assert np.array_equal(np.asarray(kept.convert("RGB")), coloured)
