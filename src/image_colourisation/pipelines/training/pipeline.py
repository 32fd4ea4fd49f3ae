"""Training pipeline: `train_gan` -> generator_gan and `train_l1_baseline` -> generator_l1."""

from kedro.pipeline import Node, Pipeline

from .nodes import train_gan, train_l1_baseline


def create_pipeline(**kwargs) -> Pipeline:
    inputs = ["train_set", "validation_set", "params:training"]
    return Pipeline(
        [
            Node(train_gan, inputs, "generator_gan", name="train_gan"),
            Node(train_l1_baseline, inputs, "generator_l1", name="train_l1_baseline"),
        ],
        tags=["training"],
    )
