"""Budgets on one configuration file: nothing in a file may exhaust the stack, memory or time of a load."""

from __future__ import annotations

import time

import pytest

from sidecar.config.located import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES, parse_text
from sidecar.errors import ConfigError

# 473 bytes that expand to 9**9 (387 million) strings without a budget.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def problem(text: str | bytes, fmt: str = "yaml") -> tuple[int | None, str]:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_text(text, "flags.yaml" if fmt == "yaml" else "flags.json", fmt)
    # Refused before anything large is built: well under the seconds an unbounded load took.
    assert time.monotonic() - started < 5
    first = caught.value.problems[0]
    return first.line, first.message


def test_alias_bomb_is_refused_with_its_line() -> None:
    line, message = problem(ALIAS_BOMB)
    assert f"more than {MAX_NODES} values once YAML aliases are expanded" in message
    assert line is not None
    assert 5 <= line <= 9


def test_aliases_within_the_budget_still_load() -> None:
    doc = parse_text("base: &b {x: 1}\nother: *b\n", "f.yaml", "yaml")
    assert doc.data == {"base": {"x": 1}, "other": {"x": 1}}


@pytest.mark.parametrize(
    ("_name", "text", "fmt", "line"),
    [
        ("yaml flow", "a: " + "[" * 5000 + "]" * 5000, "yaml", 1),
        ("yaml block", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "v: 1\n", "yaml", 65),
        ("json", '{"a":\n' + "[" * 100_000 + "]" * 100_000 + "}", "json", 2),
    ],
)
def test_deep_nesting_is_refused_before_it_overflows(_name: str, text: str, fmt: str, line: int) -> None:
    got_line, message = problem(text, fmt)
    assert message == f"nested deeper than {MAX_DEPTH} levels"
    assert got_line == line


def test_brackets_inside_json_strings_do_not_count_as_nesting() -> None:
    text = '{"a": "' + "[" * (MAX_DEPTH * 2) + '\\"]"}'
    assert parse_text(text, "f.json", "json").data == {"a": "[" * (MAX_DEPTH * 2) + '"]'}


def test_nesting_at_the_limit_loads() -> None:
    text = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert parse_text('{"a": ' + text + "}", "f.json", "json").data is not None
    assert parse_text("a: " + text, "f.yaml", "yaml").data is not None


def test_invalid_utf8_names_the_line() -> None:
    line, message = problem(b"flags:\n  x: 1\n  \xff: 2\n")
    assert line == 3
    assert message.startswith("not UTF-8:")


def test_oversized_file_is_refused() -> None:
    _, message = problem("a: " + "x" * (MAX_DOCUMENT_BYTES + 1))
    assert message == f"larger than {MAX_DOCUMENT_BYTES} bytes"
