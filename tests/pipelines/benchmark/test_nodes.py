"""The benchmark's nodes on four tiny photos, a tiny generator and a classifier of mean colours."""

import zlib
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import rgb_to_lab
from image_colourisation.imaging.hints import truth_hints
from image_colourisation.imaging.render import colourise_image
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.benchmark.nodes import (
    BenchmarkImages,
    benchmark_model_run_metrics,
    colourise_benchmark_photos,
    gray_photo,
    score_benchmark_photos,
    summarise_benchmark,
)
from image_colourisation.pipelines.benchmark.plots import plot_benchmark, plot_gains_and_losses
from tests.photo_models import PHOTO_NAMES, real_photo, tiny_hint_generator, tiny_trained_generator

PARAMETERS = {
    "hints": 5,
    "seed": 0,
    "runtime": "torch",
    "blotch": {"min_chroma": 15, "min_error": 30},
    "bootstrap": {"draws": 200, "seed": 0, "level": 0.95},
    "grid_photos": 1,
}


class MeanColourClassifier:
    """A stand-in judge: features are a photo's mean R, G, B; its class the strongest channel
    above the mean, or `gray`."""

    categories = ("gray", "red", "green", "blue")

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, photos: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        features = np.stack([photo.reshape(-1, 3).mean(axis=0) / 255 for photo in photos])
        excess = features - features.mean(axis=1, keepdims=True)
        classes = np.where(excess.max(axis=1) < 0.02, 0, 1 + excess.argmax(axis=1))
        return classes, features


def photo_folder() -> dict[str, object]:
    """Four real photos, small, as the photo folder dataset hands them over: lazy loaders."""
    return {
        f"{name}.jpg": partial(lambda name: real_photo(name).reduce(4), name)
        for name in PHOTO_NAMES
    }


@pytest.fixture(scope="module")
def colourised() -> tuple[BenchmarkImages, dict[str, str]]:
    payload = generator_payload(tiny_hint_generator())
    return colourise_benchmark_photos(
        photo_folder(), payload | {"source": "gan.pt"}, payload, PARAMETERS
    )


def test_every_photo_is_colourised_as_colourise_does_it(colourised) -> None:
    images, sources = colourised
    assert images.names == sorted(f"{name}.jpg" for name in PHOTO_NAMES)
    assert list(images.rows) == [("gray", 0), ("gan", 0), ("gan", 5), ("l1", 0), ("l1", 5)]
    assert sources == {"gan": "gan.pt", "l1": "generator_l1 from this run", "gray": "ab = 0"}
    generator = tiny_hint_generator()
    for index, truth in enumerate(images.truth):
        gray = images.rows["gray", 0][index]
        assert gray.shape == truth.shape and (gray == gray[..., :1]).all()  # R = G = B
        # the photo's own lightness, to the rounding of 8-bit levels
        assert np.abs(rgb_to_lab(gray)[..., 0] - rgb_to_lab(truth)[..., 0]).max() < 0.5
        expected = colourise_image(Image.fromarray(gray_photo(truth)), generator, 64)
        np.testing.assert_array_equal(images.rows["gan", 0][index], np.asarray(expected))
    # the same hints for every model: the same generator makes the same pictures
    for hints in (0, 5):
        np.testing.assert_array_equal(
            np.concatenate([p.ravel() for p in images.rows["gan", hints]]),
            np.concatenate([p.ravel() for p in images.rows["l1", hints]]),
        )
    # the hints reach the generator: around each, its colours move towards the hint's
    distances = {0: [], 5: []}
    for index, name in enumerate(images.names):
        seed = (PARAMETERS["seed"], zlib.crc32(name.encode()))
        for hint in truth_hints(images.truth[index], 5, seed, 64):
            for hints, found in distances.items():
                picture = images.rows["gan", hints][index]
                window = picture[max(hint.y - 4, 0) : hint.y + 4, max(hint.x - 4, 0) : hint.x + 4]
                ab = rgb_to_lab(window)[..., 1:] - hint.normalised_ab() * 110
                found.append(np.hypot(ab[..., 0], ab[..., 1]).mean())
    assert np.mean(distances[5]) < 0.5 * np.mean(distances[0])  # 5.6 against 26.7


def test_the_default_runtime_onnx_colours_as_pytorch_does() -> None:
    payload = generator_payload(tiny_trained_generator())
    folder = dict(list(photo_folder().items())[:1])
    torch_images, _ = colourise_benchmark_photos(folder, payload, None, PARAMETERS)
    onnx_images, _ = colourise_benchmark_photos(
        folder,
        payload,
        None,
        PARAMETERS | {"runtime": None},  # as `colourise`: ONNX Runtime
    )
    difference = np.abs(
        onnx_images.rows["gan", 0][0].astype(int) - torch_images.rows["gan", 0][0].astype(int)
    )
    assert difference.max() <= 1
    # a generator without hint inputs gets no hints row
    assert list(onnx_images.rows) == [("gray", 0), ("gan", 0)]


def test_scores_per_photo_and_row(colourised) -> None:
    images, _ = colourised
    judge = MeanColourClassifier()
    scores, features = score_benchmark_photos(images, lambda: judge, PARAMETERS)
    assert len(scores) == 5 * 4 and judge.calls == 6  # the truth, then each row
    assert list(features) == ["truth", "gray", "gan", "gan + 5 hints", "l1", "l1 + 5 hints"]
    assert features["truth"].shape == (4, 3)
    gray = scores[scores["model"] == "gray"]
    assert (gray["colourfulness"] == 0).all() and (gray["blotch_share"] == 0).all()
    assert (gray["imagenet_class"] == "gray").all()
    row = scores[(scores["model"] == "gan") & (scores["hints"] == 5)].iloc[0]
    truth, picture = images.truth[0], images.rows["gan", 5][0]
    assert row["photo"] == images.names[0]
    assert row["mae"] == pytest.approx(metrics.absolute_error(truth[None], picture[None])[0])
    mse = metrics.squared_error(truth[None], picture[None])[0]
    assert row["psnr"] == pytest.approx(10 * np.log10(255**2 / mse))
    assert row["colourfulness_truth"] == pytest.approx(metrics.colourfulness(truth[None])[0])
    assert row["imagenet_agrees"] == (row["imagenet_class"] == row["imagenet_class_truth"])


def test_an_empty_folder_needs_no_classifier_and_gives_empty_reports() -> None:
    images, sources = colourise_benchmark_photos(
        {}, generator_payload(tiny_trained_generator()), None, PARAMETERS
    )

    def no_weights() -> MeanColourClassifier:
        raise AssertionError("the classifier was loaded for no photos")

    scores, features = score_benchmark_photos(images, no_weights, PARAMETERS)
    summary = summarise_benchmark(scores, features, sources, PARAMETERS)
    assert summary.empty and "kid_high" in summary.columns
    assert benchmark_model_run_metrics(summary) == {}
    plot_benchmark(summary)
    plot_gains_and_losses(images, scores, 3)


def hand_scores() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Three photos, gray and one model, with figures that are easy to average by hand."""
    rows = []
    for model, maes, agrees in [
        ("gray", [10, 20, 30], [1, 0, 0]),
        ("gan", [12, 15, 20], [1, 1, 0]),
    ]:
        for photo, mae, agree in zip("abc", maes, agrees, strict=True):
            rows.append({
                "photo": photo, "model": model, "hints": 0, "mae": mae,
                "psnr": 40.0 - mae / 10, "delta_e2000": mae / 2,
                "colourfulness": 0.0 if model == "gray" else 20.0, "colourfulness_truth": 40.0,
                "blotch_share": 0.0 if model == "gray" else 0.1 * (1 + "abc".index(photo)),
                "imagenet_class": "x", "imagenet_class_truth": "x", "imagenet_agrees": bool(agree),
            })  # fmt: skip
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(3, 4))
    features = {"truth": truth, "gray": truth + 1.0, "gan": truth + 0.1}
    return pd.DataFrame(rows), features


def test_the_summary_by_hand() -> None:
    scores, features = hand_scores()
    sources = {"gray": "ab = 0", "gan": "gan.pt"}
    summary = summarise_benchmark(scores, features, sources, PARAMETERS).set_index("model")
    gan, gray = summary.loc["gan"], summary.loc["gray"]
    assert gan["source"] == "gan.pt" and gan["photos"] == 3
    assert gan["mae"] == pytest.approx(47 / 3) and gray["mae"] == pytest.approx(20)
    assert gan["psnr"] == pytest.approx(40 - 47 / 30)  # the mean of each photo's
    assert gan["delta_e2000"] == pytest.approx(47 / 6)
    assert gan["wins_gray"] == 2  # 15 < 20 and 20 < 30; 12 > 10
    assert gan["colourfulness_ratio"] == pytest.approx(0.5) and gray["colourfulness_ratio"] == 0
    assert gan["blotch_share"] == pytest.approx(0.2)
    assert (gan["imagenet_agreement_photos"], gray["imagenet_agreement_photos"]) == (2, 1)
    assert gan["semantic_recovery"] == pytest.approx((2 / 3 - 1 / 3) / (1 - 1 / 3))
    assert gray["semantic_recovery"] == 0
    assert gan["kid"] == pytest.approx(
        metrics.kernel_inception_distance(features["truth"], features["gan"], paired=True)
    )
    for name in ("mae", "psnr", "blotch_share", "kid"):
        assert gan[f"{name}_low"] <= gan[name] <= gan[f"{name}_high"]
    assert gan["mae_low"] >= 12 and gan["mae_high"] <= 20


def test_photos_metrics_on_each_models_run() -> None:
    scores, features = hand_scores()
    hinted = scores[scores["model"] == "gan"].assign(hints=5, mae=1.0)
    features["gan + 5 hints"] = features["gan"]
    summary = summarise_benchmark(
        pd.concat([scores, hinted]), features, {"gray": "ab = 0", "gan": "gan.pt"}, PARAMETERS
    )
    logged = benchmark_model_run_metrics(summary)
    assert set(logged) == {"gray", "gan"} and logged["gan"]["source"] == "gan.pt"
    gan, gray = logged["gan"]["metrics"], logged["gray"]["metrics"]
    assert gan["photos_mae"] == pytest.approx(47 / 3) and gan["photos_hints5_mae"] == 1.0
    assert gan["photos_wins_gray"] == 2 and gan["photos_hints5_wins_gray"] == 3
    assert gan["photos_colourfulness_truth"] == 40.0 and "photos_kid" in gan
    assert "photos_wins_gray" not in gray and gray["photos_imagenet_agreement_photos"] == 1
    assert all(name.startswith("photos_") for name in (*gan, *gray))


def test_the_figures(colourised) -> None:
    images, sources = colourised
    scores, features = score_benchmark_photos(images, MeanColourClassifier, PARAMETERS)
    summary = summarise_benchmark(scores, features, sources, PARAMETERS)
    chart = plot_benchmark(summary)
    assert len(chart.data) == 9 and list(chart.data[0].x) == [
        "gray", "gan", "gan + 5 hints", "l1", "l1 + 5 hints"
    ]  # fmt: skip
    grid = plot_gains_and_losses(images, scores, 1)
    assert len(grid.axes) == 2 * 4  # the photo gaining most and the one losing most
    titles = [axis.get_title() for axis in grid.axes[:4]]
    assert titles == ["gray", "GAN", "5 hints", "truth"]
