"""Benchmark: the photo folder colourised by every model, scored photo by photo, then the table,
each model's `photos_*` metrics on its MLflow run, and the figures.

On its own (`kedro run --pipelines benchmark`) it reads the generators through the catalog's
GeneratorChoiceDataset entries (the champion, else the newest GAN; the newest L1; or models named
with --params). In the default run `pipeline_registry.after_training` feeds it the generators that
run trained, as it does the evaluation.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    benchmark_model_run_metrics,
    colourise_benchmark_photos,
    score_benchmark_photos,
    summarise_benchmark,
)
from .plots import plot_benchmark, plot_gains_and_losses


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                colourise_benchmark_photos,
                inputs=[
                    "benchmark_photos",
                    "benchmark_gan_generator",
                    "benchmark_l1_generator",
                    "params:benchmark",
                ],
                outputs=["benchmark_images", "benchmark_sources"],
                name="colourise_benchmark_photos",
            ),
            Node(
                score_benchmark_photos,
                inputs=["benchmark_images", "benchmark_imagenet_classifier", "params:benchmark"],
                outputs=["benchmark_per_photo", "benchmark_features"],
                name="score_benchmark_photos",
            ),
            Node(
                summarise_benchmark,
                inputs=[
                    "benchmark_per_photo",
                    "benchmark_features",
                    "benchmark_sources",
                    "params:benchmark",
                ],
                outputs="benchmark_metrics",
                name="summarise_benchmark",
            ),
            Node(
                benchmark_model_run_metrics,
                inputs="benchmark_metrics",
                outputs="benchmark_model_run_metrics",
                name="log_benchmark_on_model_runs",
            ),
            Node(
                plot_benchmark,
                inputs="benchmark_metrics",
                outputs="benchmark_metrics_chart",
                name="plot_benchmark",
            ),
            Node(
                plot_gains_and_losses,
                inputs=["benchmark_images", "benchmark_per_photo", "params:benchmark.grid_photos"],
                outputs="benchmark_gains_and_losses",
                name="plot_benchmark_gains_and_losses",
            ),
        ],
        tags=["benchmark"],
    )
