"""The `photos` parameters, each with its allowed range (`core/ranges`).

`hooks/parameters.py` checks every one before any run, and each node checks its own again, so
a bad value reads the same from `kedro run` and from code:
"photos.workers is -1; allowed: an integer in [0, 64]". `photos.training` (training's
parameters with `photos.training_changes`) is checked as training's are.
"""

from collections.abc import Collection, Mapping
from typing import Any

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.ranges import SEED, Rules, Setting, problems_in
from image_colourisation.imaging.render import MAX_RENDER_SIZE, RENDER_MULTIPLE
from image_colourisation.pipelines.evaluation.params import BATCH_SIZE, LEARNER
from image_colourisation.pipelines.training import config as training_config

# An epoch's plan (`PhotoCrops.epoch_plan`) holds a (photo, seed) pair per crop, about 130 bytes
# each as Python tuples: a million crops is ~130 MB, far beyond a useful epoch (62,500 steps of
# 16). 10,000 crops per photo is that many for 100 photos; larger folders are checked against
# MAX_EPOCH_CROPS when their photos are counted (`check_epoch_size`).
MAX_CROPS_PER_PHOTO = 10_000
MAX_EPOCH_CROPS = 1_000_000
# The held-out shares: each in (0, 1), and the two sum to less than 1 (`index_photos`).
FRACTION = Setting(float, 0.0, 1.0, low_open=True, high_open=True)
RANGES: dict[str, Setting] = {
    # A trained generator renders at its crop size, and `colourise` takes only multiples of
    # RENDER_MULTIPLE (2**5, the halvings of the default U-Net) up to MAX_RENDER_SIZE.
    "crop_size": Setting(int, RENDER_MULTIPLE, MAX_RENDER_SIZE, multiple_of=RENDER_MULTIPLE),
    # The working copies' shorter side is working_scale * crop_size: below 1 a crop would not
    # fit; 8 keeps a copy at crop 1024 within 8192 px and the scale jitter within 8x.
    "working_scale": Setting(float, 1.0, 8.0),
    "crops_per_photo": Setting(int, 1, MAX_CROPS_PER_PHOTO),
    "flip": Setting(bool, 0, 1),
    "workers": Setting(int, 0, 64),  # DataLoader processes; more than 64 only waste memory
    # The held-out centre squares are kept in memory: 200 KB each at crop 128, 2 GB at 10,000.
    "held_out_limit": Setting(int, 1, 10_000),
}
RULES: Rules = {
    **RANGES,
    "validation_fraction": FRACTION,
    "test_fraction": FRACTION,
    "seed": SEED,
    "evaluation_batch_size": BATCH_SIZE,
    "classifier": LEARNER,
    "critic": LEARNER,
}


def problems(parameters: Any, *, broken: Collection[str] = ()) -> list[str]:
    """Every problem of the `photos` section, one line each.

    `photos.training`, `photos.classifier` and `photos.critic` are copies of `training` and
    `evaluation`'s, with changes (`photos.training_changes`, or --params
    photos.training.<key>=...). A copy whose source has problems of its own is `broken`: it is
    not checked again, so one bad value is reported once; only `training_changes` is."""
    rules = {name: rule for name, rule in RULES.items() if name not in broken}
    found = problems_in(rules, parameters, "photos")
    if not isinstance(parameters, Mapping):
        return found
    if "training" not in broken and "training" in parameters:
        found += training_config.problems(parameters["training"], "photos.training")
    elif "training_changes" in parameters:
        found += problems_in(
            training_config.RULES,
            parameters["training_changes"],
            "photos.training_changes",
            closed=True,
            partial=True,
        )
    return found


def problem(name: str, value: Any) -> str | None:
    """Why `photos.<name>` may not be `value`, or None when it may."""
    return RANGES[name].problem(f"photos.{name}", value)


def check(name: str, value: Any) -> Any:
    """`value` when `photos.<name>` may be it, else the one line that says what it may be."""
    found = problem(name, value)
    if found:
        raise UserValueError(found)
    return value


def check_all(parameters: Mapping[str, Any]) -> None:
    """Every problem among the checked `photos.<name>` values in `parameters`, said at once."""
    problems = [
        found
        for name, value in parameters.items()
        if name in RANGES and (found := problem(name, value))
    ]
    if problems:
        raise UserValueError("invalid photos parameters:\n  " + "\n  ".join(problems))


def check_epoch_size(crops_per_photo: int, photos: int) -> None:
    """An epoch of `photos` training photos with `crops_per_photo` each must fit its plan in
    memory (MAX_EPOCH_CROPS)."""
    if crops_per_photo * photos > MAX_EPOCH_CROPS:
        raise UserValueError(
            f"photos.crops_per_photo is {crops_per_photo}; allowed: at most "
            f"{MAX_EPOCH_CROPS // photos} with {photos} training photos (an epoch of at most "
            f"{MAX_EPOCH_CROPS:,} crops)"
        )
