"""Plumbing every layer may use, importing nothing else of the project: the user's errors told
apart from bugs (`errors.py`), atomic writes and what a path is (`files.py`), the one file
lock (`locks.py`), freeing memory (`memory.py`) and a value's allowed range (`ranges.py`)."""
