"""Writing flag files for tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def boolean_flag(default: str = "off", **extra: Any) -> dict[str, Any]:
    return {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": default, **extra}


def write_flags(directory: Path, name: str, flags: dict[str, Any], **top: Any) -> Path:
    """Write a JSON flag set atomically (write then rename), as careful deploy tools do."""
    path = directory / name
    temporary = directory / f".{name}.tmp"
    temporary.write_text(json.dumps({"flags": flags, **top}, indent=2))
    os.replace(temporary, path)
    return path
