"""Custom Kedro datasets: referenced from the catalog as `image_colourisation.datasets.<Name>`."""

from .arrays import NpzDataset

__all__ = ["NpzDataset"]
