"""`colourise PATH... [-o OUTDIR] [--model SOURCE] [--runtime onnx|torch] [--render-size N]
[--overwrite] [--hint X,Y,#rrggbb ...] [--hints FILE] [--temporal on|off] [--key-every K]`, or
`colourise --serve [--host H] [--port P] [--max-upload-mb N]` for the page (`page.py`).

Hints (a hint model only) fix the colour at pixels of one photo, in its own pixel coordinates;
a video's --hints file puts each hint on a frame, and it is carried from there through its shot.
The model runs as its ONNX export with ONNX Runtime when it has one (the default: no torch to
import), else, and with `--runtime torch`, with PyTorch.

Colourises single photos and whole folders with the same `render.colourise_frames` that the
Kedro `colourisation` pipeline uses. Outputs keep each photo's name, size and format (every
frame of an animation or multi-page TIFF); a folder's sub-folders are kept below OUTDIR.
A video file (.mp4, .mkv, .mov, .avi, .webm), named or in a folder, is colourised by
`imaging/video.py` into OUTDIR as a photo would be, upright, same frame timing and audio: the model
on key frames every K frames and at cuts, colour carried between them by optical flow so that
it does not flicker (`--temporal off`: each frame on its own).
Nothing is overwritten unless --overwrite, and nothing is ever written into a folder given as
input. One run at a time writes into an output folder: a run holds OUTDIR/.colourise.lock
while it works, and a second run into the same folder stops at once, naming the first. Links
inside a folder that lead out of it are not followed (each is reported).

Exit status: 0 every photo colourised (or skipped: its output exists, or it is a link out of
its folder), 1 some photos failed (each is named with the reason; the others are still
written), 2 usage error (bad option, OUTDIR inside an input folder, not a folder or being
written by another run, a model that cannot be loaded, a bad hint or one outside the photo,
hints for a model without hint inputs or for more than one photo).

(In `app/`, not at the package's top: Kedro imports `image_colourisation.cli` for project
commands and refuses one without a click group called `cli`, which would break every `kedro`
command.)
"""

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

from image_colourisation.app.project import find_project, no_project_advice, project_problem
from image_colourisation.core.files import entry_problem, printable
from image_colourisation.core.locks import OutputInUseError, output_lock
from image_colourisation.core.ranges import Setting
from image_colourisation.imaging.hints import (
    FRAME_HINTS_JSON_FORM,
    HINTS_JSON_FORM,
    NO_HINT_INPUTS,
    Hint,
    check_hints,
    parse_hint,
    read_frame_hints_file,
    read_hints_file,
)
from image_colourisation.imaging.photo_files import (
    is_photo_name,
    open_image,
    save_photo,
    scan_photo_folder,
    too_many_pixels,
    upright_size,
)
from image_colourisation.imaging.render import (
    DEFAULT_RENDER_SIZE,
    MAX_RENDER_SIZE,
    AbModel,
    check_render_size,
    colourise_frames,
)
from image_colourisation.imaging.video import (
    DEFAULT_KEY_EVERY,
    check_frame_hints,
    colourise_video,
    is_video_name,
    probe_video,
)
from image_colourisation.models.onnx_runtime import RUNTIMES
from image_colourisation.serving.model_sources import (
    DEFAULT_RUNTIME,
    LATEST_GAN,
    default_model_source,
    load_trained_generator,
)
from image_colourisation.serving.registry import CHAMPION_URI

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_OUTDIR = Path("colourised")
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000  # the page: this computer only, unless told
DEFAULT_MAX_UPLOAD_MB = 64  # a 12-megapixel JPEG is 3-8 MB, a 16-bit 24-megapixel TIFF 140 MB
PORT_RANGE = Setting(int, 1, 65535)
UPLOAD_MB_RANGE = Setting(float, 0, 100_000, low_open=True)  # 100 GB: no photo is larger
KEY_EVERY_RANGE = Setting(int, 1, 10_000)  # 1: the model on every frame, yet blended by flow


@dataclass(frozen=True)
class Job:
    """One photo to colourise and where its result goes."""

    source: Path
    target: Path


def main(argv: list[str] | None = None) -> int:
    """Run the command in its project; returns the exit status (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    with in_project(parser, args):
        return _main(parser, args)


@contextmanager
def in_project(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Iterator[None]:
    """Work in the project folder (`--project`, else `find_project`), where the model sources
    lie as in `kedro run`, with the user's own paths (photos, -o, --hints, a --model file
    that exists here) kept where they were given; the working folder is restored after.
    Without a project nothing moves, and a model that cannot be loaded says how to name one."""
    here = Path.cwd()
    problem = project_problem(args.project) if args.project is not None else None
    if problem:
        parser.error(
            f"--project {args.project} is not the image-colourisation project ({problem}); "
            "give the folder it was cloned into"
        )
    unreadable: list[str] = []
    project = args.project.resolve() if args.project is not None else find_project(here, unreadable)
    for note in unreadable:
        _say(f"colourise: note: not the project: {note}")
    if project is None or project == here.resolve():
        yield
        return
    for name, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, name, here / value)
        elif isinstance(value, list) and value and isinstance(value[0], Path):
            setattr(args, name, [here / path for path in value])
    if args.model and ":/" not in args.model and Path(args.model).exists():
        args.model = str(here / args.model)
    _say(f"project: {project}")
    os.chdir(project)
    try:
        yield
    finally:
        os.chdir(here)


def _project_advice(model: str | None = None) -> str:
    """What to do about a model that was not found: name the project when none was found,
    train one when the project has no GAN yet."""
    here = Path.cwd()
    if find_project(here) is None:
        return f" {no_project_advice(here)}"
    if model == LATEST_GAN and not Path(model).exists():
        return f" The project {here} has no trained GAN yet: `kedro run` there trains one."
    return ""


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The command, in the folder `in_project` chose."""
    try:
        if args.render_size is not None:
            check_render_size(args.render_size)
    except ValueError as error:
        parser.error(str(error))
    problem = _output_not_a_folder(args.output) or _output_inside_input(args.output, args.paths)
    if problem:
        parser.error(problem)
    hints = chosen_hints(parser, args)
    if args.serve:
        return serve(parser, args)
    if not args.paths:
        parser.error("give the photos or folders to colourise, or --serve for the page")
    with ExitStack() as held:
        try:
            held.enter_context(output_lock(args.output))
        except OutputInUseError as busy:
            _say(f"colourise: error: {busy}")
            return EXIT_USAGE
        return colourise_paths(args, hints)


def colourise_paths(
    args: argparse.Namespace, hints: tuple[list[Hint], dict[int, list[Hint]]]
) -> int:
    """Colourise the photos and folders given into OUTDIR, under its lock; the exit status.
    `hints`: a photo's, a video's by frame number (`chosen_hints`)."""
    jobs, failures, links = plan_jobs(args.paths, args.output)
    for link in links:
        _say(f"skipped {link}")
    existing = [job for job in jobs if job.target.exists() and not args.overwrite]
    for job in existing:
        _say(f"skipped {job.source}: {job.target} exists (--overwrite replaces it)")
    todo = [job for job in jobs if job not in existing]
    done = 0
    if todo:
        model = args.model or default_model()
        try:
            trained = load_trained_generator(model, args.runtime)
        except ValueError as error:
            _say(f"colourise: error: --model: {error}{_project_advice(model)}")
            return EXIT_USAGE
        _say(f"runtime: {trained.runtime}" + (f" ({trained.fallback})" if trained.fallback else ""))
        if any(hints) and not trained.generator.takes_hints:
            _say(f"colourise: error: --hint/--hints: {model}: {NO_HINT_INPUTS}")
            return EXIT_USAGE
        render_size = trained.render_size_for(args.render_size)
        _say(f"render size: {render_size}")
        key_every = args.key_every if args.temporal == "on" else None
        photo_hints, frame_hints = hints
        done, errors = colourise_jobs(
            todo, trained.generator, render_size, photo_hints, key_every, frame_hints=frame_hints
        )
        failures += errors
    skipped = f"skipped {len(existing)} (output exists)"
    if links:
        skipped += f" and {len(links)} (not followed or not a file)"
    _say(
        f"colourised {done}, {skipped}, failed {len(failures)}; output in {args.output}",
        file=sys.stdout,
    )
    for failure in failures:
        _say(f"  FAILED {failure}")
    return EXIT_SOME_FAILED if failures else EXIT_OK


def chosen_hints(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[list[Hint], dict[int, list[Hint]]]:
    """The --hint and --hints hints, checked against the one photo or video they belong to:
    (a photo's hints, a video's by frame number); one of them is empty.

    The hints file is read first, so a file that cannot be read is said as such. Hints are in
    one file's own pixels, so they need exactly one photo or video file; a hint outside it is a
    usage error. An unreadable photo or clip is left to fail by name when it is colourised.
    """
    video = len(args.paths) == 1 and is_video_name(args.paths[0].name)
    photo_hints, frame_hints = list(args.hint), {}
    if args.hints_file is not None:
        try:
            if video:
                frame_hints = read_frame_hints_file(args.hints_file)
            else:
                photo_hints += read_hints_file(args.hints_file)
        except ValueError as error:
            parser.error(f"--hints: {error}")
    if not (photo_hints or frame_hints):
        return [], {}
    given = _not_one_photo(args)
    if given:
        parser.error(
            "--hint and --hints are pixels of one photo: give exactly one photo file with them, "
            f"not {given}; colourise other photos in separate runs (a video: one, with --hints)"
        )
    if video:
        return [], _checked_video_hints(parser, args, frame_hints)
    try:
        with open_image(args.paths[0]) as photo:
            check_hints(photo_hints, *upright_size(photo))
    except ValueError as error:
        parser.error(f"--hint/--hints: {error}")
    except (OSError, Image.DecompressionBombError):
        pass
    return photo_hints, {}


def _checked_video_hints(
    parser: argparse.ArgumentParser, args: argparse.Namespace, hints: dict[int, list[Hint]]
) -> dict[int, list[Hint]]:
    """A video's hints by frame number, checked against its header; --hint is for photos."""
    if args.hint:
        parser.error(
            f"--hint is for photos; give a video's hints with --hints FILE: {FRAME_HINTS_JSON_FORM}"
        )
    try:
        info = probe_video(args.paths[0])
    except ValueError:
        return hints  # not a clip: it fails by name when it is colourised
    try:
        check_frame_hints(hints, info)
    except ValueError as error:
        parser.error(f"--hints: {error}")
    return hints


def _not_one_photo(args: argparse.Namespace) -> str | None:
    """What was given instead of one photo file (for hints), or None when it is one."""
    if args.serve:
        return "--serve"
    if len(args.paths) != 1:
        return f"{len(args.paths)} paths"
    return None if args.paths[0].is_file() else f"{args.paths[0]}, which is not a file"


def _hint_argument(text: str) -> Hint:
    """argparse's reading of one --hint: the hint, or its message as a usage error."""
    try:
        return parse_hint(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _port_argument(text: str) -> int:
    """argparse's reading of --port: a TCP port, 1-65535 (70000 or -1 is a usage error, not
    an OverflowError from the socket)."""
    return _in_range(text, int, "the port", PORT_RANGE)


def _key_every_argument(text: str) -> int:
    """argparse's reading of --key-every: a whole number of frames from 1."""
    return _in_range(text, int, "the key frame spacing", KEY_EVERY_RANGE)


def _upload_mb_argument(text: str) -> float:
    """argparse's reading of --max-upload-mb: a positive, finite number (nan or inf would make
    every upload fail)."""
    return _in_range(text, float, "the size in MB", UPLOAD_MB_RANGE)


def _in_range(text: str, kind: type, name: str, allowed: Setting) -> int | float:
    """`text` as a `kind` within `allowed`, else argparse's usage error saying what is allowed."""
    try:
        value = kind(text)
    except ValueError:
        value = text
    problem = allowed.problem(name, value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def default_model() -> str:
    """`default_model_source()`, named on stderr, so the user knows which model coloured."""
    model = default_model_source()
    _say(f"model: {model}")
    return model


def serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`colourise --serve`: the page until Ctrl+C, with the command's model, size and -o."""
    # Imported here: the web libraries are needed by the page only.
    from image_colourisation.app.page import (  # noqa: PLC0415
        PageSettings,
        address_problem,
        serve_page,
    )

    if args.paths:
        parser.error("--serve takes no PATH: drop the photos on the page instead")
    problem = address_problem(args.host, args.port)
    if problem:
        parser.error(problem)
    settings = PageSettings(
        default_model=args.model,
        runtime=args.runtime,
        render_size=args.render_size,
        output=args.output,
        overwrite=args.overwrite,
        max_upload_mb=args.max_upload_mb,
        host=args.host,
    )
    advice = _project_advice()
    if advice and not args.model:
        _say(f"colourise: note:{advice}")
    serve_page(settings, args.host, args.port)
    return EXIT_OK


def colourise_jobs(
    jobs: list[Job],
    generator: AbModel,
    render_size: int,
    hints: Sequence[Hint] = (),
    key_every: int | None = DEFAULT_KEY_EVERY,
    *,
    frame_hints: Mapping[int, Sequence[Hint]] | None = None,
) -> tuple[int, list[str]]:
    """Colourise and write each job with a progress bar; returns (written, failures by name).
    Photos get `hints`; videos get `frame_hints` (frame number -> hints) and key frames every
    `key_every` frames (None: each frame on its own)."""
    done, failures = 0, []
    for job in tqdm(jobs, desc="colourising", unit="file"):
        try:
            if is_video_name(job.source.name):
                if hints:
                    raise ValueError("--hint is for photos; a video takes --hints with frames.")
                colourise_video(
                    job.source, job.target, generator, render_size, key_every, hints=frame_hints
                )
                done += 1
                continue
            with open_image(job.source) as image:
                frames = colourise_frames(image, generator, render_size, hints)
                source_format = image.format
            save_photo(frames, job.target, source_format)
            done += 1
        except Exception as error:  # one bad file must not stop the others; it is named below
            reason = (
                too_many_pixels(error)
                if isinstance(error, Image.DecompressionBombError)
                else f"{type(error).__name__}: {error}"
            )
            failures.append(f"{job.source}: {reason}")
            _say(f"failed {failures[-1]}")
    return done, failures


def plan_jobs(paths: list[Path], outdir: Path) -> tuple[list[Job], list[str], list[str]]:
    """Map inputs to outputs: a file to OUTDIR/name, a folder's photos and videos to
    OUTDIR/relative path.

    Returns the jobs, the problems (missing paths, dangling links, link loops, FIFOs and devices,
    folders without photos, two inputs that would land on the same output), which count as
    failures while the jobs still run, and the entries of folders that were skipped (links out of the folder, FIFOs), each
    with the reason. A file named on the command line is read even when it is a link.
    """
    jobs: list[Job] = []
    problems: list[str] = []
    skipped: list[str] = []
    for path in paths:
        if path.is_dir():
            scan = scan_photo_folder(path, _photo_or_video)
            problems += [f"{entry}: {reason}" for entry, reason in scan.broken]
            skipped += [f"{entry}: {reason}" for entry, reason in scan.skipped]
            if not (scan.photos or scan.broken or scan.skipped):
                problems.append(
                    f"{path}: no photos or videos in this folder (JPEG, PNG, MP4, ... by extension)"
                )
            jobs += [Job(file, outdir / file.relative_to(path)) for file in scan.photos]
        elif path.is_file():
            jobs.append(Job(path, outdir / path.name))
        else:
            problems.append(f"{path}: {entry_problem(path)}")
    first_source: dict[Path, Path] = {}
    unique: list[Job] = []
    for job in jobs:
        if job.target in first_source:
            problems.append(
                f"{job.source}: would be written to {job.target} like {first_source[job.target]}; "
                "colourise it in a separate run with another -o"
            )
        else:
            first_source[job.target] = job.source
            unique.append(job)
    return unique, problems, skipped


def _photo_or_video(name: str) -> bool:
    """Whether a folder's file is colourised: a photo or a video, by its name."""
    return is_photo_name(name) or is_video_name(name)


def _output_inside_input(outdir: Path, paths: list[Path]) -> str | None:
    """Why OUTDIR would write into an input folder, or None when it would not."""
    out = outdir.resolve()
    for path in paths:
        if entry_problem(path):  # not a file or folder (a loop, a FIFO): never read or written
            continue
        folder = path.resolve() if path.is_dir() else path.resolve().parent
        inside = out.is_relative_to(folder) if path.is_dir() else out == folder
        if inside:
            return (
                f"output folder {outdir} is inside the input {path}, which is never written to; "
                "choose another with -o OUTDIR"
            )
    return None


def _output_not_a_folder(outdir: Path) -> str | None:
    """Why OUTDIR cannot be (or become) a folder to write in, or None when it can."""
    for folder in [outdir, *outdir.parents]:
        if folder.is_symlink() and not folder.exists():  # a loop, or a link to nothing
            return (
                f"output folder {outdir}: {folder} {entry_problem(folder)}; choose another with -o"
            )
        if not folder.exists():
            continue  # created when the first photo is written
        if not folder.is_dir():
            return (
                f"output folder {outdir}: {folder} is a file, not a folder; choose a folder "
                "with -o OUTDIR (it is created when missing)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"output folder {outdir}: {folder} is not writable; choose another with -o"
        return None
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colourise",
        description="Colourise black-and-white photos with a generator trained by this project. "
        "Colour photos are reduced to their lightness first.",
        epilog="Exit status: 0 all colourised or skipped, 1 some photos failed, 2 usage error.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="photos or folders")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTDIR,
        metavar="OUTDIR",
        help=f"where the colourised photos go (default: ./{DEFAULT_OUTDIR}); must not be inside "
        "an input folder",
    )
    parser.add_argument(
        "--model",
        metavar="URI_OR_PATH",
        help="payload file, versioned folder (newest version), runs:/<run_id>/generator, "
        f"{CHAMPION_URI} or models:/<name>/<version> (default: the registry's champion in "
        f"the project's mlflow.db when there is one, else {LATEST_GAN}, the latest trained "
        "GAN); a relative path not found here is looked for in the project",
    )
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="the image-colourisation project whose models and MLflow store to use (default: "
        "the folder or the nearest one above it with its pyproject.toml, else the one the "
        "package was installed from); photos and OUTDIR stay relative to this folder",
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=DEFAULT_RUNTIME,
        help="run the model as its ONNX export with ONNX Runtime (faster to start: no torch), "
        "falling back to PyTorch with a note when the model has no export, or with PyTorch "
        f"(default: {DEFAULT_RUNTIME})",
    )
    parser.add_argument(
        "--render-size",
        type=int,
        metavar="N",
        help="longer side in pixels at which colour is predicted, a multiple of 32 up to "
        f"{MAX_RENDER_SIZE} (default: "
        f"the size the model was trained at when it records one, else {DEFAULT_RENDER_SIZE}); "
        "the result always has the photo's own size",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that already exist"
    )
    parser.add_argument(
        "--hint",
        action="append",
        default=[],
        type=_hint_argument,
        metavar="X,Y,#rrggbb",
        help="the colour at pixel X (column), Y (row) of the photo, from 0 at its top left; "
        "repeat for more hints. One photo only, and a model trained with hints",
    )
    parser.add_argument(
        "--hints",
        dest="hints_file",
        type=Path,
        metavar="FILE",
        help=f"hints from a JSON file: {HINTS_JSON_FORM.replace('%', '%%')}; with --hint, both. "
        f"For a video, each on a frame (from 0): {FRAME_HINTS_JSON_FORM}, carried along the "
        "flow through its shot (with --temporal off: on its own frame only)",
    )
    clips = parser.add_argument_group("videos", "a video file (.mp4, .mkv, .mov, .avi, .webm)")
    clips.add_argument(
        "--temporal",
        choices=("on", "off"),
        default="on",
        help="on: the model on key frames and at cuts, colour carried between them by optical "
        "flow, so it does not flicker; off: each frame coloured on its own (default: on)",
    )
    clips.add_argument(
        "--key-every",
        type=_key_every_argument,
        default=DEFAULT_KEY_EVERY,
        metavar="K",
        help=f"frames from one key frame to the next (default: {DEFAULT_KEY_EVERY})",
    )
    page = parser.add_argument_group(
        "the page", "colourise in a browser: drop photos, compare, download (no PATH)"
    )
    page.add_argument(
        "--serve",
        action="store_true",
        help="start the page; --model and --render-size set its defaults, and copies it is "
        "asked to keep go to OUTDIR",
    )
    page.add_argument("--host", default=DEFAULT_HOST, help=f"address (default: {DEFAULT_HOST})")
    page.add_argument(
        "--port", type=_port_argument, default=DEFAULT_PORT, help=f"(default: {DEFAULT_PORT})"
    )
    page.add_argument(
        "--max-upload-mb",
        type=_upload_mb_argument,
        default=DEFAULT_MAX_UPLOAD_MB,
        metavar="N",
        help=f"largest photo file the page takes (default: {DEFAULT_MAX_UPLOAD_MB})",
    )
    return parser


def _say(message: str, file=None) -> None:
    """Print beside the progress bar without breaking it (to stderr unless told otherwise),
    with the control characters of the file names in it escaped."""
    tqdm.write(printable(message), file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
