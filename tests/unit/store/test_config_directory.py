"""The configuration directory: last good versions, clashes between files, files caught mid-write."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sidecar.store.sources import SETTLE_SECONDS, ConfigDirectory, read_settled
from tests.support.flagfiles import boolean_flag, write_flags


def flags_of(directory: ConfigDirectory) -> dict[str, str]:
    return {key: content.path for content in directory.contents() for key in content.of("flag")}


def aged(path: Path) -> None:
    # As if written a while ago, so the read does not wait for the file to settle.
    old = time.time() - 10
    os.utime(path, (old, old))


def test_a_clash_heals_by_itself_when_the_other_file_lets_go(tmp_path: Path) -> None:
    aged(write_flags(tmp_path, "a.json", {"shared": boolean_flag(), "a-only": boolean_flag()}))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    aged(write_flags(tmp_path, "b.json", {"shared": boolean_flag(), "b-only": boolean_flag()}))
    directory.refresh()
    assert flags_of(directory) == {"shared": str(tmp_path / "a.json"), "a-only": str(tmp_path / "a.json")}
    (problem,) = next(s for s in directory.statuses() if s.path.endswith("b.json")).problems
    assert "'shared' is already defined in" in problem.message
    assert problem.line is not None
    # a.json gives the key up: b.json is taken at the next refresh, with no signal and no edit of b.json.
    aged(write_flags(tmp_path, "a.json", {"a-only": boolean_flag()}))
    assert directory.refresh()
    assert flags_of(directory)["shared"] == str(tmp_path / "b.json")
    assert all(status.ok for status in directory.statuses())


def test_an_edit_never_withdraws_what_another_file_serves(tmp_path: Path) -> None:
    aged(write_flags(tmp_path, "a.json", {"a-only": boolean_flag()}))
    aged(write_flags(tmp_path, "b.json", {"shared": boolean_flag(), "b-only": boolean_flag()}))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    # a.json sorts first, but b.json already serves "shared": a's edit is the one refused.
    aged(write_flags(tmp_path, "a.json", {"a-only": boolean_flag("on"), "shared": boolean_flag()}))
    directory.refresh()
    assert flags_of(directory) == {
        "a-only": str(tmp_path / "a.json"),
        "shared": str(tmp_path / "b.json"),
        "b-only": str(tmp_path / "b.json"),
    }
    assert not next(s for s in directory.statuses() if s.path.endswith("a.json")).ok


def test_forced_refresh_keeps_the_last_good_version_of_a_broken_file(tmp_path: Path) -> None:
    aged(write_flags(tmp_path, "a.json", {"kept": boolean_flag()}))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    (tmp_path / "a.json").write_text('{"flags": ')
    aged(tmp_path / "a.json")
    directory.refresh()
    directory.refresh(force=True)  # SIGHUP
    assert "kept" in flags_of(directory)
    assert not directory.statuses()[0].ok


def test_a_broken_new_file_after_a_clean_start_does_not_unready(tmp_path: Path) -> None:
    aged(write_flags(tmp_path, "a.json", {"kept": boolean_flag()}))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    assert directory.complete()
    (tmp_path / "typo.yaml").write_text("flags:\n  x: [\n")
    aged(tmp_path / "typo.yaml")
    directory.refresh()
    assert directory.complete()
    assert not next(s for s in directory.statuses() if s.path.endswith("typo.yaml")).ok


def test_a_broken_file_at_start_is_not_complete(tmp_path: Path) -> None:
    (tmp_path / "typo.yaml").write_text("flags:\n  x: [\n")
    aged(tmp_path / "typo.yaml")
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    assert not directory.complete()


def test_a_file_caught_mid_write_is_read_once_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("flags:\n  first: 1\n")

    def finish() -> None:
        time.sleep(SETTLE_SECONDS / 2)
        with path.open("a") as handle:
            handle.write("  second: 2\n")

    writer = threading.Thread(target=finish)
    writer.start()
    raw = read_settled(path)
    writer.join()
    assert raw == b"flags:\n  first: 1\n  second: 2\n"


def test_a_file_that_never_settles_is_left_for_later(tmp_path: Path) -> None:
    aged(write_flags(tmp_path, "a.json", {"kept": boolean_flag()}))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            (tmp_path / "a.json").write_text('{"flags": {}}')
            time.sleep(SETTLE_SECONDS / 5)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        time.sleep(SETTLE_SECONDS)
        directory.refresh()
        assert directory.unsettled == (str(tmp_path / "a.json"),)
        assert "kept" in flags_of(directory)  # what served keeps serving while the file is being written
    finally:
        stop.set()
        writer.join()


def test_a_file_stamped_in_the_future_still_loads(tmp_path: Path) -> None:
    # A host whose clock is behind, or a copy that kept a later timestamp, must not keep a file out.
    path = write_flags(tmp_path, "a.json", {"kept": boolean_flag()})
    future = time.time() + 3600
    os.utime(path, (future, future))
    directory = ConfigDirectory(tmp_path, time.time)
    directory.refresh()
    assert directory.unsettled == ()
    assert "kept" in flags_of(directory)
