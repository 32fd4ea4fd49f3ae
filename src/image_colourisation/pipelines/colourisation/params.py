"""The `colourisation` parameters and what each may be (`core/ranges`). Checked before any run
by `hooks/parameters.py`."""

from image_colourisation.core.ranges import Choice, Rules, Setting
from image_colourisation.imaging.render import MAX_RENDER_SIZE, RENDER_MULTIPLE

# The render sizes `colourise` takes (`render.check_render_size`).
RENDER_SIZE = Setting(int, RENDER_MULTIPLE, MAX_RENDER_SIZE, multiple_of=RENDER_MULTIPLE)
RULES: Rules = {
    "render_size": RENDER_SIZE,
    "runtime": Choice(("onnx", "torch")),
    "key_every": Setting(int, 1, 10_000),  # as `colourise --key-every`
}
