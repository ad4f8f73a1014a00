"""Write plain data as YAML that :mod:`sidecar.config.located` reads back to the same data.

The dumper quotes every string that YAML 1.1 would read as something else (``on``, ``yes``, ``2026-01-01``,
``0x1F``, ``~``); the loader's YAML 1.2 scalars are a subset of those, so nothing a person wrote as text comes
back as a boolean, a date or a number. Keys keep their order (a definition reads as it was written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key and writes lists of scalars on one line, as the example
    files do (``fractional: [[on, 20], [off, 80]]`` reads better than eight lines)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict) for item in data) and all(
        not isinstance(inner, dict | list) for item in data if isinstance(item, list) for inner in item
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def render_yaml(data: Mapping[str, Any]) -> str:
    """Block-style YAML text for ``data`` (JSON-able values only)."""
    text: str = yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=110,
    )
    return text


def comment_block(lines: list[str]) -> str:
    """``lines`` as YAML comment lines, for a file's header."""
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
