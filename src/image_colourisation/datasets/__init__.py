"""Custom Kedro datasets: referenced from the catalog as `image_colourisation.datasets.<Name>`."""

from .arrays import NpzDataset
from .cifar10 import CIFAR10ArchiveDataset
from .generator_choice import GeneratorChoiceDataset
from .imagenet import ImageNetClassifierDataset, ImageNetWeightsDataset
from .json_cache import JSONCacheDataset
from .model_runs import ModelRunMetricsDataset
from .torch_models import ModelPayloadDataset, OnnxModelDataset

__all__ = [
    "CIFAR10ArchiveDataset",
    "GeneratorChoiceDataset",
    "ImageNetClassifierDataset",
    "ImageNetWeightsDataset",
    "JSONCacheDataset",
    "ModelRunMetricsDataset",
    "ModelPayloadDataset",
    "NpzDataset",
    "OnnxModelDataset",
]
