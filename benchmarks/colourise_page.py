"""Time from upload to result on the colourise page, for a 1024x768 photo, as a user sees it,
and then the time each change of a colour hint takes to show its result.

    .venv/bin/python -m benchmarks.colourise_page [--model SOURCE | --stand-in] [--repeats 3]
        [--updates 10] [--format jpeg|png]

Starts `colourise --serve` from the project root (so the page offers what a user there gets:
the champion, else the latest trained GAN, unless `--model`), opens the page in Debian's
chromium (as the browser tests do), and picks the same photo `--repeats` times: scikit-image's
astronaut scaled to 1024x768 as a gray JPEG (or PNG). Each time is from handing the file to the
page until the page shows the colourised result. The page starts loading its default model when
it opens; the first photo, sent at once, waits for it.

Then, on the last photo, it clicks a point (a hint) and changes that hint's colour `--updates`
times through the colour picker, each time until the page shows the new result (the photo is
sent again with the hints: the page keeps nothing on the server). `--stand-in` times an
untrained generator of the photo pipeline's shape (width 32, depth 7, hint inputs, render size
128: conf/base/parameters_photos.yml) where no trained one is at hand: the time does not
depend on the weights.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import generator_payload
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.browser.servers import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COLOURS = ("#ff0000", "#2060ff")  # the picker alternates: every change is a real one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--model", help="the page's model (default: the command's default)")
    models.add_argument(
        "--stand-in", action="store_true", help="an untrained hint generator, photo-sized"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--updates", type=int, default=10, help="hint changes to time (0: none)")
    parser.add_argument("--format", choices=("jpeg", "png"), default="jpeg")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / f"astronaut-1024x768.{'jpg' if args.format == 'jpeg' else 'png'}"
        Image.fromarray(data.astronaut()).convert("L").resize((1024, 768)).save(photo, quality=92)
        model = args.model or (stand_in(Path(folder)) if args.stand_in else None)
        port = free_port()
        command = [str(BIN / "colourise"), "--serve", "--port", str(port)]
        command += ["--model", model] if model else []
        url = f"http://127.0.0.1:{port}"
        with (
            serve(command, ROOT, f"{url}/", Path(folder) / "server.log"),
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            expect(page.locator("#model option").first).to_be_attached(timeout=60_000)
            print(f"model: {page.locator('#model').input_value()}")
            times = []
            for index in range(args.repeats):
                start = time.perf_counter()
                page.locator("#files").set_input_files(photo)
                status = page.locator("article.photo .status").nth(index)
                expect(status).to_contain_text("colourised, 1024 × 768", timeout=120_000)
                times.append(time.perf_counter() - start)
                print(f"upload {index + 1}: {times[-1]:.2f} s")
            if args.updates:
                time_hint_updates(page, args.updates)
            browser.close()
    later = f"; later ones median {statistics.median(times[1:]):.2f} s" if len(times) > 1 else ""
    print(f"1024x768 upload to result: first (loads the model) {times[0]:.2f} s{later}")


def stand_in(folder: Path) -> str:
    """An untrained generator shaped as the photos pipeline trains one, as a payload file."""
    torch.manual_seed(0)
    generator = Generator(width=32, depth=7, hints=True)
    path = folder / "stand-in-generator.pt"
    torch.save(generator_payload(generator) | {"render_size": 128}, path)
    return str(path)


def time_hint_updates(page, count: int) -> None:
    """Put a hint on the last photo, then change its colour `count` times; print each time
    from the change to the new result shown, and the page's own figure (its request sent to
    the result decoded)."""
    card = page.locator("article.photo").last
    if "cannot take colour hints" in card.locator(".hints .note").inner_text():
        print("hint updates: not timed, this model cannot take colour hints")
        return
    card.locator("img.before").click()  # the middle of the photo
    expect(card).to_have_attribute("data-updates", "1", timeout=120_000)
    seen, page_seconds = [], []
    shown = card.element_handle()
    for index in range(count):
        start = time.perf_counter()
        card.locator("input.colour").fill(COLOURS[index % 2])
        page.wait_for_function(  # every frame: expect's polling backs off to a second
            "([card, count]) => card.dataset.updates === count",
            arg=[shown, str(index + 2)],
            polling="raf",
            timeout=120_000,
        )
        seen.append(time.perf_counter() - start)
        page_seconds.append(float(card.get_attribute("data-seconds")))
        print(f"hint update {index + 1}: {seen[-1]:.3f} s (page: {page_seconds[-1]:.3f} s)")
    print(
        f"1024x768 hint change to result: median {statistics.median(seen):.3f} s, "
        f"max {max(seen):.3f} s over {count} (page's own: median "
        f"{statistics.median(page_seconds):.3f} s)"
    )


if __name__ == "__main__":
    main()
