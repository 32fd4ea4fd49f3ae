"""Photos: the whole project on a folder of the user's own photos instead of CIFAR-10."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
