"""Where the shared copy of torchvision's MobileNetV2 checkpoint lies, for the tests that need it."""

from functools import partial

import pytest

from image_colourisation.models.imagenet import load_imagenet_state, weights_name
from tests.project_copy import PROJECT_ROOT

SHARED_WEIGHTS = PROJECT_ROOT.parent / "shared/data/weights"
needs_shared_weights = pytest.mark.skipif(
    not (SHARED_WEIGHTS / weights_name()).is_file(),
    reason=f"torchvision's MobileNetV2 checkpoint is not in {SHARED_WEIGHTS}",
)

# What the catalog's `imagenet_weights` hands the training nodes: a function that loads them.
shared_imagenet_weights = partial(load_imagenet_state, SHARED_WEIGHTS)
