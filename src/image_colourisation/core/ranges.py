"""`Setting`: a value's type and allowed range, and the one sentence that says what is wrong.

Used for the records inside model payloads (`payloads.py`, the classifier's) and for the
training parameters (`pipelines/training/config.py`), so a bad width reads the same wherever it
comes from.
"""

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """A value's type and the range of values this project uses (open or closed at each end)."""

    kind: type  # int, float or bool (a bool is the range [0, 1] of True and False alone)
    low: float
    high: float
    required: bool = True
    low_open: bool = False
    high_open: bool = False
    zero_allowed: bool = False  # e.g. bins: 0 (no colour bins) or within [low, high]
    multiple_of: int = 1  # e.g. a crop size the U-Net halves five times: a multiple of 32

    def problem(self, name: str, value: Any) -> str | None:
        """Why `value` is not allowed for `name`, or None when it is."""
        allowed = self.describe()
        if not self._is_kind(value):
            return f"{name} is {shortened(value)} ({type(value).__name__}); allowed: {allowed}"
        if self.zero_allowed and value == 0:
            return None
        below = value <= self.low if self.low_open else value < self.low
        above = value >= self.high if self.high_open else value > self.high
        misfit = self.multiple_of > 1 and value % self.multiple_of
        if not math.isfinite(value) or below or above or misfit:
            return f"{name} is {shortened(value)}; allowed: {allowed}"
        return None

    def _is_kind(self, value: Any) -> bool:
        """True and False are ints to Python, but only a bool setting takes them."""
        if self.kind is bool or isinstance(value, bool):
            return self.kind is bool and isinstance(value, bool)
        return isinstance(value, (int,) if self.kind is int else (int, float))

    def describe(self) -> str:
        """E.g. "an integer in [1, 1024]", "0 or an integer in [2, 4096]", "True or False",
        "a positive integer", "a number >= 0"."""
        if self.kind is bool:
            return "True or False"
        kind = "an integer" if self.kind is int else "a number"
        if self.multiple_of > 1:
            kind = f"a multiple of {self.multiple_of}"
        if math.isinf(self.high) and not (self.low_open or self.zero_allowed):
            return (
                "a positive integer"
                if (self.kind, self.low) == (int, 1)
                else f"{kind} >= {self.low:g}"
            )
        low, high = "(" if self.low_open else "[", ")" if self.high_open else "]"
        zero = "0 or " if self.zero_allowed else ""
        return f"{zero}{kind} in {low}{self.low:g}, {self.high:g}{high}"


def shortened(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
