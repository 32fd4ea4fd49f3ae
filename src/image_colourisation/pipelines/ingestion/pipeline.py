"""Ingestion: read (and if needed download) the archive, validate it, store the arrays."""

from kedro.pipeline import Node, Pipeline

from .nodes import validate_cifar10


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                validate_cifar10,
                inputs="cifar10_archive",
                outputs=["cifar10_images", "ingestion_class_counts"],
                name="validate_cifar10",
            )
        ],
        tags=["ingestion"],
    )
