"""What a person uses: the `colourise` command (`cli.py`), its page (`page.py`, `page.html`)
and the model choices the page offers (`model_choices.py`)."""
