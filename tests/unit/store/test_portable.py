"""Records to config files and back: rendering, reading an import directory, writing files safely."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from sidecar.config.located import parse_text
from sidecar.config.render import render_yaml
from sidecar.errors import ConfigError
from sidecar.store.portable import export_documents, read_import_directory, write_new_files
from sidecar.store.sources import compile_document
from sidecar.store.starter import TEMPLATES, UnknownTemplateError, template_files

# Strings a YAML 1.1 reader would take for something else, and other awkward text.
AWKWARD = [
    "on",
    "off",
    "yes",
    "No",
    "2026-01-01",
    "0x1F",
    "1e3",
    "~",
    "null",
    "",
    " padded ",
    "a: b",
    "ünï",
    "#x",
]

FLAG = {
    "state": "ENABLED",
    "variants": {text or "empty": text for text in AWKWARD},
    "defaultVariant": "on",
    "targeting": {"if": [{"in": [{"var": "plan"}, ["pro", "2026-01-01"]]}, "yes", None]},
    "metadata": {"owner": "team", "weight": 2.5, "big": 2**53 - 1, "flag": True},
}
ROLLOUT = {
    "description": "multi\nline",
    "phases": [{"name": "CANARY", "percent": 5, "minDuration": "1m"}, {"name": "FULL", "percent": 100}],
}


def loaded(text: str) -> Any:
    return parse_text(text, "x.yaml", "yaml").data


def test_rendered_yaml_reads_back_to_the_same_data() -> None:
    data = {"awkward": AWKWARD, "nested": [[1, "on"], [{"k": "no"}]], "flag": FLAG}
    assert loaded(render_yaml(data)) == data


def test_export_writes_one_loadable_file_per_writable_section() -> None:
    files = export_documents(
        [("flag", "b", FLAG), ("rollout", "r", ROLLOUT), ("flag", "a", {"variants": {"x": 1}})], ["from here"]
    )
    assert sorted(files) == ["flags.yaml", "rollouts.yaml"]
    assert files["flags.yaml"].startswith("# from here\n# 2 flags, as written through the admin API.\n")
    flags = loaded(files["flags.yaml"])
    assert flags == {"flags": {"b": FLAG, "a": {"variants": {"x": 1}}}}
    assert list(flags["flags"]["b"]) == ["state", "variants", "defaultVariant", "targeting", "metadata"]
    assert loaded(files["rollouts.yaml"]) == {"rollouts": {"r": ROLLOUT}}
    for name, text in files.items():
        compile_document(parse_text(text, name, "yaml"))  # raises when the daemon would refuse it


def test_an_empty_section_is_still_written() -> None:
    # A rollouts.yaml left by an earlier export must not keep serving rollouts the daemon dropped.
    files = export_documents([], [])
    assert loaded(files["rollouts.yaml"]) == {"rollouts": {}}


def test_import_reads_files_back_as_self_contained_records(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "metadata: { flagSetId: shop, owner: web }\n"
        "flags:\n"
        "  premium:\n"
        "    variants: { 'on': true, 'off': false }\n"
        "    defaultVariant: 'off'\n"
        "    targeting: { if: [{ $ref: paying }, 'on', 'off'] }\n"
        "    metadata: { owner: billing }\n"
        "$evaluators:\n"
        "  paying: { and: [{ $ref: known }, { in: [{ var: plan }, [pro]] }] }\n"
        "  known: { '!!': [{ var: targetingKey }] }\n"
    )
    (tmp_path / "b.json").write_text('{"rollouts": {"r": {"description": "x"}}}')
    (tmp_path / ".hidden.yaml").write_text("not: [loaded")
    (tmp_path / "notes.txt").write_text("ignored")
    drafts = read_import_directory(tmp_path)
    assert [(d.kind, d.key, d.origin) for d in drafts] == [
        ("flag", "premium", f"{tmp_path / 'a.yaml'}:3"),
        ("rollout", "r", f"{tmp_path / 'b.json'}:1"),
    ]
    premium = drafts[0].definition
    assert premium["targeting"] == {
        "if": [{"and": [{"!!": [{"var": "targetingKey"}]}, {"in": [{"var": "plan"}, ["pro"]]}]}, "on", "off"]
    }
    assert premium["metadata"] == {"flagSetId": "shop", "owner": "billing"}


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read_import_directory(directory)
    return [str(problem) for problem in caught.value.problems]


def test_import_refuses_what_an_admin_write_cannot_hold(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("flags:\n  x: { variants: { a: 1 }, defaultVariant: a }\n")
    (tmp_path / "b.yaml").write_text(
        "flags:\n  x: { variants: { a: 2 }, defaultVariant: a }\n  'bad key': { variants: { a: 1 } }\n"
        "alerts:\n  mem: { metric: memory_rss_mb, thresholds: { warning: 1 } }\n"
    )
    (tmp_path / "c.yaml").write_text("flags:\n  y: { variants: {} }\n")
    a, b, c = (tmp_path / name for name in ("a.yaml", "b.yaml", "c.yaml"))
    assert problems(tmp_path) == [
        f"{b}:4: alerts cannot be imported (only flags and rollouts are written through the admin API); "
        "put this file in the daemon's config directory instead",
        f"{c}:2: variants must be a non-empty mapping of variant name to value",
        f"{b}:2: flag 'x' is also in this batch at {a}:2",
        f"{b}:3: flag key 'bad key' is invalid: must be 1–256 letters, digits, '.', '_' or '-', starting "
        "alphanumeric",
    ]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda path: path.write_text("x"), "is not a directory", id="file"),
        pytest.param(lambda path: path.mkdir(), "holds no .yaml, .yml, .json files", id="empty"),
    ],
)
def test_import_needs_a_directory_of_files(tmp_path: Path, make: Any, words: str) -> None:
    target = tmp_path / "target"
    make(target)
    assert problems(target) == [f"{target}: {words}"]


def test_files_are_written_whole_and_never_silently_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "dir"
    written = write_new_files(directory, {"a.yaml": "a: 1\n", "b.yaml": "b: 2\n"}, force=False, mode=0o600)
    assert written == [directory / "a.yaml", directory / "b.yaml"]
    assert stat.S_IMODE((directory / "a.yaml").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError, match=r"b\.yaml already exists; add --force"):
        write_new_files(directory, {"c.yaml": "c\n", "b.yaml": "new\n"}, force=False, mode=0o600)
    assert not (directory / "c.yaml").exists()  # refused before writing any
    write_new_files(directory, {"b.yaml": "new\n"}, force=True, mode=0o644)
    assert (directory / "b.yaml").read_text() == "new\n"
    assert sorted(p.name for p in directory.iterdir()) == ["a.yaml", "b.yaml"]  # no partial files left


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a directory where a file should go: the rename fails
    with pytest.raises(IsADirectoryError):
        write_new_files(tmp_path, {"taken": "x\n"}, force=True, mode=0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_compiles(name: str) -> None:
    files = template_files(name)
    assert list(files) == list(TEMPLATES[name])
    for file, text in files.items():
        compile_document(parse_text(text, file, "yaml"))
        assert text.startswith("#")  # commented for the person who reads it first


def test_an_unknown_template_names_the_accepted_ones() -> None:
    with pytest.raises(
        UnknownTemplateError, match=r"unknown template 'nope'; accepted: flags, rollout, full"
    ):
        template_files("nope")
