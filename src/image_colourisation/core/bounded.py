"""Text parsed within limits set before anything is built: JSON (characters, nesting depth,
digits of its numbers), TOML (Python's own limits said as one message) and whole numbers
written in text (a Content-Length, a pixel coordinate).

Python's parsers trust what they read: `json.loads` recurses once per level until a
RecursionError, `int()` refuses more than 4,300 digits with a ValueError that names no source,
and `str.isdigit()` takes "²", which `int()` then refuses. Every door that reads such text from
a person or a server comes through here, so each limit is one `UserValueError` naming the source.
"""

import json
import re
import tomllib
from functools import partial
from itertools import accumulate
from typing import Any

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.ranges import shortened

MAX_DIGITS = 18  # no pixel coordinate, byte count or port of this project has more
MAX_JSON_DEPTH = 32  # hints need 2 levels; far below Python's recursion limit
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def whole_number(text: str, where: str, max_digits: int = MAX_DIGITS) -> int:
    """`text`, digits 0-9 only (no sign, no spaces), as an int; else a UserValueError that
    names `where` and what it holds."""
    if not (text.isascii() and text.isdigit()):
        raise UserValueError(f"{where} is {shortened(text)}, not a whole number in digits 0-9")
    if len(text) > max_digits:
        raise UserValueError(_too_many_digits(where, len(text), max_digits))
    return int(text)


def json_from_text(
    text: str, where: str, *, max_chars: int, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """`text` parsed as JSON once it is known to hold at most `max_chars` characters, lists
    and objects nested at most `max_depth` deep and numbers of at most `MAX_DIGITS` digits;
    a UserValueError naming `where` and the limit otherwise (or what is not JSON)."""
    if len(text) > max_chars:
        raise UserValueError(
            f"{where} is {len(text):,} characters long, more than the {max_chars:,} it may have"
        )
    depth = json_depth(text)
    if depth > max_depth:
        raise UserValueError(
            f"{where} has lists or objects nested {depth:,} deep, more than the {max_depth} "
            "levels it may have"
        )
    try:
        return json.loads(text, parse_int=partial(_json_int, where=where))
    except json.JSONDecodeError as error:
        raise UserValueError(f"{where} is not JSON ({error.msg})") from error


def json_depth(text: str) -> int:
    """How deep the lists and objects of JSON `text` nest, counted on its brackets outside
    strings, without building anything (for text that is not JSON: at least as deep)."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = (1 if bracket in "[{" else -1 for bracket in brackets)
    return max(accumulate(steps), default=0)


def _json_int(text: str, where: str) -> int:
    digits = len(text.removeprefix("-"))
    if digits > MAX_DIGITS:
        raise UserValueError(_too_many_digits(where, digits, MAX_DIGITS))
    return int(text)


def _too_many_digits(where: str, digits: int, max_digits: int) -> str:
    return (
        f"{where} holds a number of {digits:,} digits, more than the {max_digits} any number "
        "may have here"
    )


def toml_from_text(text: str, where: str) -> dict[str, Any]:
    """`text` parsed as TOML; a UserValueError naming `where` when it is not TOML or passes
    Python's limits. The text comes bounded in size (`files.read_small_file`); its nesting is
    bounded by `tomllib` itself, which recurses once per level and so stops at Python's
    recursion limit within milliseconds, having built only that many levels."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise UserValueError(
            f"{where} nests arrays or tables deeper than Python's TOML reader goes"
        ) from None  # the chain would be a thousand frames long
    except ValueError as error:  # TOMLDecodeError, and int()'s limit of 4,300 digits
        raise UserValueError(f"{where} is not TOML that can be read ({error})") from error
