"""Preprocessing: stratified validation split, then RGB -> normalised Lab for each split."""

from kedro.pipeline import Node, Pipeline

from .nodes import report_split_counts, split_train_validation, to_model_input

SPLITS = ("train", "validation", "test")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_train_validation,
                inputs=[
                    "cifar10_images",
                    "params:preprocessing.validation_fraction",
                    "params:preprocessing.seed",
                ],
                outputs=[f"{split}_rgb" for split in SPLITS],
                name="split_train_validation",
            ),
            *(
                Node(
                    to_model_input,
                    inputs=f"{split}_rgb",
                    outputs=f"{split}_set",
                    name=f"{split}_to_lab",
                )
                for split in SPLITS
            ),
            Node(
                report_split_counts,
                inputs=[f"{split}_rgb" for split in SPLITS],
                outputs="split_class_counts",
                name="report_split_counts",
            ),
        ],
        tags=["preprocessing"],
    )
