"""The training parameters as one typed, validated dataclass.

Kedro (1.3+) builds this dataclass from `params:training` before the run starts, because the
node's argument is annotated with it; a bad value therefore stops `kedro run` before any
pipeline does work, with a message that names the parameter and what it may be.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from image_colourisation.core.ranges import Setting
from image_colourisation.models.hint_sampling import HintSampling

DEVICES = ("auto", "cpu", "cuda")
LR_SCALINGS = ("none", "linear", "sqrt")
_POSITIVE_INTS = ("batch_size", "discriminator_layers", "sample_every", "sample_images")
_NON_NEGATIVE_FLOATS = (
    "lr",
    "l1_weight",
    "adversarial_weight",
    "feature_matching_weight",
    "bins_weight",
    "class_weight",
)
_NON_NEGATIVE_INTS = ("epochs", "gan_epochs", "crop_padding", "gan_crop_padding")
POSITIVE, NON_NEGATIVE = Setting(int, 1, math.inf), Setting(int, 0, math.inf)
UNIT = Setting(float, 0.0, 1.0)  # [0, 1], each end opened where the value may not be it
# Every number of `training` and what it may be. The networks' sizes keep to the bounds a model
# payload may record (generator_record.GENERATOR_ARCHITECTURE), so a trained model can be loaded again.
RANGES: dict[str, Setting] = {
    **dict.fromkeys(_NON_NEGATIVE_INTS, NON_NEGATIVE),
    **dict.fromkeys(_POSITIVE_INTS, POSITIVE),
    **dict.fromkeys(_NON_NEGATIVE_FLOATS, Setting(float, 0.0, math.inf)),
    "width": Setting(int, 1, 1024),
    "depth": Setting(int, 2, 10),
    "discriminator_width": Setting(int, 1, 1024),
    "dropout": replace(UNIT, high_open=True),
    "beta1": replace(UNIT, high_open=True),
    "beta2": replace(UNIT, high_open=True),
    "real_label": replace(UNIT, low_open=True),
    "temperature": replace(UNIT, low_open=True),
    "rebalance": UNIT,
    "ema_decay": replace(UNIT, high_open=True),
    "residual_blocks": Setting(int, 0, 16),
    "imagenet_encoder": Setting(int, 32, 512, zero_allowed=True),
    "confidence": Setting(float, 0.0, 100.0),
}
_BOOLS = (
    "flip",
    "warm_start",
    "colour_bins",
    "channels_last",
    "resume",
    "class_conditional",
    "attention",
)


@dataclass(frozen=True)
class DistributedParams:
    """`training.distributed`: how many processes on how many machines (`launch.py`)."""

    processes: int
    nodes: int
    node_rank: int
    address: str
    port: int
    lr_scaling: str
    warmup_epochs: int

    @property
    def world_size(self) -> int:
        """Processes in all; the global batch is `batch_size` times this."""
        return self.processes * self.nodes

    def problems(self) -> list[str]:
        problems = [
            POSITIVE.problem(f"training.distributed.{name}", getattr(self, name))
            for name in ("processes", "nodes", "port")
        ]
        problems += [
            NON_NEGATIVE.problem(f"training.distributed.{name}", getattr(self, name))
            for name in ("node_rank", "warmup_epochs")
        ]
        numbers = not any(problems)  # the range checks below need integers
        if numbers and self.port > 65535:
            problems.append(f"training.distributed.port is {self.port}; allowed: 1..65535")
        if numbers and self.node_rank >= self.nodes:
            problems.append(
                f"training.distributed.node_rank is {self.node_rank} with nodes {self.nodes}; "
                "allowed: 0 (the head node) .. nodes - 1"
            )
        if not isinstance(self.address, str) or not self.address:
            problems.append(
                f"training.distributed.address is {self.address!r}; allowed: the head node's "
                "host name or IP address"
            )
        if self.lr_scaling not in LR_SCALINGS:
            problems.append(
                f"training.distributed.lr_scaling is {self.lr_scaling!r}; allowed: "
                + ", ".join(LR_SCALINGS)
            )
        return [problem for problem in problems if problem]


@dataclass(frozen=True)
class HintParams(HintSampling):
    """`training.hints`: train the generator with colour hints drawn from the true colours
    (`enabled`), as `HintSampling`'s fields say (parameters_training.yml explains each)."""

    enabled: bool

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.enabled, bool):
            raise ValueError(f"training.hints.enabled is {self.enabled!r}; allowed: true, false")


Section = TypeVar("Section", "DistributedParams", "HintParams")


def section(value: Any, kind: type[Section], name: str) -> Section:
    """`training.<name>` as YAML gives it (a mapping with every key) or as code does (the
    dataclass); a value that is neither, or a bad or missing key, named."""
    if isinstance(value, kind):
        return value
    allowed = [item.name for item in fields(kind)]
    if not isinstance(value, Mapping) or set(value) ^ set(allowed):
        unknown, missing = (
            (sorted(set(value) - set(allowed)), sorted(set(allowed) - set(value)))
            if isinstance(value, Mapping)
            else ([], [])
        )
        problem = (
            f"has unknown keys {unknown}"
            if unknown
            else f"misses keys {missing}"
            if missing
            else f"is {value!r}"
        )
        raise ValueError(
            f"invalid training parameters:\n  training.{name} {problem}; allowed: a mapping "
            f"with keys {', '.join(allowed)}"
        )
    try:
        return kind(**value)
    except ValueError as error:
        raise ValueError(f"invalid training parameters:\n  training.{name}: {error}") from None


@dataclass(frozen=True)
class TrainingParams:
    """`conf/base/parameters_training.yml` -> `training`; each field is documented there."""

    epochs: int
    gan_epochs: int
    warm_start: bool
    batch_size: int
    width: int
    depth: int
    dropout: float
    discriminator_width: int
    discriminator_layers: int
    lr: float
    beta1: float
    beta2: float
    l1_weight: float
    adversarial_weight: float
    feature_matching_weight: float
    real_label: float
    colour_bins: bool
    temperature: float
    rebalance: float
    bins_weight: float
    class_weight: float
    class_conditional: bool
    attention: bool
    residual_blocks: int
    imagenet_encoder: int
    confidence: float
    ema_decay: float
    flip: bool
    crop_padding: int
    gan_crop_padding: int
    channels_last: bool
    device: str
    seed: int
    sample_every: int
    sample_images: int
    checkpoint_dir: str
    resume: bool
    distributed: DistributedParams
    hints: HintParams

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "distributed", section(self.distributed, DistributedParams, "distributed")
        )
        object.__setattr__(self, "hints", section(self.hints, HintParams, "hints"))
        problems = [problem for problem in self._problems() if problem]
        if problems:
            raise ValueError("invalid training parameters:\n  " + "\n  ".join(problems))
        for item in fields(self):  # YAML may say `l1_weight: 100`; keep the types honest
            if item.type is float:
                object.__setattr__(self, item.name, float(getattr(self, item.name)))

    def _problems(self) -> list[str]:
        problems = [
            setting.problem(f"training.{name}", getattr(self, name))
            for name, setting in RANGES.items()
        ]
        if self.device not in DEVICES:
            problems.append(f"training.device is {self.device!r}; allowed: {', '.join(DEVICES)}")
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                problems.append(f"training.{name} is {getattr(self, name)!r}; allowed: true, false")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            problems.append(f"training.seed is {self.seed!r}; allowed: an integer")
        if not isinstance(self.checkpoint_dir, str) or not self.checkpoint_dir:
            problems.append(f"training.checkpoint_dir is {self.checkpoint_dir!r}; allowed: a path")
        return problems + self.distributed.problems()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_training_params(project: Path = Path(), **changes: Any) -> TrainingParams:
    """The project's `training` parameters (`conf/base/parameters_training.yml`, their one
    home) with `changes`; a change to `hints` or `distributed` replaces single keys of it.

    For scripts and tests that train outside `kedro run` (benchmarks, the test suite)."""
    path = project / "conf" / "base" / "parameters_training.yml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))["training"]
    for name in ("hints", "distributed"):
        if isinstance(changes.get(name), Mapping):
            changes[name] = {**values[name], **changes[name]}
    return TrainingParams(**{**values, **changes})
