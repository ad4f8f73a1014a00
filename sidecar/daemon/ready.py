"""The ready report: this process's id and bound addresses, for whoever started it with port 0."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path


def ready_report(
    grpc_targets: Sequence[str],
    sync_address: str | None,
    http: Mapping[str, str | None] | None = None,
    flagd_sync_address: str | None = None,
) -> dict[str, object]:
    """``http``: the HTTP listeners' bound HOST:PORT by role (management, the extra Prometheus one, ofrep),
    None for one that is off."""
    extra = {"management": None, "prometheus": None, "ofrep": None, **(http or {})}
    return {
        "pid": os.getpid(),
        "grpc": list(grpc_targets),
        "sync": sync_address,
        "flagd_sync": flagd_sync_address,
        **extra,
    }


def write_ready_file(path: Path, report: dict[str, object]) -> None:
    """Write atomically (temporary file, then rename) so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report, sort_keys=True) + "\n")
    tmp.replace(path)
