"""PhotoFolderDataset: the photos folder in, the colourised folder out, nothing overwritten."""

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError
from PIL import Image

from image_colourisation.datasets.photo_folder import PhotoFolderDataset


def gray(value: int, size: tuple[int, int] = (40, 30)) -> Image.Image:
    return Image.new("L", size, value)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "1969").mkdir(parents=True)
    gray(10).save(folder / "a.jpg")
    gray(200).save(folder / "1969" / "b.png")
    (folder / ".gitkeep").touch()
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_load_lists_photos_by_relative_path_and_leaves_other_files_out(photos):
    loaded = PhotoFolderDataset(path=str(photos)).load()
    assert sorted(loaded) == ["1969/b.png", "a.jpg"]
    image = loaded["1969/b.png"]()
    assert (image.size, image.getpixel((0, 0))) == ((40, 30), 200)


@pytest.mark.parametrize("contents", ["missing", "empty", "only .gitkeep"])
def test_no_photos_load_as_empty_with_a_hint(contents, tmp_path, caplog):
    folder = tmp_path / "photos"
    if contents != "missing":
        folder.mkdir()
    if contents == "only .gitkeep":
        (folder / ".gitkeep").touch()
    with caplog.at_level(logging.WARNING):
        assert PhotoFolderDataset(path=str(folder)).load() == {}
    assert f"No photos in {folder}" in caplog.text


def test_save_writes_lazy_photos_in_their_format_and_sub_folder(tmp_path):
    out = tmp_path / "out"
    PhotoFolderDataset(path=str(out)).save({"x/a.jpg": lambda: gray(50), "b.png": gray(60)})
    with Image.open(out / "x" / "a.jpg") as jpeg, Image.open(out / "b.png") as png:
        assert (jpeg.format, png.format) == ("JPEG", "PNG")


def test_existing_photos_are_skipped_unless_replace_existing(tmp_path, caplog):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"the user's own edit")
    computed = []

    def colourised() -> Image.Image:
        computed.append(True)
        return gray(70)

    with caplog.at_level(logging.WARNING):
        PhotoFolderDataset(path=str(out)).save({"a.png": colourised, "b.png": gray(80)})
    assert (out / "a.png").read_bytes() == b"the user's own edit"
    assert computed == []  # skipped before any work is done
    assert "Skipped a.png" in caplog.text
    assert (out / "b.png").is_file()
    PhotoFolderDataset(path=str(out), replace_existing=True).save({"a.png": colourised})
    assert np.asarray(Image.open(out / "a.png")).max() == 70


def test_a_failing_photo_is_named_and_the_others_are_written(tmp_path):
    out = tmp_path / "out"

    def broken() -> Image.Image:
        raise OSError("image file is truncated")

    with pytest.raises(
        DatasetError, match=r"1 of 3 photos .*\n  b\.jpg: OSError: image file is truncated"
    ):
        PhotoFolderDataset(path=str(out)).save(
            {"a.png": gray(1), "b.jpg": broken, "c.png": gray(2)}
        )
    assert sorted(path.name for path in out.iterdir()) == ["a.png", "c.png"]


def test_replace_existing_must_be_a_boolean(tmp_path):
    with pytest.raises(DatasetError, match="replace_existing must be true or false"):
        PhotoFolderDataset(path=str(tmp_path), replace_existing="false")


def test_a_text_file_named_jpg_is_reported_in_pillows_words(photos, tmp_path):
    (photos / "letter.jpg").write_text("Dear Sir, this is not a photograph.")
    loaded = PhotoFolderDataset(path=str(photos)).load()
    out = tmp_path / "out"
    with pytest.raises(DatasetError, match="letter.jpg: UnidentifiedImageError: cannot identify"):
        PhotoFolderDataset(path=str(out)).save(loaded)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == ["1969/b.png", "a.jpg"]


def test_links_out_of_the_folder_are_skipped_and_dangling_ones_fail_by_name(
    photos, tmp_path, caplog
):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash")
    (photos / "passwd.jpg").symlink_to(secret)
    (photos / "gone.png").symlink_to(tmp_path / "deleted.png")
    (photos / "same.png").symlink_to(photos / "1969" / "b.png")  # inside the folder: read
    os.mkfifo(photos / "pipe.jpg")  # opening it would block for ever
    (photos / "loop.png").symlink_to("loop.png")

    with caplog.at_level(logging.WARNING):
        loaded = PhotoFolderDataset(path=str(photos)).load()
    assert sorted(loaded) == ["1969/b.png", "a.jpg", "gone.png", "loop.png", "same.png"]
    assert f"Skipped passwd.jpg: links to {secret}, outside" in caplog.text
    assert "Skipped pipe.jpg: is a FIFO (named pipe), not a file" in caplog.text
    assert loaded["same.png"]().getpixel((0, 0)) == 200
    out = tmp_path / "out"
    with pytest.raises(DatasetError) as failed:
        PhotoFolderDataset(path=str(out)).save(loaded)
    message = str(failed.value)
    assert message.startswith("2 of 5 photos could not be colourised")
    assert f"gone.png: FileNotFoundError: is a link to {tmp_path / 'deleted.png'}" in message
    assert "loop.png: FileNotFoundError: is a symbolic link that leads back to itself" in message
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == [
        "1969/b.png",
        "a.jpg",
        "same.png",
    ]


def test_animations_load_and_save_with_every_frame(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    frames = [gray(value) for value in (20, 120, 220)]
    frames[0].save(folder / "blink.gif", save_all=True, append_images=frames[1:], duration=70)
    loaded = PhotoFolderDataset(path=str(folder)).load()["blink.gif"]()
    assert loaded.n_frames == 3
    for frame in frames:
        frame.info["duration"] = 70  # as render.colourise_frames passes each frame's timing on
    out = tmp_path / "out"
    PhotoFolderDataset(path=str(out)).save({"blink.gif": lambda: frames})
    with Image.open(out / "blink.gif") as written:
        assert (written.n_frames, written.info["duration"]) == (3, 70)
    assert [p.name for p in out.iterdir()] == ["blink.gif"]  # written atomically: no temporary
