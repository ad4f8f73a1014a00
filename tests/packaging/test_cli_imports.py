"""The ``sidecar`` command imports only what the command being run needs.

``sidecar health`` is the container healthcheck: the heavy dependencies of the other commands (SciPy, the
OpenTelemetry SDK, SQLite, aiohttp, watchfiles, YAML) would make it cost a second of CPU on a busy host.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from sidecar.cli.main import COMMANDS
from tests.support.daemon import refused_address

HEAVY = ("scipy", "numpy", "opentelemetry.sdk", "sqlite3", "aiohttp", "watchfiles", "yaml", "google.protobuf")
SIDECAR = Path(sys.executable).parent / "sidecar"
# Imports are quick, but the machine running the tests may be busy.
TIMEOUT = 60.0

# Coverage's subprocess patch loads sqlite3 before the probe runs, so count only what the command adds.
PROBE = """
import json, sys
already = set(sys.modules)
from sidecar.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = json.loads(sys.stdin.read())
sys.stderr.write(json.dumps([name for name in heavy if name in sys.modules and name not in already]))
"""


def loaded_heavy_modules(*argv: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    loaded: list[str] = json.loads(result.stderr.splitlines()[-1])
    return loaded


def test_a_health_check_loads_no_heavy_dependency() -> None:
    with refused_address() as address:
        assert loaded_heavy_modules("health", "--address", address, "--timeout", "0.5") == []


@pytest.mark.parametrize("argv", [["health", "--help"], ["--help"], ["--version"]])
def test_help_and_version_load_no_heavy_dependency(argv: list[str]) -> None:
    assert loaded_heavy_modules(*argv) == []


def test_the_probe_sees_what_a_heavy_command_loads() -> None:
    loaded = loaded_heavy_modules("experiment", "--help")
    assert "scipy" in loaded
    assert "google.protobuf" in loaded


def test_help_lists_every_command_with_its_line() -> None:
    result = subprocess.run([SIDECAR, "--help"], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    listing = " ".join(result.stdout.split())  # argparse wraps long help lines
    for name, command in COMMANDS.items():
        assert f" {name} {command.help}" in listing


def test_version_is_the_installed_distributions() -> None:
    result = subprocess.run(
        [SIDECAR, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    assert result.stdout == f"sidecar {version('rollout-sidecar')}\n"
