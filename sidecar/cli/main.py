"""Entry point of the ``sidecar`` command.

Only the module of the command being run is imported: the others pull in SciPy, SQLite or the OpenTelemetry
SDK, which a container healthcheck (``sidecar health``) must not pay for. :data:`COMMANDS` names each
command's module and its one-line help for ``sidecar --help``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from sidecar.daemon.parsers import SettingsError
from sidecar.daemon.settings import client_settings


class Command(NamedTuple):
    module: str  # in sidecar.cli; its add_parsers(subparsers) adds the command
    help: str


COMMANDS: dict[str, Command] = {
    "serve": Command("serve", "run the daemon"),
    "validate": Command("flags", "check configuration files"),
    "eval": Command("flags", "evaluate a flag"),
    "flags": Command("flags", "list, get, put or delete flags"),
    "status": Command("flags", "show the daemon's status"),
    "health": Command("health", "check the daemon's health; exit 1 when not serving"),
    "peers": Command("peers", "show the peer-sync links"),
    "rollout": Command("rollouts", "list, inspect and steer V1 -> V2 rollouts"),
    "experiment": Command("experiments", "list experiments, report on one, plan a sample size"),
    "alerts": Command("alerts", "list, acknowledge and watch alerts"),
    "backup": Command("state", "copy the state database to FILE while the daemon serves"),
    "restore": Command("state", "replace the state with a backup (daemon stopped)"),
    "state": Command("state", "manage the state directory"),
    "export": Command(
        "porting", "write the daemon's admin-written flags and rollouts to DIR as config files"
    ),
    "import": Command(
        "porting", "write the flags and rollouts of DIR's files into the daemon, all or nothing"
    ),
    "init": Command("porting", "write a commented starter configuration to DIR"),
}


class _Version(argparse.Action):
    """``--version``, whose lookup in the installed metadata only ``sidecar --version`` pays for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from sidecar import __version__

        sys.stdout.write(f"{parser.prog} {__version__}\n")
        parser.exit()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: complete for the command it names, one help line for every other."""
    parser = argparse.ArgumentParser(
        prog="sidecar",
        description="Rollout Sidecar: local feature flags, V1/V2 routing and staged rollouts over gRPC.",
    )
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", required=True)
    # The top-level options take no value, so the first word that is not an option is the command.
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    if chosen in COMMANDS:
        module = importlib.import_module(f"sidecar.cli.{COMMANDS[chosen].module}")
        module.add_parsers(subparsers)
    for name, command in COMMANDS.items():
        if name not in subparsers.choices:
            subparsers.add_parser(name, help=command.help)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(words).parse_args(words)
    try:
        if getattr(args, "connects", False):
            args.connection = client_settings(args, os.environ)
        result: int = args.handler(args)
    except SettingsError as exc:
        # A bad setting is the user's to fix: one line, like argparse's own usage errors, no traceback.
        sys.stderr.write(f"sidecar: {exc}\n")
        raise SystemExit(2) from None
    return result


if __name__ == "__main__":
    sys.exit(main())
