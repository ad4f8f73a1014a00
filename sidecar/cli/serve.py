"""``sidecar serve``: run the daemon."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from sidecar.daemon.settings import add_serve_arguments, serve_settings
from sidecar.telemetry import configure_logging

# Distinct from a bad setting (2) and other start failures (1), so a supervisor can stop retrying.
EXIT_DAMAGED_STATE = 3


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the daemon",
        description="Run the daemon: serve flag evaluations and rollouts over gRPC, reload config on change. "
        "Every option can also be set as the environment variable named in its help.",
    )
    add_serve_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from sidecar.daemon.lifecycle import StartError
    from sidecar.daemon.lifecycle import run as run_daemon
    from sidecar.server.auth import TokenFileError
    from sidecar.server.listen import parse_listen
    from sidecar.store.integrity import DamagedStateError
    from sidecar.store.state_files import StateInUseError

    settings = serve_settings(args, os.environ)
    configure_logging(settings.log_level.upper(), settings.debug_decisions)
    for address in settings.listen:
        if not address.is_loopback():
            logging.getLogger("sidecar").warning(
                "listening on non-loopback address %s: evaluation is reachable from the network",
                address.grpc_target,
            )
    flagd_sync = settings.flagd_sync_listen
    if flagd_sync is not None and not flagd_sync.is_loopback():
        logging.getLogger("sidecar").warning(
            "flagd sync on non-loopback address %s: every flag definition is readable from the network",
            flagd_sync.grpc_target,
        )
    ofrep = settings.ofrep_listen
    if ofrep is not None and not parse_listen(ofrep).is_loopback():
        logging.getLogger("sidecar").warning(
            "OFREP on non-loopback address %s: evaluation is reachable from the network", ofrep
        )
    try:
        run_daemon(settings)
    except DamagedStateError as exc:
        sys.stderr.write(f"sidecar: cannot start: {exc}\n")
        return EXIT_DAMAGED_STATE
    except (StartError, StateInUseError, TokenFileError) as exc:
        sys.stderr.write(f"sidecar: cannot start: {exc}\n")
        return 1
    return 0
