"""Validators of single configuration values: each returns the parsed value or raises ``ValueError`` with
a message that completes "<field> ..." in a located problem."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


def parse_time(raw: object) -> float:
    """Unix seconds from an ISO 8601 date or date-time; without a zone it is UTC."""
    if not isinstance(raw, str):
        raise ValueError(f'must be an ISO 8601 date or time such as "2026-01-31" (quoted), got {raw!r}')
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_mde(raw: object) -> tuple[float, bool]:
    """``(mde, relative)``: a number is absolute, a percentage string such as ``"5%"`` relative."""
    if isinstance(raw, str) and raw.strip().endswith("%"):
        value, relative = _finite(raw.strip()[:-1]) / 100.0, True
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value, relative = _finite(raw), False
    else:
        raise ValueError(f'must be a number (absolute) or a percentage such as "5%" (relative), got {raw!r}')
    if value == 0.0:
        raise ValueError("must not be zero")
    return value, relative


def _finite(raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]  # checked: numbers and numeric strings only
    except (TypeError, ValueError):
        raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be finite, got {raw!r}")
    return value


def _number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"must be a number, got {raw!r}")
    return _finite(raw)


def positive(raw: object) -> float:
    value = _number(raw)
    if value <= 0.0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def probability(raw: object) -> float:
    value = _number(raw)
    if not 0.0 < value < 1.0:
        raise ValueError(f"must be between 0 and 1 (exclusive), got {raw!r}")
    return value


def arm_weights(raw: object) -> dict[str, float]:
    if not isinstance(raw, Mapping) or len(raw) < 2:
        raise ValueError(
            "must map at least two arms (variants of the flag) to their share, e.g. {a: 50, b: 50}"
        )
    weights: dict[str, float] = {}
    for arm, weight in raw.items():
        if not isinstance(arm, str) or not arm:
            raise ValueError(f"arm names must be non-empty strings, got {arm!r}")
        try:
            weights[arm] = positive(weight)
        except ValueError as exc:
            raise ValueError(f"weight of {arm!r} {exc}") from None
    return weights


def choice(enum: type[Any]) -> Callable[[object], Any]:
    def check(raw: object) -> Any:
        try:
            return enum(raw)
        except ValueError:
            raise ValueError(f"must be one of {', '.join(e.value for e in enum)}, got {raw!r}") from None

    return check
