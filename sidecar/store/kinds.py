"""The kinds of record an operator can write through the admin API, each with its validator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.evaluation.flags import compile_flag_definition
from sidecar.rollout.parse import rollout_from_mapping

FLAG = "flag"
ROLLOUT = "rollout"


@dataclass(frozen=True, slots=True)
class RecordKind:
    name: str
    # Validates and compiles one definition; raises ConfigError with the reasons.
    compile: Callable[[str, Mapping[str, Any]], object]


KINDS: dict[str, RecordKind] = {
    FLAG: RecordKind(FLAG, lambda key, definition: compile_flag_definition(key, definition, source="admin")),
    ROLLOUT: RecordKind(
        ROLLOUT, lambda key, definition: rollout_from_mapping(key, definition, source="admin")
    ),
}
