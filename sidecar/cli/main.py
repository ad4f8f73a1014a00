"""Entry point of the ``sidecar`` command."""

from __future__ import annotations

import argparse
import os
import sys

from sidecar import __version__
from sidecar.cli import alerts, experiments, flags, peers, porting, rollouts, serve, state
from sidecar.daemon.parsers import SettingsError
from sidecar.daemon.settings import client_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sidecar",
        description="Rollout Sidecar: local feature flags, V1/V2 routing and staged rollouts over gRPC.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(subparsers)
    flags.add_parsers(subparsers)
    peers.add_parsers(subparsers)
    rollouts.add_parsers(subparsers)
    experiments.add_parsers(subparsers)
    alerts.add_parsers(subparsers)
    state.add_parsers(subparsers)
    porting.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
