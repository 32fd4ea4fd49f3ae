"""Time from upload to result on the colourise page, for a 1024x768 photo, as a user sees it.

    .venv/bin/python -m benchmarks.colourise_page [--model SOURCE] [--repeats 3]

Starts `colourise --serve` from the project root (so the page offers what a user there gets:
the champion, else the latest trained GAN, unless `--model`), opens the page in Debian's
chromium (as the browser tests do), and picks the same photo `--repeats` times: scikit-image's
astronaut scaled to 1024x768 as a gray JPEG. Each time is from handing the file to the page
until the page shows the colourised result. The page starts loading its default model when it
opens; the first photo, sent at once, waits for it.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright
from skimage import data

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.servers import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="the page's model (default: the command's default)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "astronaut-1024x768.jpg"
        Image.fromarray(data.astronaut()).convert("L").resize((1024, 768)).save(photo, quality=92)
        port = free_port()
        command = [str(BIN / "colourise"), "--serve", "--port", str(port)]
        command += ["--model", args.model] if args.model else []
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
            browser.close()
    later = f"; later ones median {statistics.median(times[1:]):.2f} s" if len(times) > 1 else ""
    print(f"1024x768 upload to result: first (loads the model) {times[0]:.2f} s{later}")


if __name__ == "__main__":
    main()
