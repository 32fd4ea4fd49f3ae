"""`colourise --serve` refuses what it cannot do before it starts, and the page's model list.

The page itself is driven in a browser by tests/browser/test_colourise_page.py.
"""

import socket
from pathlib import Path

import pytest

from image_colourisation.colourise_cli import EXIT_USAGE, main
from image_colourisation.model_choices import ModelChoice, model_choices


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--serve", "photo.jpg"], "--serve takes no PATH: drop the photos on the page instead"),
        ([], "give the photos or folders to colourise, or --serve for the page"),
        (["--serve", "--max-upload-mb", "0"], "--max-upload-mb must be a positive number"),
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
    assert not (tmp_path / "mlflow.db").exists()
