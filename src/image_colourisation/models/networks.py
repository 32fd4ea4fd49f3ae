"""The colourisation GAN: a U-Net generator (L -> ab) and a PatchGAN discriminator (L+ab -> logits).

Both are built from one block recipe (pix2pix's `networks.py` is the model), parameterised by
width and depth rather than written out layer by layer.
"""

from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from image_colourisation.imaging.hints import NO_HINT_INPUTS
from image_colourisation.models.encoder import GlobalFusion, ImageNetEncoder, encode_all
from image_colourisation.models.record import GeneratorRecord


def _down(in_ch: int, out_ch: int, *, norm: bool = True) -> nn.Sequential:
    """4x4 stride-2 conv -> BatchNorm -> LeakyReLU(0.2): halves the resolution."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class Dropout(nn.Dropout):
    """`nn.Dropout` with its mask drawn by `torch.rand_like`: the same distribution, about 4x
    faster on the CPU than the `bernoulli_` PyTorch uses (8 % of an L1 step's time in
    `benchmarks/step_profile.py --l1`, 2 % with this), and as repeatable per seed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1.0 - self.p)


def _up(in_ch: int, out_ch: int, *, dropout: float = 0.0) -> nn.Sequential:
    """4x4 stride-2 transposed conv -> BatchNorm -> ReLU (-> dropout): doubles the resolution."""
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]
    if dropout:
        layers.append(Dropout(dropout))
    return nn.Sequential(*layers)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix/DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02).

    PyTorch's default (Kaiming-uniform) starts the tanh head and the discriminator's logits
    far from zero; the small normal start is what the GAN papers tuned their learning rates on.
    A module built on the `meta` device (shapes only, to be filled from a payload) is left be.
    """
    if any(parameter.is_meta for parameter in module.parameters()):
        return
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


class SelfAttention(nn.Module):
    """SAGAN's self-attention (Zhang et al. 2019): every position mixes in the features of the
    positions it attends to, so colour can follow what lies far away in the image (one sky,
    one car body), which 4x4 convolutions only reach after several levels.

    The output is `x + gamma * attention(x)` with `gamma` starting at 0: a block added to a
    trained generator (a warm start) changes nothing until training finds it useful. Queries
    and keys have C/8 channels, as in SAGAN; PyTorch's fused attention keeps memory linear in
    the number of positions, so a large photo does not need an (HW)^2 matrix.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, max(channels // 8, 1), 1)
        self.key = nn.Conv2d(channels, max(channels // 8, 1), 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def tokens(features: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, HW, C)
            return features.flatten(2).transpose(1, 2)

        mixed = nn.functional.scaled_dot_product_attention(
            tokens(self.query(x)), tokens(self.key(x)), tokens(self.value(x)), scale=1.0
        )
        return x + self.gamma * mixed.transpose(1, 2).reshape(x.shape)


class ResidualBlock(nn.Module):
    """conv3x3 -> BatchNorm -> ReLU -> conv3x3 -> BatchNorm, added to its input: depth for the
    bottleneck without a longer path for the gradient. The last BatchNorm's scale starts at 0
    (Goyal et al. 2017), so a block added to a trained generator starts as the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


HINT_CHANNELS = 3  # a, b, mask


class Prediction(NamedTuple):
    """What the generator's forward pass gives training: ab (N, 2, H, W) before any confidence
    shrink, the colour bins' logits (`ColourBins`, else None), the class logits (N, classes)
    (else None) and the predicted ab error (N, 1, H, W) (with `confidence`, else None)."""

    ab: torch.Tensor
    bin_logits: torch.Tensor | None
    class_logits: torch.Tensor | None
    error: torch.Tensor | None = None


def shrink_to_gray(
    ab: torch.Tensor, error: torch.Tensor, strength: float, hints: torch.Tensor | None
) -> torch.Tensor:
    """ab pulled towards gray where the model expects to be wrong: each pixel's ab times
    c² / (c² + strength · e²), c its chroma and e its predicted error (a Wiener gain: colour
    kept where it is large against the doubt, dropped where the doubt is as large as the
    colour). Images with any hint keep their colour: there a person has spoken."""
    chroma = ab.float().square().sum(dim=1, keepdim=True)
    gain = chroma / (chroma + strength * error.float().square() + 1e-8)
    if hints is not None:
        hinted = hints[:, 2:3].amax(dim=(1, 2, 3), keepdim=True) > 0
        gain = torch.where(hinted, torch.ones_like(gain), gain)
    return ab * gain.to(ab.dtype)


class Generator(nn.Module, GeneratorRecord):
    """U-Net: normalised L (N, 1, H, W) -> normalised ab (N, 2, H, W) in [-1, 1].

    H and W must be multiples of 2**depth (32 for the default depth 5). The output is either
    ab directly (tanh, `bins=0`) or read out of a distribution over `bins` ab cells
    (`ColourBins`, Zhang et al. 2016).

    With `hints=True` (Zhang et al. 2017, guided colourisation) the first conv also takes a
    person's colour hints: normalised a, b where hinted (0 elsewhere) and a mask that is 1 at
    hinted pixels, so a few clicks fix colours the training data cannot teach. The record says
    `"hints": True` only then, so payloads written before hints existed load unchanged.

    Capacity, recorded only when asked for (older payloads load unchanged): `attention` adds
    self-attention after the encoder's second level (8x8 for a 32-pixel image);
    `residual_blocks` adds that many residual blocks at the bottleneck.

    Knowledge and doubt, also recorded only when used: `imagenet_encoder` (a size in pixels)
    fuses a frozen ImageNet MobileNetV2's global view of the input into the bottleneck
    (`encoder.py`); `confidence` (> 0) adds a head that predicts each pixel's ab error, trained
    on the detached features so the colours train as without it, and pulls the automatic
    colours towards gray where it predicts doubt (`shrink_to_gray`, this strength).
    """

    def __init__(
        self,
        width: int = 64,
        depth: int = 5,
        dropout: float = 0.5,
        bins: int = 0,
        temperature: float = 0.38,
        *,
        hints: bool = False,
        classes: int = 0,
        attention: bool = False,
        residual_blocks: int = 0,
        imagenet_encoder: int = 0,
        confidence: float = 0.0,
    ) -> None:
        super().__init__()
        self.architecture: dict[str, Any] = {"width": width, "depth": depth, "dropout": dropout}
        if bins:
            self.architecture |= {"bins": bins, "temperature": temperature}
        if hints:
            self.architecture["hints"] = True
        if classes:
            self.architecture["classes"] = classes
        if attention:
            self.architecture["attention"] = True
        if residual_blocks:
            self.architecture["residual_blocks"] = residual_blocks
        if imagenet_encoder:
            self.architecture["imagenet_encoder"] = imagenet_encoder
        if confidence:
            self.architecture["confidence"] = confidence
        channels = [min(width * 2**level, width * 8) for level in range(depth)]
        self.encoder = nn.ModuleList(
            _down(
                _input_channels(hints) if level == 0 else channels[level - 1],
                channels[level],
                norm=level > 0,
            )
            for level in range(depth)
        )
        self.attention = SelfAttention(channels[1]) if attention else None
        self.bottleneck = nn.Sequential(
            *(ResidualBlock(channels[-1]) for _ in range(residual_blocks))
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
        # Iizuka et al. 2016: a class head on the bottleneck, whose global feature the whole
        # decoder is built from, so training can make G recognise what it colours.
        self.classify = nn.Linear(channels[-1], classes) if classes else None
        self.error_head = (
            nn.Sequential(nn.ConvTranspose2d(channels[0] * 2, 1, 4, 2, 1), nn.Softplus())
            if confidence
            else None
        )
        self.fusion = GlobalFusion(channels[-1]) if imagenet_encoder else None
        init_weights(self)
        # after init_weights: ImageNet's weights come as a warm start (`encoder.imagenet_init`)
        self.imagenet = ImageNetEncoder(imagenet_encoder) if imagenet_encoder else None
        for block in self.bottleneck:
            if not block.body[-1].weight.is_meta:
                nn.init.zeros_(block.body[-1].weight)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A generator pickled whole before the encoder and error head existed has neither."""
        super().__setstate__(state)
        for name in ("fusion", "imagenet", "error_head"):
            self._modules.setdefault(name, None)

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """`forward` on numpy arrays, in eval mode without autograd: `render.AbModel`, the
        seam that lets photos be colourised by this module or by its ONNX export alike."""
        self.eval()  # running BatchNorm statistics and no dropout: inference, not training
        layer = None if hints is None else torch.from_numpy(hints)
        with torch.inference_mode():
            return self(torch.from_numpy(lightness), layer).numpy()

    def require_hint_inputs(self) -> None:
        """Raise ValueError, saying what to do, when the generator cannot take hints."""
        if not self.takes_hints:
            raise ValueError(NO_HINT_INPUTS)

    def forward(
        self,
        lightness: torch.Tensor,
        hints: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The colours shown: ab, pulled towards gray where the model doubts (`confidence`)."""
        prediction = self.predict(lightness, hints, context)
        if prediction.error is None:
            return prediction.ab
        return shrink_to_gray(
            prediction.ab, prediction.error, self.architecture["confidence"], hints
        )

    def predict(
        self,
        lightness: torch.Tensor,
        hints: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> "Prediction":
        """ab and, for training, the bin logits (None for the direct-ab head), the class logits
        of the bottleneck's head (None without `classes`) and the predicted error.

        `hints` is (N, 3, H, W): normalised a, b and the mask (`hints.py` makes them); None
        means no hints, which a hint generator reads as all zeros (automatic colourisation).
        `context` is the ImageNet encoder's features of `lightness` (N, 1280) when computed
        once beforehand (training's cache); None computes them here.
        """
        multiple = self.size_multiple
        if lightness.shape[-2] % multiple or lightness.shape[-1] % multiple:
            raise ValueError(
                f"Generator input is {tuple(lightness.shape[-2:])} pixels; height and width must "
                f"be multiples of {multiple} (2**depth): pad or crop the image first."
            )
        skips = []
        x = self._with_hints(lightness, hints)
        for level, block in enumerate(self.encoder):
            x = block(x)
            if level == 1 and self.attention is not None:
                x = self.attention(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the decoder directly
        x = self.bottleneck(x)
        if self.fusion is not None:
            x = self.fusion(x, self.imagenet(lightness) if context is None else context)
        class_logits = self.classify(x.mean(dim=(2, 3))) if self.classify is not None else None
        for block in self.decoder:
            x = torch.cat([block(x), skips.pop()], dim=1)
        error = self.error_head(x.detach()) if self.error_head is not None else None
        if isinstance(self.head, ColourBins):
            return Prediction(*self.head(x), class_logits, error)
        return Prediction(self.head(x), None, class_logits, error)

    def _with_hints(self, lightness: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
        """The first conv's input: L alone, or L stacked with the hint layer (zeros if none)."""
        expected = (lightness.shape[0], HINT_CHANNELS, *lightness.shape[2:])
        if hints is None:
            if not self.takes_hints:
                return lightness
            hints = lightness.new_zeros(expected)
        self.require_hint_inputs()
        if hints.shape != expected:
            raise ValueError(
                f"hints have shape {tuple(hints.shape)}; lightness {tuple(lightness.shape)} needs "
                f"{expected}: a, b and mask at every pixel (hints.hint_layer makes them)."
            )
        return torch.cat([lightness, hints], dim=1)


class Discriminator(nn.Module):
    """PatchGAN on L stacked with ab (N, 3, H, W) -> a patch of real/fake logits.

    With `classes` it is a projection discriminator (Miyato & Koyama 2018): each patch's logit
    gains the inner product of its last features with an embedding of the image's class, so D
    judges whether the colours fit *this* class (a red cat, a green sky), not just any image.
    """

    def __init__(self, width: int = 64, layers: int = 3, classes: int = 0) -> None:
        super().__init__()
        self.architecture = {"width": width, "layers": layers}
        if classes:
            self.architecture["classes"] = classes
        blocks = [_down(3, width, norm=False)]
        blocks += [
            _down(width * min(2**i, 8), width * min(2 ** (i + 1), 8)) for i in range(layers - 1)
        ]
        last = width * min(2 ** (layers - 1), 8)
        self.body = nn.Sequential(*blocks, nn.Conv2d(last, 1, 3, 1, 1))
        self.embed = nn.Embedding(classes, last) if classes else None
        init_weights(self)

    def forward(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.features(lightness, ab, labels)[-1]

    def features(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Every block's output, the logits last: what feature matching compares. A class-
        conditional D needs the images' `labels` (N,)."""
        outputs = [torch.cat([lightness, ab], dim=1)]
        for block in self.body:
            outputs.append(block(outputs[-1]))
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: give the labels")
            hidden = outputs[-2]
            projection = (hidden * self.embed(labels)[:, :, None, None]).sum(1, keepdim=True)
            outputs[-1] = outputs[-1] + projection
        return outputs[1:]


def _input_channels(hints: bool) -> int:
    """L, plus the hint layer's a, b and mask for a hint generator."""
    return 1 + HINT_CHANNELS if hints else 1


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 mixed precision on CUDA (no loss scaling needed); a no-op on the CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def predict_ab(
    generator: Generator,
    lightness: torch.Tensor,
    batch_size: int,
    layout: torch.memory_format = torch.contiguous_format,
    *,
    hints: torch.Tensor | None = None,
    context: torch.Tensor | None = None,
) -> torch.Tensor:
    """The generator's ab for a stack of normalised L (N, 1, H, W), batch by batch, in eval
    mode (its mode is restored after), inputs in G's memory `layout`: what validation, the
    MLflow sample grids and the evaluation all use. `hints` (N, 3, H, W) and the encoder's
    `context` (N, 1280), if given, are cut into the same batches as the lightness; without it
    the encoder's features are computed once for the stack (`encode_all`: the evaluation scores
    the same test images with and without hints)."""
    was_training = generator.training
    generator.eval()
    if generator.imagenet is not None and context is None:
        context = encode_all(generator.imagenet, lightness)
    try:
        parts = []
        for start in range(0, len(lightness), batch_size):
            rows = slice(start, start + batch_size)
            batch = lightness[rows].contiguous(memory_format=layout)
            hinted = None if hints is None else hints[rows].contiguous(memory_format=layout)
            known = None if context is None else context[rows]
            with autocast(lightness.device):
                parts.append(generator(batch, hinted, known).float())
        return torch.cat(parts)
    finally:
        generator.train(was_training)
