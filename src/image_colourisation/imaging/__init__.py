"""Photos as numbers, with numpy and Pillow only (never torch): Lab maths (`colour.py`), quality
metrics (`metrics.py`), a person's colour hints (`hints.py`), the one renderer that turns a
photo into a colourised photo (`render.py`), photo files (`photo_files.py`) and training crops
(`crops.py`)."""
