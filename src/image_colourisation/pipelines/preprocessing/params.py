"""The `preprocessing` parameters and what each may be (`core/ranges`). Checked before any run
by `hooks/parameters.py`."""

from image_colourisation.core.ranges import SEED, Rules, Setting

RULES: Rules = {
    "validation_fraction": Setting(float, 0.0, 1.0, low_open=True, high_open=True),
    "seed": SEED,
}
