"""The `evaluation` parameters and what each may be (`core/ranges`); the photos pipeline's
classifier and critic take the same rules. Checked before any run by `hooks/parameters.py`."""

from image_colourisation.core.ranges import SEED, Items, Rules, Setting
from image_colourisation.models.hint_sampling import MOST_HINTS

from .classifier import CLASSIFIER_ARCHITECTURE

BATCH_SIZE = Setting(int, 1, 65_536)
# The small classifier and the critic the evaluation trains (`classifier.py`, `critic.py`).
LEARNER: Rules = {
    "width": CLASSIFIER_ARCHITECTURE["width"],
    "epochs": Setting(int, 1, 10_000),
    "batch_size": BATCH_SIZE,
    "learning_rate": Setting(float, 0.0, 10.0, low_open=True),
    "weight_decay": Setting(float, 0.0, 1.0),
    "crop_padding": Setting(int, 0, 64),
    "seed": SEED,
}
RULES: Rules = {
    "batch_size": BATCH_SIZE,
    "ab_distribution_images": Setting(int, 1, 1_000_000),
    "classifier": LEARNER,
    "critic": LEARNER,
    "hints_curve": {
        "counts": Items(Setting(int, 0, MOST_HINTS), max_items=64),
        "seed": SEED,
        "max_patch": Setting(int, 1, 32),  # a 32-px CIFAR-10 image
        "sample_images": Setting(int, 1, 64),
        "sample_hints": Setting(int, 0, MOST_HINTS),
    },
}
