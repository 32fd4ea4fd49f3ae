"""The training pipeline: the colourisation GAN and its L1-only baseline, tracked in MLflow."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
