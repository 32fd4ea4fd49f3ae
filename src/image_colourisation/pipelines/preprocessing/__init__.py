"""Preprocessing: validated images -> normalised Lab train / validation / test sets."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
