"""Training pipeline: `train_l1_baseline` -> generator_l1, then `train_gan` -> generator_gan
(the GAN starts from the baseline's weights when `training.warm_start`)."""

from kedro.pipeline import Node, Pipeline

from .nodes import train_gan, train_l1_baseline


def create_pipeline(**kwargs) -> Pipeline:
    inputs = ["train_set", "validation_set", "imagenet_weights", "params:training"]
    return Pipeline(
        [
            Node(train_l1_baseline, inputs, "generator_l1", name="train_l1_baseline"),
            Node(
                train_gan,
                [
                    "train_set",
                    "validation_set",
                    "generator_l1",
                    "imagenet_weights",
                    "params:training",
                ],
                "generator_gan",
                name="train_gan",
            ),
        ],
        tags=["training"],
    )
