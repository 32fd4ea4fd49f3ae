"""`colourise clip.mp4`: a video is written into OUTDIR under its own name by the same rules
as photos (skipped when it exists, replaced with --overwrite), with --temporal and --key-every."""

import pytest

from image_colourisation.app import cli
from image_colourisation.app.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from image_colourisation.imaging.video import probe_video
from image_colourisation.serving.model_sources import TrainedGenerator
from tests.imaging.test_video import GrayLevelModel, square_frames, write_clip


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
