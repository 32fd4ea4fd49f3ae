"""The ImageNet classifier: the hub cache seeded from a weights folder, files that fail their
hash refused by name, torchvision's preprocessing, and (with the shared weights) real labels."""

import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import mobilenet_v2

from image_colourisation.models import imagenet
from tests.imagenet_weights import SHARED_WEIGHTS, needs_shared_weights
from tests.photo_models import PHOTO_NAMES, real_photo


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache of this test's own; its checkpoints folder is returned."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch/hub/checkpoints"


def test_the_cache_is_torchvisions(hub: Path) -> None:
    assert imagenet.weights_name() == "mobilenet_v2-b0353104.pth"
    assert imagenet.cached_weights() == hub / "mobilenet_v2-b0353104.pth"


def test_a_weights_folder_copy_that_fails_its_hash_is_refused_by_name(
    hub: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    bad = folder / imagenet.weights_name()
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(imagenet.WeightsFileError, match="its name says b0353104") as error:
        imagenet.load_imagenet_classifier(folder)
    assert str(bad) in str(error.value)
    assert hashlib.sha256(b"not a checkpoint").hexdigest()[:8] in str(error.value)
    assert not hub.exists()  # nothing copied into the cache


def test_a_cached_file_that_fails_its_hash_is_refused_by_name(hub: Path, tmp_path: Path) -> None:
    hub.mkdir(parents=True)
    (hub / imagenet.weights_name()).write_bytes(b"truncated")
    with pytest.raises(imagenet.WeightsFileError, match="is not torchvision's") as error:
        imagenet.load_imagenet_classifier(tmp_path / "no weights here")
    assert str(hub / imagenet.weights_name()) in str(error.value)


def test_a_file_that_matches_the_hash_in_its_name_passes(tmp_path: Path) -> None:
    content = b"any bytes"
    path = tmp_path / f"model-{hashlib.sha256(content).hexdigest()[:8]}.pth"
    path.write_bytes(content)
    imagenet.check_weights_file(path)


def test_no_weights_and_no_network_says_where_to_put_them(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to download.pytorch.org")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(imagenet.WeightsFileError, match="no route") as error:
        imagenet.load_imagenet_classifier(tmp_path / "empty")
    assert f"put mobilenet_v2-b0353104.pth (torchvision's file, byte for byte) in {tmp_path}" in (
        str(error.value)
    )


def test_the_preprocessing_is_torchvisions_within_one_level() -> None:
    preset = imagenet.WEIGHTS.transforms()
    for name in PHOTO_NAMES:  # landscape and square photos, 300-640 px
        photo = np.array(real_photo(name))  # writable, for torch.from_numpy
        ours = imagenet.network_input(photo)
        theirs = preset(torch.from_numpy(photo).permute(2, 0, 1)).numpy()
        assert ours.shape == theirs.shape == (3, 224, 224)
        assert np.abs(ours - theirs).max() <= 1.01 / 255 / min(preset.std)
    portrait = np.array(real_photo("rocket").rotate(90, expand=True))
    theirs = preset(torch.from_numpy(portrait).permute(2, 0, 1)).numpy()
    assert np.abs(imagenet.network_input(portrait) - theirs).max() <= 1.01 / 255 / min(preset.std)


def test_classify_answers_as_the_torch_network_does_in_any_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    network = mobilenet_v2().eval()
    classifier = imagenet.ImageNetClassifier(network, [str(i) for i in range(1000)])
    assert not network.training  # as it was given
    photos = [np.asarray(real_photo(name).resize((96, 64))) for name in PHOTO_NAMES[:3]]
    classes, features = classifier.classify(photos)
    with torch.inference_mode():  # its ONNX export in ONNX Runtime is the same network
        inputs = torch.from_numpy(np.stack([imagenet.network_input(photo) for photo in photos]))
        pooled = torch.nn.functional.adaptive_avg_pool2d(network.features(inputs), 1).flatten(1)
        np.testing.assert_array_equal(classes, network.classifier(pooled).argmax(dim=1).numpy())
    np.testing.assert_allclose(features, pooled.numpy(), rtol=1e-4, atol=1e-5)
    assert features.shape == (3, imagenet.FEATURES)
    monkeypatch.setattr(imagenet, "BATCH", 2)
    batched_classes, batched_features = classifier.classify(photos)
    np.testing.assert_array_equal(batched_classes, classes)
    np.testing.assert_allclose(batched_features, features, rtol=1e-4, atol=1e-5)
    empty = classifier.classify([])
    assert empty[0].shape == (0,) and empty[1].shape == (0, imagenet.FEATURES)


@needs_shared_weights
def test_the_shared_weights_seed_the_cache_and_know_a_cat(hub: Path) -> None:
    classifier = imagenet.load_imagenet_classifier(SHARED_WEIGHTS)
    cached = hub / imagenet.weights_name()
    assert cached.read_bytes() == (SHARED_WEIGHTS / imagenet.weights_name()).read_bytes()
    seeded = cached.stat().st_mtime_ns
    imagenet.load_imagenet_classifier(SHARED_WEIGHTS)
    assert cached.stat().st_mtime_ns == seeded  # a cached file is not copied again
    cat = np.asarray(real_photo("chelsea"))
    classes, _ = classifier.classify([cat, np.asarray(real_photo("coffee"))])
    assert [classifier.categories[index] for index in classes] == ["Egyptian cat", "espresso"]
