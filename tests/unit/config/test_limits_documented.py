"""The README's limits tables name every limit with the value the code enforces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecar.config import limits, located
from sidecar.evaluation import budget, jsonlogic
from sidecar.store import sources

README = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n### Limits\n", 1)[1].split("\n### ", 1)[0]
ROWS = dict(re.findall(r"^\| `([a-z_.]+)` \| ([^|]+) \|", SECTION, flags=re.MULTILINE))


@pytest.mark.parametrize("limit", limits.REQUEST_LIMITS, ids=lambda limit: limit.name)
def test_every_request_limit_has_a_row_with_its_value(limit: limits.Limit) -> None:
    assert ROWS.get(limit.name, "").strip() == f"{limit.value:,} {limit.unit}"


def test_no_row_names_a_limit_that_does_not_exist() -> None:
    assert set(ROWS) == {limit.name for limit in limits.REQUEST_LIMITS}


@pytest.mark.parametrize(
    ("value", "row"),
    [
        (located.MAX_DOCUMENT_BYTES // 2**20, "configuration file"),
        (located.MAX_DEPTH, "configuration file"),
        (located.MAX_NODES, "configuration file"),
        (sources.MAX_FLAGS_PER_FILE, "configuration file"),
        (jsonlogic.MAX_RULE_NODES, "one rule"),
        (jsonlogic.MAX_RULE_DEPTH, "one rule"),
        (budget.MAX_STEPS, "one evaluation"),
        (budget.MAX_STRING_CHARS, "one evaluation"),
        (budget.MAX_ARRAY_ITEMS, "one evaluation"),
    ],
)
def test_file_and_rule_budgets_are_stated(value: int, row: str) -> None:
    line = next(line for line in SECTION.splitlines() if line.startswith(f"| {row} |"))
    assert f"{value:,}" in line.replace("MiB", "")
