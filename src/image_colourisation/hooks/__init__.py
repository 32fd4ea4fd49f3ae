"""Every Kedro hook of the project, registered in `settings.py`: `project.py` (one MLflow store,
a lock per trained variant, user errors as one message), `registry.py` (each registered
version ranked, the champion and challenger aliases) and `memory.py` (freed memory returned
after each node)."""
