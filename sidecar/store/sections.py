"""The sections a configuration file may hold, and the record kinds the admin API may write.

Each section names its top-level key in a file, the record kind its entries become, how to compile a whole
document's section, and (for kinds the admin API can write) how to compile one record. Adding a section here
is all it takes for files, the database, snapshots and ``sidecar validate`` to handle it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.alerts.rules import parse_alerts
from sidecar.config.located import LocatedDocument
from sidecar.evaluation.flags import compile_flag_definition, compile_flags
from sidecar.experiments.config_parse import parse_experiments
from sidecar.rollout.parse import parse_rollouts, rollout_from_mapping

FLAG = "flag"
ROLLOUT = "rollout"
EXPERIMENT = "experiment"
ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # top-level key in a file, e.g. "flags"
    kind: str  # record kind of its entries, e.g. "flag"
    # Validates and compiles a document's section; raises ConfigError listing every problem with its line.
    compile_document: Callable[[LocatedDocument], Mapping[str, object]]
    # Validates and compiles one admin-written record; None when the admin API cannot write this kind.
    compile_record: Callable[[str, Mapping[str, Any]], object] | None = None
    # Other top-level keys this section reads (flagd's "$evaluators" and flag-set "metadata").
    companion_keys: frozenset[str] = frozenset()


SECTIONS: tuple[Section, ...] = (
    Section(
        "flags",
        FLAG,
        compile_flags,
        lambda key, definition: compile_flag_definition(key, definition, source="admin"),
        frozenset({"$evaluators", "metadata", "$schema"}),
    ),
    Section(
        "rollouts",
        ROLLOUT,
        parse_rollouts,
        lambda key, definition: rollout_from_mapping(key, definition, source="admin"),
    ),
    Section("experiments", EXPERIMENT, parse_experiments),
    Section("alerts", ALERT, parse_alerts),
)

KNOWN_TOP_LEVEL_KEYS = frozenset(
    key for section in SECTIONS for key in (section.key, *section.companion_keys)
)
WRITABLE: dict[str, Callable[[str, Mapping[str, Any]], object]] = {
    section.kind: section.compile_record for section in SECTIONS if section.compile_record is not None
}
