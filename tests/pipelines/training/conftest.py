"""The tiny training parameters the loop, step and checkpoint tests share: without the ImageNet
encoder and the error head (tests/models/test_encoder.py and the end-to-end runs train with
them)."""

from pathlib import Path

import pytest

from image_colourisation.pipelines.training.config import TrainingParams, project_training_params
from tests.project_copy import PROJECT_ROOT


@pytest.fixture
def params(tmp_path: Path) -> TrainingParams:
    return project_training_params(
        PROJECT_ROOT,
        epochs=2,
        batch_size=8,
        width=4,
        discriminator_width=4,
        imagenet_encoder=0,
        confidence=0.0,
        device="cpu",
        checkpoint_dir=str(tmp_path / "checkpoints"),
    )
