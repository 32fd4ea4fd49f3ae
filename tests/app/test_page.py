"""`colourise --serve` refuses what it cannot do before it starts, the page's model list, and
what its answers carry: results, hints, the gray "before", which model and size made a result.

The page itself is driven in a browser by tests/browser/test_colourise_page.py.
"""

import asyncio
import io
import json
import re
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlencode

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException
from PIL import Image

from image_colourisation.app import page
from image_colourisation.app.cli import EXIT_USAGE, main
from image_colourisation.app.hinting import SUGGESTIONS
from image_colourisation.app.model_choices import ModelChoice, model_choices
from image_colourisation.app.page import (
    PageSettings,
    create_app,
    open_upload,
    page_url,
    save_copy,
)
from image_colourisation.core.locks import OUTPUT_LOCK_NAME
from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import NO_HINT_INPUTS, Hint
from image_colourisation.imaging.render import colourise_image, photo_ab, photo_lightness
from image_colourisation.serving.model_sources import LATEST_GAN
from tests.browser.servers import free_port
from tests.claimed_files import claimed_gif
from tests.lock_holder import start_lock_holder
from tests.photo_models import (
    hint_model,
    page_hint_generator,
    photo_model,
    real_photo,
    tiny_trained_generator,
)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--serve", "photo.jpg"], "--serve takes no PATH: drop the photos on the page instead"),
        ([], "give the photos or folders to colourise, or --serve for the page"),
        (
            ["--serve", "--max-upload-mb", "0"],
            "argument --max-upload-mb: the size in MB is 0.0; allowed: a number in (0, 100000]",
        ),
    ],
)
def test_usage_errors_name_the_problem(
    args: list[str], problem: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == EXIT_USAGE
    assert problem in capsys.readouterr().err


def test_a_port_in_use_is_a_usage_error_before_anything_starts(
    capsys: pytest.CaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            main(["--serve", "--port", str(port)])
    assert stopped.value.code == EXIT_USAGE
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_trained_models_are_offered_and_the_default_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no mlflow.db here: nothing registered, and none created
    (tmp_path / "data/06_models/generator_gan.pt").mkdir(parents=True)
    (tmp_path / "data/06_models/generator_l1.pt").mkdir(parents=True)
    gan = ModelChoice(
        "data/06_models/generator_gan.pt", "latest trained GAN (data/06_models/generator_gan.pt)"
    )
    l1 = ModelChoice(
        "data/06_models/generator_l1.pt", "latest L1 baseline (data/06_models/generator_l1.pt)"
    )
    assert model_choices(gan.source) == [gan, l1]
    assert model_choices(l1.source) == [l1, gan]
    assert model_choices("old/grandpa.pt") == [
        ModelChoice("old/grandpa.pt", "old/grandpa.pt"),
        gan,
        l1,
    ]
    (tmp_path / "data/06_models/photos/generator_gan.pt").mkdir(parents=True)  # photos pipeline
    photos = ModelChoice(
        "data/06_models/photos/generator_gan.pt",
        "latest photo-trained GAN (data/06_models/photos/generator_gan.pt)",
    )
    assert model_choices(gan.source) == [gan, l1, photos]
    assert model_choices(photos.source) == [photos, gan, l1]
    assert not (tmp_path / "mlflow.db").exists()


def test_without_a_render_size_each_photo_is_rendered_at_its_models_own(tmp_path: Path) -> None:
    """`colourise --serve` with no --render-size: the page offers the model's own size, and a
    photo sent without one comes back as `colourise_image` renders it at the recorded 128."""
    model = photo_model(tmp_path, 128)
    settings = PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the page did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api"
        with urllib.request.urlopen(f"{url}/config", timeout=60) as answer:
            assert json.load(answer)["render_size"] is None
        photo = real_photo("coffee").convert("L")
        upload = io.BytesIO()
        photo.save(upload, "PNG")
        query = urlencode({"name": "coffee.png", "model": str(model)})
        request = urllib.request.Request(f"{url}/colourise?{query}", upload.getvalue())
        with urllib.request.urlopen(request, timeout=60) as answer:
            result = np.asarray(Image.open(io.BytesIO(answer.read())))
    finally:
        server.should_exit = True
        thread.join()
    expected = colourise_image(photo, tiny_trained_generator(), 128)
    np.testing.assert_array_equal(result, np.asarray(expected))


def test_an_upload_over_pillows_pixel_limit_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.BytesIO()
    Image.new("L", (80, 60)).save(buffer, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)  # 80x60 is over twice that
    with pytest.raises(HTTPException) as refused:
        open_upload(buffer.getvalue(), "scan.png")
    assert refused.value.status_code == 413
    assert refused.value.detail.startswith("scan.png has too many pixels to open safely")
    assert refused.value.detail.endswith("shrink it below 0.004 megapixels first.")


def ask_page(
    app: FastAPI,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    *,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request sent straight into the page's ASGI app: no
    server, no browser. A POST when there is a body, unless `method` says otherwise; headers
    as a browser (or a foreign site) sends them, the page's own address as Host unless told
    otherwise; `extra_headers` after them (a second Host, as no browser sends)."""
    target, _, query = path.partition("?")
    headers = {"host": "127.0.0.1:8000"} | (headers or {})
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method or ("POST" if body else "GET"), "scheme": "http", "root_path": "",
        "path": target, "raw_path": target.encode(), "query_string": query.encode(),
        "headers": [
            (key.lower().encode(), value.encode())
            for key, value in [*headers.items(), *extra_headers]
        ],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    with ThreadPoolExecutor(1) as thread:  # its own event loop, also beside Playwright's
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    (start,) = [message for message in sent if message["type"] == "http.response.start"]
    headers = {key.decode().lower(): value.decode() for key, value in start["headers"]}
    return start["status"], headers, b"".join(message.get("body", b"") for message in sent)


def page_request(
    settings: PageSettings, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, str]:
    """(status, body text) of one request to a page with `settings` (`ask_page`)."""
    status, _, answer = ask_page(create_app(settings), path, body, headers)
    return status, answer.decode("utf-8", "replace")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_render_size_above_the_maximum_is_refused_before_the_upload_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1x1 photo at 8192 would be scaled to 8192x8192 for the generator: GBs of memory."""
    monkeypatch.chdir(tmp_path)  # the page's folder, where its model files may be
    settings = PageSettings(str(photo_model(tmp_path, None)), None, tmp_path / "kept", 1)
    dot = png_bytes(Image.new("L", (1, 1)))
    answers = {}
    for size in [8192, 1024]:
        query = urlencode({"name": "dot.png", "model": settings.default_model, "render_size": size})
        answers[size] = page_request(settings, f"/api/colourise?{query}", body=dot)
    assert answers[8192][0] == 422
    assert (
        "render_size must be a multiple of 32 from 32 to 1024 (e.g. 64), got 8192."
        in answers[8192][1]
    )
    assert answers[1024][0] == 200


@pytest.fixture
def page_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageSettings:
    """A page started in `tmp_path` (no MLflow store there) with a model file of its own."""
    monkeypatch.chdir(tmp_path)
    return PageSettings(str(photo_model(tmp_path, None)), None, tmp_path / "kept", 1)


def embedded_settings(html: str) -> dict:
    """The settings the page carries in its <script id="settings">."""
    found = re.search(r'<script id="settings" type="application/json">(.*?)</script>', html)
    assert found, "the page carries no settings"
    return json.loads(found[1])


def test_the_page_comes_with_its_settings_so_its_choices_show_at_once(
    page_settings: PageSettings,
) -> None:
    """Fetched by the page after it opened, they left its drop-downs empty for 2-3 s."""
    status, html = page_request(page_settings, "/")
    assert status == 200
    settings = embedded_settings(html)
    assert settings == json.loads(page_request(page_settings, "/api/config")[1])
    assert settings["models"][0]["source"] == page_settings.default_model
    assert settings["max_upload_mb"] == 1


def test_a_model_name_cannot_end_the_pages_script(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "</script><script>alert('&')</script>.pt"
    status, html = page_request(PageSettings(name, None, tmp_path / "kept", 1), "/")
    assert status == 200
    assert "<script>alert" not in html
    assert embedded_settings(html)["models"][0] == {"source": name, "label": name}


def _colourise_query(settings: PageSettings, **query: object) -> str:
    fields = {"name": "dot.png", "model": settings.default_model, "render_size": 32} | query
    return f"/api/colourise?{urlencode(fields)}"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "evil@127.0.0.1"]
)
def test_a_foreign_host_is_refused_everywhere(page_settings: PageSettings, host: str) -> None:
    """DNS rebinding: another site's name pointed at this computer reads as its own site."""
    for path in ["/", "/api/config"]:
        status, text = page_request(page_settings, path, headers={"host": host})
        assert status == 403
        assert f"Refused: this request calls the page {host!r}, which is not this computer" in text


def test_two_host_headers_are_refused(page_settings: PageSettings) -> None:
    status, _, body = ask_page(
        create_app(page_settings), "/api/config", headers={"host": "127.0.0.1:8000"},
        extra_headers=(("host", "evil.example"),),
    )  # fmt: skip
    assert status == 403 and b"this request has 2 Host headers" in body


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "10.1.2.3"])
def test_the_page_answers_by_its_own_addresses(page_settings: PageSettings, host: str) -> None:
    assert page_request(page_settings, "/", headers={"host": host})[0] == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999"])
def test_a_post_from_another_site_is_refused_and_saves_nothing(
    page_settings: PageSettings, origin: str
) -> None:
    """What a form on another site sends: text/plain needs no CORS preflight."""
    headers = {"origin": origin, "content-type": "text/plain"}
    query = _colourise_query(page_settings, save="true")
    status, text = page_request(page_settings, query, headers=headers, body=b"x" * 100)
    assert status == 403
    assert f"Refused: this request was sent by {origin!r}, another site than this page" in text
    assert not page_settings.output.exists()
    same_site = {"origin": "http://127.0.0.1:8000"}
    body = png_bytes(Image.new("L", (1, 1)))
    assert page_request(page_settings, query, headers=same_site, body=body)[0] == 200
    assert (page_settings.output / "dot.png").is_file()


def test_a_model_outside_the_pages_list_and_folder_is_refused_before_it_is_looked_for(
    page_settings: PageSettings,
) -> None:
    """The answers for a file that exists and one that does not are the same."""
    dot = png_bytes(Image.new("L", (1, 1)))
    answers = []
    for endpoint in ["colourise", "suggest"]:  # the swatches' endpoint loads models too
        for model in ["/etc/passwd", "/root/.ssh/id_rsa", "../outside.pt"]:
            query = _colourise_query(page_settings, model=model).replace("colourise", endpoint)
            status, text = page_request(page_settings, f"{query}&x=0&y=0", body=dot)
            answers.append((status, text.replace(json.dumps(model)[1:-1], "MODEL")))
    assert len(set(answers)) == 1
    status, text = answers[0]
    assert status == 403 and "This page colourises with the models it lists" in text
    listed = page_request(page_settings, _colourise_query(page_settings), body=dot)
    assert listed[0] == 200


def test_an_animation_claiming_20001_frames_is_refused_at_once(page_settings: PageSettings) -> None:
    """It grew without end and held the page's one worker, so every other photo waited."""
    started = time.monotonic()
    status, text = page_request(
        page_settings, _colourise_query(page_settings, name="endless.gif"),
        body=claimed_gif(1000, 1000, 20_001),
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert (
        status == 422
        and "endless.gif could not be colourised (ValueError: it has more than the 1,000 frames"
        in text
    )


def colourise_query(model: Path, hints: list[dict] | None = None, name: str = "astronaut.png"):
    query = {"name": name, "model": str(model)}
    return urlencode(query | ({"hints": json.dumps(hints)} if hints is not None else {}))


def gray_png(name: str = "astronaut") -> tuple[Image.Image, bytes]:
    photo = real_photo(name).convert("L")
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    return photo, buffer.getvalue()


def test_a_hint_turns_its_region_towards_its_colour_and_leaves_the_rest(tmp_path: Path) -> None:
    """The page's hints reach `render.colourise_frames` in the photo's pixels: the answer is
    exactly `colourise_image` with those hints, red around the red hint, as before elsewhere."""
    model = hint_model(tmp_path)
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    photo, upload = gray_png()
    red = [{"x": 256, "y": 256, "colour": "#ff0000"}]
    answers = {}
    for label, hints in [("automatic", None), ("hinted", red)]:
        status, headers, body = ask_page(
            app, f"/api/colourise?{colourise_query(model, hints)}", upload
        )
        assert status == 200, body
        assert headers["x-colourise-takes-hints"] == "true"
        answers[label] = rgb_to_lab(np.asarray(Image.open(io.BytesIO(body)).convert("RGB")))
    expected = colourise_image(photo, page_hint_generator(), 64, [Hint(256, 256, "#ff0000")])
    np.testing.assert_allclose(answers["hinted"], rgb_to_lab(np.asarray(expected)), atol=1e-4)
    near = (slice(240, 272), slice(240, 272))
    redder = answers["hinted"][..., 1] - answers["automatic"][..., 1]  # a*: green -> red
    assert redder[near].mean() > 15
    far = np.ones(redder.shape, bool)
    far[128:384, 128:384] = False
    assert np.abs(answers["hinted"] - answers["automatic"])[far][:, 1:].mean() < 0.5


@pytest.mark.parametrize(
    ("hints", "problem"),
    [
        ("[{x: 1}]", "hints is not JSON (Expecting property name enclosed in double quotes)"),
        ('{"x": 1, "y": 2, "colour": "#ff0000"}', "hints is a JSON dict; give a list"),
        ('[{"x": 1, "y": 2, "colour": "red"}]', 'hints[0] is {"x": 1, "y": 2, "colour": "red"}'),
        ('[{"x": -1, "y": 2, "colour": "#ff0000"}]', "whole pixels from 0 at the top left"),
        (
            '[{"x": 10, "y": 10, "colour": "#00ff00"}, {"x": 512, "y": 0, "colour": "#ff0000"}]',
            "astronaut.png: hint 512,0,#ff0000 is outside the 512x512 photo: x must be 0-511",
        ),
        (
            json.dumps([{"x": 1, "y": 1, "colour": "#ff0000"}] * 501),
            "501 hints are more than one photo takes (500)",
        ),
    ],
)
def test_bad_hints_are_a_400_that_says_what_is_wrong(
    hints: str, problem: str, tmp_path: Path
) -> None:
    model = photo_model(tmp_path, None)
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    query = urlencode({"name": "astronaut.png", "model": str(model), "hints": hints})
    for endpoint in ("colourise", "suggest"):
        point = "&x=5&y=5" if endpoint == "suggest" else ""
        status, _, body = ask_page(app, f"/api/{endpoint}?{query}{point}", gray_png()[1])
        assert status == 400
        assert problem in json.loads(body)["detail"]


def test_a_model_without_hint_inputs_says_so_and_still_colourises(tmp_path: Path) -> None:
    """The page learns from the first answer that the model takes no hints, and hints sent to
    it anyway are refused with the reason and the fix, not a failure inside the network."""
    model = photo_model(tmp_path, None)  # trained before hints: one input channel
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    upload = gray_png()[1]
    status, headers, _ = ask_page(app, f"/api/colourise?{colourise_query(model)}", upload)
    assert (status, headers["x-colourise-takes-hints"]) == (200, "false")
    red = [{"x": 256, "y": 256, "colour": "#ff0000"}]
    status, _, body = ask_page(app, f"/api/colourise?{colourise_query(model, red)}", upload)
    assert status == 422
    assert json.loads(body)["detail"] == f"Model {model}: {NO_HINT_INPUTS}"


def test_suggestions_are_the_models_colours_around_the_point(tmp_path: Path) -> None:
    """The first swatch is the model's a*b* at the point (at the swatch's lightness); the
    others are colours of the neighbourhood unlike it; a point outside the photo is a 400."""
    model = photo_model(tmp_path, None)
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    photo, upload = gray_png()
    query = f"{colourise_query(model)}&x=300&y=100"
    status, _, body = ask_page(app, f"/api/suggest?{query}", upload)
    assert status == 200, body
    answer = json.loads(body)
    assert (answer["x"], answer["y"]) == (300, 100)
    colours = answer["colours"]
    assert 1 <= len(colours) <= SUGGESTIONS
    assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) for colour in colours)
    swatches = rgb_to_lab(np.array([list(bytes.fromhex(c[1:])) for c in colours], np.uint8))
    ab = photo_ab(tiny_trained_generator(), photo_lightness(photo), 64)
    at_point = ab[:, 100 * 64 // 512, 300 * 64 // 512]
    assert np.linalg.norm(swatches[0, 1:] - at_point) < 3
    assert np.hypot(*at_point) > 5  # a colour, not gray: the comparison means something
    for index, swatch in enumerate(swatches[1:], 1):
        assert np.linalg.norm(swatches[:index, 1:] - swatch[1:], axis=1).min() > 5

    status, _, body = ask_page(app, f"/api/suggest?{colourise_query(model)}&x=512&y=0", upload)
    assert status == 400
    assert "point 512,0 is outside the 512x512 photo" in json.loads(body)["detail"]


def test_hints_are_in_the_upright_photos_pixels(tmp_path: Path) -> None:
    """A phone photo stored 40x20 with EXIF "rotate 90" is shown 20x40: hints are checked
    (and placed) in the pixels the person sees, as `colourise_image` places them."""
    model = hint_model(tmp_path)
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    buffer = io.BytesIO()
    Image.new("L", (40, 20), 128).save(buffer, format="JPEG", exif=exif)
    for hint, status in [((15, 35), 200), ((35, 5), 400)]:
        hints = [{"x": hint[0], "y": hint[1], "colour": "#ff0000"}]
        query = colourise_query(model, hints, "phone.jpg")
        answer, _, body = ask_page(app, f"/api/colourise?{query}", buffer.getvalue())
        assert answer == status, body
        if status == 200:
            assert Image.open(io.BytesIO(body)).size == (20, 40)
    assert "phone.jpg: hint 35,5,#ff0000 is outside the 20x40 photo" in json.loads(body)["detail"]


def test_the_page_listens_on_this_computer_only_unless_told_and_says_what_else_exposes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    listened: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: listened.append(host))
    port = str(free_port())
    main(["--serve", "--port", port])
    assert listened == ["127.0.0.1"] and "warning" not in capsys.readouterr().err
    main(["--serve", "--host", "0.0.0.0", "--port", port])
    warning = " ".join(capsys.readouterr().err.split())
    assert listened[-1] == "0.0.0.0"
    assert "warning: --host 0.0.0.0 lets every computer that can reach this one use this page" in (
        warning
    )
    assert "with no password (docs/page.md)" in warning
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "With `--host 0.0.0.0`" in readme and "anyone who can reach your computer" in readme


def test_the_address_to_open_brackets_an_ipv6_host() -> None:
    assert page_url("::1", 8766) == "http://[::1]:8766"
    assert page_url("127.0.0.1", 8766) == "http://127.0.0.1:8766"


def test_a_copy_is_not_saved_while_a_colourise_run_writes_into_the_folder(tmp_path: Path) -> None:
    """The page's copies share the command's rule, one writer per output folder: while another
    process holds the folder's lock the copy is refused naming it, and saved once it is gone."""
    out, frames = tmp_path / "colourised", [Image.new("RGB", (8, 8), "teal")]
    holder = start_lock_holder(out, 60, OUTPUT_LOCK_NAME)
    try:
        said = save_copy(frames, out / "cat.png", "PNG", overwrite=False)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert said.startswith(
        f"Not saved: output folder {out} is being written by another colourise run "
        f"(PID {holder.pid} on "
    )
    assert said.endswith("; the download has the result.")
    assert not (out / "cat.png").exists()
    assert save_copy(frames, out / "cat.png", "PNG", overwrite=False).startswith("Saved as ")
    assert sorted(path.name for path in out.iterdir()) == ["cat.png"]


def test_uploads_are_decoded_one_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """Six uploads of a 169-MP PNG decoded side by side outside the lock held 7.2 GB: decoding
    is inside it now, so however many photos arrive at once, one is decoded at a time."""
    model = photo_model(tmp_path, None)
    app = create_app(PageSettings(str(model), None, tmp_path / "kept", max_upload_mb=1))
    decoding, most = [], []
    decode = page.open_upload

    def counted(data: bytes, name: str) -> Image.Image:
        decoding.append(name)
        most.append(len(decoding))
        time.sleep(0.05)  # long enough for the others to arrive
        try:
            return decode(data, name)
        finally:
            decoding.remove(name)

    monkeypatch.setattr(page, "open_upload", counted)
    upload = gray_png()[1]

    def send(number: int) -> tuple[int, dict[str, str], bytes]:
        query = colourise_query(model, name=f"{number}.png")
        return ask_page(app, f"/api/colourise?{query}", upload)

    with ThreadPoolExecutor(4) as senders:
        answers = list(senders.map(send, range(4)))
    assert [status for status, _, _ in answers] == [200] * 4
    assert max(most) == 1


@pytest.fixture
def trained_gan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PageSettings:
    """A page started in `tmp_path` whose list offers the latest trained GAN: a photo-trained
    payload that records render size 128, in its versioned folder as `kedro run` saves it."""
    monkeypatch.chdir(tmp_path)
    version = tmp_path / LATEST_GAN / "2026-01-01T00.00.00.000Z"
    version.mkdir(parents=True)
    photo_model(version, 128)
    return PageSettings(LATEST_GAN, None, tmp_path / "kept", max_upload_mb=1)


GAN_LABEL = f"latest trained GAN ({LATEST_GAN})"  # as the page's model list names it


def made_by(headers: dict[str, str]) -> dict:
    return json.loads(unquote(headers["x-colourise-made-by"]))


def test_each_result_says_which_model_and_render_size_made_it(trained_gan: PageSettings) -> None:
    """The model as its list names it and the render size, the model's own or the one asked
    for, with the size it was trained at: two results side by side say what they are. The
    size said is the size used: the result is `colourise_image`'s at that size."""
    app = create_app(trained_gan)
    photo, upload = gray_png("coffee")
    answers = {}
    for size in (None, 256):
        query = {"name": "coffee.png", "model": LATEST_GAN} | (
            {"render_size": size} if size else {}
        )
        status, headers, body = ask_page(app, f"/api/colourise?{urlencode(query)}", upload)
        assert status == 200, body
        answers[size] = made_by(headers), np.asarray(Image.open(io.BytesIO(body)))
    own = {"source": LATEST_GAN, "label": GAN_LABEL, "render_size": 128, "trained_size": 128}
    assert answers[None][0] == own
    assert answers[256][0] == own | {"render_size": 256}
    expected = colourise_image(photo, tiny_trained_generator(), 256)
    np.testing.assert_array_equal(answers[256][1], np.asarray(expected))


def ask_model(app: FastAPI, model: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    status, _, body = ask_page(
        app, f"/api/model?{urlencode({'model': model})}", headers=headers, method="POST"
    )
    return status, json.loads(body)


def test_the_page_learns_the_size_a_model_was_trained_at_to_mark_the_others(
    trained_gan: PageSettings, tmp_path: Path
) -> None:
    """`POST /api/model` says which size the chosen model was trained at (the page marks the
    others "not trained at this size") and offers that size even when it is not a usual one;
    a model that records none says so, and a model the page does not list is refused, as
    another site's request is."""
    app = create_app(trained_gan)
    sizes = [32, 64, 96, 128, 192, 256, 384, 512]
    assert ask_model(app, LATEST_GAN) == (
        200,
        {"source": LATEST_GAN, "label": GAN_LABEL, "render_size": 128, "trained_size": 128}
        | {"render_sizes": sizes},
    )
    (tmp_path / "odd").mkdir()
    odd = photo_model(tmp_path / "odd", 160)
    status, answer = ask_model(app, str(odd))
    assert (status, answer["trained_size"], answer["render_sizes"]) == (
        200, 160, sorted([*sizes, 160])
    )  # fmt: skip
    unsized = photo_model(tmp_path, None)
    status, answer = ask_model(app, str(unsized))
    assert (status, answer["trained_size"], answer["render_size"]) == (200, None, 64)
    status, answer = ask_model(app, "/etc/passwd")
    assert status == 403 and "This page colourises with the models it lists" in answer["detail"]
    status, answer = ask_model(app, LATEST_GAN, headers={"origin": "http://evil.example"})
    assert status == 403 and "another site than this page" in answer["detail"]


def test_before_is_the_gray_photo_the_model_saw_and_colour_is_offered_as_the_original(
    page_settings: PageSettings,
) -> None:
    """`POST /api/gray`: the photo's L* alone, at the result's size, with the result's L*; a
    colour upload is said to have colour (the page shows it as a third view, "original"), a
    gray one, even saved as RGB, not. An upload turned by EXIF comes back upright."""
    app = create_app(page_settings)
    colour = real_photo("coffee")
    gray = colour.convert("L")
    answers = {}
    for label, photo in [("colour", colour), ("gray", gray), ("gray RGB", gray.convert("RGB"))]:
        status, headers, body = ask_page(app, "/api/gray?name=coffee.png", png_bytes(photo))
        assert status == 200, body
        answers[label] = headers["x-colourise-has-colour"], Image.open(io.BytesIO(body))
    assert {label: has for label, (has, _) in answers.items()} == {
        "colour": "true", "gray": "false", "gray RGB": "false"
    }  # fmt: skip
    view = answers["colour"][1]
    status, _, body = ask_page(
        app, _colourise_query(page_settings, name="coffee.png"), png_bytes(colour)
    )
    assert status == 200, body
    result = Image.open(io.BytesIO(body))
    assert view.mode == "L" and view.size == result.size == colour.size
    seen = rgb_to_lab(np.asarray(view.convert("RGB")))[..., 0]
    np.testing.assert_allclose(seen, rgb_to_lab(np.asarray(colour))[..., 0], atol=0.5)
    np.testing.assert_allclose(seen, rgb_to_lab(np.asarray(result.convert("RGB")))[..., 0], atol=1)
    assert np.abs(np.asarray(answers["gray"][1], int) - np.asarray(gray, int)).max() <= 1

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    turned = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(turned, format="JPEG", exif=exif)
    status, headers, body = ask_page(app, "/api/gray?name=phone.jpg", turned.getvalue())
    assert (status, headers["x-colourise-has-colour"]) == (200, "true")
    assert Image.open(io.BytesIO(body)).size == (20, 40)
