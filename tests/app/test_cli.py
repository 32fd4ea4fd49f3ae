"""The `colourise` command: files and folders in, nothing overwritten, failures named, exit codes."""

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from image_colourisation.app.cli import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    main,
)
from image_colourisation.core.locks import OUTPUT_LOCK_NAME
from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import NO_HINT_INPUTS, Hint
from image_colourisation.imaging.render import DEFAULT_RENDER_SIZE
from image_colourisation.models.onnx_export import export_beside
from image_colourisation.models.payloads import generator_payload
from tests.claimed_files import claimed_gif
from tests.lock_holder import start_lock_holder
from tests.photo_models import (
    photo_model,
    real_photo,
    tiny_hint_generator,
    tiny_trained_generator,
)

HOLDER_TIMEOUT_S = 60  # the lock-holding process imports the package first: slow on a busy CPU


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A payload file as the training pipeline writes it."""
    path = tmp_path_factory.mktemp("model") / "generator_gan.pt"
    torch.save(generator_payload(tiny_trained_generator()), path)
    return path


@pytest.fixture(scope="module")
def exported_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A payload file with its ONNX export beside it, as the catalog saves generators."""
    path = tmp_path_factory.mktemp("exported") / "generator_gan.pt"
    torch.save(generator_payload(tiny_trained_generator()), path)
    export_beside(path)
    return path


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """An input folder: a JPEG, a PNG in a sub-folder, and a note that is not a photo."""
    folder = tmp_path / "album"
    (folder / "1969").mkdir(parents=True)
    real_photo("rocket").save(folder / "rocket.jpg", quality=90)
    real_photo("chelsea").convert("L").save(folder / "1969" / "cat.png")
    (folder / "notes.txt").write_text("taken by grandma")
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


def run(*args: str | Path) -> int:
    return main([str(arg) for arg in args])


def test_folder_is_colourised_keeping_names_formats_and_sizes(album, model_file, tmp_path):
    before = snapshot(album)
    out = tmp_path / "out"
    assert run(album, "-o", out, "--model", model_file) == EXIT_OK
    assert snapshot(album) == before  # the input folder is never written to
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*.*")) == [
        "1969/cat.png",
        "rocket.jpg",
    ]
    for name in ["rocket.jpg", "1969/cat.png"]:
        with Image.open(album / name) as source, Image.open(out / name) as result:
            assert (result.format, result.size) == (source.format, source.size)
            assert result.mode == "RGB"


def test_existing_output_is_skipped_unless_overwrite(album, model_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(album / "rocket.jpg", "-o", out, "--model", model_file) == EXIT_OK
    first = snapshot(out)
    (out / "rocket.jpg").write_bytes(b"the user's own edit")
    assert run(album / "rocket.jpg", "-o", out, "--model", model_file) == EXIT_OK
    assert "skipped" in capsys.readouterr().err
    assert (out / "rocket.jpg").read_bytes() == b"the user's own edit"
    assert run(album / "rocket.jpg", "-o", out, "--model", model_file, "--overwrite") == EXIT_OK
    assert snapshot(out).keys() == first.keys()
    with Image.open(out / "rocket.jpg") as replaced:
        assert replaced.size == (640, 427)


@pytest.mark.parametrize("photo", ["album", "album/rocket.jpg"])
def test_a_second_writer_into_the_same_folder_stops_at_once_naming_the_first(
    photo, album, model_file, tmp_path, capsys
):
    """Two runs into one folder both said "colourised 200" and left it mixed: while another
    process holds the folder's lock, a folder or a single photo is refused before anything is
    written, in one line naming that process; once it is killed (-9, its lock file left
    behind), the same command writes every photo and leaves no lock file among them."""
    out = tmp_path / "out"
    lock = out / OUTPUT_LOCK_NAME
    source = tmp_path / photo
    holder = start_lock_holder(out, HOLDER_TIMEOUT_S, OUTPUT_LOCK_NAME)
    try:
        assert run(source, "-o", out, "--model", model_file) == EXIT_USAGE
    finally:
        holder.kill()
        holder.wait(timeout=HOLDER_TIMEOUT_S)
    captured = capsys.readouterr()
    assert captured.out == ""  # no "colourised N" summary
    (line,) = captured.err.splitlines()
    assert line.startswith(
        f"colourise: error: output folder {out} is being written by another colourise run "
        f"(PID {holder.pid} on "
    )
    assert line.endswith(
        f"; lock file {lock}): wait for it to finish, or choose another folder with -o OUTDIR"
    )
    assert [path.name for path in out.iterdir()] == [OUTPUT_LOCK_NAME]  # the killed holder's

    assert run(source, "-o", out, "--model", model_file) == EXIT_OK
    written = sorted(str(path.relative_to(out)) for path in out.rglob("*"))
    expected = ["1969", "1969/cat.png", "rocket.jpg"] if photo == "album" else ["rocket.jpg"]
    assert written == expected
    photos = [name for name in expected if "." in name]
    assert f"colourised {len(photos)}, skipped 0" in capsys.readouterr().out


def test_bad_files_are_named_and_the_rest_still_succeed(album, model_file, tmp_path, capsys):
    jpeg = (album / "rocket.jpg").read_bytes()
    (album / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (album / "letter.jpg").write_text("Dear Sir, this is not a photograph.")
    out = tmp_path / "out"
    assert run(album, "-o", out, "--model", model_file) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "truncated.jpg: OSError: image file is truncated" in err
    assert "letter.jpg: UnidentifiedImageError: cannot identify image file" in err
    assert sorted(path.name for path in out.rglob("*") if path.is_file()) == [
        "cat.png",
        "rocket.jpg",
    ]  # the good photos are written; the bad ones leave nothing, not even a temporary file


def test_missing_path_and_clashing_names_fail_the_run(album, model_file, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    real_photo("coffee").save(other / "rocket.jpg")
    code = run(album / "rocket.jpg", other / "rocket.jpg", tmp_path / "nope.png", "-o",
               tmp_path / "out", "--model", model_file)  # fmt: skip
    assert code == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "nope.png: does not exist" in err
    assert f"{other / 'rocket.jpg'}: would be written to" in err
    with Image.open(tmp_path / "out" / "rocket.jpg") as written:
        assert written.size == (640, 427)  # the first rocket.jpg, not coffee (600 x 400)


def test_default_output_folder_is_colourised_in_the_working_directory(
    album, model_file, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert run(album / "1969" / "cat.png", "--model", model_file) == EXIT_OK
    assert (tmp_path / "colourised" / "cat.png").is_file()


def exit_code(*args: str | Path) -> int:
    """The command's exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return run(*args)
    except SystemExit as exit_:
        return exit_.code


def test_no_path_is_a_usage_error(capsys):
    assert exit_code() == EXIT_USAGE
    assert "PATH" in capsys.readouterr().err


@pytest.mark.parametrize(
    "case",
    [
        (["--render-size", "100"], "multiple of 32"),
        (["--render-size", "8192"], "multiple of 32 from 32 to 1024 (e.g. 64), got 8192"),
        (["--render-size", "many"], "invalid int value"),
        (["-o", "{album}/colourised"], "is inside the input"),
        (["-o", "{album}"], "is inside the input"),
        (["--model", "{tmp}/no-such-model.pt"], "does not exist"),
        (["--model", "s3://bucket/generator.pt"], "unsupported URI scheme"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(case, album, model_file, tmp_path, capsys):
    arguments, message = case
    arguments = [arg.format(album=album, tmp=tmp_path) for arg in arguments]
    before = snapshot(tmp_path)
    assert exit_code(album, "--model", model_file, *arguments) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_a_colour_photo_is_reduced_to_its_lightness(model_file, tmp_path):
    """So users can try the model on a photo whose colours they know: L* kept, ab replaced."""
    real_photo("coffee").save(tmp_path / "coffee.png")
    assert run(tmp_path / "coffee.png", "-o", tmp_path / "out", "--model", model_file) == EXIT_OK
    source = np.asarray(Image.open(tmp_path / "coffee.png"))
    result = np.asarray(Image.open(tmp_path / "out" / "coffee.png"))
    assert source.shape == result.shape
    assert not np.array_equal(source, result)


def test_colourise_is_an_installed_command():
    (script,) = entry_points(group="console_scripts", name="colourise")
    assert script.value == "image_colourisation.app.cli:main"


def test_installed_command_exit_status(album, model_file, tmp_path):
    """The real console script: 1 when a photo fails, 0 when all succeed."""
    command = Path(sys.executable).with_name("colourise")
    (album / "letter.jpg").write_text("not a photo")
    common = ["-o", str(tmp_path / "out"), "--model", str(model_file)]
    failed = subprocess.run(
        [command, album, *common], capture_output=True, text=True, timeout=120, check=False
    )
    assert failed.returncode == EXIT_SOME_FAILED, failed.stderr
    assert "letter.jpg" in failed.stderr
    assert "colourised 2, skipped 0 (output exists), failed 1" in failed.stdout
    ok = subprocess.run(
        [command, album / "rocket.jpg", *common],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ok.returncode == EXIT_OK, ok.stderr
    assert "skipped" in ok.stderr


def test_output_folder_may_not_be_an_input_photos_own_folder(album, model_file, capsys):
    """`colourise album/rocket.jpg -o album` would write beside (and with --overwrite, over) it."""
    before = snapshot(album)
    code = exit_code(album / "rocket.jpg", "-o", album, "--model", model_file, "--overwrite")
    assert code == EXIT_USAGE
    assert "is inside the input" in capsys.readouterr().err
    assert snapshot(album) == before


def test_links_out_of_the_folder_are_skipped_and_dangling_links_reported(
    album, model_file, tmp_path, capsys
):
    secret = tmp_path / "secret.jpg"  # outside the album: never to be read through a link
    secret.write_text("root:x:0:0:root:/root:/bin/bash")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real_photo("coffee").save(elsewhere / "coffee.jpg")
    (album / "passwd.jpg").symlink_to(secret)
    (album / "linked").symlink_to(elsewhere, target_is_directory=True)
    (album / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (album / "1969" / "again.jpg").symlink_to(album / "rocket.jpg")  # inside: followed
    out = tmp_path / "out"

    assert run(album, "-o", out, "--model", model_file) == EXIT_SOME_FAILED
    captured = capsys.readouterr()
    assert f"skipped {album / 'passwd.jpg'}: links to {secret}, outside {album}" in captured.err
    assert f"skipped {album / 'linked'}: links to {elsewhere}, outside {album}" in captured.err
    dangling = f"FAILED {album / 'gone.jpg'}: is a link to {tmp_path / 'deleted.jpg'}, which does"
    assert dangling in captured.err
    assert "UnidentifiedImageError" not in captured.err  # the secret was never opened
    assert "colourised 3, skipped 0 (output exists) and 2 (not followed" in captured.out
    written = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert written == ["1969/again.jpg", "1969/cat.png", "rocket.jpg"]


@pytest.mark.parametrize("output", ["taken.png", "taken.png/sub"])
def test_output_that_is_a_file_is_one_usage_error(album, model_file, tmp_path, capsys, output):
    (tmp_path / "taken.png").write_bytes(b"someone's picture")
    before = snapshot(tmp_path)
    code = exit_code(album, "-o", tmp_path / output, "--model", model_file)
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count(f"{tmp_path / 'taken.png'} is a file, not a folder") == 1
    assert "FileExistsError" not in err and "FAILED" not in err
    assert snapshot(tmp_path) == before


def test_animated_gif_comes_out_animated(model_file, tmp_path):
    gray = real_photo("astronaut").convert("L")
    frames = [gray.crop((50 * i, 0, 50 * i + 64, 48)) for i in range(4)]
    frames[0].save(tmp_path / "wave.gif", save_all=True, append_images=frames[1:], duration=80)
    assert run(tmp_path / "wave.gif", "-o", tmp_path / "out", "--model", model_file) == EXIT_OK
    with Image.open(tmp_path / "out" / "wave.gif") as result:
        assert (result.n_frames, result.info["duration"], result.size) == (4, 80, (64, 48))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"architecture": {"width": 1_000_000, "depth": 5, "dropout": 0.5}}, "width is 1000000"),
        ({"architecture": "width=8"}, "architecture record is a str"),
        ({"architecture": {"width": 8, "depth": 5, "dropout": 0.5, "bins": -1}}, "bins is -1"),
        ({"architecture": {"width": 16, "depth": 5, "dropout": 0.0}}, "weights do not fit"),
        ({"state_dict": {"encoder.0.0.weight": torch.zeros(1)}}, "weights do not fit"),
        ({"state_dict": b"\x80\x04K\x01."}, "state_dict is a bytes"),
    ],
)
def test_a_model_that_does_not_fit_its_architecture_is_one_usage_error(
    album, tmp_path, capsys, content, problem
):
    """A payload with other weights, a malformed or absurd architecture record: exit 2 with
    one line naming the file, before any photo is written (no traceback, no huge allocation)."""
    model = tmp_path / "odd.pt"
    torch.save({**generator_payload(tiny_trained_generator()), **content}, model)
    before = snapshot(tmp_path)
    assert exit_code(album, "-o", tmp_path / "out", "--model", model) == EXIT_USAGE
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "error" in line]
    assert line.startswith(f"colourise: error: --model: Model source {str(model)!r} is not a")
    assert problem in line and "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_a_model_file_that_is_not_a_payload_is_one_usage_error(album, tmp_path, capsys):
    """Random bytes or a pickle that would run code: refused as untrusted, nothing executed."""
    model = tmp_path / "odd.pt"
    model.write_bytes(bytes(range(256)) * 4)
    assert exit_code(album, "-o", tmp_path / "out", "--model", model) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{model} is not a model payload of this project" in err
    assert "do not trust it" in err and "will likely succeed" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case", [(128, None, 128), (None, None, DEFAULT_RENDER_SIZE), (128, "32", 32)]
)
def test_render_size_defaults_to_the_size_the_model_records(album, tmp_path, capsys, case):
    recorded, given, used = case
    model = photo_model(tmp_path, recorded)
    size = ["--render-size", given] if given else []
    assert exit_code(album, "-o", tmp_path / "out", "--model", model, *size) == EXIT_OK
    assert f"render size: {used}\n" in capsys.readouterr().err


@pytest.mark.parametrize("recorded", [100, 32000])
def test_a_recorded_render_size_that_cannot_be_used_is_a_usage_error(
    album, tmp_path, capsys, recorded
):
    """Refused as a model, before any photo, not photo by photo (32000 would need GBs each)."""
    model = photo_model(tmp_path, recorded)
    assert exit_code(album, "-o", tmp_path / "out", "--model", model) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "records a render size it cannot be used at" in err and f"got {recorded}." in err
    assert "give one of those" in err and not (tmp_path / "out").exists()


# The cat (451x300) is over the lowered limit but under twice it: Pillow opens it, warning.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_picture_over_pillows_pixel_limit_fails_by_name_with_the_fix(
    album, model_file, tmp_path, capsys, monkeypatch
):
    """A decompression bomb (or a huge scan) is refused before decoding; the others go on."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # the rocket, 427x640, is over 2x
    assert exit_code(album, "-o", tmp_path / "out", "--model", model_file) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert f"FAILED {album / 'rocket.jpg'}: too many pixels to open safely" in err
    assert "if it is a real photo, shrink it below 0.2 megapixels first." in err
    assert (tmp_path / "out" / "1969" / "cat.png").is_file()  # 451x300: colourised
    assert not (tmp_path / "out" / "rocket.jpg").exists()


@pytest.fixture(scope="module")
def hint_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A payload of a tiny generator trained to follow hints."""
    path = tmp_path_factory.mktemp("hint_model") / "generator_gan.pt"
    torch.save(generator_payload(tiny_hint_generator()), path)
    return path


def ab_distance_near(photo: Path, centre: tuple[int, int], colour: str, radius: int = 8) -> float:
    """Mean Lab ab distance to `colour` of the pixels within `radius` of `centre` (x, y)."""
    x, y = centre
    with Image.open(photo) as image:
        window = np.asarray(image.convert("RGB"))[y - radius : y + radius, x - radius : x + radius]
    target = Hint(0, 0, colour).normalised_ab() * 110
    return float(np.hypot(*(rgb_to_lab(window)[..., 1:] - target).transpose(2, 0, 1)).mean())


def test_a_hint_pulls_the_colour_around_it_towards_the_hinted_colour(hint_model_file, tmp_path):
    real_photo("coffee").save(tmp_path / "coffee.png")  # 600x400
    common = [tmp_path / "coffee.png", "--model", hint_model_file]
    assert run(*common, "-o", tmp_path / "plain") == EXIT_OK
    assert run(*common, "-o", tmp_path / "hinted", "--hint", "300,200,#2ecc71") == EXIT_OK
    plain = ab_distance_near(tmp_path / "plain" / "coffee.png", (300, 200), "#2ecc71")
    hinted = ab_distance_near(tmp_path / "hinted" / "coffee.png", (300, 200), "#2ecc71")
    assert hinted < 0.75 * plain  # measured: about 34 against 71


def test_a_hints_file_gives_the_same_result_as_the_same_hints_typed(hint_model_file, tmp_path):
    real_photo("chelsea").save(tmp_path / "cat.png")
    (tmp_path / "hints.json").write_text(
        json.dumps(
            [{"x": 100, "y": 50, "colour": "#2e86c1"}, {"x": 300, "y": 200, "color": "#f1c40f"}]
        )
    )
    common = [tmp_path / "cat.png", "--model", hint_model_file]
    typed = ["--hint", "100,50,#2e86c1", "--hint", "300,200,#F1C40F"]
    assert run(*common, "-o", tmp_path / "typed", *typed) == EXIT_OK
    assert run(*common, "-o", tmp_path / "file", "--hints", tmp_path / "hints.json") == EXIT_OK
    assert run(*common, "-o", tmp_path / "plain") == EXIT_OK
    typed_result, file_result, plain_result = (
        np.asarray(Image.open(tmp_path / folder / "cat.png"))
        for folder in ("typed", "file", "plain")
    )
    assert np.array_equal(typed_result, file_result)
    assert not np.array_equal(typed_result, plain_result)


@pytest.mark.parametrize(
    "case",
    [
        (["{photo}", "--hint", "1,2,red"], "argument --hint: hint '1,2,red' is not X,Y,#rrggbb"),
        (["{photo}", "--hint", "5,5,#ff0000", "--hint", "600,10,#ff0000"], "hint 600,10,#ff0000 is outside the 600x400 photo"),
        (["{photo}", "--hints", "{tmp}/hints.json"], "--hints: hints file {tmp}/hints.json[0] is {{\"x\": 1}}, not a hint"),
        (["{photo}", "--hints", "{tmp}/none.json"], "--hints: hints file {tmp}/none.json cannot be read"),
        (["{album}", "--hint", "5,5,#ff0000"], "give exactly one photo file with them, not {album}, which is not a file"),
        (["{photo}", "{photo}", "--hint", "5,5,#ff0000"], "not 2 paths; colourise other photos in separate runs"),
        (["--serve", "--hint", "5,5,#ff0000"], "give exactly one photo file with them, not --serve"),
    ],
)  # fmt: skip
def test_bad_hints_are_usage_errors_that_name_them(case, album, hint_model_file, tmp_path, capsys):
    arguments, message = case
    real_photo("coffee").save(tmp_path / "coffee.png")
    (tmp_path / "hints.json").write_text('[{"x": 1}]')
    fields = {"photo": tmp_path / "coffee.png", "album": album, "tmp": tmp_path}
    arguments = [argument.format(**fields) for argument in arguments]
    before = snapshot(tmp_path)
    assert exit_code(*arguments, "-o", tmp_path / "out", "--model", hint_model_file) == EXIT_USAGE
    assert message.format(**fields) in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_hints_for_a_model_without_hint_inputs_are_a_usage_error(model_file, tmp_path, capsys):
    real_photo("coffee").save(tmp_path / "coffee.png")
    code = exit_code(tmp_path / "coffee.png", "-o", tmp_path / "out", "--model", model_file,
                     "--hint", "5,5,#ff0000")  # fmt: skip
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"colourise: error: --hint/--hints: {model_file}: {NO_HINT_INPUTS}" in err
    assert not (tmp_path / "out").exists()


def test_hints_are_in_the_upright_photos_pixels(hint_model_file, tmp_path, capsys):
    """A camera's portrait photo, stored 96 wide and 80 high, turned upright by its EXIF tag:
    x = 85 is inside the stored pixels but outside the upright 80x96 photo."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    real_photo("astronaut").convert("L").resize((96, 80)).save(tmp_path / "portrait.jpg", exif=exif)
    common = [tmp_path / "portrait.jpg", "-o", tmp_path / "out", "--model", hint_model_file]
    assert exit_code(*common, "--hint", "85,10,#ff0000") == EXIT_USAGE
    assert "hint 85,10,#ff0000 is outside the 80x96 photo" in capsys.readouterr().err
    assert exit_code(*common, "--hint", "10,90,#ff0000") == EXIT_OK
    with Image.open(tmp_path / "out" / "portrait.jpg") as result:
        assert result.size == (80, 96)


def test_an_animation_claiming_20001_frames_fails_by_name_and_the_others_go_on(
    album, model_file, tmp_path, capsys
):
    (album / "endless.gif").write_bytes(claimed_gif(1000, 1000, 20_001))  # 300 kB
    assert exit_code(album, "-o", tmp_path / "out", "--model", model_file) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert f"FAILED {album / 'endless.gif'}: ValueError: it has more than the 1,000 frames" in err
    assert (tmp_path / "out" / "rocket.jpg").is_file()
    assert not (tmp_path / "out" / "endless.gif").exists()


def test_a_link_loop_in_a_folder_or_named_fails_by_name_and_the_rest_is_colourised(
    album, model_file, tmp_path, capsys
):
    (album / "loop.jpg").symlink_to("loop.jpg")  # resolving it raised RuntimeError before
    (tmp_path / "named.jpg").symlink_to("named.jpg")
    out = tmp_path / "out"
    code = run(album, tmp_path / "named.jpg", "-o", out, "--model", model_file)
    assert code == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    for loop in [album / "loop.jpg", tmp_path / "named.jpg"]:
        assert f"FAILED {loop}: is a symbolic link that leads back to itself (a loop)" in err
    assert "Traceback" not in err
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*.*")) == [
        "1969/cat.png",
        "rocket.jpg",
    ]


def test_an_output_folder_that_is_a_link_loop_is_a_usage_error(album, model_file, tmp_path, capsys):
    (tmp_path / "out").symlink_to("out")
    assert exit_code(album, "-o", tmp_path / "out", "--model", model_file) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{tmp_path / 'out'} is a symbolic link that leads back to itself (a loop)" in err


def test_a_fifo_or_a_device_is_named_as_what_it_is(album, model_file, tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.jpg")
    out = tmp_path / "out"
    code = run(
        album / "rocket.jpg", tmp_path / "pipe.jpg", "/dev/zero", "-o", out, "--model", model_file
    )
    assert code == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert f"FAILED {tmp_path / 'pipe.jpg'}: is a FIFO (named pipe), not a file" in err
    assert "FAILED /dev/zero: is a character device (like /dev/zero), not a file" in err
    for model, kind in [
        (tmp_path / "pipe.jpg", "is a FIFO"),
        ("/dev/zero", "is a character device"),
    ]:
        assert exit_code(album, "-o", out, "--model", model) == EXIT_USAGE
        assert f"Model source '{model}' {kind}" in capsys.readouterr().err


def test_file_names_are_printed_with_their_control_characters_escaped(
    album, model_file, tmp_path, capsys
):
    """A name that would retitle the terminal and turn it red, printed raw."""
    (album / "\x1b]0;owned\x07\x1b[31mevil.jpg").write_text("not a photo")
    assert exit_code(album, "-o", tmp_path / "out", "--model", model_file) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert f"FAILED {album}/\\x1b]0;owned\\x07\\x1b[31mevil.jpg: UnidentifiedImageError" in err


def test_the_onnx_runtime_colours_as_pytorch_does_without_importing_torch(exported_model, tmp_path):
    real_photo("coffee").save(tmp_path / "coffee.jpg", quality=90)
    onnx_run = (
        "import sys; from image_colourisation.app.cli import main; "
        f"code = main([{str(tmp_path / 'coffee.jpg')!r}, '-o', {str(tmp_path / 'onnx')!r}, "
        f"'--model', {str(exported_model)!r}]); print('torch' in sys.modules); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", onnx_run], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert "runtime: onnx\n" in result.stderr
    assert result.stdout.splitlines()[-1] == "False"  # torch was never imported
    torch_args = ["--model", exported_model, "--runtime", "torch", "-o", tmp_path / "torch"]
    assert run(tmp_path / "coffee.jpg", *torch_args) == EXIT_OK
    onnx, pytorch = (
        np.asarray(Image.open(tmp_path / out / "coffee.jpg")) for out in ("onnx", "torch")
    )
    assert np.abs(onnx.astype(int) - pytorch).max() <= 2  # JPEG of the same colours


def test_a_model_without_an_onnx_export_runs_with_pytorch_saying_how_to_export(
    model_file, tmp_path, capsys
):
    real_photo("coffee").save(tmp_path / "coffee.png")
    assert run(tmp_path / "coffee.png", "--model", model_file, "-o", tmp_path / "out") == EXIT_OK
    stderr = capsys.readouterr().err
    assert f"runtime: torch ({model_file} has no ONNX export beside it" in stderr
    assert f"python -m image_colourisation.models.onnx_export {model_file}" in stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A clone of the project elsewhere, with a trained GAN where `kedro run` saves it."""
    root = tmp_path / "clone"
    version = root / "data/06_models/generator_gan.pt/2026-01-01T00.00.00.000Z"
    version.mkdir(parents=True)
    torch.save(generator_payload(tiny_trained_generator()), version / "generator_gan.pt")
    (root / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "image_colourisation"\n')
    return root


@pytest.mark.parametrize("where", ["inside", "installed from", "named"])
def test_runs_from_any_folder_with_the_projects_models(
    where, project, tmp_path, monkeypatch, capsys
):
    """Photos and -o stay relative to the user's folder; the default model is the project's:
    the one around the folder, else the one the package was installed from, or --project."""
    here = project / "notebooks" if where == "inside" else tmp_path / "pictures"
    here.mkdir()
    monkeypatch.chdir(here)
    if where == "installed from":
        monkeypatch.setattr("image_colourisation.app.project.INSTALLED_FROM", project)
    real_photo("chelsea").convert("L").save("cat.png")
    extra = ["--project", str(project)] if where == "named" else []
    assert run("cat.png", "-o", "out", *extra) == EXIT_OK
    assert (here / "out" / "cat.png").is_file()
    assert Path.cwd() == here  # given back
    err = capsys.readouterr().err
    assert f"project: {project}" in err
    assert "model: data/06_models/generator_gan.pt" in err


def test_without_a_project_the_error_says_how_to_name_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("image_colourisation.app.project.INSTALLED_FROM", tmp_path)  # not editable
    monkeypatch.chdir(tmp_path)
    real_photo("chelsea").save("cat.png")
    assert run("cat.png") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "'data/06_models/generator_gan.pt' does not exist" in err
    assert f"No image-colourisation project in {tmp_path} or the folders above it" in err
    assert "Run colourise inside the project folder, give --project DIR" in err


def test_a_project_without_a_trained_gan_says_how_to_train_one(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    real_photo("chelsea").save("cat.png")
    shutil.rmtree(project / "data/06_models")
    assert run("cat.png") == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"The project {project} has no trained GAN yet: `kedro run` there trains one." in err


def test_project_that_is_not_this_project_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "other"\n')
    assert exit_code("cat.png", "--project", tmp_path) == EXIT_USAGE
    assert f"--project {tmp_path} is not the image-colourisation project" in capsys.readouterr().err
