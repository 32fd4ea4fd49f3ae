"""ImageNet knowledge inside the generator: MobileNetV2's view of the gray input, fused into the
U-Net's bottleneck as one global vector (Iizuka et al. 2016; ChromaGAN and DDColor do the same
with other backbones).

A 32-pixel CIFAR-10 network has seen ten classes at thumbnail scale; an ImageNet classifier has
seen a thousand at photo scale. Frozen, it tells the decoder *what* it is colouring (sky, skin,
grass) without the generator having to learn recognition from CIFAR-10's few images.

The encoder sees the generator's own input, so a payload, its ONNX export and the served model
carry it whole (one graph): L* turned into the gray sRGB it stands for, resized to a square of
`size` pixels (as Iizuka et al.'s global branch takes a fixed 224 × 224 rescaling of any photo),
normalised as ImageNet's weights expect. Its weights never train (`requires_grad` off) and its
BatchNorms stay in eval mode whatever mode the generator is in, so its features are ImageNet's.
"""

import hashlib

import torch
from torch import nn
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
from tqdm.auto import tqdm

from image_colourisation.imaging.colour import L_MAX

FEATURES = 1280  # MobileNetV2's pooled channels before its linear layer
# torchvision's preprocessing for its ImageNet weights (the judge in imagenet.py uses it whole)
PRESET = MobileNet_V2_Weights.IMAGENET1K_V1.transforms()


def gray_srgb(lightness: torch.Tensor) -> torch.Tensor:
    """Normalised L (N, 1, H, W) in [-1, 1] -> the sRGB gray level in [0, 1] it renders as
    (a* = b* = 0): what an ImageNet network expects to see of a black-and-white photo."""
    luminance_l = (lightness + 1.0) * (L_MAX / 2)
    f = (luminance_l + 16.0) / 116.0
    linear = torch.where(f > 6.0 / 29.0, f**3, (f - 16.0 / 116.0) * 3.0 * (6.0 / 29.0) ** 2)
    linear = linear.clamp(0.0, 1.0)
    return torch.where(
        linear <= 0.0031308, 12.92 * linear, 1.055 * linear.clamp_min(1e-8) ** (1 / 2.4) - 0.055
    )


class ImageNetEncoder(nn.Module):
    """Frozen MobileNetV2 features: normalised L (N, 1, H, W) -> pooled features (N, 1280)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.features = mobilenet_v2().features
        self.register_buffer("mean", torch.tensor(PRESET.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(PRESET.std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()  # a module starts in training mode; this one never enters it

    def train(self, mode: bool = True) -> "ImageNetEncoder":
        """Always eval: ImageNet's BatchNorm statistics, never CIFAR-10's."""
        return super().train(False)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        gray = nn.functional.interpolate(
            gray_srgb(lightness.float()), size=(self.size, self.size), mode="bilinear"
        )
        maps = self.features((gray - self.mean) / self.std)
        return maps.mean(dim=(2, 3))


# Features already computed in this process, by what they were computed from: the L1 baseline
# and the GAN of one `kedro run` train on the same images with the same frozen encoder.
_COMPUTED: dict[tuple[str, int, str], torch.Tensor] = {}
_COMPUTED_KEPT = 4  # train and validation of two datasets; 37 MB each for CIFAR-10's 7,260


@torch.no_grad()
def encode_all(encoder: ImageNetEncoder, lightness: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Pooled features (N, 1280) of a stack of normalised L, batch by batch, with a progress bar.

    Training computes them once per image instead of once per step (the encoder is frozen; the
    global vector of a mirrored or shifted image is nearly the same, so augmentation keeps the
    one computed here), and once per process for the same images and encoder.
    """
    key = (_digest(lightness), encoder.size, _digest(encoder.features[0][0].weight))
    if key in _COMPUTED:
        return _COMPUTED[key].to(lightness.device)
    parts = [lightness.new_zeros(0, FEATURES)]
    with tqdm(total=len(lightness), unit="img", desc="ImageNet features", leave=False) as bar:
        for start in range(0, len(lightness), batch):
            parts.append(encoder(lightness[start : start + batch]).float())
            bar.update(len(parts[-1]))
    features = torch.cat(parts)
    if len(_COMPUTED) >= _COMPUTED_KEPT:
        _COMPUTED.pop(next(iter(_COMPUTED)))
    _COMPUTED[key] = features.cpu()
    return features


def _digest(tensor: torch.Tensor) -> str:
    """A tensor's values as a short hash (30 MB of CIFAR-10 lightness: about 40 ms)."""
    return hashlib.blake2b(
        tensor.detach().cpu().contiguous().numpy().tobytes(), digest_size=16
    ).hexdigest()


def imagenet_init(classifier_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's MobileNetV2 state dict as a generator's warm start (`loop.fit`'s `init`):
    its feature layers under the generator's names; the classifier layer is not used."""
    return {
        f"imagenet.{name}": value
        for name, value in classifier_state.items()
        if name.startswith("features.")
    }


class GlobalFusion(nn.Module):
    """Iizuka et al.'s fusion layer: the global vector, projected to the bottleneck's channels,
    stacked onto every bottleneck position and mixed back by a 1x1 conv + ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(FEATURES, channels), nn.ReLU())
        self.mix = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), nn.ReLU())

    def forward(self, bottleneck: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        glob = self.project(context.to(bottleneck.dtype))[:, :, None, None]
        return self.mix(torch.cat([bottleneck, glob.expand_as(bottleneck)], dim=1))
