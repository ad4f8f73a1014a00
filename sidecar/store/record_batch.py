"""A batch of admin-written records checked as a whole before any is written (import).

Planning is pure: given the batch, what the database holds and which keys files own, it decides for every
record whether it is created, replaced or left alone, or refuses the batch listing every problem. The
database then applies the plan in one transaction (:meth:`StateDatabase.put_batch`), checking that nothing
it was planned against changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sidecar.config.keys import check_key
from sidecar.config.limits import ORIGIN_CHARS, RECORDS_PER_CALL
from sidecar.errors import (
    ConfigError,
    ConfigProblem,
    FailedPreconditionError,
    InvalidArgumentError,
    SidecarError,
)
from sidecar.store.database import StoredRecord
from sidecar.store.sections import WRITABLE

# One status message holds them all; past this many the rest are counted, not listed.
MAX_LISTED_PROBLEMS = 20


class Change(StrEnum):
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class RecordDraft:
    """One record of a batch; ``origin`` (e.g. ``flags.yaml:12``) starts every problem reported about it."""

    kind: str
    key: str
    definition: Mapping[str, Any]
    origin: str = ""

    @property
    def label(self) -> str:
        return self.origin or f"{self.kind} {self.key!r}"


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    draft: RecordDraft
    change: Change
    # Version of the live record the plan saw (None: there was none); the transaction checks it again.
    expected_version: str | None


def check_drafts(drafts: Sequence[RecordDraft]) -> None:
    """Validate every record like a file would be; INVALID_ARGUMENT listing every problem."""
    problems = draft_problems(drafts)
    if problems:
        raise InvalidArgumentError(_listed([str(p) for p in problems]))


def draft_problems(drafts: Sequence[RecordDraft]) -> list[ConfigProblem]:
    """Every problem of the batch, each located at its record's origin."""
    if len(drafts) > RECORDS_PER_CALL.value:
        return [ConfigProblem("batch", None, str(RECORDS_PER_CALL.refusal("records", len(drafts))))]
    problems: list[ConfigProblem] = []
    seen: dict[tuple[str, str], str] = {}
    accepted = ", ".join(sorted(WRITABLE))
    for draft in drafts:
        if len(draft.origin) > ORIGIN_CHARS.value:
            message = str(ORIGIN_CHARS.refusal("origin", len(draft.origin)))
            problems.append(ConfigProblem(f"{draft.kind} {draft.key!r}", None, message))
            continue
        compile_record = WRITABLE.get(draft.kind)
        if compile_record is None:
            message = f"kind {draft.kind!r} cannot be written (accepted: {accepted})"
            problems.append(ConfigProblem(draft.label, None, message))
            continue
        try:
            check_key(draft.kind, draft.key)
            compile_record(draft.key, draft.definition)
        except ConfigError as exc:
            problems.extend(ConfigProblem(draft.label, None, p.message) for p in exc.problems)
        except SidecarError as exc:
            problems.append(ConfigProblem(draft.label, None, exc.message))
        first = seen.get((draft.kind, draft.key))
        if first is None:
            seen[(draft.kind, draft.key)] = draft.label
        else:
            message = f"{draft.kind} {draft.key!r} is also in this batch at {first}"
            problems.append(ConfigProblem(draft.label, None, message))
    return problems


def plan_batch(
    drafts: Sequence[RecordDraft],
    stored: Mapping[str, Mapping[str, StoredRecord]],
    owner_of: Callable[[str, str], str | None],
    *,
    replace: bool,
) -> list[PlannedWrite]:
    """Decide every record's change; FAILED_PRECONDITION listing every record that must not be written."""
    problems: list[str] = []
    plan: list[PlannedWrite] = []
    for draft in drafts:
        owner = owner_of(draft.kind, draft.key)
        if owner is not None:
            problems.append(f"{draft.label}: {draft.kind} {draft.key!r} is defined in {owner} on the daemon")
            continue
        previous = stored.get(draft.kind, {}).get(draft.key)
        if previous is None:
            plan.append(PlannedWrite(draft, Change.CREATED, None))
        elif previous.definition == draft.definition:
            plan.append(PlannedWrite(draft, Change.UNCHANGED, previous.version))
        elif replace:
            plan.append(PlannedWrite(draft, Change.REPLACED, previous.version))
        else:
            problems.append(
                f"{draft.label}: {draft.kind} {draft.key!r} is stored on the daemon with another definition"
                " (replace it with --replace)"
            )
    if problems:
        raise FailedPreconditionError(_listed(problems))
    return plan


def _listed(problems: list[str]) -> str:
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")
