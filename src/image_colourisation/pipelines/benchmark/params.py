"""The `benchmark` parameters and what each may be (`core/ranges`). Checked before any run by
`hooks/parameters.py`."""

from image_colourisation.core.ranges import SEED, Choice, Rules, Setting
from image_colourisation.models.hint_sampling import MOST_HINTS

# Lab chroma and ab distances: the gamut's ab reaches about ±128, so distances stay below 400.
LAB_DISTANCE = Setting(float, 0.0, 400.0)
RULES: Rules = {
    "hints": Setting(int, 0, MOST_HINTS),
    "seed": SEED,
    "runtime": Choice((None, "onnx", "torch")),
    "blotch": {"min_chroma": LAB_DISTANCE, "min_error": LAB_DISTANCE},
    "bootstrap": {
        "draws": Setting(int, 1, 1_000_000),
        "seed": SEED,
        "level": Setting(float, 0.0, 1.0, low_open=True, high_open=True),
    },
    "grid_photos": Setting(int, 1, 100),
}
