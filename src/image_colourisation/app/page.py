"""The colourise page (`colourise --serve`): drop photos in a browser, see each beside its
colourised result, download it at full resolution under its own name.

A FastAPI app with one HTML page (`page.html`), run by uvicorn; both come with MLflow
and Kedro-Viz already. Each photo is one request: its bytes are the body, read into memory up
to the size limit (never written to disk), colourised by `render.colourise_frames` (what the
`colourise` command runs) and encoded by `photo_files.write_photo`; the answer is the result file.
A person's colour hints (clicks of colour, in the photo's own pixels) come with the photo as
JSON in the `hints` query parameter, in the form `colourise --hints FILE` reads, and the
photo is sent again with each change: the page stays stateless. `POST /api/suggest` offers
the colours the model predicts around a point, for the page's swatches.
Nothing uploaded is kept once the answer is sent, unless the page asks to save a copy in the
command's output folder, where nothing is overwritten without `--overwrite`.

The page compares fairly: its "before" is the photo as the model gets it, its L* alone
(`POST /api/gray`), with the colour upload, if it had colour, as a third view; each result
says which model made it at which render size (a header), and `POST /api/model` says which
size a model was trained at, so the page marks the others and offers to redo a result with
the model and size chosen since.

The page trusts no other site: a request whose Host names it by a name other than its own (DNS
rebinding) or whose Origin is another site (a form or script there posting photos or saving
copies) is refused with 403, and a photo can only be colourised with a model the page lists,
a file inside the folder the page was started in, or a run's generator in the MLflow store, so
that its answers say nothing about files elsewhere (`/root/.ssh/id_rsa` against `/etc/passwd`).
"""

import io
import ipaddress
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from PIL import Image

from image_colourisation.app.hinting import predicted_colours, upright_lightness
from image_colourisation.app.model_choices import ModelChoice, model_choices
from image_colourisation.core.bounded import whole_number
from image_colourisation.core.files import name_problem
from image_colourisation.core.locks import OutputInUseError, output_lock
from image_colourisation.core.memory import release_free_memory
from image_colourisation.core.ranges import shortened
from image_colourisation.imaging.colour import gray_levels
from image_colourisation.imaging.hints import (
    NO_HINT_INPUTS,
    Hint,
    check_hint_count,
    check_hints,
    hints_from_json,
)
from image_colourisation.imaging.photo_files import (
    open_image,
    photo_format,
    save_photo,
    too_many_pixels,
    upright_size,
    write_photo,
)
from image_colourisation.imaging.render import (
    DEFAULT_RENDER_SIZE,
    RENDER_MULTIPLE,
    STRIP_PIXELS,
    AbModel,
    check_render_size,
    colourise_frames,
)
from image_colourisation.models.onnx_runtime import Runtime
from image_colourisation.serving.model_sources import (
    DEFAULT_RUNTIME,
    TrainedGenerator,
    default_model_source,
    load_trained_generator,
)

RENDER_SIZES = tuple(RENDER_MULTIPLE * k for k in (1, 2, 3, 4, 6, 8, 12, 16))  # 32 ... 512
NOTE_HEADER = "X-Colourise-Note"  # what happened to the saved copy, percent-encoded
RUN_GENERATOR = re.compile(r"runs:/[0-9a-f]+/generator")  # a generator the training logged
PHOTO_FORMATS = "JPEG, PNG, WebP, TIFF, GIF, BMP"
TAKES_HINTS_HEADER = "X-Colourise-Takes-Hints"  # "true" or "false": may the page send hints?
MADE_BY_HEADER = "X-Colourise-Made-By"  # `MadeBy` as JSON, percent-encoded
HAS_COLOUR_HEADER = "X-Colourise-Has-Colour"  # "true" or "false": offer the upload as original?
# Levels R, G and B of one pixel may differ by in a photo that counts as gray: a program that
# rounds its colour conversion may save a gray photo a level apart (Pillow's JPEGs come back
# exact), and 2 levels is no colour anyone sees.
GRAY_SPREAD = 2
SETTINGS_PLACEHOLDER = "PAGE_SETTINGS_JSON"  # in page.html, replaced by the page's settings


@dataclass(frozen=True)
class PageSettings:
    """What `colourise --serve` was given: the defaults the page shows and where copies go.

    Without a `default_model` the page offers the command's default as it is when the page
    loads: the champion (once there is one, wherever the alias has moved), else the latest GAN.
    Without a `render_size` each photo is rendered at the size its model records (the crop
    size of a generator trained on photos), else at `DEFAULT_RENDER_SIZE`. Models run in
    `runtime` (ONNX Runtime where a model has an export, else PyTorch: `model_sources`).
    """

    default_model: str | None
    render_size: int | None
    output: Path
    max_upload_mb: float
    runtime: Runtime = DEFAULT_RUNTIME
    overwrite: bool = False
    host: str = "127.0.0.1"  # what it listens on: a name given here is one of its own

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


@dataclass(frozen=True)
class MadeBy:
    """Which model made a result, at which render size: what its card on the page says, so that
    two results side by side are compared for what they are. `label` is the model as the
    page's list names it (alias, version, `test_mae`); `trained_size` the render size the model
    records it was trained at (None: it records none, as CIFAR-10 generators do)."""

    source: str
    label: str
    render_size: int
    trained_size: int | None

    def header(self) -> str:
        return quote(json.dumps(asdict(self)))


class Generators:
    """Loaded generators by source, so a batch of photos loads its model once; emptied when the
    page is (re)loaded, so a newly trained version or a moved alias is picked up."""

    def __init__(self, runtime: Runtime = DEFAULT_RUNTIME) -> None:
        self._loaded: dict[str, TrainedGenerator] = {}
        self._runtime = runtime

    def get(self, source: str) -> TrainedGenerator:
        if source not in self._loaded:
            try:
                self._loaded[source] = load_trained_generator(source, self._runtime)
            except ValueError as error:
                raise HTTPException(422, f"The model cannot be loaded. {error}") from error
        return self._loaded[source]

    def clear(self) -> None:
        self._loaded.clear()


class ModelGate:
    """Which models the page may load: those it lists (now, or since the page loaded), model
    files inside the folder it was started in, and runs' generators. Decided before a model
    is looked for, so the answers reveal nothing about other files. It keeps the listed
    models' labels, by which the page's results say which model made them."""

    def __init__(self, settings: PageSettings, folder: Path) -> None:
        self.settings, self.folder = settings, folder
        self.labels: dict[str, str] = {}  # source -> label, of every model listed so far

    def choices(self) -> list[ModelChoice]:
        listed = model_choices(self.settings.default_model or default_model_source())
        self.labels.update((choice.source, choice.label) for choice in listed)
        return listed

    def offers(self, model: str) -> bool:
        if RUN_GENERATOR.fullmatch(model) or model in self.labels:
            return True
        if ":/" not in model and "\0" not in model:  # a path: where it really leads
            if Path(os.path.realpath(model)).is_relative_to(self.folder):
                return True
        self.choices()  # registered since
        return model in self.labels

    def label(self, model: str) -> str:
        """The model as the list names it (read now if the page has not listed it yet); a model
        file or run typed in, as typed."""
        if not self.labels:
            self.choices()
        return self.labels.get(model, model)

    def made_by(self, model: str, trained: TrainedGenerator, render_size: int | None) -> MadeBy:
        """What a result of `model`, loaded as `trained`, at `render_size` (None: the model's
        own) is made by."""
        size = trained.render_size_for(render_size)
        return MadeBy(model, self.label(model), size, trained.render_size)

    def refuse_unlisted(self, model: str) -> None:
        """A 403 for a model the page does not offer."""
        if not self.offers(model):
            raise HTTPException(
                403,
                f"This page colourises with the models it lists, model files inside "
                f"{self.folder} and runs:/<run_id>/generator; {model!r} is none of them. "
                "Colourise with it on the command line: `colourise --model ...`.",
            )


@contextmanager
def one_photo(lock: threading.Lock) -> Iterator[None]:
    """Under `lock`: one photo decoded and colourised at a time (six 169-MP uploads decoded
    side by side held 7.2 GB), and the memory it took handed back to the system after it
    (5.8 GB stayed with the idle page)."""
    with lock:
        try:
            yield
        finally:
            release_free_memory()


def create_app(settings: PageSettings) -> FastAPI:
    """The page at `/` (with its settings, also at `/api/config`), one photo per `POST /api/colourise`
    (with the person's hints, if any), the model's colours at a point of a photo per
    `POST /api/suggest`, and what the page needs to compare fairly (`add_comparing`)."""
    app = FastAPI(title="colourise", docs_url=None, redoc_url=None, openapi_url=None)
    generators = Generators(settings.runtime)
    one_at_a_time = threading.Lock()  # photos share the CPU cores and the loaded models

    page = (files("image_colourisation.app") / "page.html").read_text(encoding="utf-8")
    own_names = {"localhost", socket.gethostname().lower(), settings.host.lower()}
    gate = ModelGate(settings, Path.cwd().resolve())

    @app.middleware("http")
    async def refuse_other_sites(request: Request, call_next) -> Response:
        hosts = request.headers.getlist("host")
        problem = (
            f"Refused: this request has {len(hosts)} Host headers; a browser sends one."
            if len(hosts) > 1
            else foreign_request(
                request.headers.get("host"), request.headers.get("origin"), own_names
            )
        )
        if problem:
            return JSONResponse({"detail": problem}, status_code=403)
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse)
    def show_page() -> str:
        """The page with its settings in it, so its choices show as soon as it opens (they
        came in a second request, up to 3 s later while MLflow was imported)."""
        with one_at_a_time:
            generators.clear()
        now = page_settings(settings, gate)
        threading.Thread(target=warm_up, args=(now["models"][0]["source"],), daemon=True).start()
        return page.replace(SETTINGS_PLACEHOLDER, settings_json(now), 1)

    @app.get("/api/config")
    def config() -> dict:
        return page_settings(settings, gate)

    def warm_up(source: str) -> None:
        """Load the default model while the person picks photos; a failure is said when a
        photo asks for it."""
        with one_at_a_time, suppress(HTTPException):
            generators.get(source)

    @app.post("/api/colourise")
    async def colourise(
        request: Request, name: str, model: str, render_size: int | None = None, save: bool = False
    ) -> Response:
        name = upload_name(name)
        check_asked_render_size(render_size)
        await run_in_threadpool(gate.refuse_unlisted, model)
        data = await read_upload(request, name, settings)
        guides = page_hints(request.query_params.get("hints"))

        def work() -> Response:
            with one_photo(one_at_a_time):
                image = open_upload(data, name)  # a file that is no photo: said before the model
                check_hints_fit(guides, image, name)
                trained = generators.get(model)
                require_hint_inputs(trained.generator, model, guides)
                return colourised_answer(
                    image,
                    name,
                    trained.generator,
                    gate.made_by(model, trained, render_size),
                    save_to=settings.output / name if save else None,
                    overwrite=settings.overwrite,
                    hints=guides,
                )

        return await run_in_threadpool(work)

    @app.post("/api/suggest")
    async def suggest(
        request: Request,
        name: str,
        model: str,
        *,
        x: int,
        y: int,
        render_size: int | None = None,
        hints: str | None = None,
    ) -> dict:
        """The model's colours around pixel (x, y) of the photo in the body, given the other
        `hints` (those the person keeps): the swatches the page offers for a hint there."""
        name = upload_name(name)
        check_asked_render_size(render_size)
        await run_in_threadpool(gate.refuse_unlisted, model)
        guides = page_hints(hints)
        data = await read_upload(request, name, settings)

        def work() -> dict:
            with one_photo(one_at_a_time):
                image = open_upload(data, name)
                check_point_fits(x, y, image, name)
                check_hints_fit(guides, image, name)
                trained = generators.get(model)
                require_hint_inputs(trained.generator, model, guides)
                size = trained.render_size_for(render_size)
                return suggestions_answer(
                    image, name, trained.generator, size, (x, y), hints=guides
                )

        return await run_in_threadpool(work)

    add_comparing(app, settings, gate, generators, one_at_a_time)
    return app


def add_comparing(
    app: FastAPI,
    settings: PageSettings,
    gate: ModelGate,
    generators: Generators,
    one_at_a_time: threading.Lock,
) -> None:
    """The requests by which the page compares fairly: a photo's gray "before" per
    `POST /api/gray` and, per `POST /api/model`, a model's label and the size it was trained
    at, for the size chooser and the offer to redo a result with another model or size."""

    @app.post("/api/gray")
    async def gray(request: Request, name: str) -> Response:
        """The photo in the body as every model gets it (`gray_answer`): the page's "before"."""
        name = upload_name(name)
        data = await read_upload(request, name, settings)

        def work() -> Response:
            with one_photo(one_at_a_time):
                return gray_answer(open_upload(data, name), name)

        return await run_in_threadpool(work)

    @app.post("/api/model")
    async def describe_model(model: str) -> dict:
        """What a photo sent now with `model` at its own size would be made by (`MadeBy`), and
        the render sizes to offer with it: the page marks those it was not trained at. A POST,
        as every request that loads a model: another site's is refused by its Origin."""
        await run_in_threadpool(gate.refuse_unlisted, model)

        def work() -> dict:
            with one_at_a_time:
                trained = generators.get(model)
            made_by = asdict(gate.made_by(model, trained, None))
            return made_by | {"render_sizes": offered_sizes(settings, trained.render_size)}

        return await run_in_threadpool(work)


def colourised_answer(
    image: Image.Image,
    name: str,
    generator: AbModel,
    made_by: MadeBy,
    *,
    save_to: Path | None,
    overwrite: bool,
    hints: list[Hint] | tuple[Hint, ...] = (),
) -> Response:
    """The colourised file for one upload, named like it and in its format, at `made_by`'s
    render size; saved to `save_to` as well when the page asked (the answer's note header says
    how that went). Headers say whether the model takes hints, so the page can say so before
    anyone clicks, and which model made it at which size, for the result's card."""
    try:
        frames = colourise_frames(image, generator, made_by.render_size, hints)
        image_format = photo_format(name, image.format)
        encoded = io.BytesIO()
        write_photo(frames, encoded, image_format, name)
    except Exception as error:  # this photo's problem, said by name; the next still runs
        raise HTTPException(
            422, f"{name} could not be colourised ({type(error).__name__}: {error})."
        ) from error
    note = save_copy(frames, save_to, image.format, overwrite) if save_to else ""
    return Response(
        encoded.getvalue(),
        media_type=Image.MIME.get(image_format or "", "application/octet-stream"),
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            NOTE_HEADER: quote(note),
            TAKES_HINTS_HEADER: str(generator.takes_hints).lower(),
            MADE_BY_HEADER: made_by.header(),
        },
    )


def gray_answer(image: Image.Image, name: str) -> Response:
    """The photo as every model gets it: its L* alone, upright and at full size (the size of
    its result), as a gray PNG (the first frame of an animation). Shown as "before", it lets a
    result be judged against what the model had, not against colours it never saw; a header
    says whether the upload had colour (`has_colour`), which the page then shows as well."""
    try:
        view = Image.fromarray(gray_levels(upright_lightness(image)))
        colour = has_colour(image)
    except Exception as error:  # as in `colourised_answer`: this photo's problem, by name
        raise HTTPException(
            422, f"{name} could not be read as gray ({type(error).__name__}: {error})."
        ) from error
    encoded = io.BytesIO()
    view.save(encoded, "PNG", compress_level=1)  # a view, not a file to keep: fast, lossless
    return Response(
        encoded.getvalue(),
        media_type="image/png",
        headers={HAS_COLOUR_HEADER: str(colour).lower()},
    )


def has_colour(image: Image.Image) -> bool:
    """Whether any pixel of the photo has colour: R, G and B more than `GRAY_SPREAD` apart.
    Read in row strips (a 12-MP photo needs no full-size RGB copy); a gray mode has none."""
    if image.mode in {"1", "L", "LA", "I", "F"} or image.mode.startswith("I;16"):
        return False
    width, height = image.size
    rows = max(1, STRIP_PIXELS // width)
    for top in range(0, height, rows):
        strip = np.asarray(image.crop((0, top, width, min(top + rows, height))).convert("RGB"))
        if (strip.max(axis=-1) - strip.min(axis=-1) > GRAY_SPREAD).any():
            return True
    return False


def suggestions_answer(
    image: Image.Image,
    name: str,
    generator: AbModel,
    render_size: int,
    point: tuple[int, int],
    *,
    hints: list[Hint],
) -> dict:
    """`POST /api/suggest`'s answer: the point and the model's colours there, most likely
    first; a failure is this photo's problem, said by name, as in `colourised_answer`."""
    x, y = point
    try:
        colours = predicted_colours(image, generator, render_size, x, y, hints=hints)
    except Exception as error:
        raise HTTPException(
            422, f"{name}: no colours to suggest ({type(error).__name__}: {error})."
        ) from error
    return {"x": x, "y": y, "colours": colours}


def check_asked_render_size(render_size: int | None) -> None:
    """A 422 saying what the render size must be, before the upload is read."""
    try:
        if render_size is not None:
            check_render_size(render_size)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error


def page_hints(text: str | None) -> list[Hint]:
    """The `hints` query parameter (JSON as `colourise --hints FILE` reads) as hints; a 400
    that says what is wrong with them, before the photo is read."""
    if not text:
        return []
    try:
        hints = hints_from_json(text, "hints")
        check_hint_count(hints)
    except ValueError as error:
        raise HTTPException(400, str(error)) from error
    return hints


def check_hints_fit(hints: list[Hint], image: Image.Image, name: str) -> None:
    """A 400 naming the first hint outside the photo, before the model is asked."""
    try:
        check_hints(hints, *upright_size(image))
    except ValueError as error:
        raise HTTPException(400, f"{name}: {error}") from error


def check_point_fits(x: int, y: int, image: Image.Image, name: str) -> None:
    """A 400 when the point asked about lies outside the photo."""
    width, height = upright_size(image)
    if not (0 <= x < width and 0 <= y < height):
        raise HTTPException(
            400,
            f"{name}: point {x},{y} is outside the {width}x{height} photo: x must be "
            f"0-{width - 1} and y 0-{height - 1} (pixels from the top left).",
        )


def require_hint_inputs(generator: AbModel, model: str, hints: list[Hint]) -> None:
    """Hints for a model trained without hint inputs: say so (the page keeps the automatic
    result it has), rather than fail inside the network."""
    if hints and not generator.takes_hints:
        raise HTTPException(422, f"Model {model}: {NO_HINT_INPUTS}")


def upload_name(name: str) -> str:
    """The uploaded file's own name, without folders: what the result is called. A name no
    file can have (a NUL, past 255 bytes) is a 400 here, before it reaches a path."""
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base or base.startswith("."):
        raise HTTPException(
            422, f"File name {name!r}: give the photo's own name, e.g. grandma.jpg."
        )
    problem = name_problem(base)
    if problem:
        raise HTTPException(
            400, f"File name {shortened(base, 80)} {problem}: rename the photo and send it again."
        )
    return base


def page_settings(settings: PageSettings, gate: ModelGate) -> dict:
    """What the page offers and how it behaves: its models now, render sizes, limits."""
    return {
        "models": [choice.as_json() for choice in gate.choices()],
        "render_sizes": offered_sizes(settings),
        "render_size": settings.render_size,  # null: each model's own size
        "default_render_size": DEFAULT_RENDER_SIZE,
        "output": str(settings.output.resolve()),
        "overwrite": settings.overwrite,
        "max_upload_mb": settings.max_upload_mb,
        "max_upload_bytes": settings.max_upload_bytes,
        "too_large": too_large_advice(settings),
    }


def offered_sizes(settings: PageSettings, trained_size: int | None = None) -> list[int]:
    """The render sizes the page offers: its usual ones, the command's default, and the size a
    model was trained at, when it records one that is not among them."""
    sizes = {*RENDER_SIZES, settings.render_size or DEFAULT_RENDER_SIZE}
    if trained_size:
        sizes.add(trained_size)
    return sorted(sizes)


def settings_json(values: dict) -> str:
    """`values` as JSON that is safe inside the page's <script>: no `<`, `>` or `&` in it
    (a model's label or a folder's name could hold `</script>`)."""
    text = json.dumps(values)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def too_large_advice(settings: PageSettings) -> str:
    """What follows a too-large photo's name, on the server and (before uploading) the page."""
    return (
        f"is larger than this page takes ({settings.max_upload_mb:g} MB): start it with "
        "`colourise --serve --max-upload-mb N` for more, or use `colourise PHOTO`."
    )


async def read_upload(request: Request, name: str, settings: PageSettings) -> bytes:
    """The request's body, refused as soon as it passes the size limit."""
    too_large = HTTPException(413, f"{name} {too_large_advice(settings)}")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = whole_number(declared.strip(), "Content-Length")
        except ValueError as error:
            raise HTTPException(400, f"{name}: the request's {error}.") from error
        if length > settings.max_upload_bytes:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_upload_bytes:
            raise too_large
    if not body:
        raise HTTPException(422, f"{name} is empty (0 bytes): choose the photo file itself.")
    return bytes(body)


def open_upload(data: bytes, name: str) -> Image.Image:
    """The uploaded photo, fully decoded, or a message saying it is not one."""
    try:
        image = open_image(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as error:
        raise HTTPException(413, f"{name} has {too_many_pixels(error)}") from error
    except Exception as error:  # Pillow raises many kinds for foreign or truncated bytes
        raise HTTPException(
            422,
            f"{name} is not a photo this page can read ({type(error).__name__}): "
            f"choose an image file ({PHOTO_FORMATS}).",
        ) from error
    return image


def save_copy(
    frames: list[Image.Image], target: Path, source_format: str | None, overwrite: bool
) -> str:
    """Save the result to `target` as `colourise` would, under the output folder's lock (a
    `colourise` run writing there refuses the copy); say what happened, for the page."""
    try:
        with output_lock(target.parent):
            if target.exists() and not overwrite:
                return f"Not saved: {target} exists (start with --overwrite to replace it)."
            save_photo(frames, target, source_format)
    except OutputInUseError as busy:
        return f"Not saved: {busy}; the download has the result."
    except OSError as error:  # a full disk, a folder made read-only since the start
        return f"Not saved: {target}: {error.strerror or error}; the download has the result."
    return f"Saved as {target.resolve()}."


def foreign_request(host: str | None, origin: str | None, own_names: set[str]) -> str | None:
    """Why a request is not one this page sent from a browser that reached it by its own
    address, or None. Any IP address is its own (DNS rebinding needs a name to point at this
    computer); an Origin header, which browsers send with every cross-site request, must be
    the page's."""
    try:
        parts = urlsplit(f"//{host}") if host else None
    except ValueError:  # a port that is no number
        parts = None
    # A Host is a name and a port: `evil@127.0.0.1` carries a user, which no browser sends.
    name = parts.hostname if parts is not None and "@" not in parts.netloc else None
    if name is None or not (_is_ip_address(name) or name in own_names):
        return (
            f"Refused: this request calls the page {host!r}, which is not this computer's "
            "address or name: a site that points its own name at this computer (DNS "
            "rebinding) may not use the page. Open it at the address `colourise --serve` printed."
        )
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return (
            f"Refused: this request was sent by {origin!r}, another site than this page "
            f"(http://{host}); only the page itself may colourise photos or save copies. Open "
            "it at the address `colourise --serve` printed."
        )
    return None


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def address_problem(host: str, port: int) -> str | None:
    """Why the page cannot listen on host:port, or None when it can (checked before starting)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return f"cannot listen on {host}:{port} ({error.strerror}); choose another --port"
    return None


def page_url(host: str, port: int) -> str:
    """The address to open: an IPv6 host goes in brackets (`http://[::1]:8766`, RFC 3986)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve_page(settings: PageSettings, host: str, port: int) -> None:
    """Run the page until Ctrl+C; says where to open it, and warns when others can reach it."""
    import uvicorn  # noqa: PLC0415 - only the page needs it

    if not _is_loopback(host):
        print(  # noqa: T201 - the command's own output
            f"warning: --host {host} lets every computer that can reach this one use this page: "
            "colourise with its models, see their list and save copies into the output folder, "
            "with no password (docs/page.md)",
            file=sys.stderr,
        )
    print(f"colourise page: open {page_url(host, port)} (Ctrl+C stops it)", file=sys.stderr)  # noqa: T201
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
