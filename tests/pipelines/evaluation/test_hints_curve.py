"""The hints curve: the naive baseline, the curve's table, the generators it leaves out, its
figures and its MLflow names."""

import logging

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import torch

from image_colourisation.imaging import metrics
from image_colourisation.imaging.colour import model_arrays_to_rgb
from image_colourisation.models.hint_sampling import evaluation_hints
from image_colourisation.models.networks import Generator, predict_ab
from image_colourisation.models.payloads import generator_payload
from image_colourisation.pipelines.evaluation import hints_curve, nodes
from image_colourisation.pipelines.evaluation.helpers import gray_rgb

CURVE = {"counts": [0, 2, 10], "seed": 0, "max_patch": 3, "sample_images": 4, "sample_hints": 5}
COLUMNS = ["model", "hints", "mae", "psnr", "delta_e2000", "colourfulness"]


@pytest.fixture
def hint_generator() -> dict:
    """An untrained width-4 generator that takes hints, seeded."""
    torch.manual_seed(0)
    return generator_payload(Generator(width=4, hints=True))


def test_naive_copies_the_nearest_hint_and_is_gray_without_hints() -> None:
    hints = np.zeros((2, 3, 5, 7), dtype=np.float32)
    hints[0, :, 0, 0] = [0.5, -0.5, 1]  # top left
    hints[0, :, 4, 5] = [-0.2, 0.1, 1]  # bottom right
    ab = hints_curve.naive_ab(np.zeros((2, 1, 5, 7), np.float32), hints)
    assert ab.shape == (2, 2, 5, 7) and ab.dtype == np.float32
    np.testing.assert_array_equal(ab[1], 0)  # no hints: gray
    rows, columns = np.mgrid[:5, :7]
    to_first = np.hypot(rows - 0, columns - 0)
    to_second = np.hypot(rows - 4, columns - 5)
    first, second = to_first < to_second, to_second < to_first  # ties left out
    assert first.sum() + second.sum() >= 5 * 7 - 2
    np.testing.assert_array_equal(ab[0, 0][first], 0.5)
    np.testing.assert_array_equal(ab[0, 1][first], -0.5)
    np.testing.assert_array_equal(ab[0, 0][second], np.float32(-0.2))
    np.testing.assert_array_equal(ab[0, 1][second], np.float32(0.1))


def test_predict_ab_cuts_the_hints_into_the_batches_of_the_lightness(test_set) -> None:
    torch.manual_seed(0)
    generator = Generator(width=4, hints=True)
    lightness = torch.from_numpy(test_set["L"])
    hints = torch.from_numpy(evaluation_hints(test_set["ab"], 10, seed=0, max_patch=3))
    whole = predict_ab(generator, lightness, 12, hints=hints)
    np.testing.assert_allclose(predict_ab(generator, lightness, 5, hints=hints), whole, atol=1e-6)
    assert not torch.allclose(predict_ab(generator, lightness, 12), whole)  # hints count


def test_the_curve_has_a_row_per_model_and_count(test_set, hint_generator) -> None:
    table, records = hints_curve.hints_curve(test_set, hint_generator, None, 5, CURVE)
    assert list(table.columns) == COLUMNS  # no L1 baseline: its row is left out
    assert list(zip(table["model"], table["hints"], strict=True)) == [
        (model, count)
        for model in ("gan", "gan_propagation", "propagation", "naive")
        for count in (0, 2, 10)
    ]
    assert table[COLUMNS[2:]].map(np.isfinite).all().all()
    assert records == table.to_dict(orient="records") and records[0]["hints"] == 0
    naive = table.set_index(["model", "hints"]).loc["naive"]
    # With no hints the naive row is the gray baseline: no colour, gray's error.
    gray = gray_rgb(test_set["L"])
    truth = model_arrays_to_rgb(test_set["L"], test_set["ab"])
    assert naive.loc[0, "colourfulness"] == pytest.approx(0, abs=1e-3)
    assert naive.loc[0, "mae"] == pytest.approx(
        metrics.absolute_error(truth, gray).mean(), abs=1e-3
    )


def test_more_hints_bring_the_naive_baseline_towards_the_truth(test_set) -> None:
    rows = {hints_curve.NAIVE: hints_curve.naive_ab}
    table = hints_curve.score_curve(
        test_set, rows, [0, 20, 50, 200], seed=0, max_patch=3, batch_size=5
    )
    # Measured: MAE 54.3, 30.7, 20.0, 11.9; PSNR 11.2, 13.2, 15.2, 18.3 dB; ΔE2000 24.8, 16.1,
    # 10.4, 5.9. (The fixture's 8x8 blocks have unrelated random colours, so a block without
    # a hint takes a neighbour's wrong one: below 20 hints the naive row is worse than gray.)
    assert table["mae"].is_monotonic_decreasing and table["psnr"].is_monotonic_increasing
    assert table["delta_e2000"].is_monotonic_decreasing
    assert table["mae"].iloc[-1] < 0.25 * table["mae"].iloc[0]


def test_a_perfect_colouriser_scores_perfectly_at_every_count(test_set) -> None:
    def truth(lightness: np.ndarray, hints: np.ndarray) -> np.ndarray:
        return test_set["ab"]  # one batch of all 12 images

    table = hints_curve.score_curve(
        test_set, {"truth": truth}, [0, 5], seed=0, max_patch=3, batch_size=12
    )
    assert (table["mae"] == 0).all() and (table["delta_e2000"] == 0).all()
    assert (table["psnr"] == metrics.PSNR_MAX_DB).all()
    colourful = metrics.colourfulness(model_arrays_to_rgb(test_set["L"], test_set["ab"])).mean()
    np.testing.assert_allclose(table["colourfulness"], colourful)


def test_a_generator_without_hint_inputs_is_left_out_with_the_reason(
    test_set, generator, hint_generator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=hints_curve.__name__):
        table, _ = hints_curve.hints_curve(test_set, generator, hint_generator, 6, CURVE)
    assert table["model"].unique().tolist() == ["l1", "propagation", "naive"]
    left_out = [
        record.getMessage() for record in caplog.records if "left out" in record.getMessage()
    ]
    assert left_out == [
        "hints curve: gan is left out: its generator was trained without hint inputs (an older "
        "payload); retrain it with the current training pipeline to put it on the curve."
    ]


def _metrics_table() -> pd.DataFrame:
    """A metrics table's rows and columns the curve's chart and MLflow names read."""
    rows = [
        {"model": model, "source": f"{model}.pt",
         **dict.fromkeys((*nodes.METRICS, *nodes.TRUTH_REFERENCES.values()), 1.0),
         "colourfulness_truth": 30.0}
        for model in ("gan", "l1", "gray")
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_the_curve_goes_to_the_run_and_to_the_gan_and_l1_runs(test_set, hint_generator) -> None:
    curve, _ = hints_curve.hints_curve(test_set, hint_generator, hint_generator, 6, CURVE)
    table = _metrics_table()
    logged = nodes.mlflow_metrics(table, curve)
    rows = ("gan", "l1", "gan_propagation", "propagation", "naive")
    names = {f"hints{k}.{model}.{name}" for k in (0, 2, 10) for model in rows
             for name in COLUMNS[2:]}  # fmt: skip
    assert names <= set(logged) and set(logged) - names == set(nodes.mlflow_metrics(table))
    point = curve.set_index(["model", "hints"]).loc[("gan", 10)]
    assert logged["hints10.gan.psnr"] == {"value": point["psnr"], "step": 0}

    runs = nodes.model_run_metrics(table, curve)
    assert set(runs) == {"gan", "l1", "gray"}  # the baselines of the curve have no run
    assert runs["l1"]["metrics"]["test_hints10_psnr"] == point["psnr"]  # the same generator
    curve_names = {name for name in runs["gan"]["metrics"] if name.startswith("test_hints")}
    assert curve_names == {f"test_hints{k}_{name}" for k in (0, 2, 10) for name in COLUMNS[2:]}
    assert not any(name.startswith("test_hints") for name in runs["gray"]["metrics"])


def test_figures(test_set, generator, hint_generator) -> None:
    curve, _ = hints_curve.hints_curve(test_set, hint_generator, None, 6, CURVE)
    chart = hints_curve.plot_hints_curve(curve, _metrics_table())
    assert isinstance(chart, go.Figure) and len(chart.data) == 4 * 4  # 4 panels x 4 rows
    rows = ["GAN", "GAN + propagation", "propagation alone", "naive"]
    assert [trace.name for trace in chart.data[:4]] == rows
    assert list(chart.data[0].x) == [0, 2, 10]
    dashed = [shape.y0 for shape in chart.layout.shapes]
    assert dashed == [1.0, 1.0, 1.0, 30.0]  # gray's mae, psnr, ΔE2000; the truth's colourfulness

    samples = hints_curve.plot_hint_samples(test_set, hint_generator, CURVE)
    titles = [axis.get_title() for axis in samples.axes[:7]]
    rows = ["gray", "hints", "GAN", "GAN + propagation", "propagation alone", "naive", "truth"]
    assert titles == rows and len(samples.axes) == 4 * 7
    assert [axis.get_ylabel() for axis in samples.axes[::7]] == [
        "cat",
        "cat",
        "dog",
        "ship",
    ]  # images 0, 3, 7, 11
    gray, painted = (samples.axes[index].get_images()[0].get_array() for index in (0, 1))
    hinted = evaluation_hints(test_set["ab"][:1], 5, seed=0, max_patch=3)[0, 2] > 0
    assert (painted[~hinted] == gray[~hinted]).all() and (painted[hinted] != gray[hinted]).any()
    older = hints_curve.plot_hint_samples(test_set, generator, CURVE)
    titles = [axis.get_title() for axis in older.axes[:5]]
    assert titles == ["gray", "hints", "propagation alone", "naive", "truth"]
