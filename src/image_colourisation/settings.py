"""Project settings: the config loader and the telemetry switch.

Hooks come from installed plugins (kedro-mlflow registers its own), so none are listed here.
"""

import os

# Kedro's telemetry must never prompt or send anything: the committed `.telemetry` file says
# `consent: false`, and this default covers runs started from outside the Makefile.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
