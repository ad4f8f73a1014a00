"""JavaScript value semantics that JSON Logic inherits from json-logic-js.

Rules written for flagd assume JavaScript's coercions: ``[]`` is falsy but ``"0"`` is truthy, ``==`` compares
``1`` and ``"1"`` as equal, ``+`` goes through ``parseFloat``. Every function here is total over JSON values
(None, bool, int, float, str, list, dict) and never raises. Numbers come out as floats, as in JavaScript.
Strings are compared and sliced by code point, not UTF-16 code unit; the two differ only beyond the BMP.
"""

from __future__ import annotations

import math
import re
from typing import Any

NAN = float("nan")
_INF = float("inf")

# JavaScript's WhiteSpace and LineTerminator code points, which Number() and parseFloat() skip.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)
# One way to match each input: "[0-9]+\.?[0-9]*" could split a run of digits anywhere, which made a failed
# match of a 60 kB digit string quadratic (minutes of CPU on the event loop). Possessive quantifiers never
# give back what they took (no digit can start what follows them), so a failed match is one pass: 0.1 ms
# rather than 3.6 ms with the GIL held for 60,000 digits and a trailing "x".
_DECIMAL = re.compile(r"[+-]?+(?:Infinity|(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?)")
_MAX_SAFE_INTEGER = 2**53 - 1
_PRIMITIVES = frozenset({str, int, float, bool})
_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")
_RADIX_BASE = {"x": 16, "o": 8, "b": 2}


def truthy(value: Any) -> bool:
    """JSON Logic truthiness: JavaScript's, except that an empty array is falsy."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    if isinstance(value, (str, list)):
        return len(value) > 0
    if isinstance(value, dict):
        return True
    if isinstance(value, float):
        return value != 0.0 and not math.isnan(value)
    return bool(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return _INF if value > 0 else -_INF


def to_number(value: Any) -> float:
    """JavaScript ``ToNumber``."""
    if isinstance(value, float):
        return value
    if value is None or isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int):
        return _int_to_float(value)
    if isinstance(value, str | list):
        return _string_to_number(to_string(value))
    return NAN


def _string_to_number(text: str) -> float:
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    radix = _RADIX.fullmatch(text)
    if radix:
        try:
            return _int_to_float(int(radix.group(2), _RADIX_BASE[radix.group(1).lower()]))
        except ValueError:
            return NAN
    return NAN


def parse_float(value: Any) -> float:
    """JavaScript ``parseFloat(String(value))``: the longest decimal prefix, else NaN."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_to_float(value)
    match = _DECIMAL.match(to_string(value).lstrip(_JS_SPACE))
    return float(match.group()) if match else NAN


def to_integer(value: Any) -> float:
    """JavaScript ``ToIntegerOrInfinity`` (NaN becomes 0, infinities stay)."""
    number = to_number(value)
    if math.isnan(number):
        return 0.0
    if math.isinf(number):
        return number
    return float(math.trunc(number))


def number_to_string(number: float) -> str:
    """JavaScript ``Number.prototype.toString()`` (also what Go's encoding/json prints for float64)."""
    if not math.isfinite(number):
        return "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)  # value = 0.<digits> x 10^point
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    return ("-" if number < 0 else "") + _place_point(significant.rstrip("0"), point)


def _place_point(digits: str, point: int) -> str:
    """Write ``0.<digits> x 10^point`` the way JavaScript does: positional up to 1e21, else exponential."""
    if len(digits) <= point <= 21:
        return digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    tail = "." + digits[1:] if len(digits) > 1 else ""
    return f"{digits[0]}{tail}e{'+' if point > 0 else '-'}{abs(point - 1)}"


def to_string(value: Any) -> str:
    """JavaScript ``String(value)``; arrays join their items with commas, null items as empty."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list):
        return ",".join("" if item is None else to_string(item) for item in value)
    return "[object Object]"


def _number_text(number: int | float) -> str:
    if isinstance(number, int) and abs(number) <= _MAX_SAFE_INTEGER:
        return str(number)
    return number_to_string(number if isinstance(number, float) else _int_to_float(number))


def _to_primitive(value: Any) -> Any:
    return to_string(value) if isinstance(value, list | dict) else value


def strict_equals(a: Any, b: Any) -> bool:
    """JavaScript ``===``: arrays and objects are equal only to themselves."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a):
        return is_number(b) and a == b
    if isinstance(a, str):
        return isinstance(b, str) and a == b
    return a is b


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript ``==`` (the Abstract Equality Comparison)."""
    kind = type(a)
    if kind is type(b) and kind in _PRIMITIVES:  # the common case: no coercion
        return bool(a == b)
    if a is None or b is None:
        return a is b
    if isinstance(a, bool):
        a = 1 if a else 0
    if isinstance(b, bool):
        b = 1 if b else 0
    a_object, b_object = isinstance(a, list | dict), isinstance(b, list | dict)
    if a_object and b_object:
        return a is b
    if a_object:
        a = to_string(a)
    if b_object:
        b = to_string(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return to_number(a) == to_number(b)  # numbers, or a number and a string


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    a, b = _to_primitive(a), _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return to_number(a), to_number(b)


def less(a: Any, b: Any) -> bool:
    """JavaScript ``a < b``: strings compare as text, anything else as numbers (NaN compares false)."""
    if is_number(a) and is_number(b):
        return bool(a < b)
    x, y = _comparable(a, b)
    return bool(x < y)


def less_or_equal(a: Any, b: Any) -> bool:
    """JavaScript ``a <= b``."""
    if is_number(a) and is_number(b):
        return bool(a <= b)
    x, y = _comparable(a, b)
    return bool(x <= y)
