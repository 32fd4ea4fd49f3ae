"""The training parameters as one typed, validated dataclass.

Kedro (1.3+) builds this dataclass from `params:training` before the run starts, because the
node's argument is annotated with it; a bad value therefore stops `kedro run` before any
pipeline does work, with a message that names the parameter and what it may be.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from image_colourisation.core.ranges import SEED, Choice, Rules, Setting, Text, problems_in
from image_colourisation.models.hint_sampling import HINT_SAMPLING, HintSampling

DEVICES = ("auto", "cpu", "cuda")
LR_SCALINGS = ("none", "linear", "sqrt")
BOOL = Setting(bool, 0, 1)
EPOCHS = Setting(int, 0, 100_000)
WEIGHT = Setting(float, 0.0, 1e6)  # a loss weight; the default L1 weight is 100
UNIT = Setting(float, 0.0, 1.0)  # [0, 1], each end opened where the value may not be it
# Every parameter of `training` and what it may be. The networks' sizes keep to the bounds a
# model payload may record (record.GENERATOR_ARCHITECTURE), so a trained model can be loaded
# again; the other bounds are far beyond any useful run, and stop a typo's absurd value.
RULES: Rules = {
    "epochs": EPOCHS,
    "gan_epochs": EPOCHS,
    "warm_start": BOOL,
    "batch_size": Setting(int, 1, 65_536),
    "width": Setting(int, 1, 1024),
    "depth": Setting(int, 2, 10),
    "dropout": replace(UNIT, high_open=True),
    "discriminator_width": Setting(int, 1, 1024),
    "discriminator_layers": Setting(int, 1, 10),
    "lr": Setting(float, 0.0, 10.0),
    "beta1": replace(UNIT, high_open=True),
    "beta2": replace(UNIT, high_open=True),
    **dict.fromkeys(
        ["l1_weight", "adversarial_weight", "feature_matching_weight", "bins_weight"], WEIGHT
    ),
    "real_label": replace(UNIT, low_open=True),
    "colour_bins": BOOL,
    "temperature": replace(UNIT, low_open=True),
    "rebalance": UNIT,
    "class_weight": WEIGHT,
    "class_conditional": BOOL,
    "attention": BOOL,
    "residual_blocks": Setting(int, 0, 16),
    "imagenet_encoder": Setting(int, 32, 512, zero_allowed=True),
    "confidence": Setting(float, 0.0, 100.0),
    "ema_decay": replace(UNIT, high_open=True),
    "flip": BOOL,
    "crop_padding": Setting(int, 0, 64),
    "gan_crop_padding": Setting(int, 0, 64),
    "channels_last": BOOL,
    "device": Choice(DEVICES),
    "seed": SEED,
    "sample_every": Setting(int, 1, 100_000),
    "sample_images": Setting(int, 1, 1024),
    "checkpoint_dir": Text("a folder"),
    "resume": BOOL,
    "distributed": {
        "processes": Setting(int, 1, 1024),
        "nodes": Setting(int, 1, 4096),
        "node_rank": Setting(int, 0, 4095),
        "address": Text("the head node's host name or IP address", max_length=253),
        "port": Setting(int, 1, 65535),
        "lr_scaling": Choice(LR_SCALINGS),
        "warmup_epochs": EPOCHS,
    },
    "hints": {"enabled": BOOL, **HINT_SAMPLING},
}


def problems(values: Any, name: str = "training") -> list[str]:
    """Every problem of the training parameters `values` (`training`, or `photos.training`),
    one line each; unknown keys too, since TrainingParams takes only its own."""
    found = problems_in(RULES, values, name, closed=True)
    if found:
        return found
    distributed = values["distributed"]
    if distributed["node_rank"] >= distributed["nodes"]:
        found.append(
            f"{name}.distributed.node_rank is {distributed['node_rank']} with nodes "
            f"{distributed['nodes']}; allowed: 0 (the head node) .. nodes - 1"
        )
    return found


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


@dataclass(frozen=True)
class HintParams(HintSampling):
    """`training.hints`: train the generator with colour hints drawn from the true colours
    (`enabled`), as `HintSampling`'s fields say (parameters_training.yml explains each)."""

    enabled: bool


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
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        for name in ("distributed", "hints"):  # as code may give them
            if is_dataclass(values[name]):
                values[name] = asdict(values[name])
        found = problems(values)
        if found:
            raise ValueError("invalid training parameters:\n  " + "\n  ".join(found))
        object.__setattr__(self, "distributed", DistributedParams(**values["distributed"]))
        object.__setattr__(self, "hints", HintParams(**values["hints"]))
        for item in fields(self):  # YAML may say `l1_weight: 100`; keep the types honest
            if item.type is float:
                object.__setattr__(self, item.name, float(getattr(self, item.name)))

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
