"""The ImageNet encoder inside the generator, and the confidence step that pulls doubt to gray."""

import numpy as np
import onnxruntime
import pytest
import torch
from torchvision.models import mobilenet_v2

from image_colourisation.imaging.colour import gray_levels
from image_colourisation.models import encoder
from image_colourisation.models.encoder import encode_all, gray_srgb, imagenet_init
from image_colourisation.models.networks import Generator, shrink_to_gray
from image_colourisation.models.onnx_export import generator_onnx
from image_colourisation.models.payloads import generator_from_payload, generator_payload
from image_colourisation.pipelines.training.config import project_training_params
from image_colourisation.pipelines.training.data import ImageArrays
from image_colourisation.pipelines.training.loop import fit
from image_colourisation.pipelines.training.steps import build_models, gan_step
from tests.imagenet_weights import needs_shared_weights, shared_imagenet_weights
from tests.pipelines.training.synthetic import synthetic_set
from tests.project_copy import PROJECT_ROOT

pytestmark = needs_shared_weights


@pytest.fixture(scope="module")
def imagenet() -> dict[str, torch.Tensor]:
    return imagenet_init(shared_imagenet_weights())


def encoder_generator(imagenet: dict[str, torch.Tensor], **changes: object) -> Generator:
    torch.manual_seed(0)
    generator = Generator(4, 5, hints=True, imagenet_encoder=64, **changes)
    generator.load_state_dict(imagenet, strict=False)
    return generator.eval()


def test_gray_srgb_is_the_gray_that_l_renders_as() -> None:
    lightness = np.linspace(0, 100, 1001, dtype=np.float32)
    ours = gray_srgb(torch.from_numpy(lightness / 50 - 1)).numpy() * 255
    assert np.abs(ours - gray_levels(lightness)).max() <= 0.51  # the uint8 rounding


def test_the_encoder_holds_imagenets_features(imagenet: dict[str, torch.Tensor]) -> None:
    """The generator's encoder computes what torchvision's MobileNetV2 computes of the gray."""
    generator = encoder_generator(imagenet)
    reference = mobilenet_v2()
    reference.load_state_dict(shared_imagenet_weights())
    lightness = torch.rand(2, 1, 64, 64) * 2 - 1
    gray = gray_srgb(lightness).expand(-1, 3, -1, -1)
    mean, std = torch.tensor(encoder.PRESET.mean), torch.tensor(encoder.PRESET.std)
    with torch.no_grad():
        expected = reference.eval().features((gray - mean[:, None, None]) / std[:, None, None])
        np.testing.assert_allclose(
            generator.imagenet(lightness), expected.mean(dim=(2, 3)), atol=1e-5
        )


def test_the_global_vector_reaches_the_colours(imagenet: dict[str, torch.Tensor]) -> None:
    generator = encoder_generator(imagenet)
    lightness = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        own = generator(lightness)
        assert torch.allclose(own, generator(lightness, context=generator.imagenet(lightness)))
    generator.predict(lightness).ab.square().sum().backward()
    assert generator.fusion.project[0].weight.grad.abs().sum() > 0  # it is learned from


def test_training_leaves_the_encoder_imagenets(imagenet: dict[str, torch.Tensor]) -> None:
    params = project_training_params(
        PROJECT_ROOT, width=4, discriminator_width=4, device="cpu", imagenet_encoder=64,
        confidence=1.0, channels_last=False,
    )  # fmt: skip
    models = build_models(params, torch.device("cpu"))
    models.generator.load_state_dict(imagenet, strict=False)
    assert models.generator.training  # built for training, as fit builds it
    assert not models.generator.imagenet.training  # ImageNet's BatchNorm statistics stay
    assert not any(p.requires_grad for p in models.generator.imagenet.parameters())
    lightness, ab = (torch.from_numpy(array) for array in synthetic_set(8, 0))
    figures = gan_step(models, lightness, ab, params)
    assert figures["g_error_loss"] > 0  # the error head learns beside the colours
    for name, value in models.generator.state_dict().items():
        if name in imagenet:
            assert torch.equal(value, imagenet[name]), name


def test_a_run_without_imagenet_weights_is_refused_by_name(tmp_path) -> None:
    params = project_training_params(
        PROJECT_ROOT, epochs=1, batch_size=4, width=4, discriminator_width=4, device="cpu",
        imagenet_encoder=64, checkpoint_dir=str(tmp_path),
    )  # fmt: skip
    arrays = [ImageArrays.of(dict(zip(("L", "ab"), synthetic_set(n, 0), strict=True)), "s", 5)
              for n in (8, 4)]  # fmt: skip
    with pytest.raises(ValueError, match="imagenet_encoder is on but the run was given no Image"):
        fit(*arrays, params, "l1")


def test_features_are_computed_once_per_process(imagenet: dict[str, torch.Tensor]) -> None:
    generator = encoder_generator(imagenet)
    lightness = torch.rand(3, 1, 32, 32) * 2 - 1
    first = encode_all(generator.imagenet, lightness)
    assert encode_all(generator.imagenet, lightness.clone()) is not None
    assert torch.equal(encode_all(generator.imagenet, lightness.clone()), first)
    changed = lightness.clone()
    changed[0, 0, 0, 0] += 0.5
    assert not torch.equal(encode_all(generator.imagenet, changed)[0], first[0])


def test_shrink_is_a_wiener_gain_and_hints_switch_it_off() -> None:
    ab = torch.tensor([0.3, 0.4]).view(1, 2, 1, 1)  # chroma 0.5
    error = torch.full((1, 1, 1, 1), 0.5)
    np.testing.assert_allclose(shrink_to_gray(ab, error, 1.0, None), ab / 2, atol=1e-6)
    np.testing.assert_allclose(shrink_to_gray(ab, error, 3.0, None), ab / 4, atol=1e-6)
    np.testing.assert_allclose(shrink_to_gray(ab, error * 0, 3.0, None), ab, atol=1e-6)
    hints = torch.zeros(1, 3, 1, 1)
    np.testing.assert_allclose(shrink_to_gray(ab, error, 1.0, hints), ab / 2, atol=1e-6)
    hints[0, 2] = 1.0  # one hinted pixel: a person has spoken for this image
    assert torch.equal(shrink_to_gray(ab, error, 1.0, hints), ab)


def test_payload_and_onnx_carry_encoder_and_confidence(imagenet: dict[str, torch.Tensor]) -> None:
    generator = encoder_generator(imagenet, confidence=2.0)
    payload = generator_payload(generator)
    assert payload["architecture"] | {} == {
        "width": 4, "depth": 5, "dropout": 0.5, "hints": True, "imagenet_encoder": 64,
        "confidence": 2.0,
    }  # fmt: skip
    rebuilt = generator_from_payload(payload)
    session = onnxruntime.InferenceSession(
        generator_onnx(rebuilt), providers=["CPUExecutionProvider"]
    )
    lightness = np.random.default_rng(0).uniform(-1, 1, (1, 1, 64, 96)).astype(np.float32)
    hints = np.zeros((1, 3, 64, 96), np.float32)
    with torch.no_grad():
        expected = rebuilt(torch.from_numpy(lightness), torch.from_numpy(hints)).numpy()
        raw = rebuilt.predict(torch.from_numpy(lightness)).ab.numpy()
    got = session.run(None, {"lightness": lightness, "hints": hints})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert np.abs(expected).sum() < np.abs(raw).sum()  # the doubt pulled colour to gray
