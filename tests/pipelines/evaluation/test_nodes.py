"""Evaluation nodes on a tiny test split: rendering, scores, tables, MLflow metrics, figures,
the semantic classifier's cache, the frontier columns and the critic test."""

import json
import logging
from pathlib import Path

import mlflow
import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from image_colourisation.datasets import JSONCacheDataset, ModelPayloadDataset
from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import model_arrays_to_rgb
from image_colourisation.pipelines.evaluation import critic, nodes, plots
from image_colourisation.pipelines.evaluation.classifier import (
    classifier_from_payload,
    lab_images,
    predict,
)
from image_colourisation.pipelines.evaluation.helpers import gray_rgb

TINY_CLASSIFIER = {"width": 4, "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "seed": 0}


@pytest.fixture
def rendered(test_set, generator) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    return nodes.colourise_test_set(test_set, generator, {**generator, "source": "x.pt"}, 5)


def test_gray_baseline_is_exactly_gray_and_keeps_the_lightness(test_set) -> None:
    gray = gray_rgb(test_set["L"])
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
    with pytest.raises(ValueError, match="kedro run --pipelines training"):
        nodes.colourise_test_set(test_set, None, None, 8)


def test_a_perfect_row_scores_perfectly_and_gray_has_no_colour(test_set, classifier) -> None:
    truth = model_arrays_to_rgb(test_set["L"], test_set["ab"])
    images = {"truth": truth, "gan": truth.copy(), "gray": gray_rgb(test_set["L"])}
    sources = {"gan": "perfect", "gray": "ab = 0"}
    scores = nodes.score_colourisations(images, test_set, classifier, 5)
    table, records, per_class = nodes.summarise_scores(scores, sources, test_set)

    gan, gray = table.set_index("model").loc["gan"], table.set_index("model").loc["gray"]
    assert gan["mae"] == 0 and gan["delta_e2000"] == 0 and gan["delta_colourfulness"] == 0
    assert gan["auc"] == 1 and gan["accuracy_2pct"] == 1 and gan["psnr"] == metrics.PSNR_MAX_DB
    assert gan["semantic_accuracy"] == gan["semantic_accuracy_truth"]
    assert gray["colourfulness"] == 0 and gray["mae"] > 0 and gray["auc"] < 1
    assert gan["fd_classifier"] == pytest.approx(0, abs=1e-6) and gray["fd_classifier"] > 0
    assert gan["fd_classifier_floor"] == gray["fd_classifier_floor"] > 0
    assert json.loads(json.dumps(records, allow_nan=False)) == records  # strict JSON
    assert records[0]["mae"] == gan["mae"] and records[0]["critic_accuracy"] is None
    # Not measurable here: no L1 row to compare the MSE with, no critic, and a classifier for
    # which colour carries no class information (truth and gray score alike).
    unmeasured = ["mse_ratio_l1", "critic_accuracy", "semantic_recovery", "semantic_recovery_low",
                  "semantic_recovery_high"]  # fmt: skip
    assert table[unmeasured].isna().all().all()
    assert table.drop(columns=["model", "source", *unmeasured]).map(np.isfinite).all().all()

    assert len(per_class) == 3 * 2 and per_class.groupby("model")["images"].sum().eq(12).all()
    assert "fd_classifier" not in per_class  # too few images per class for a covariance
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
        "truth.fd_classifier_floor",
    } == set(logged)
    assert logged["gan.fd_classifier"]["value"] == table.loc[0, "fd_classifier"] >= 0
    assert logged["truth.fd_classifier_floor"]["value"] == table.loc[0, "fd_classifier_floor"]
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
    parameters = {**TINY_CLASSIFIER, "crop_padding": 4}
    payload = nodes.train_semantic_classifier(test_set, parameters)
    assert payload["architecture"] == {"width": 4, "classes": 3}
    classifier = classifier_from_payload(payload)
    predicted = predict(classifier, lab_images(test_set["L"], test_set["ab"]))
    assert predicted.shape == (12,) and set(predicted) <= {0, 1, 2}


def test_the_fd_floor_compares_two_seeded_random_halves_of_the_truth() -> None:
    truth = np.random.default_rng(0).normal(size=(101, 4))
    floor = nodes.fd_floor(truth)
    assert floor == nodes.fd_floor(truth) > 0
    order = np.random.default_rng(nodes.FD_FLOOR_SEED).permutation(101)
    assert floor == metrics.frechet_distance(truth[order[:50]], truth[order[50:]])
    assert nodes.fd_floor(truth, seed=1) != floor


def test_scoring_any_split_without_an_l1_row(test_set, generator, classifier) -> None:
    """What a benchmark on the validation split does: only a GAN, l1 None."""
    images, sources = nodes.colourise_test_set(test_set, generator, None, 5)
    scores = nodes.score_colourisations(images, test_set, classifier, 5)
    assert scores["truth"]["features"].shape == (12, 16)  # 4·width of the tiny classifier
    table, _, _ = nodes.summarise_scores(scores, sources, test_set)
    assert list(table["model"]) == ["gan", "gray"]
    assert table[["fd_classifier", "fd_classifier_floor"]].map(np.isfinite).all().all()


@pytest.fixture
def count_training(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of every `train_classifier` call the node makes."""
    calls: list[dict] = []
    train = nodes.train_classifier

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return train(*args, **kwargs)

    monkeypatch.setattr(nodes, "train_classifier", counted)
    return calls


def test_a_saved_classifier_trained_on_the_same_data_and_parameters_is_reused(
    test_set, count_training, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the payload file, as the catalog does: the record survives weights_only."""
    dataset = ModelPayloadDataset(str(tmp_path / "semantic_classifier.pt"))
    cache = ModelPayloadDataset(str(tmp_path / "semantic_classifier.pt"), optional=True)
    assert cache.load() is None
    with caplog.at_level(logging.INFO, logger=nodes.__name__):
        dataset.save(nodes.train_semantic_classifier(test_set, TINY_CLASSIFIER, cache.load()))
        assert "no classifier was saved before" in caplog.text
        assert len(count_training) == 1
        caplog.clear()
        previous = cache.load()
        reused = nodes.train_semantic_classifier(test_set, dict(TINY_CLASSIFIER), previous)
    assert len(count_training) == 1 and reused is previous
    assert "Reusing the semantic classifier trained on the same 12 training images" in caplog.text
    assert reused["training"]["parameters"] == TINY_CLASSIFIER


def test_changed_training_data_or_parameters_retrain_the_classifier(
    test_set, count_training, caplog: pytest.LogCaptureFixture
) -> None:
    saved = nodes.train_semantic_classifier(test_set, TINY_CLASSIFIER)
    assert saved["training"]["images"] == 12 and len(count_training) == 1
    changed_data = {**test_set, "ab": test_set["ab"].copy()}
    changed_data["ab"][0, 0, 0, 0] += 0.01
    with caplog.at_level(logging.INFO, logger=nodes.__name__):
        retrained = nodes.train_semantic_classifier(changed_data, TINY_CLASSIFIER, saved)
        assert "because the training data changed" in caplog.text
        assert retrained["training"]["data"] != saved["training"]["data"]
        caplog.clear()
        nodes.train_semantic_classifier(test_set, {**TINY_CLASSIFIER, "epochs": 2}, saved)
        assert "because its parameters changed (epochs 1 -> 2)" in caplog.text
        caplog.clear()
        relabelled = {**test_set, "labels": test_set["labels"][::-1].copy()}
        nodes.train_semantic_classifier(relabelled, TINY_CLASSIFIER, saved)
        assert "because the training data changed" in caplog.text
        caplog.clear()
        unrecorded = {key: value for key, value in saved.items() if key != "training"}
        nodes.train_semantic_classifier(test_set, TINY_CLASSIFIER, unrecorded)
        assert "does not record what it was trained on" in caplog.text
        caplog.clear()
        older = {**saved, "training": {**saved["training"], "recipe": 1}}
        nodes.train_semantic_classifier(test_set, TINY_CLASSIFIER, older)
        assert "the training code changed" in caplog.text
    assert len(count_training) == 6
    assert count_training[2]["epochs"] == 2


def test_semantic_recovery_and_its_paired_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    gray = (rng.random(400) < 0.5).astype(float)
    truth = np.maximum(gray, rng.random(400) < 0.4)  # colour helps: 0.5 -> about 0.7
    half = np.where(rng.random(400) < 0.5, truth, gray)  # restores about half of that
    assert metrics.semantic_recovery(gray, gray, truth) == 0
    assert metrics.semantic_recovery(truth, gray, truth) == 1
    value = metrics.semantic_recovery(half, gray, truth)
    low, high = metrics.paired_bootstrap(metrics.semantic_recovery, [half, gray, truth], 300)
    assert 0.3 < value < 0.7 and low < value < high and 0 < low and high < 1
    again = metrics.paired_bootstrap(metrics.semantic_recovery, [half, gray, truth], 300)
    assert again == (low, high)  # seeded
    assert np.isnan(metrics.semantic_recovery(gray, gray, gray))  # colour carries nothing


def test_the_table_places_each_row_on_the_frontier(rendered, test_set, classifier) -> None:
    images, sources = rendered
    scores = nodes.score_colourisations(images, test_set, classifier, 8)
    critic = {"gan": {"accuracy": 0.6}, "l1": {"accuracy": 0.7}, "gray": {"accuracy": 1.0}}
    table, _, _ = nodes.summarise_scores(scores, sources, test_set, critic)
    rows = table.set_index("model")
    assert rows.loc["l1", "mse_ratio_l1"] == 1
    expected = scores["gan"]["mse"].mean() / scores["l1"]["mse"].mean()
    assert rows.loc["gan", "mse_ratio_l1"] == pytest.approx(expected)
    assert (rows["fd_ratio_floor"] == rows["fd_classifier"] / rows["fd_classifier_floor"]).all()
    assert list(rows["critic_accuracy"]) == [0.6, 0.7, 1.0]
    hits = [scores[row]["semantic_hit"] for row in ("gan", "gray", "truth")]
    assert rows.loc["gan", "semantic_recovery"] == pytest.approx(
        metrics.semantic_recovery(*hits), nan_ok=True
    )
    logged = nodes.model_run_metrics(table)["gan"]["metrics"]
    assert {"test_semantic_recovery", "test_critic_accuracy", "test_mse_ratio_l1"} <= set(logged)


def test_the_critic_tells_gray_from_colour_and_reuses_unchanged_rows(
    test_set, caplog: pytest.LogCaptureFixture
) -> None:
    truth = model_arrays_to_rgb(test_set["L"], test_set["ab"])
    gray = gray_rgb(test_set["L"])
    many = {
        name: np.concatenate([images] * 4) for name, images in (("truth", truth), ("gray", gray))
    }
    parameters = {**TINY_CLASSIFIER, "epochs": 12, "learning_rate": 0.01}
    first = critic.critic_test(many, parameters)
    assert first["gray"]["accuracy"] > 0.9  # measured: 1.0 (24 + 24 held-out images)
    with caplog.at_level(logging.INFO):
        again = critic.critic_test(many, parameters, first)
    assert again == first and "reusing the result" in caplog.text
    changed = critic.critic_test(many, {**parameters, "seed": 1}, first)
    assert changed["gray"]["record"] != first["gray"]["record"]
    tiny = {name: images[:6] for name, images in many.items()}
    assert np.isnan(critic.critic_test(tiny, parameters)["gray"]["accuracy"])


def test_the_critic_cache_reads_back_none_when_missing_or_damaged(tmp_path: Path) -> None:
    cache = JSONCacheDataset(str(tmp_path / "critic.json"))
    assert cache.load() is None
    cache.save({"gan": {"accuracy": 0.5}})
    assert cache.load() == {"gan": {"accuracy": 0.5}}
    (tmp_path / "critic.json").write_text("{not json")
    assert cache.load() is None
