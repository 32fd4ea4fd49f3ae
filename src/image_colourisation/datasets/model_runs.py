"""A write-only Kedro dataset: each evaluated model's figures on that model's own MLflow run.

MLflow's Compare view shows the metrics of the runs a user ticks. The evaluation's figures
belong on the runs that trained the models (`gan`, `l1`; `photos-gan`, `photos-l1` for a photo
folder), beside their parameters, and the gray baseline gets a run of its own, so ticking gan,
l1 and gray compares all three.
"""

import logging
import re
import time
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from image_colourisation.serving.run_names import CIFAR10, run_name

logger = logging.getLogger(__name__)


class ModelRunMetricsDataset(AbstractDataset[dict[str, dict[str, Any]], None]):
    """Saves `{row: {"source": ..., "metrics": {name: value}}}` to one MLflow run per row.

    The run of a row is, in order: the run nested under the active (kedro-mlflow) run with the
    tag `variant=<row>` (the run that trained that model in this `kedro run`); the run of a
    `runs:/<run_id>/...` source; else a new run named after the row, nested under the active
    run and tagged with the model's source (the gray baseline always gets one), named as
    training names its runs for the evaluated `data` (`photos-gray` for photos). Without an
    active run (a unit test, tracking switched off) nothing is logged.
    """

    def __init__(self, data: str = CIFAR10, metadata: dict[str, Any] | None = None) -> None:
        self._data = data
        self.metadata = metadata

    def save(self, data: dict[str, dict[str, Any]]) -> None:
        import mlflow  # noqa: PLC0415 - kedro-mlflow imports it anyway
        from mlflow.entities import Metric  # noqa: PLC0415

        parent = mlflow.active_run()
        if parent is None:
            logger.info("No active MLflow run: the evaluation figures go to no model run.")
            return
        client = mlflow.MlflowClient()
        now = int(time.time() * 1000)
        for row, entry in data.items():
            run_id = self._run_of(client, parent, row, str(entry["source"]))
            metrics = [
                Metric(name, float(value), now, 0) for name, value in entry["metrics"].items()
            ]
            client.log_batch(run_id, metrics=metrics)

    def _run_of(self, client: Any, parent: Any, row: str, source: str) -> str:
        experiment = parent.info.experiment_id
        trained = client.search_runs(
            [experiment],
            f"tags.mlflow.parentRunId = '{parent.info.run_id}' and tags.variant = '{row}'",
            max_results=1,
        )
        if trained:
            return trained[0].info.run_id
        logged = re.match(r"^runs:/([0-9a-f]{32})/", source)
        if logged:
            return logged.group(1)
        run = client.create_run(
            experiment,
            run_name=run_name(row, self._data),
            tags={
                "mlflow.parentRunId": parent.info.run_id,
                "variant": row,
                "data": self._data,
                "evaluated_model": source,
            },
        )
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    def load(self) -> dict[str, dict[str, Any]]:
        raise DatasetError("ModelRunMetricsDataset is write-only: read the runs in MLflow.")

    def _exists(self) -> bool:
        """Never: it is written only. Without this Kedro warns on every run, when kedro-mlflow
        asks while it builds the served pipeline's catalog."""
        return False

    def _describe(self) -> dict[str, Any]:
        return {"data": self._data}
