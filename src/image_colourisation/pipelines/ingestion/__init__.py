"""Ingestion: the CIFAR-10 archive -> validated arrays in the intermediate layer."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
