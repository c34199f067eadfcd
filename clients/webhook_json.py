"""JSON text that a JavaScript receiver re-serialises to the very same bytes.

Receivers written for the seed system verify the signature over
``JSON.stringify(JSON.parse(body))``, not over the raw body. Their HMAC matches ours only when
that round trip gives back our bytes exactly, so the body is written the way ``JSON.stringify``
writes it:

- numbers as ECMAScript's ``Number::toString`` spells them: ``45`` not ``45.0``, ``-0`` as
  ``0``, ``1e-7`` and ``1e+21`` with JavaScript's exponent rules;
- integers beyond ``Number.MAX_SAFE_INTEGER`` as strings (JavaScript cannot hold them exactly,
  its round trip would change the digits);
- object keys in JavaScript's own property order: integer-like keys (``"0"``, ``"8888"``)
  first in ascending order, then the others as inserted;
- strings escaped as both languages escape them (quotes, backslashes, control characters), and
  everything else kept as UTF-8.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["MAX_SAFE_INTEGER", "js_number", "to_js_json"]

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer a JavaScript number holds exactly (``Number.MAX_SAFE_INTEGER``)."""

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_MAX_ARRAY_INDEX = 2**32 - 2  # JavaScript orders keys up to 2^32 - 2 as array indices


def js_number(value: float | int) -> str:
    """Write a number as JavaScript's ``String(number)`` does.

    Args:
        value: A finite float or an int (ints beyond the safe range are the caller's matter).

    Returns:
        The shortest digits that read back as ``value``, laid out by ECMAScript's rules.

    Raises:
        ValueError: NaN or infinity (JSON has no spelling for them).

    Example:
        >>> [js_number(v) for v in (45.0, 0.1, -0.0, 1e-7, 1.5e-6, 1e20, 1e21, 2.5e-3)]
        ['45', '0.1', '0', '1e-7', '0.0000015', '100000000000000000000', '1e+21', '0.0025']

    """
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not JSON")
    if value == 0:
        return "0"  # -0 too: JSON.stringify(-0) is "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest round-tripping digits, as JavaScript does; only the layout differs.
    parts = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, parts.digits)).rstrip("0")
    exponent = int(parts.exponent) + (len(parts.digits) - len(digits))
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        shown = digits[0] + (f".{digits[1:]}" if k > 1 else "")
        text = f"{shown}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def _key(key: Any) -> str:
    """An object key as ``json`` would turn it into a string."""
    if isinstance(key, str):
        return key
    if key is True or key is False:
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return js_number(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _js_key_order(keys: list[str]) -> list[str]:
    """JavaScript's property order: array-index keys ascending, then the rest as inserted."""
    indices = [k for k in keys if _ARRAY_INDEX.fullmatch(k) and int(k) <= _MAX_ARRAY_INDEX]
    if not indices:
        return keys
    taken = set(indices)
    return sorted(indices, key=int) + [k for k in keys if k not in taken]


def to_js_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Serialise ``value`` compactly so that JavaScript's parse-then-stringify gives it back.

    Args:
        value: dicts, lists, tuples, strings, numbers, booleans and None; anything else goes
            through ``default`` first, and its result is written the same way.
        default: Turns a value JSON cannot hold into one it can (like ``json.dumps``).

    Returns:
        Compact JSON text (``,`` and ``:`` without spaces), non-ASCII characters kept.

    Raises:
        ValueError: NaN or infinity somewhere in ``value``.
        TypeError: a value neither JSON nor turned into JSON by ``default``.

    Example:
        >>> to_js_json({"idle": 25.0, "b": [1, 2.5], "8888": "x", "name": "Zürich"})
        '{"8888":"x","idle":25,"b":[1,2.5],"name":"Zürich"}'
        >>> to_js_json({"big": 2**60})
        '{"big":"1152921504606846976"}'

    """
    parts: list[str] = []
    _write(value, default, parts)
    return "".join(parts)


def _write(value: Any, default: Callable[[Any], Any] | None, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int):
        number = int(value)
        out.append(str(number) if abs(number) <= MAX_SAFE_INTEGER else f'"{number}"')
    elif isinstance(value, float):
        out.append(js_number(float(value)))
    elif isinstance(value, Mapping):
        items: dict[str, Any] = {}
        for key, item in value.items():
            items[_key(key)] = item
        out.append("{")
        for position, key in enumerate(_js_key_order(list(items))):
            if position:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(items[key], default, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, default, out)
        out.append("]")
    elif default is not None:
        _write(default(value), default, out)
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
