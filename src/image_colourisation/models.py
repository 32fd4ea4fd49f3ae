"""The colourisation GAN: a U-Net generator (L -> ab) and a PatchGAN discriminator (L+ab -> logits).

Both are built from one block recipe (pix2pix's `networks.py` is the model), parameterised by
width and depth rather than written out layer by layer.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn


def _down(in_ch: int, out_ch: int, *, norm: bool = True) -> nn.Sequential:
    """4x4 stride-2 conv -> BatchNorm -> LeakyReLU(0.2): halves the resolution."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(in_ch: int, out_ch: int, *, dropout: float = 0.0) -> nn.Sequential:
    """4x4 stride-2 transposed conv -> BatchNorm -> ReLU (-> dropout): doubles the resolution."""
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix/DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02).

    PyTorch's default (Kaiming-uniform) starts the tanh head and the discriminator's logits
    far from zero; the small normal start is what the GAN papers tuned their learning rates on.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)


class ColourBins(nn.Module):
    """Zhang et al. 2016's output: a distribution over quantised ab per pixel, not one ab value.

    The logits score `bins` ab cells (centres in normalised ab, set from the training data and
    stored as a buffer, so a payload carries them). The colour shown is the *annealed mean*:
    the mean of the distribution sharpened by `temperature` (1 = the mean, which is as dull
    as an L1 prediction; towards 0 = the mode, vivid but riskier; 0.38 in the paper).
    """

    def __init__(self, in_ch: int, hidden: int, bins: int, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature
        self.body = nn.Sequential(_up(in_ch, hidden), nn.Conv2d(hidden, bins, 1))
        self.register_buffer("centres", torch.zeros(bins, 2))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features -> (annealed-mean ab (N, 2, H, W), logits (N, H, W, bins)).

        The logits are returned bins-last: the softmax and the loss run over the innermost
        dimension, which for channels-last activations is a view, not a copy.
        """
        logits = self.body(features).permute(0, 2, 3, 1)
        weights = torch.softmax(logits.float() / self.temperature, dim=-1)
        return (weights @ self.centres).permute(0, 3, 1, 2), logits


class Generator(nn.Module):
    """U-Net: normalised L (N, 1, H, W) -> normalised ab (N, 2, H, W) in [-1, 1].

    H and W must be multiples of 2**depth (32 for the default depth 5). The output is either
    ab directly (tanh, `bins=0`) or read out of a distribution over `bins` ab cells
    (`ColourBins`, Zhang et al. 2016).
    """

    def __init__(
        self,
        width: int = 64,
        depth: int = 5,
        dropout: float = 0.5,
        bins: int = 0,
        temperature: float = 0.38,
    ) -> None:
        super().__init__()
        self.architecture: dict[str, Any] = {"width": width, "depth": depth, "dropout": dropout}
        if bins:
            self.architecture |= {"bins": bins, "temperature": temperature}
        channels = [min(width * 2**level, width * 8) for level in range(depth)]
        self.encoder = nn.ModuleList(
            _down(1 if level == 0 else channels[level - 1], channels[level], norm=level > 0)
            for level in range(depth)
        )
        # Decoder level i maps back to encoder level depth-2-i, concatenating its skip.
        self.decoder = nn.ModuleList(
            _up(
                channels[level] * (1 if level == depth - 1 else 2),
                channels[level - 1],
                dropout=dropout if depth - 1 - level < 3 else 0.0,  # the 3 innermost, as pix2pix
            )
            for level in range(depth - 1, 0, -1)
        )
        self.head: nn.Module = (
            ColourBins(channels[0] * 2, channels[0], bins, temperature)
            if bins
            else nn.Sequential(nn.ConvTranspose2d(channels[0] * 2, 2, 4, 2, 1), nn.Tanh())
        )
        init_weights(self)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return self.predict(lightness)[0]

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(ab, bin logits); the logits are None for the direct-ab head. Training uses both."""
        multiple = 2 ** self.architecture["depth"]
        if lightness.shape[-2] % multiple or lightness.shape[-1] % multiple:
            raise ValueError(
                f"Generator input is {tuple(lightness.shape[-2:])} pixels; height and width must "
                f"be multiples of {multiple} (2**depth): pad or crop the image first."
            )
        skips = []
        x = lightness
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the decoder directly
        for block in self.decoder:
            x = torch.cat([block(x), skips.pop()], dim=1)
        if isinstance(self.head, ColourBins):
            return self.head(x)
        return self.head(x), None


class Discriminator(nn.Module):
    """PatchGAN on L stacked with ab (N, 3, H, W) -> a patch of real/fake logits."""

    def __init__(self, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.architecture = {"width": width, "layers": layers}
        blocks = [_down(3, width, norm=False)]
        blocks += [
            _down(width * min(2**i, 8), width * min(2 ** (i + 1), 8)) for i in range(layers - 1)
        ]
        self.body = nn.Sequential(*blocks, nn.Conv2d(width * min(2 ** (layers - 1), 8), 1, 3, 1, 1))
        init_weights(self)

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.features(lightness, ab)[-1]

    def features(self, lightness: torch.Tensor, ab: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output, the logits last: what feature matching compares."""
        outputs = [torch.cat([lightness, ab], dim=1)]
        for block in self.body:
            outputs.append(block(outputs[-1]))
        return outputs[1:]


def generator_payload(generator: Generator) -> dict[str, Any]:
    """What the models layer stores: the architecture and the weights (plain tensors only)."""
    return {"architecture": dict(generator.architecture), "state_dict": generator.state_dict()}


class ModelFileError(ValueError):
    """A model payload that does not describe a model this project can build and fill.

    The message is one sentence naming the source (file or URI) and the problem; `colourise`
    turns it into a usage error (exit 2), a pipeline stops with it.
    """


@dataclass(frozen=True)
class Setting:
    """One key of an architecture record: its type and the range of values this project uses."""

    kind: type  # int or float
    low: float
    high: float
    required: bool = True
    low_open: bool = False
    high_open: bool = False
    zero_allowed: bool = False  # e.g. bins: 0 (no colour bins) or within [low, high]

    def problem(self, name: str, value: Any) -> str | None:
        """Why `value` is not allowed for `name`, or None when it is."""
        kinds = (int,) if self.kind is int else (int, float)
        allowed = self.describe()
        if isinstance(value, bool) or not isinstance(value, kinds):
            return f"{name} is {_short(value)} ({type(value).__name__}); allowed: {allowed}"
        if self.zero_allowed and value == 0:
            return None
        below = value <= self.low if self.low_open else value < self.low
        above = value >= self.high if self.high_open else value > self.high
        if not math.isfinite(value) or below or above:
            return f"{name} is {_short(value)}; allowed: {allowed}"
        return None

    def describe(self) -> str:
        """E.g. "an integer in [1, 1024]", "0 or an integer in [2, 4096]"."""
        kind = "an integer" if self.kind is int else "a number"
        low, high = "(" if self.low_open else "[", ")" if self.high_open else "]"
        zero = "0 or " if self.zero_allowed else ""
        return f"{zero}{kind} in {low}{self.low:g}, {self.high:g}{high}"


# Generous bounds: far beyond what the training parameters produce (width 32, depth 5, up to
# 529 colour bins), far below what would exhaust memory. The parameter count then bounds the
# combinations (width 1024 at depth 10 is in range, but not its 20 billion weights).
GENERATOR_ARCHITECTURE = {
    "width": Setting(int, 1, 1024),
    "depth": Setting(int, 2, 10),  # depth 1 has no decoder level to join the skip to
    "dropout": Setting(float, 0.0, 1.0, high_open=True),
    "bins": Setting(int, 2, 4096, required=False, zero_allowed=True),
    "temperature": Setting(float, 0.0, 1.0, required=False, low_open=True),
}
MAX_PARAMETERS = 250_000_000  # 1 GB of float32; the default generator has 4.2 million
Model = TypeVar("Model", bound=nn.Module)


def generator_parameters(
    width: int, depth: int, dropout: float = 0.5, bins: int = 0, temperature: float = 0.38
) -> int:
    """The number of weights `Generator(width, depth, ..., bins)` has, by arithmetic alone."""
    channels = [min(width * 2**level, width * 8) for level in range(depth)]
    count = 16 * channels[0] + channels[0]  # first conv (with bias, no norm)
    for level in range(1, depth):  # conv + BatchNorm (weight, bias)
        count += 16 * channels[level - 1] * channels[level] + 2 * channels[level]
    for level in range(depth - 1, 0, -1):  # transposed conv + BatchNorm
        in_ch = channels[level] * (1 if level == depth - 1 else 2)
        count += 16 * in_ch * channels[level - 1] + 2 * channels[level - 1]
    joined = 2 * channels[0]
    if bins:  # ColourBins: _up(joined, c0) then a 1x1 conv to the bins
        return count + 16 * joined * channels[0] + 2 * channels[0] + (channels[0] + 1) * bins
    return count + 16 * joined * 2 + 2  # transposed conv to ab, with bias


def rebuild_model(
    payload: Any,
    build: Callable[..., Model],
    settings: Mapping[str, Setting],
    source: str,
    *,
    kind: str,
    count: Callable[..., int] | None = None,
    pipeline: str = "training",
) -> Model:
    """Build `build(**architecture)` from a payload and load its weights strictly, in eval mode.

    Nothing real is allocated before the payload is known to fit: the architecture record's
    keys, types and ranges are checked, then the number of weights it implies (`count`, by
    arithmetic, else from a model built on the `meta` device, which holds shapes only), then
    every weight's name, shape and kind against the meta model's; only then is the model built
    on the CPU and filled strictly. Any problem raises `ModelFileError` naming `source` (and
    the `pipeline` that writes such models).
    """

    def refuse(problem: str) -> ModelFileError:
        return ModelFileError(
            f"{source} is not a usable {kind}: {problem}; give a {kind} written by this "
            f"project's {pipeline} pipeline."
        )

    if not isinstance(payload, Mapping) or not {"architecture", "state_dict"} <= payload.keys():
        found = sorted(map(str, payload)) if isinstance(payload, Mapping) else _type(payload)
        raise refuse(f"it holds {found}, not a payload with 'architecture' and 'state_dict'")
    architecture, state = payload["architecture"], payload["state_dict"]
    problem = architecture_problem(architecture, settings)
    if problem:
        raise refuse(f"its architecture record {problem}")
    if not isinstance(state, Mapping):
        raise refuse(f"its state_dict is {_type(state)}, not a mapping of weight names to tensors")
    weights = count(**architecture) if count is not None else None
    if weights is None or weights <= MAX_PARAMETERS:
        with torch.device("meta"):
            blueprint = build(**architecture)
        weights = sum(parameter.numel() for parameter in blueprint.parameters())
    if weights > MAX_PARAMETERS:
        raise refuse(
            f"its architecture {dict(architecture)} implies {weights:,} weights, more than the "
            f"{MAX_PARAMETERS:,} a model of this project may have"
        )
    problem = weights_problem(state, blueprint.state_dict())
    if problem:
        raise refuse(f"its weights do not fit its architecture {dict(architecture)}: {problem}")
    model = build(**architecture)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as error:  # checked above; belt and braces
        raise refuse(f"its weights could not be loaded ({_first_line(error)})") from error
    return model.eval()


def architecture_problem(architecture: Any, settings: Mapping[str, Setting]) -> str | None:
    """What is wrong with an architecture record (as "... is ..."), or None when it is fine."""
    if not isinstance(architecture, Mapping):
        return f"is {_type(architecture)}, not a mapping such as {{'width': 32, ...}}"
    unknown = sorted(str(key) for key in architecture if key not in settings)
    if unknown:
        return f"has unknown keys {unknown}; known: {sorted(settings)}"
    missing = [name for name, s in settings.items() if s.required and name not in architecture]
    if missing:
        return f"lacks {missing}"
    for name, value in architecture.items():
        problem = settings[name].problem(name, value)
        if problem:
            return f"says {problem}"
    return None


def weights_problem(state: Mapping[Any, Any], expected: Mapping[str, torch.Tensor]) -> str | None:
    """How a state dict differs from the one `expected` (names, shapes), or None when it fits."""
    missing = [name for name in expected if name not in state]
    unexpected = [str(name) for name in state if name not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"it lacks {len(missing)} weights it needs ({_few(missing)})")
        if unexpected:
            parts.append(
                f"it has {len(unexpected)} weights it has no place for ({_few(unexpected)})"
            )
        return " and ".join(parts)
    for name, reference in expected.items():
        value = state[name]
        if not isinstance(value, torch.Tensor):
            return f"{name} is {_type(value)}, not a tensor"
        if value.shape != reference.shape:
            return f"{name} has shape {tuple(value.shape)}, the architecture needs " + str(
                tuple(reference.shape)
            )
        if value.layout != torch.strided or value.is_meta:
            return f"{name} is a {value.layout} tensor on {value.device}, not plain weights"
        if value.is_floating_point() != reference.is_floating_point() or value.is_complex():
            return f"{name} holds {value.dtype}, the architecture needs {reference.dtype}"
    return None


def generator_from_payload(payload: dict[str, Any], source: str | None = None) -> Generator:
    """Rebuild a generator, in eval mode, from `generator_payload`'s output.

    `source` names the file or URI in errors; by default the payload's own "source" entry (the
    catalog's GeneratorChoiceDataset adds one), else "the generator payload". A payload that
    does not fit (see `rebuild_model`) raises `ModelFileError`, a ValueError.
    """
    if source is None:
        source = (
            str(payload.get("source", "the generator payload"))
            if isinstance(payload, Mapping)
            else "the generator payload"
        )
    return rebuild_model(
        payload,
        Generator,
        GENERATOR_ARCHITECTURE,
        source,
        kind="generator",
        count=generator_parameters,
    )


def _type(value: Any) -> str:
    return f"a {type(value).__name__}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(error: BaseException, limit: int = 200) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:limit] if lines else ''}".rstrip(": ")


def _few(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")
