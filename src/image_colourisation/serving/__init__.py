"""Serving: the model registry (versions, champion and challenger aliases), where a generator
comes from (a file, a versioned folder, an MLflow URI), the hook that ranks each trained
version, and the served colouriser logged with every training run."""
