"""The colourise page (`colourise --serve`) in a real browser: the registry's champion is the
default model, photos come back at full size, bad files and models are named, nothing is kept
unless asked and nothing saved is overwritten; hints guide the colours, and a model that
cannot take them says so; a result says which model and size made it and offers to be redone
when another is chosen; on a phone the page is one column and a hint leaves its pixel in sight."""

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.models.payloads import generator_payload
from image_colourisation.serving.registry import CHAMPION, MODEL_NAME, SERVED_GENERATOR
from tests.browser.chromium import BIN
from tests.browser.servers import free_port, serve
from tests.photo_models import hint_model, photo_model, real_photo, tiny_trained_generator

CHAMPION_SOURCE = f"models:/{MODEL_NAME}@{CHAMPION}"


class RegisteredColouriser(mlflow.pyfunc.PythonModel):
    """Stands in for kedro-mlflow's pipeline model: the page reads only its generator artifact."""

    def predict(self, context, model_input: pd.DataFrame, params=None):  # typed, as MLflow asks
        raise NotImplementedError("the page never runs the registered pipeline")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root after training: the tiny generator saved as the newest GAN and L1
    baseline in `data/06_models/` (the registry comes with the page, `register_champion`), and
    the pyproject.toml by which `colourise` knows its project."""
    (tmp_path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "image_colourisation"\n')
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

    page.goto(colourise_page, wait_until="domcontentloaded")
    # The choices are there as the page opens, not a request later: read without waiting.
    assert page.locator("#model").input_value() == CHAMPION_SOURCE
    assert page.locator("#limit").inner_text() == "1"
    options = page.locator("#model option").all_inner_texts()
    assert options[0].startswith(f"{MODEL_NAME}@{CHAMPION} (version 1")
    assert f"{MODEL_NAME} version 1" in options
    assert any(text.startswith("latest trained GAN") for text in options)
    assert any(text.startswith("latest L1 baseline") for text in options)
    expect(page.locator("#render-size")).to_have_value("")  # the model's own, else 64
    expect(page.locator("#render-size option").first).to_have_text(
        "the model's own (64 px: it records no training size)"
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


def result_lab(path: Path | str) -> np.ndarray:
    with Image.open(path) as result:
        return rgb_to_lab(np.asarray(result.convert("RGB")))


def download(page: Page, link: Locator, folder: Path, name: str) -> Path:
    with page.expect_download() as started:
        link.click()
    target = folder / name
    started.value.save_as(target)
    return target


def on_screen(photo: Locator, pixel: tuple[int, int], size: tuple[int, int]) -> tuple[float, float]:
    """Where the middle of photo pixel (x, y) of a photo of `size` (width, height) is shown."""
    box = photo.bounding_box()
    return tuple(
        box[side] + (position + 0.5) * box[extent] / length
        for side, extent, position, length in zip(
            "xy", ("width", "height"), pixel, size, strict=True
        )
    )


def hint_position(marker: Locator) -> tuple[int, int]:
    """The photo pixel a hint's marker says it is at."""
    found = re.match(r"hint at (\d+), (\d+): ", marker.get_attribute("aria-label") or "")
    assert found, marker.get_attribute("aria-label")
    return int(found[1]), int(found[2])


def test_a_red_hint_turns_its_region_red_and_hints_move_save_load_and_go(
    page: Page,
    colourise_page: str,
    project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> None:
    """Guided colourisation on the page: a click puts a hint (with the model's colours there
    as swatches), red from the picker turns that region red and leaves the rest as the
    automatic result had it; the hints save as the JSON `colourise --hints` reads, move, go and
    come back from that file; the download is the hinted result at full size."""
    hint_model(project)  # generator_hints.pt in the page's folder
    photos = tmp_path_factory.mktemp("photos")
    photo = photos / "astronaut.png"
    real_photo("astronaut").convert("L").save(photo)
    page.goto(colourise_page)
    expect(page.locator("#model option").first).to_be_attached()
    page.locator("#model-file").fill("generator_hints.pt")
    page.locator("#files").set_input_files(photo)
    result = card(page, "astronaut.png")
    expect(result.locator(".status")).to_contain_text("colourised, 512 × 512 px", timeout=60_000)
    note = result.locator(".hints .note")
    expect(note).to_have_text("Click the gray photo (Before) to put a colour hint there.")
    automatic = result_lab(download(page, result.locator("a.download"), photos, "automatic.png"))

    page.mouse.click(*on_screen(result.locator("img.before"), (256, 256), (512, 512)))
    expect(result).to_have_attribute("data-updates", "1")
    expect(result.locator(".suggested .swatch").first).to_be_visible()  # the model's colours
    result.locator("input.colour").fill("#ff0000")
    expect(result).to_have_attribute("data-updates", "2")
    expect(result.locator(".status")).to_contain_text("with 1 hint (updated in")
    x, y = hint_position(result.locator("button.hint"))  # the pixel under the pointer: the
    assert abs(x - 256) <= 1 and abs(y - 256) <= 1  # photo is shown smaller than 1:1
    hinted = result_lab(download(page, result.locator("a.download"), photos, "hinted.png"))
    assert hinted.shape == automatic.shape == (512, 512, 3)  # the download: full size
    redder = hinted[..., 1] - automatic[..., 1]  # a*: green -> red
    assert redder[y - 16 : y + 16, x - 16 : x + 16].mean() > 15
    far = np.ones(redder.shape, bool)
    far[128:384, 128:384] = False
    assert np.abs(hinted - automatic)[far][:, 1:].mean() < 0.5
    page.evaluate("document.activeElement.blur()")
    page.screenshot(path=artifacts / "colourise-page-hints.png", full_page=True)

    saved = download(page, result.locator("button.save"), photos, "astronaut.hints.json")
    assert json.loads(saved.read_text()) == [{"x": x, "y": y, "colour": "#ff0000"}]
    move_remove_and_load_again(page, result, saved, automatic, hinted)
    slider = result.locator("input.reveal")
    slider.fill("100")
    assert (
        result.locator(".reveal-box").evaluate("box => box.style.getPropertyValue('--reveal')")
        == "100%"
    )


def move_remove_and_load_again(
    page: Page, result: Locator, saved: Path, automatic: np.ndarray, hinted: np.ndarray
) -> None:
    """Drag the one hint, delete it (the automatic result is back), load `saved` (the hinted
    result is back, exactly)."""
    photos = saved.parent
    marker = result.locator("button.hint")
    start = marker.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(*on_screen(result.locator("img.before"), (100, 400), (512, 512)), steps=5)
    page.mouse.up()
    expect(result).not_to_have_attribute("data-updates", re.compile(r"^[12]$"))
    x, y = hint_position(marker)
    assert abs(x - 100) <= 1 and abs(y - 400) <= 1

    marker.press("Delete")
    expect(marker).to_have_count(0)
    expect(result.locator(".status")).to_contain_text("with 0 hints")
    unhinted = result_lab(download(page, result.locator("a.download"), photos, "none.png"))
    np.testing.assert_array_equal(unhinted, automatic)  # no hints: the automatic result again

    result.locator(".hints .load input").set_input_files(saved)
    expect(marker).to_have_count(1)
    expect(result.locator(".status")).to_contain_text("with 1 hint")
    loaded = result_lab(download(page, result.locator("a.download"), photos, "loaded.png"))
    np.testing.assert_array_equal(loaded, hinted)


def test_a_model_without_hint_inputs_says_so_and_keeps_its_automatic_colouring(
    page: Page, colourise_page: str, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> None:
    photos = tmp_path_factory.mktemp("photos")
    photo = photos / "coffee.png"
    real_photo("coffee").convert("L").save(photo)
    page.goto(colourise_page)
    expect(page.locator("#model")).to_have_value(CHAMPION_SOURCE)  # trained before hints
    page.locator("#files").set_input_files(photo)
    result = card(page, "coffee.png")
    expect(result.locator(".status")).to_contain_text("colourised, 600 × 400 px", timeout=60_000)
    note = result.locator(".hints .note")
    expect(note).to_have_text(re.compile(r"^This model cannot take colour hints"))
    automatic = result_lab(download(page, result.locator("a.download"), photos, "automatic.png"))

    page.mouse.click(*on_screen(result.locator("img.before"), (300, 200), (600, 400)))
    expect(note).to_contain_text(
        f"Model {CHAMPION_SOURCE}: This generator was trained without hint inputs, so it "
        "cannot take colour hints"
    )
    expect(note).to_contain_text("The result shown is the last one that worked.")
    assert note.get_attribute("role") == "alert"
    page.screenshot(path=artifacts / "colourise-page-no-hints.png", full_page=True)
    kept = result_lab(download(page, result.locator("a.download"), photos, "kept.png"))
    np.testing.assert_array_equal(kept, automatic)


def test_a_result_says_what_made_it_and_offers_a_redo_when_another_model_or_size_is_chosen(
    page: Page, colourise_page: str, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each card names its model and render size; choosing another model (or size) marks the
    card and offers one button that redoes it with them, and the sizes the chosen model was
    not trained at say so."""
    photo_model(project, 128)  # generator_gan.pt in the page's folder, trained at 128
    photos = tmp_path_factory.mktemp("photos")
    photo = photos / "coffee.png"
    real_photo("coffee").convert("L").save(photo)
    page.goto(colourise_page)
    expect(page.locator("#model-note")).to_contain_text("records no render size it was trained")
    page.locator("#files").set_input_files(photo)
    result = card(page, "coffee.png")
    made, redo = result.locator(".made-by"), result.locator("button.redo")
    expect(made).to_have_text(
        f"Made by {MODEL_NAME}@{CHAMPION} (version 1) at render size 64 px (the model records "
        "no render size it was trained at).",
        timeout=60_000,
    )
    expect(redo).to_be_hidden()

    page.locator("#model").select_option("data/06_models/generator_l1.pt")
    l1 = "latest L1 baseline (data/06_models/generator_l1.pt)"
    expect(redo).to_have_text(f"Redo with {l1} at 64 px")
    expect(made).to_contain_text(f"Made by {MODEL_NAME}@{CHAMPION}")  # until it is redone
    expect(made).to_have_class(re.compile(r"\bstale\b"))
    redo.click()
    expect(made).to_contain_text(f"Made by {l1} at render size 64 px")
    expect(redo).to_be_hidden()
    expect(result).to_have_attribute("data-model", "data/06_models/generator_l1.pt")

    page.locator("#model-file").fill("generator_gan.pt")
    page.locator("#model-file").blur()  # a change: the page asks what the model is
    sizes = page.locator("#render-size")
    expect(sizes.locator("option").first).to_have_text(
        "the model's own (128 px, its training size)"
    )
    expect(sizes.locator("option[value='128']")).to_have_text("128 px (trained at this size)")
    expect(sizes.locator("option[value='256']")).to_have_text("256 px (not trained at this size)")
    expect(redo).to_have_text("Redo with generator_gan.pt at 128 px")
    sizes.select_option("256")
    expect(redo).to_have_text("Redo with generator_gan.pt at 256 px")
    redo.click()
    expect(made).to_have_text(
        "Made by generator_gan.pt at render size 256 px (not trained at this size: it was "
        "trained at 128 px)."
    )
    expect(result).to_have_attribute("data-render-size", "256")
    expect(redo).to_be_hidden()


PHONE = {"width": 390, "height": 844}


def test_on_a_phone_the_page_is_one_column_and_a_hint_leaves_its_pixel_in_sight(
    browser: Browser, colourise_page: str, project: Path, tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> None:  # fmt: skip
    """On a 390-px screen nothing scrolls sideways and a colour photo's card stacks: the gray
    photo the model saw (gray in every pixel), the result, the colour original, the hint
    tools. A hint's marker is a small ring whose centre shows the pixel under it."""
    hint_model(project)
    photos = tmp_path_factory.mktemp("photos")
    photo = photos / "coffee.png"
    real_photo("coffee").save(photo)  # in colour: the original is offered too
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(colourise_page)
        page.locator("#model-file").fill("generator_hints.pt")
        page.locator("#files").set_input_files(photo)
        result = card(page, "coffee.png")
        expect(result.locator(".hints .note")).to_have_text(
            "Click the gray photo (Before) to put a colour hint there.", timeout=60_000
        )
        before = result.locator("img.before")
        assert before.evaluate(
            """image => {
                const canvas = document.createElement("canvas");
                [canvas.width, canvas.height] = [image.naturalWidth, image.naturalHeight];
                const context = canvas.getContext("2d");
                context.drawImage(image, 0, 0);
                const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < pixels.length; i += 4) {
                    if (pixels[i] !== pixels[i + 1] || pixels[i + 1] !== pixels[i + 2]) return false;
                }
                return canvas.width === 600 && canvas.height === 400;
            }"""
        )
        expect(result.locator("figure", has=page.locator("img.original"))).to_contain_text(
            "Original: your colour photo"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        stack = [
            page.locator(".settings"), before, result.locator("img.after"),
            result.locator("img.original"), result.locator(".hints"),
        ]  # fmt: skip
        boxes = [part.bounding_box() for part in stack]
        for upper, lower in zip(boxes, boxes[1:], strict=False):
            assert upper["y"] + upper["height"] <= lower["y"] + 1, (upper, lower)
        assert all(0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"] for box in boxes)

        before.scroll_into_view_if_needed()
        page.mouse.click(*on_screen(before, (300, 200), (600, 400)))
        expect(result).to_have_attribute("data-updates", "1")
        marker = result.locator("button.hint")
        assert marker.evaluate("m => getComputedStyle(m).backgroundColor") == "rgba(0, 0, 0, 0)"
        ring = marker.bounding_box()
        assert ring["width"] <= 24 and ring["height"] <= 24
        centre = {"x": ring["x"] + ring["width"] / 2 - 3, "y": ring["y"] + ring["height"] / 2 - 3}
        clip = centre | {"width": 6, "height": 6}
        marked = page.screenshot(clip=clip)
        marker.evaluate("m => m.style.visibility = 'hidden'")
        assert page.screenshot(clip=clip) == marked  # the centre shows the photo itself
        edge = {"x": ring["x"], "y": centre["y"], "width": 3, "height": 6}
        hidden = page.screenshot(clip=edge)
        marker.evaluate("m => m.style.visibility = ''")
        assert page.screenshot(clip=edge) != hidden  # while the ring itself is drawn
        page.screenshot(path=artifacts / "colourise-page-phone.png", full_page=True)
    finally:
        context.close()
