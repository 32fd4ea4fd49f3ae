"""Project settings: the config loader, the telemetry switch and the project's hooks.

kedro-mlflow registers its own hooks as a plugin; the project's (`hooks.py`) make runs started
side by side safe: the MLflow store is created by one process at a time, and a variant's
checkpoint folder is trained into by one run at a time; and after a training run the
registered model's new version (`serving/hooks.py`) gets its evaluation figures and the champion/challenger aliases.
`memory.py`'s hook gives the memory each node freed back to the system.
"""

import os

from image_colourisation.hooks import TrackingStoreHook, TrainingLockHook
from image_colourisation.memory import ReleaseMemoryHook
from image_colourisation.serving.hooks import RegistryHook

# Kedro's telemetry must never prompt or send anything: the committed `.telemetry` file says
# `consent: false`, and this default covers runs started from outside the Makefile.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (`--env gpu`) overrides single parameters, not whole sections.
    "merge_strategy": {"parameters": "soft"},
}

HOOKS = (TrackingStoreHook(), TrainingLockHook(), RegistryHook(), ReleaseMemoryHook())
