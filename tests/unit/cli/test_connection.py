"""How client commands authenticate: the token from the settings, or read from the token file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sidecar.cli.connection import admin_metadata
from sidecar.daemon.settings import ClientSettings


def args(settings: ClientSettings) -> argparse.Namespace:
    return argparse.Namespace(connection=settings)


def test_the_token_itself_wins_and_the_actor_is_sent() -> None:
    metadata = admin_metadata(args(ClientSettings(token="t0k", actor="ops")))
    assert metadata == [("authorization", "Bearer t0k"), ("x-actor", "ops")]


def test_the_token_is_read_from_its_file(tmp_path: Path) -> None:
    token_file = tmp_path / "admin.token"
    token_file.write_text("from-file\n")
    assert admin_metadata(args(ClientSettings(token_file=token_file))) == [
        ("authorization", "Bearer from-file")
    ]


def test_a_missing_token_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"cannot read admin token file .*missing.*--token-file"):
        admin_metadata(args(ClientSettings(token_file=tmp_path / "missing")))
