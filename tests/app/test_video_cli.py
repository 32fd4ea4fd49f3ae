"""`colourise clip.mp4`: a video is written into OUTDIR under its own name by the same rules
as photos (skipped when it exists, replaced with --overwrite), with --temporal, --key-every and
--hints on frames."""

import json

import pytest
from PIL import Image

from image_colourisation.app import cli
from image_colourisation.app.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from image_colourisation.imaging.video import probe_video
from image_colourisation.serving.model_sources import TrainedGenerator
from tests.imaging.test_video import GrayLevelModel, HintPainter, square_frames, write_clip


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> GrayLevelModel:
    """The command's model, whatever --model says: the gray-level model, counting its calls."""
    chosen = GrayLevelModel()
    monkeypatch.setattr(
        cli, "load_trained_generator", lambda *_: TrainedGenerator(chosen, None, "onnx")
    )
    return chosen


def test_a_clip_is_written_under_its_name_and_then_skipped(tmp_path, model):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(9), "libx264")
    out = tmp_path / "out"
    assert main([str(clip), "-o", str(out), "--model", "any", "--key-every", "4"]) == EXIT_OK
    assert probe_video(out / "clip.mp4").frames == 9
    assert model.calls == 3  # frames 0, 4 and 8
    written = (out / "clip.mp4").stat().st_mtime_ns
    assert main([str(clip), "-o", str(out), "--model", "any"]) == EXIT_OK
    assert (out / "clip.mp4").stat().st_mtime_ns == written
    assert model.calls == 3
    args = [str(clip), "-o", str(out), "--model", "any", "--overwrite", "--temporal", "off"]
    assert main(args) == EXIT_OK
    assert model.calls == 3 + 9


def test_a_broken_clip_fails_by_name_and_leaves_nothing(tmp_path, model, capsys):
    clip = tmp_path / "broken.mkv"
    clip.write_bytes(b"\x1a\x45\xdf\xa3 not really matroska")
    out = tmp_path / "out"
    assert main([str(clip), "-o", str(out), "--model", "any"]) == EXIT_SOME_FAILED
    assert "broken.mkv cannot be read as a video" in capsys.readouterr().err
    assert not list(out.glob("*.mkv*"))  # no result, no temporary file


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_key_every_must_be_a_whole_number_from_1(tmp_path, value):
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "clip.mp4"), "--key-every", value])
    assert stopped.value.code == EXIT_USAGE


def test_a_videos_hints_make_key_frames(tmp_path, monkeypatch):
    painter = HintPainter()
    monkeypatch.setattr(
        cli, "load_trained_generator", lambda *_: TrainedGenerator(painter, None, "onnx")
    )
    clip = write_clip(tmp_path / "clip.mp4", square_frames(9), "libx264")
    hints = tmp_path / "film.json"
    hints.write_text(json.dumps([{"frame": 3, "x": 16, "y": 24, "colour": "#c0392b"}]))
    out = tmp_path / "out"
    assert main([str(clip), "-o", str(out), "--model", "any", "--hints", str(hints)]) == EXIT_OK
    assert painter.calls == 3  # frames 0, 3 (the hint) and 8 (the last; without hints: 2)


@pytest.mark.parametrize(
    ("hints", "extra", "message"),
    [
        ([{"frame": 9, "x": 1, "y": 2, "colour": "#c0392b"}], [], "--hints: a hint is on frame 9, past the last frame of clip.mp4 (8, counting from 0)"),
        ([{"frame": 2, "x": 64, "y": 2, "colour": "#c0392b"}], [], "--hints: frame 2: hint 64,2,#c0392b is outside the 64x48 photo"),
        ([{"x": 1, "y": 2, "colour": "#c0392b"}], [], "film.json[0] is {\"x\": 1, \"y\": 2, \"colour\": \"#c0392b\"}, not a hint on a frame"),
        ([], ["--hint", "1,2,#c0392b"], "--hint is for photos; give a video's hints with --hints FILE"),
    ],
)  # fmt: skip
def test_bad_hints_for_a_video_are_usage_errors_that_name_them(
    tmp_path, capsys, hints, extra, message
):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(9), "libx264")
    (tmp_path / "film.json").write_text(json.dumps(hints))
    arguments = [str(clip), "-o", str(tmp_path / "out"), "--hints", str(tmp_path / "film.json")]
    with pytest.raises(SystemExit) as stopped:
        main(arguments + extra)
    assert stopped.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folders_videos_are_colourised_under_their_relative_paths(tmp_path, model, capsys):
    """Videos in a folder are jobs as its photos are: OUTDIR/relative path, skipped when
    written, replaced with --overwrite, a link out of the folder not followed."""
    folder = tmp_path / "album"
    (folder / "trip").mkdir(parents=True)
    write_clip(folder / "trip" / "clip.mkv", square_frames(5), "ffv1")
    Image.fromarray(square_frames(1)[0]).save(folder / "still.png")
    outside = write_clip(tmp_path / "elsewhere.mp4", square_frames(3), "libx264")
    (folder / "link.mp4").symlink_to(outside)
    out = tmp_path / "out"
    assert main([str(folder), "-o", str(out), "--model", "any", "--key-every", "4"]) == EXIT_OK
    assert probe_video(out / "trip" / "clip.mkv").frames == 5
    assert (out / "still.png").is_file()
    assert not (out / "link.mp4").exists()
    assert f"skipped {folder / 'link.mp4'}: links to {outside}" in capsys.readouterr().err
    assert model.calls == 2 + 1  # the clip's frames 0 and 4, the photo
    assert main([str(folder), "-o", str(out), "--model", "any"]) == EXIT_OK
    assert model.calls == 3
    assert main([str(folder), "-o", str(out), "--model", "any", "--overwrite"]) == EXIT_OK
    assert model.calls == 3 + 3  # frames 0 and 4 (the last), the photo
