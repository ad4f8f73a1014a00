"""One parser per kind of setting value, and the one error a bad value becomes.

A parser takes the text of a flag or variable and returns the typed value, or raises :class:`Rejected`
saying what it accepts; the settings reader adds the option and variable names, so every bad value,
wherever it came from, reads the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from sidecar.errors import InvalidArgumentError
from sidecar.server.listen import ListenAddress, parse_listen
from sidecar.sync.settings import check_address

T = TypeVar("T")
Parser = Callable[[str], T]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(Exception):
    """Settings that stop a command before it starts; ``str()`` is the one line the user sees."""


class BadValue(SettingsError):
    def __init__(self, option: str | None, variable: str | None, value: str, expected: str) -> None:
        self.option = option
        self.variable = variable
        self.value = value
        self.expected = expected
        names = [n for n in (option, variable) if n]
        where = f"{names[0]} ({names[1]})" if len(names) == 2 else names[0]
        super().__init__(f"bad value {value!r} for {where}: expected {expected}")


class Rejected(ValueError):
    """Raised by a parser: ``expected`` says what it accepts."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _number(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Rejected(expected) from None
    if not math.isfinite(value):
        raise Rejected(expected)
    return value


def positive_seconds(text: str) -> float:
    expected = "a positive number of seconds"
    value = _number(text, expected)
    if value <= 0:
        raise Rejected(expected)
    return value


def non_negative_seconds(text: str) -> float:
    expected = "a number of seconds, 0 or more"
    value = _number(text, expected)
    if value < 0:
        raise Rejected(expected)
    return value


def positive_milliseconds(text: str) -> float:
    """OpenTelemetry durations are milliseconds; the value returned is seconds."""
    expected = "a positive number of milliseconds"
    value = _number(text, expected)
    if value <= 0:
        raise Rejected(expected)
    return value / 1000


def non_negative_milliseconds(text: str) -> float:
    expected = "a number of milliseconds, 0 or more"
    value = _number(text, expected)
    if value < 0:
        raise Rejected(expected)
    return value / 1000


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise Rejected("a whole number of at least 1") from None
    if value < 1:
        raise Rejected("a whole number of at least 1")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2}
_SIZE_UNITS |= {"mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}
MIN_SIZE = 64 * 1024


def size(text: str) -> int:
    """Bytes, with an optional binary unit: ``65536``, ``512KiB``, ``64MiB``, ``2GiB`` (kB, MB, GB alike)."""
    expected = "a size of at least 64KiB, such as 64MiB or 2GiB"
    stripped = text.strip().lower()
    number = stripped.rstrip("kmgib")
    unit = stripped[len(number) :]
    if unit not in _SIZE_UNITS:
        raise Rejected(expected)
    value = _number(number.strip(), expected) * _SIZE_UNITS[unit]
    if value < MIN_SIZE:
        raise Rejected(expected)
    return int(value)


def ratio(text: str) -> float:
    expected = "a number from 0 to 1"
    value = _number(text, expected)
    if not 0.0 <= value <= 1.0:
        raise Rejected(expected)
    return value


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Rejected("true or false")


def choice(names: Sequence[str]) -> Parser[str]:
    """One of ``names`` (case-insensitive)."""

    def parse(text: str) -> str:
        lowered = text.strip().lower()
        if lowered not in names:
            raise Rejected("one of " + ", ".join(names))
        return lowered

    return parse


def choices(names: Sequence[str]) -> Parser[tuple[str, ...]]:
    """A comma-separated list of ``names``."""
    one = choice(names)

    def parse(text: str) -> tuple[str, ...]:
        try:
            picked = tuple(one(part) for part in text.split(",") if part.strip())
        except Rejected:
            raise Rejected("a comma-separated list of " + ", ".join(names)) from None
        if not picked:
            raise Rejected("a comma-separated list of " + ", ".join(names))
        return picked

    return parse


def listen_address(text: str) -> ListenAddress:
    """``unix:PATH`` or ``HOST:PORT``; port 0 lets the system pick one."""
    try:
        address = parse_listen(text.strip())
    except InvalidArgumentError:
        raise Rejected("unix:PATH or HOST:PORT") from None
    if address.unix_path is None and not 0 <= address.port < 65536:
        raise Rejected("unix:PATH or HOST:PORT with a port from 0 to 65535")
    return address


def listen_address_or_off(text: str) -> ListenAddress | None:
    """A listen address, or ``off`` for none."""
    if text.strip().lower() == "off":
        return None
    try:
        return listen_address(text)
    except Rejected:
        raise Rejected("unix:PATH, HOST:PORT (port 0 to 65535) or off") from None


def dial_address(text: str) -> str:
    """Where a client reaches the daemon: ``unix:PATH`` or ``HOST:PORT``."""
    address = listen_address(text)
    if address.unix_path is None and address.port == 0:
        raise Rejected("unix:PATH or HOST:PORT with a port from 1 to 65535")
    return text.strip()


def peer_address(text: str) -> str:
    """``HOST:PORT`` of a peer; the one rule is the one peers files are read with."""
    try:
        return check_address(text, "peer")
    except InvalidArgumentError:
        raise Rejected("HOST:PORT with a port from 1 to 65535") from None


def bind_address(text: str) -> str:
    """``HOST:PORT`` to listen on; port 0 lets the system pick one."""
    try:
        return check_address(text, "listen", any_port=True)
    except InvalidArgumentError:
        raise Rejected("HOST:PORT with a port from 0 to 65535") from None


def bind_address_or_off(text: str) -> str | None:
    """``HOST:PORT`` to listen on (port 0 lets the system pick one), or ``off`` for no listener."""
    if text.strip().lower() == "off":
        return None
    try:
        return check_address(text, "listen", any_port=True)
    except InvalidArgumentError:
        raise Rejected("HOST:PORT with a port from 0 to 65535, or off") from None


def path(text: str) -> Path:
    if not text.strip():
        raise Rejected("a path")
    return Path(text.strip())


def text(value: str) -> str:
    if not value.strip():
        raise Rejected("a non-empty text")
    return value.strip()


def endpoint(text: str) -> str:
    """An OTLP collector URL; a scheme-less one means plain http (the exporters would assume TLS)."""
    stripped = text.strip()
    if not stripped or any(c.isspace() for c in stripped):
        raise Rejected("a collector URL such as http://127.0.0.1:4317")
    return stripped if "://" in stripped else f"http://{stripped}"


def headers(text: str) -> tuple[tuple[str, str], ...]:
    """``OTEL_EXPORTER_OTLP_HEADERS`` format: ``k1=v1,k2=v2`` with URL-encoded values."""
    out: list[tuple[str, str]] = []
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Rejected("KEY=VALUE pairs separated by commas")
        out.append((unquote(key.strip()).lower(), unquote(value.strip())))
    return tuple(out)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise Rejected("a port from 0 to 65535") from None
    if not 0 <= value < 65536:
        raise Rejected("a port from 0 to 65535")
    return value
