"""Evaluation: classifier, colourised test split, per-image scores, then tables and figures;
beside them the hints curve (`hints_curve.py`), which colours the test split again with hints.

On its own (`kedro run --pipelines evaluation`) it reads the generators through the catalog's
GeneratorChoiceDataset entries (`latest`, or a model named with --params). In a run that also
trains, `pipeline_registry.after_training` wires it to the training pipeline's outputs instead,
so it scores the generators of that run and Kedro orders it after the training nodes.

The semantic classifier is a cache: `previous_semantic_classifier` reads the file that
`semantic_classifier` writes (None when there is none), and the node hands it back unchanged
while the training data and the classifier parameters are the same, retraining otherwise.
"""

from kedro.pipeline import Node, Pipeline

from .critic import critic_test
from .hints_curve import hints_curve, plot_hint_samples, plot_hints_curve
from .nodes import (
    colourise_test_set,
    mlflow_metrics,
    model_run_metrics,
    score_colourisations,
    summarise_scores,
    train_semantic_classifier,
)
from .plots import plot_ab_distribution, plot_metrics, plot_per_class, plot_samples


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_semantic_classifier,
                inputs=[
                    "train_set",
                    "params:evaluation.classifier",
                    "previous_semantic_classifier",
                ],
                outputs="semantic_classifier",
                name="train_semantic_classifier",
            ),
            Node(
                colourise_test_set,
                inputs=[
                    "test_set",
                    "evaluation_gan_generator",
                    "evaluation_l1_generator",
                    "params:evaluation.batch_size",
                ],
                outputs=["test_colourisations", "evaluated_sources"],
                name="colourise_test_set",
            ),
            Node(
                score_colourisations,
                inputs=[
                    "test_colourisations",
                    "test_set",
                    "semantic_classifier",
                    "params:evaluation.batch_size",
                ],
                outputs="image_scores",
                name="score_colourisations",
            ),
            Node(
                critic_test,
                inputs=[
                    "test_colourisations",
                    "params:evaluation.critic",
                    "previous_critic_scores",
                ],
                outputs="critic_scores",
                name="critic_test",
            ),
            Node(
                summarise_scores,
                inputs=["image_scores", "evaluated_sources", "test_set", "critic_scores"],
                outputs=["evaluation_metrics", "evaluation_metrics_json", "evaluation_per_class"],
                name="summarise_scores",
            ),
            Node(
                hints_curve,
                inputs=[
                    "test_set",
                    "evaluation_gan_generator",
                    "evaluation_l1_generator",
                    "params:evaluation.batch_size",
                    "params:evaluation.hints_curve",
                ],
                outputs=["evaluation_hints_curve", "evaluation_hints_curve_json"],
                name="hints_curve",
            ),
            Node(
                mlflow_metrics,
                inputs=["evaluation_metrics", "evaluation_hints_curve"],
                outputs="evaluation_mlflow_metrics",
                name="log_evaluation_metrics",
            ),
            Node(
                model_run_metrics,
                inputs=["evaluation_metrics", "evaluation_hints_curve"],
                outputs="evaluation_model_run_metrics",
                name="log_metrics_on_model_runs",
            ),
            Node(
                plot_metrics,
                inputs="evaluation_metrics",
                outputs="evaluation_metrics_chart",
                name="plot_metrics",
            ),
            Node(
                plot_per_class,
                inputs="evaluation_per_class",
                outputs="evaluation_per_class_chart",
                name="plot_per_class",
            ),
            Node(
                plot_samples,
                inputs=["test_colourisations", "test_set"],
                outputs="evaluation_samples",
                name="plot_samples",
            ),
            Node(
                plot_hints_curve,
                inputs=["evaluation_hints_curve", "evaluation_metrics"],
                outputs="evaluation_hints_curve_chart",
                name="plot_hints_curve",
            ),
            Node(
                plot_hint_samples,
                inputs=["test_set", "evaluation_gan_generator", "params:evaluation.hints_curve"],
                outputs="evaluation_hint_samples",
                name="plot_hint_samples",
            ),
            Node(
                plot_ab_distribution,
                inputs=["test_colourisations", "params:evaluation.ab_distribution_images"],
                outputs="evaluation_ab_distribution",
                name="plot_ab_distribution",
            ),
        ],
        tags=["evaluation"],
    )
