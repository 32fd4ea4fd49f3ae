"""The real-photo benchmark: photos turned gray, colourised, judged by an ImageNet classifier."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
