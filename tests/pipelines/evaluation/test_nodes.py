"""Evaluation nodes on a tiny test split: rendering, scores, tables, MLflow metrics, figures."""

import mlflow
import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from image_colourisation import metrics
from image_colourisation.classifier import classifier_from_payload, lab_images, predict
from image_colourisation.colour import model_arrays_to_rgb
from image_colourisation.pipelines.evaluation import nodes, plots


@pytest.fixture
def rendered(test_set, generator) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    return nodes.colourise_test_set(test_set, generator, {**generator, "source": "x.pt"}, 5)


def test_gray_baseline_is_exactly_gray_and_keeps_the_lightness(test_set) -> None:
    gray = nodes.gray_rgb(test_set["L"])
    assert gray.dtype == np.uint8 and gray.shape == (12, 32, 32, 3)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    np.testing.assert_array_equal(metrics.colourfulness(gray), 0.0)
    plain = model_arrays_to_rgb(test_set["L"], np.zeros_like(test_set["ab"]))
    assert np.abs(gray.astype(int) - plain).max() <= 1


def test_colourise_renders_every_row_in_batches(rendered, test_set) -> None:
    images, sources = rendered
    assert list(images) == ["truth", "gan", "l1", "gray"]
    assert all(row.shape == (12, 32, 32, 3) and row.dtype == np.uint8 for row in images.values())
    np.testing.assert_array_equal(
        images["truth"], model_arrays_to_rgb(test_set["L"], test_set["ab"])
    )
    # Same generator for both rows: batches of 5 must not change what it predicts.
    np.testing.assert_array_equal(images["gan"], images["l1"])
    assert sources == {"gan": "generator_gan from this run", "l1": "x.pt", "gray": "ab = 0"}


def test_a_missing_l1_baseline_leaves_its_row_out(test_set, generator, classifier) -> None:
    images, sources = nodes.colourise_test_set(test_set, generator, None, 8)
    assert "l1" not in images and "l1" not in sources
    scores = nodes.score_colourisations(images, test_set, classifier, 8)
    table, _, per_class = nodes.summarise_scores(scores, sources, test_set)
    assert list(table["model"]) == ["gan", "gray"]
    assert set(per_class["model"]) == {"gan", "gray"}


def test_no_generator_at_all_is_a_clear_error(test_set) -> None:
    with pytest.raises(ValueError, match="kedro run --pipeline training"):
        nodes.colourise_test_set(test_set, None, None, 8)


def test_a_perfect_row_scores_perfectly_and_gray_has_no_colour(test_set, classifier) -> None:
    truth = model_arrays_to_rgb(test_set["L"], test_set["ab"])
    images = {"truth": truth, "gan": truth.copy(), "gray": nodes.gray_rgb(test_set["L"])}
    sources = {"gan": "perfect", "gray": "ab = 0"}
    scores = nodes.score_colourisations(images, test_set, classifier, 5)
    table, records, per_class = nodes.summarise_scores(scores, sources, test_set)

    gan, gray = table.set_index("model").loc["gan"], table.set_index("model").loc["gray"]
    assert gan["mae"] == 0 and gan["delta_e2000"] == 0 and gan["delta_colourfulness"] == 0
    assert gan["auc"] == 1 and gan["accuracy_2pct"] == 1 and gan["psnr"] == metrics.PSNR_MAX_DB
    assert gan["semantic_accuracy"] == gan["semantic_accuracy_truth"]
    assert gray["colourfulness"] == 0 and gray["mae"] > 0 and gray["auc"] < 1
    assert records == table.to_dict(orient="records")
    assert table.drop(columns=["model", "source"]).map(np.isfinite).all().all()

    assert len(per_class) == 3 * 2 and per_class.groupby("model")["images"].sum().eq(12).all()
    # Per-class MAE weighted by class size is the overall MAE (equal image sizes).
    weighted = (per_class["mae"] * per_class["images"]).groupby(per_class["model"]).sum() / 12
    np.testing.assert_allclose(weighted["gray"], gray["mae"])


def test_mlflow_metrics_name_every_model_metric_and_start_no_run(rendered, test_set, classifier):
    table, _, _ = nodes.summarise_scores(
        nodes.score_colourisations(*rendered[:1], test_set, classifier, 8), rendered[1], test_set
    )
    logged = nodes.mlflow_metrics(table)
    assert logged["gray.colourfulness"] == {"value": 0.0, "step": 0}
    assert {f"{row}.{name}" for row in ("gan", "l1", "gray") for name in nodes.METRICS} | {
        "truth.colourfulness",
        "truth.semantic_accuracy",
    } == set(logged)
    assert mlflow.active_run() is None


def test_figures(rendered, test_set, classifier) -> None:
    images, sources = rendered
    table, _, per_class = nodes.summarise_scores(
        nodes.score_colourisations(images, test_set, classifier, 8), sources, test_set
    )
    chart = plots.plot_metrics(table)
    assert isinstance(chart, go.Figure) and len(chart.data) == len(plots.TITLES)
    assert list(chart.data[0].x) == ["gan", "l1", "gray"]
    per_class_chart = plots.plot_per_class(per_class)
    assert {trace.name for trace in per_class_chart.data} == {"gan", "l1", "gray", "truth"}

    samples = plots.plot_samples(images, test_set)
    assert isinstance(samples, Figure) and len(samples.axes) == 3 * 4  # 3 classes × 4 columns
    assert [axis.get_title() for axis in samples.axes[:4]] == ["gray", "L1", "GAN", "truth"]
    distribution = plots.plot_ab_distribution(images, max_images=5)
    assert isinstance(distribution, Figure)
    assert [axis.get_title() for axis in distribution.axes[:4]] == ["truth", "GAN", "L1", "gray"]


def test_semantic_classifier_node_trains_on_the_colour_training_images(test_set) -> None:
    parameters = {"width": 4, "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "seed": 0}
    payload = nodes.train_semantic_classifier(test_set, parameters)
    assert payload["architecture"] == {"width": 4, "classes": 3}
    classifier = classifier_from_payload(payload)
    predicted = predict(classifier, lab_images(test_set["L"], test_set["ab"]))
    assert predicted.shape == (12,) and set(predicted) <= {0, 1, 2}
