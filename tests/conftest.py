from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.mkdir()
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    # Unix socket paths are limited to ~107 bytes; pytest's tmp paths stay well under that.
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def example_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon on a copy of examples/config, shared by read-only tests of a module."""
    base = tmp_path_factory.mktemp("example")
    config = base / "config"
    shutil.copytree(EXAMPLES, config)
    daemon = Daemon(config, base / "state", "--environment", "production")
    with daemon:
        yield daemon
