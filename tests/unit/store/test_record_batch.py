"""A batch of admin records: validated as a whole, planned against what is stored, written all or nothing."""

from __future__ import annotations

import pytest

from sidecar.config.limits import ORIGIN_CHARS, RECORDS_PER_CALL
from sidecar.errors import FailedPreconditionError, InvalidArgumentError
from sidecar.hlc import HybridLogicalClock
from sidecar.store.database import AuditDraft, BatchWrite, StateDatabase, StoredRecord
from sidecar.store.record_batch import (
    MAX_LISTED_PROBLEMS,
    Change,
    RecordDraft,
    check_drafts,
    draft_problems,
    plan_batch,
)
from tests.support.flagfiles import boolean_flag

FLAG = boolean_flag()


def no_files(kind: str, key: str) -> str | None:
    return None


def test_a_valid_batch_passes() -> None:
    check_drafts([RecordDraft("flag", "a", FLAG, "f.yaml:2"), RecordDraft("rollout", "a", {}, "f.yaml:9")])


def test_every_problem_is_reported_at_its_origin() -> None:
    drafts = [
        RecordDraft("flag", "a", FLAG, "f.yaml:2"),
        RecordDraft("flag", "a", FLAG, "g.yaml:4"),
        RecordDraft("flag", "b", {"variants": {}}),
        RecordDraft("alert", "c", {}, "h.yaml:1"),
        RecordDraft("flag", "-bad", FLAG, "h.yaml:7"),
        RecordDraft("flag", "d", FLAG, "x" * (ORIGIN_CHARS.value + 1)),
    ]
    assert [str(p) for p in draft_problems(drafts)] == [
        "g.yaml:4: flag 'a' is also in this batch at f.yaml:2",
        "flag 'b': variants must be a non-empty mapping of variant name to value",
        "h.yaml:1: kind 'alert' cannot be written (accepted: flag, rollout)",
        "h.yaml:7: flag key '-bad' is invalid: must be 1–256 letters, digits, '.', '_' or '-', starting "
        "alphanumeric",
        "flag 'd': origin is over the limit origin.chars (1025 > 1024 characters)",
    ]
    with pytest.raises(InvalidArgumentError, match=r"^g\.yaml:4: flag 'a' is also .*; flag 'b': variants"):
        check_drafts(drafts)


def test_a_batch_has_a_size_limit() -> None:
    drafts = [RecordDraft("flag", "a", FLAG)] * (RECORDS_PER_CALL.value + 1)
    with pytest.raises(
        InvalidArgumentError, match=r"records is over the limit records.per_call \(10001 > 10000 records\)"
    ):
        check_drafts(drafts)


def test_long_problem_lists_are_cut_short() -> None:
    drafts = [RecordDraft("flag", f"f{n}", {}) for n in range(MAX_LISTED_PROBLEMS + 5)]
    with pytest.raises(InvalidArgumentError, match=r"; and 5 more$"):
        check_drafts(drafts)


def test_the_plan_says_what_each_record_changes() -> None:
    stored = {
        "flag": {"same": StoredRecord("same", FLAG, "v1"), "other": StoredRecord("other", {"x": 1}, "v2")}
    }
    drafts = [RecordDraft("flag", key, FLAG) for key in ("new", "same", "other")]
    plan = plan_batch(drafts, stored, no_files, replace=True)
    assert [(w.draft.key, w.change, w.expected_version) for w in plan] == [
        ("new", Change.CREATED, None),
        ("same", Change.UNCHANGED, "v1"),
        ("other", Change.REPLACED, "v2"),
    ]


def test_the_plan_refuses_file_owned_keys_and_unasked_replacements() -> None:
    stored = {"flag": {"other": StoredRecord("other", {"x": 1}, "v2")}}
    drafts = [RecordDraft("flag", "owned", FLAG, "a.yaml:3"), RecordDraft("flag", "other", FLAG, "a.yaml:7")]

    def owner(kind: str, key: str) -> str | None:
        return "/etc/sidecar/flags.yaml" if key == "owned" else None

    with pytest.raises(FailedPreconditionError) as caught:
        plan_batch(drafts, stored, owner, replace=False)
    assert caught.value.message == (
        "a.yaml:3: flag 'owned' is defined in /etc/sidecar/flags.yaml on the daemon; "
        "a.yaml:7: flag 'other' is stored on the daemon with another definition (replace it with --replace)"
    )


def write(key: str, expected: str | None, definition: dict[str, object] | None = None) -> BatchWrite:
    return BatchWrite(
        "flag", key, definition or FLAG, expected, AuditDraft(1.0, "me", "flag.import", key, "why")
    )


def test_a_batch_is_written_in_one_transaction_with_its_audit(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    old, _ = database.put_record("flag", "b", {"x": 1}, hlc, AuditDraft(0.5, "me", "flag.put", "b", "setup"))
    database.put_batch([write("a", None), write("b", old.version)], hlc)
    assert {k: r.definition for k, r in database.live_records("flag").items()} == {"a": FLAG, "b": FLAG}
    entries = [e for e in database.list_audit(10) if e.action == "flag.import"]
    assert sorted((e.target, e.before) for e in entries) == [("a", None), ("b", {"x": 1})]
    assert {(e.actor, e.reason) for e in entries} == {("me", "why")}


def test_a_record_changed_since_planning_aborts_the_whole_batch(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    database.put_record("flag", "b", {"x": 1}, hlc, AuditDraft(0.5, "me", "flag.put", "b", "setup"))
    with pytest.raises(FailedPreconditionError, match="flag 'b' changed on the daemon during the import"):
        database.put_batch([write("a", None), write("b", None)], hlc)  # planned while b was absent
    assert set(database.live_records("flag")) == {"b"}
    assert [e.action for e in database.list_audit(10)] == ["flag.put"]
