"""Evaluation pipeline: GAN vs L1-only vs gray on the test split, as tables, charts and MLflow metrics."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
