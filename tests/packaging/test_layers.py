"""The import contracts in pyproject.toml catch an import that points the wrong way.

Each case copies the package into a scratch directory, breaks (or keeps) one arrow, and runs `lint-imports`
there with the project's own configuration, so the contracts are proven to bite, not only to pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# Graph building is quick, but the machine running the tests may be busy.
TIMEOUT = 120.0


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "sidecar", tmp_path / "sidecar", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *selected],
        cwd=tree,
        # The copy, not the installed package, is what the graph must be built from.
        env={"PYTHONPATH": str(tree), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def add_module(tree: Path, dotted: str, source: str) -> None:
    path = tree.joinpath(*dotted.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


def add_daemon_package(tree: Path) -> None:
    """The daemon package as the house plans it: wired by the CLI, importing what it wires."""
    add_module(tree, "sidecar.daemon.__init__", "")
    add_module(tree, "sidecar.daemon.wiring", "import sidecar.server.registry\n")
    add_module(tree, "sidecar.cli.daemon_entry", "import sidecar.daemon.wiring\n")


def test_unmodified_cores_are_kept(tree: Path) -> None:
    result = lint(tree, "cores")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pure cores import no adapter KEPT" in result.stdout


def test_whole_configuration_runs_on_the_tree_as_it_is(tree: Path) -> None:
    # Packages the house plans but this tree may lack are optional layers: no contract may crash on them.
    result = lint(tree)
    assert "Contracts:" in result.stdout, result.stdout + result.stderr
    assert "not present in the graph" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract", "name"),
    [
        pytest.param(
            "sidecar.evaluation.leak",
            "import sidecar.server\n",
            "cores",
            "Pure cores import no adapter",
            id="core-imports-server",
        ),
        pytest.param(
            "sidecar.stats.leak",
            "from sidecar.store import database\n",
            "cores",
            "Pure cores import no adapter",
            id="core-imports-store",
        ),
        pytest.param(
            "sidecar.rollout.leak",
            "import sidecar.telemetry.setup\n",
            "cores",
            "Pure cores import no adapter",
            id="core-imports-telemetry",
        ),
        pytest.param(
            "sidecar.store.leak",
            "import sidecar.daemon.wiring\n",
            "adapters",
            "Adapters import no daemon",
            id="adapter-imports-daemon",
        ),
        pytest.param(
            "sidecar.config.leak",
            "import sidecar.daemon\n",
            "daemon",
            "Nothing imports the daemon but the CLI",
            id="kernel-imports-daemon",
        ),
        pytest.param(
            "sidecar.server.leak",
            "import sidecar.cli.main\n",
            "daemon",
            "Nothing imports the daemon but the CLI",
            id="adapter-imports-cli",
        ),
    ],
)
def test_an_import_against_the_arrows_breaks_its_contract(
    tree: Path, module: str, source: str, contract: str, name: str
) -> None:
    add_daemon_package(tree)
    assert lint(tree, contract).returncode == 0, "the contract must hold before the bad import"
    add_module(tree, module, source)
    result = lint(tree, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{name} BROKEN" in result.stdout
    assert module in result.stdout


def test_a_daemon_package_wired_only_by_the_cli_keeps_the_daemon_contracts(tree: Path) -> None:
    add_daemon_package(tree)
    result = lint(tree, "adapters", "daemon")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sync_importing_the_server_breaks_its_contract(tree: Path) -> None:
    add_module(tree, "sidecar.sync.leak", "import sidecar.server.auth\n")
    result = lint(tree, "sync")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sidecar.sync.leak -> sidecar.server.auth" in result.stdout


def test_a_cycle_between_packages_breaks_acyclic(tree: Path) -> None:
    add_module(tree, "sidecar.stats.leak", "import sidecar.telemetry.logging\n")
    add_module(tree, "sidecar.telemetry.leak", "import sidecar.stats.summary\n")
    result = lint(tree, "acyclic")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ".stats -> .telemetry" in result.stdout or ".telemetry -> .stats" in result.stdout
