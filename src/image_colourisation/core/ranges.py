"""`Setting`: a value's type and allowed range, and the one sentence that says what is wrong.

Used for the records inside model payloads (`payloads.py`, the classifier's) and for every
parameter of `conf/base` (`Choice`, `Text` and `Items` for the ones that are not numbers;
`problems_in` walks a section), so a bad width reads the same wherever it comes from.
"""

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


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
        return f"{zero}{kind} in {low}{self._number(self.low)}, {self._number(self.high)}{high}"

    def _number(self, bound: float) -> str:
        """A bound as people write it: 4294967295 or 2592000, not 4.29497e+09 or 2.592e+06."""
        return str(int(bound)) if math.isfinite(bound) and bound == int(bound) else f"{bound:g}"


def shortened(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Seeds: numpy's generators take 0 .. 2**32 - 1 in the legacy API every library here accepts.
SEED = Setting(int, 0, 2**32 - 1)


@dataclass(frozen=True)
class Choice:
    """One of a few values (e.g. a runtime's name, or None for "the project's default")."""

    values: tuple[Any, ...]

    def problem(self, name: str, value: Any) -> str | None:
        known = any(type(value) is type(item) and value == item for item in self.values)
        return None if known else f"{name} is {shortened(value)}; allowed: {self.describe()}"

    def describe(self) -> str:
        return "one of " + ", ".join("null" if item is None else str(item) for item in self.values)


@dataclass(frozen=True)
class Text:
    """Free text, e.g. a path or a host name: a non-empty string without NUL, of bounded length
    (and of a `pattern`, where one is given)."""

    meaning: str  # what the text is, for the message: "a folder", "a host name"
    max_length: int = 4096  # PATH_MAX on Linux
    pattern: str = ".+"

    def problem(self, name: str, value: Any) -> str | None:
        if (
            isinstance(value, str)
            and "\0" not in value
            and len(value) <= self.max_length
            and re.fullmatch(self.pattern, value, flags=re.DOTALL)
        ):
            return None
        return f"{name} is {shortened(value)}; allowed: {self.describe()}"

    def describe(self) -> str:
        return f"{self.meaning} (text of 1 to {self.max_length} characters)"


@dataclass(frozen=True)
class Items:
    """A list of values, each within `item`, at most `max_items` of them."""

    item: Setting
    max_items: int

    def problem(self, name: str, value: Any) -> str | None:
        if not isinstance(value, list | tuple) or not 0 < len(value) <= self.max_items:
            return f"{name} is {shortened(value)}; allowed: {self.describe()}"
        found = (self.item.problem(f"{name}[{index}]", item) for index, item in enumerate(value))
        return next((problem for problem in found if problem), None)

    def describe(self) -> str:
        return f"a list of 1 to {self.max_items} items, each {self.item.describe()}"


class Rule(Protocol):
    def problem(self, name: str, value: Any) -> str | None: ...


# A section of parameters: each key's rule, or a nested section.
Rules = Mapping[str, "Rule | Rules"]


def problems_in(
    rules: Rules, values: Any, name: str, *, closed: bool = False, partial: bool = False
) -> list[str]:
    """Every problem of the parameters `values` under `name` (e.g. "evaluation") against
    `rules`, one line each: a missing key (unless `partial`: a section of changes to another),
    a section that is not a mapping, a value out of range, and in a `closed` section (one a
    dataclass takes whole) a key without a rule. Elsewhere such keys are left alone (runtime
    parameters may add their own)."""
    if not isinstance(values, Mapping):
        return [f"{name} is {shortened(values)}; allowed: a mapping with keys {', '.join(rules)}"]
    problems = [unknown(f"{name}.{key}", rules) for key in values if closed and key not in rules]
    for key, rule in rules.items():
        inner = f"{name}.{key}"
        if key not in values:
            if not partial:
                problems.append(f"{inner} is missing (it is set in conf/base)")
        elif isinstance(rule, Mapping):
            problems += problems_in(rule, values[key], inner, closed=closed, partial=partial)
        elif found := rule.problem(inner, values[key]):
            problems.append(found)
    return problems


def unknown(name: str, rules: Rules) -> str:
    """`name` is not among `rules`: the nearest names, if any, as the likely typo."""
    section, _, key = name.rpartition(".")
    near = difflib.get_close_matches(str(key), list(rules), n=3)
    guess = f"; did you mean {' or '.join(near)}?" if near else ""
    return f"{name} is not a parameter of {section}{guess}"
