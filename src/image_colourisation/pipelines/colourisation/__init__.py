"""Colourise the user's own photos (`data/01_raw/photos/`) with a trained generator."""

from image_colourisation.pipelines.colourisation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
