"""The ImageNet classifier that judges colour on real photos: torchvision's MobileNetV2.

The only pretrained network the project uses. Its weights are `MobileNet_V2_Weights.IMAGENET1K_V1`,
loaded through torchvision's weights API with its hash check, into torch's hub cache
(`torch.hub.get_dir()/checkpoints/`). On a machine with no network a byte-for-byte copy of that
file in a weights folder (`../shared/data/weights/`) seeds the cache first, so torchvision finds
it there instead of downloading. Either file must match the SHA-256 prefix its name carries
(torchvision's rule, `mobilenet_v2-b0353104.pth`): one that does not is refused by name.

The classifier gives each photo its top-1 ImageNet class and its 1280 pooled penultimate
features (for KID), after torchvision's own preprocessing for these weights: the shorter side
resized to 256, the centre 224 × 224 cropped, ImageNet's mean and standard deviation. The
network runs as its ONNX export in ONNX Runtime, as the generators do: 17 against 47 ms a photo
with PyTorch on 2 cores (PyTorch's unfused batch norms are a third of its time).
"""

import hashlib
import io
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import onnxruntime
import torch
from PIL import Image
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from image_colourisation.core.errors import UserError
from image_colourisation.core.files import atomic_write
from image_colourisation.models.encoder import FEATURES, PRESET  # `network_input` uses PRESET

WEIGHTS = MobileNet_V2_Weights.IMAGENET1K_V1
BATCH = 32  # photos per forward pass: 32 × 3 × 224² floats, about 20 MB in
OPSET = 17  # as the generators' exports


class WeightsFileError(UserError):
    """A weights file that is not torchvision's, or no weights to be had at all."""


def weights_name() -> str:
    """The checkpoint's file name as torchvision downloads it (`mobilenet_v2-b0353104.pth`)."""
    return Path(urlparse(WEIGHTS.url).path).name


def cached_weights() -> Path:
    """Where torchvision's weights API keeps the checkpoint: torch's hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights_name()


def check_weights_file(path: Path) -> None:
    """Refuse, by name, a file whose SHA-256 does not begin with the hex digits in its name
    (what torchvision checks after a download with `check_hash=True`)."""
    expected = torch.hub.HASH_REGEX.search(path.name).group(1)
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    if not digest.hexdigest().startswith(expected):
        raise WeightsFileError(
            f"{path} is not torchvision's {weights_name()}: its SHA-256 begins "
            f"{digest.hexdigest()[: len(expected)]}, its name says {expected}. Delete it; the "
            "weights then come from the weights folder or torchvision's download."
        )


def seed_hub_cache(folder: Path) -> None:
    """Copy `folder`'s checkpoint into torch's hub cache when the cache has none, so that the
    weights API loads it without a download; a copy that fails its hash is refused first."""
    cached = cached_weights()
    shared = Path(folder) / cached.name
    if cached.is_file() or not shared.is_file():
        return
    check_weights_file(shared)
    cached.parent.mkdir(parents=True, exist_ok=True)
    with shared.open("rb") as source, atomic_write(cached) as target:
        shutil.copyfileobj(source, target)


def load_imagenet_classifier(folder: Path) -> "ImageNetClassifier":
    """MobileNetV2 with torchvision's ImageNet weights (`load_imagenet_state`); eval mode, CPU."""
    network = mobilenet_v2()
    network.load_state_dict(load_imagenet_state(folder))
    return ImageNetClassifier(network.eval(), list(WEIGHTS.meta["categories"]))


def load_imagenet_state(folder: Path) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet MobileNetV2 state dict, from the hub cache (seeded from `folder`
    when it lacks them) or torchvision's download, hash-checked either way."""
    seed_hub_cache(folder)
    if cached_weights().is_file():  # torchvision checks the hash of downloads only
        check_weights_file(cached_weights())
    try:
        state = WEIGHTS.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except (OSError, RuntimeError) as error:  # no network (URLError), a bad download
        raise WeightsFileError(
            f"torchvision's ImageNet MobileNetV2 weights could not be had ({error}): with no "
            f"network, put {weights_name()} (torchvision's file, byte for byte) in {folder} "
            "or name the folder that holds it with --params imagenet.weights_folder=<folder>."
        ) from error
    return state


class ImageNetClassifier:
    """Top-1 ImageNet classes and pooled features of uint8 RGB photos of any size."""

    def __init__(self, network: torch.nn.Module, categories: Sequence[str]) -> None:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        self._session = onnxruntime.InferenceSession(
            classifier_onnx(network), options, providers=["CPUExecutionProvider"]
        )
        self.categories = list(categories)

    def classify(self, photos: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Each photo's (H, W, 3 uint8) top-1 class index (N,) and its pooled penultimate
        features (N, 1280) float32, which MobileNetV2's linear layer turns into the logits."""
        classes = [np.zeros(0, dtype=np.int64)]
        features = [np.zeros((0, FEATURES), dtype=np.float32)]
        for start in range(0, len(photos), BATCH):
            batch = np.stack([network_input(photo) for photo in photos[start : start + BATCH]])
            top, pooled = self._session.run(None, {"photos": batch})
            classes.append(top)
            features.append(pooled)
        return np.concatenate(classes), np.concatenate(features)


class _ClassAndFeatures(torch.nn.Module):
    """MobileNetV2 answering its top-1 class and the pooled features its linear layer reads."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, photos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.network.features(photos)
        pooled = torch.nn.functional.adaptive_avg_pool2d(maps, 1).flatten(1)
        return self.network.classifier(pooled).argmax(dim=1), pooled


def classifier_onnx(network: torch.nn.Module) -> bytes:
    """The MobileNetV2 `network` in eval mode as an ONNX file (bytes), any batch size: photos
    (N, 3, 224, 224) in, classes (N,) and features (N, 1280) out."""
    buffer = io.BytesIO()
    (crop,) = PRESET.crop_size
    example = torch.zeros(1, 3, crop, crop)
    with warnings.catch_warnings():  # the TorchScript exporter's notice that it is legacy
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            _ClassAndFeatures(network.eval()),
            (example,),
            buffer,
            input_names=["photos"],
            output_names=["classes", "features"],
            dynamic_axes={name: {0: "batch"} for name in ("photos", "classes", "features")},
            opset_version=OPSET,
            dynamo=False,
        )
    network.eval()  # the TorchScript exporter leaves the module in training mode
    return buffer.getvalue()


def network_input(photo: np.ndarray) -> np.ndarray:
    """A uint8 RGB photo (H, W, 3) as the network's input (3, 224, 224) float32: torchvision's
    preprocessing for these weights (`WEIGHTS.transforms()`: the shorter side resized to 256,
    bilinear and antialiased, the centre 224 square, ImageNet's mean and standard deviation)
    done by Pillow, which agrees with it within one uint8 level and is 15 times faster."""
    (short,), (crop,) = PRESET.resize_size, PRESET.crop_size
    image = Image.fromarray(photo)
    width, height = image.size
    # torchvision's sizes: the longer side truncated, the crop's corner rounded
    size = (
        (short, int(short * height / width))
        if width <= height
        else (int(short * width / height), short)
    )
    image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (round((side - crop) / 2) for side in size)
    pixels = np.asarray(image.crop((left, top, left + crop, top + crop)), dtype=np.float32) / 255
    normalised = (pixels - np.array(PRESET.mean, np.float32)) / np.array(PRESET.std, np.float32)
    return normalised.transpose(2, 0, 1)
