"""JSON from clients, parsed only when it is shallow enough to parse safely.

Python's `json` recurses once per nesting level, so `"[" * 5000` raises RecursionError
deep inside whatever handler called it. Every parser a client reaches reads JSON through
`loads_bounded`, which measures the nesting first (strings skipped, no recursion) and
turns every way JSON can fail into one `JSONInputError` with a message for the client.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JSONInputError(ValueError):
    """Client JSON that cannot be taken: not JSON, not UTF-8, or nested too deeply."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting in `text`, ignoring brackets inside strings."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_bounded(raw: str | bytes | bytearray, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses more than `max_depth` levels of nesting with a clear error."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError as exc:
        raise JSONInputError(f"not UTF-8 text: {exc}") from exc
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONInputError(f"JSON nested {depth} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"not valid JSON: {exc}") from exc
    except (RecursionError, ValueError) as exc:  # e.g. an integer of over 4300 digits
        raise JSONInputError(f"JSON that cannot be read: {exc}") from exc


def object_depth(value: Any) -> int:
    """How deeply an already decoded value nests lists and dicts (iterative, no recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest
