"""Small helpers shared by the text/JSON renderers of rollout comparisons and experiment reports."""

from __future__ import annotations

import math


def json_float(value: float | None) -> float | None:
    """A float that ``json.dumps(..., allow_nan=False)`` accepts: infinities and NaN become ``None``."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def fmt_p(p: float) -> str:
    """p-values: 4 significant digits, ``<1e-6`` below that."""
    if p < 1e-6:
        return "<1e-6"
    if p < 0.001:
        return f"{p:.2e}"
    return f"{p:.4f}"


def p_phrase(p: float) -> str:
    """``p = 0.0123`` or ``p < 1e-6``, for sentences."""
    text = fmt_p(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def fmt_num(value: float | None, digits: int = 4, signed: bool = False) -> str:
    """Compact number: ``digits`` significant digits, ``-`` for missing, ``±inf`` spelled out."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    sign = "+" if signed and value >= 0 else ""
    if value != 0 and (abs(value) >= 10 ** (digits + 2) or abs(value) < 10 ** -(digits - 1)):
        return f"{sign}{value:.{digits - 1}e}"
    return f"{sign}{value:.{digits}g}" if abs(value) < 10**digits else f"{sign}{value:,.0f}"


def fmt_pct(fraction: float | None, digits: int = 2, signed: bool = False) -> str:
    """A fraction as a percentage (``0.0123`` → ``1.23%``)."""
    if fraction is None or math.isnan(fraction):
        return "-"
    if math.isinf(fraction):
        return "+inf" if fraction > 0 else "-inf"
    sign = "+" if signed and fraction >= 0 else ""
    return f"{sign}{fraction * 100:.{digits}f}%"


def fmt_pp(difference: float | None, digits: int = 2) -> str:
    """A difference of two proportions in percentage points (``0.0123`` → ``+1.23 pp``)."""
    if difference is None or not math.isfinite(difference):
        return fmt_num(difference)
    return f"{difference * 100:+.{digits}f} pp"


def fmt_interval(low: float, high: float, pct: bool = False, digits: int = 4, pp: bool = False) -> str:
    if pp:
        return f"[{fmt_pp(low)}, {fmt_pp(high)}]"
    if pct:
        return f"[{fmt_pct(low, signed=True)}, {fmt_pct(high, signed=True)}]"
    return f"[{fmt_num(low, digits, signed=True)}, {fmt_num(high, digits, signed=True)}]"


def table(rows: list[list[str]], right_align_from: int = 1) -> list[str]:
    """Lay out rows of cells in columns; column 0 left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out: list[str] = []
    for row in rows:
        cells = [
            cell.ljust(widths[i]) if i < right_align_from else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
    return out
