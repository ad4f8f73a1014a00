"""The configuration directory: each file at its last good version, its problems located, conflicts named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar.store.sections import FLAG
from sidecar.store.sources import ConfigDirectory, is_config_file
from tests.support.flagfiles import boolean_flag, write_flags


@pytest.fixture
def directory(tmp_path: Path) -> ConfigDirectory:
    path = tmp_path / "config"
    path.mkdir()
    return ConfigDirectory(path, lambda: 42.0)


def flags(directory: ConfigDirectory) -> set[str]:
    return {key for content in directory.contents() for key in content.of(FLAG)}


def problems(directory: ConfigDirectory) -> list[str]:
    return [str(p) for status in directory.statuses() for p in status.problems]


def test_a_good_file_loads_and_an_unchanged_one_is_not_reloaded(directory: ConfigDirectory) -> None:
    write_flags(directory.directory, "a.json", {"one": boolean_flag()})
    assert directory.refresh()
    assert flags(directory) == {"one"}
    (status,) = directory.statuses()
    assert (status.ok, status.flag_count, status.checked_at) == (True, 1, 42.0)
    assert directory.complete()
    assert not directory.refresh()


def test_a_broken_edit_keeps_the_last_good_version_serving(directory: ConfigDirectory) -> None:
    path = write_flags(directory.directory, "a.json", {"one": boolean_flag()})
    directory.refresh()
    path.write_text('{"flags": {"one": ')
    assert directory.refresh()
    assert flags(directory) == {"one"}
    (status,) = directory.statuses()
    assert not status.ok
    assert status.flag_count == 1
    assert problems(directory)[0].startswith(f"{path}:")
    assert directory.complete()  # it once loaded cleanly


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("", "file is empty", id="empty"),
        pytest.param("[1, 2]", "the top level must be a mapping", id="list"),
        pytest.param('{"flags": {}, "flagz": {}}', "unknown top-level key 'flagz'", id="unknown-key"),
    ],
)
def test_a_file_that_never_loaded_leaves_the_directory_incomplete(
    directory: ConfigDirectory, text: str, words: str
) -> None:
    (directory.directory / "a.json").write_text(text)
    directory.refresh()
    assert not directory.complete()
    assert flags(directory) == set()
    assert any(words in problem for problem in problems(directory))


def test_a_removed_file_is_forgotten_and_picked_up_again(directory: ConfigDirectory) -> None:
    path = write_flags(directory.directory, "a.json", {"one": boolean_flag()})
    directory.refresh()
    raw = path.read_bytes()
    path.unlink()
    assert directory.refresh()
    assert flags(directory) == set()
    path.write_bytes(raw)
    assert directory.refresh()
    assert flags(directory) == {"one"}


def test_a_key_defined_twice_is_rejected_naming_both_files(directory: ConfigDirectory) -> None:
    first = write_flags(directory.directory, "a.json", {"one": boolean_flag()})
    directory.refresh()
    second = directory.directory / "b.yaml"
    entry = "    state: ENABLED\n    variants: {x: 1}\n    defaultVariant: x\n"
    second.write_text(f"flags:\n  other:\n{entry}  one:\n{entry}")
    directory.refresh()
    assert f"{second}:6: flag 'one' is already defined in {first}" in problems(directory)
    assert directory.owner_of(FLAG, "one") == str(first)
    assert directory.owner_of(FLAG, "other") is None


def test_editor_files_and_other_suffixes_are_not_configuration(tmp_path: Path) -> None:
    for name in (".a.json.swp", ".#a.yaml", "a.yaml~", "notes.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "real.yml").write_text("{}")
    assert [p.name for p in sorted(tmp_path.iterdir()) if is_config_file(p)] == ["real.yml"]


def test_a_missing_directory_holds_nothing(tmp_path: Path) -> None:
    directory = ConfigDirectory(tmp_path / "absent", lambda: 0.0)
    assert not directory.refresh()
    assert directory.complete()
    assert json.dumps(directory.statuses()) == "[]"
