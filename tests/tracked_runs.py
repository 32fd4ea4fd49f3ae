"""A project copy after a tiny end-to-end `kedro run`: the runs the browser tests and the notebook see.

One plain `kedro run` (the default pipeline: ingestion, preprocessing, training of a GAN and an
L1-only generator, each a nested MLflow run under the kedro-mlflow run, evaluation, and
colourisation of an empty photos folder) on the tiny archive with tiny models: the MLflow
store, the models and the reports are the real thing in miniature. Built once per test session.
"""

from pathlib import Path

import pytest

from tests.conftest import archive_params, run_kedro

TINY_TRAINING = {
    "training.epochs": 2,
    "training.gan_epochs": 2,
    "training.batch_size": 16,
    "training.width": 8,
    "training.discriminator_width": 8,
    "training.sample_every": 1,
    "training.sample_images": 4,
    # Two tiny epochs leave the error head doubting every pixel, and the confidence step then
    # (rightly) paints the photos gray: these runs check the plumbing with colour to see. The
    # step itself: tests/models/test_encoder.py; the encoder stays on.
    "training.confidence": 0.0,
}
TINY_EVALUATION = {"evaluation.classifier.epochs": 1, "evaluation.classifier.width": 4}
VARIANTS = ("gan", "l1")
EXPERIMENT = "image-colourisation"

_BUILT = pytest.StashKey[Path]()


@pytest.fixture
def tracked_project(
    request: pytest.FixtureRequest, kedro_project: Path, tiny_archive: tuple[Path, str]
) -> Path:
    """The project copy holding `mlflow.db`, `mlruns/` and `data/` from one tiny end-to-end run.

    Function-scoped so it can build on the shared `kedro_project` fixture, but the run happens
    once per session: the first test that asks builds it, the later ones get the same folder.
    """
    if _BUILT not in request.config.stash:
        params = {**TINY_TRAINING, **TINY_EVALUATION}
        run_kedro(
            kedro_project, "run", "--params", f"{archive_params(tiny_archive)},{_params(params)}"
        )
        request.config.stash[_BUILT] = kedro_project
    return request.config.stash[_BUILT]


def _params(values: dict[str, object]) -> str:
    return ",".join(f"{key}={value}" for key, value in values.items())
