"""The training parameters as one typed, validated dataclass.

Kedro (1.3+) builds this dataclass from `params:training` before the run starts, because the
node's argument is annotated with it; a bad value therefore stops `kedro run` before any
pipeline does work, with a message that names the parameter and what it may be.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypeVar

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

    processes: int = 1
    nodes: int = 1
    node_rank: int = 0
    address: str = "127.0.0.1"
    port: int = 29500
    lr_scaling: str = "sqrt"
    warmup_epochs: int = 1

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

    enabled: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.enabled, bool):
            raise ValueError(f"training.hints.enabled is {self.enabled!r}; allowed: true, false")


Section = TypeVar("Section", "DistributedParams", "HintParams")


def section(value: Any, kind: type[Section], name: str) -> Section:
    """`training.<name>` as YAML gives it (a mapping, missing keys at their defaults) or as
    code does (the dataclass); a value that is neither, or a bad key, named."""
    if isinstance(value, kind):
        return value
    allowed = [item.name for item in fields(kind)]
    if not isinstance(value, Mapping) or set(value) - set(allowed):
        problem = (
            f"has unknown keys {sorted(set(value) - set(allowed))}"
            if isinstance(value, Mapping)
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

    epochs: int = 30
    gan_epochs: int = 20
    warm_start: bool = True
    batch_size: int = 128
    width: int = 32
    depth: int = 5
    dropout: float = 0.5
    discriminator_width: int = 32
    discriminator_layers: int = 3
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    l1_weight: float = 100.0
    adversarial_weight: float = 0.5
    feature_matching_weight: float = 10.0
    real_label: float = 0.9
    colour_bins: bool = False
    temperature: float = 0.38
    rebalance: float = 0.5
    bins_weight: float = 1.0
    class_weight: float = 0.0
    class_conditional: bool = False
    attention: bool = False
    residual_blocks: int = 0
    ema_decay: float = 0.995
    flip: bool = True
    crop_padding: int = 4
    gan_crop_padding: int = 0
    channels_last: bool = True
    device: str = "auto"
    seed: int = 0
    sample_every: int = 5
    sample_images: int = 8
    checkpoint_dir: str = "data/06_models/checkpoints"
    resume: bool = False
    distributed: DistributedParams = field(default_factory=DistributedParams)
    hints: HintParams = field(default_factory=HintParams)

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
