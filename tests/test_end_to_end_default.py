"""Plain `kedro run` (the default pipeline) on tiny data: every pipeline, in the right order."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from tests.tracked_runs import EXPERIMENT, VARIANTS


def test_default_run_evaluates_the_generators_it_just_trained(tracked_project: Path) -> None:
    metrics = pd.read_csv(tracked_project / "data/08_reporting/evaluation_metrics.csv")
    assert list(metrics["model"]) == ["gan", "l1", "gray"]
    numbers = metrics.drop(columns=["model", "source"])
    assert np.isfinite(numbers.to_numpy(dtype=float)).all()
    assert metrics.set_index("model").loc["gray", "colourfulness"] == 0

    for variant in VARIANTS:
        versions = list((tracked_project / f"data/06_models/generator_{variant}.pt").iterdir())
        assert len(versions) == 1, "one run, one new version"
        assert (
            metrics.set_index("model").loc[variant, "source"]
            == f"generator_{variant} from this run"
        )

    report = json.loads((tracked_project / "data/08_reporting/evaluation_metrics.json").read_text())
    assert [row["model"] for row in report] == ["gan", "l1", "gray"]


def test_default_run_is_one_mlflow_run_with_a_nested_run_per_variant(tracked_project: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tracked_project / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], output_format="list")
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 1
    children = {run.info.run_name: run for run in runs if run not in parents}
    assert set(children) == {*VARIANTS, "gray"}  # gray: the baseline's evaluation figures
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    assert any(key.endswith("gray.colourfulness") for key in parents[0].data.metrics)
