"""``sidecar serve``: run the daemon."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sidecar.errors import InvalidArgumentError
from sidecar.server.listen import default_runtime_dir, parse_listen
from sidecar.sync.options import add_sync_arguments, sync_settings
from sidecar.telemetry import TelemetrySettings, configure_logging


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SIDECAR_{name}", default)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the daemon",
        description="Run the daemon: serve flag evaluations and rollouts over gRPC, reload config on change. "
        "Every option can also be set as a SIDECAR_* environment variable.",
    )
    state_default = os.environ.get("STATE_DIRECTORY", "/var/lib/rollout-sidecar").split(":")[0]
    config_default = os.environ.get("CONFIGURATION_DIRECTORY", "/etc/rollout-sidecar").split(":")[0]
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(_env("CONFIG_DIR", config_default) or ""),
        help="directory of flag and rollout files, watched for changes (SIDECAR_CONFIG_DIR)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(_env("STATE_DIR", state_default) or ""),
        help="directory for the SQLite state database and admin token (SIDECAR_STATE_DIR)",
    )
    listen_env = _env("LISTEN")
    parser.add_argument(
        "--listen",
        action="append",
        default=None,
        help="unix:PATH or HOST:PORT; repeatable (SIDECAR_LISTEN, comma-separated; default "
        "unix:RUNTIME_DIR/sidecar.sock and 127.0.0.1:8013)",
    )
    parser.add_argument(
        "--environment",
        default=_env("ENVIRONMENT", "development"),
        help='environment name, visible to rules as {"var": "environment"} (SIDECAR_ENVIRONMENT)',
    )
    parser.add_argument(
        "--node-id",
        default=_env("NODE_ID"),
        help="stable node id for sync and audit; generated and remembered when unset (SIDECAR_NODE_ID)",
    )
    parser.add_argument(
        "--admin-token-file",
        type=Path,
        default=Path(p) if (p := _env("ADMIN_TOKEN_FILE")) else None,
        help="file holding the admin bearer token; created (0600) when absent "
        "(SIDECAR_ADMIN_TOKEN_FILE; default STATE_DIR/admin.token)",
    )
    parser.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="log level (SIDECAR_LOG_LEVEL)",
    )
    parser.add_argument(
        "--tick-seconds",
        type=float,
        default=float(_env("TICK_SECONDS", "1.0") or 1.0),
        help="rollout policy period in seconds (SIDECAR_TICK_SECONDS; default %(default)s)",
    )
    parser.add_argument(
        "--outcome-bucket-seconds",
        type=int,
        default=int(_env("OUTCOME_BUCKET_SECONDS", "5") or 5),
        help="granularity of outcome windows in seconds (SIDECAR_OUTCOME_BUCKET_SECONDS; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--debug-decisions",
        action="store_true",
        default=_env("DEBUG_DECISIONS", "") not in ("", "0", "false"),
        help="log every routing and rollout decision at debug level (SIDECAR_DEBUG_DECISIONS)",
    )
    TelemetrySettings.add_cli_arguments(parser)
    add_sync_arguments(parser)
    parser.set_defaults(handler=run, listen_env=listen_env)


def listen_addresses(args: argparse.Namespace) -> tuple[str, ...]:
    if args.listen:
        return tuple(args.listen)
    if args.listen_env:
        return tuple(part.strip() for part in args.listen_env.split(",") if part.strip())
    return (f"unix:{default_runtime_dir() / 'sidecar.sock'}", "127.0.0.1:8013")


def run(args: argparse.Namespace) -> int:
    import logging

    from sidecar.server.app import ServeSettings
    from sidecar.server.app import run as run_daemon

    configure_logging(args.log_level.upper(), args.debug_decisions)
    try:
        listen = tuple(parse_listen(text) for text in listen_addresses(args))
        sync = sync_settings(args)
    except InvalidArgumentError as exc:
        raise SystemExit(f"error: {exc.message}") from exc
    if not args.config_dir.is_dir():
        raise SystemExit(f"error: config directory {args.config_dir} does not exist")
    for address in listen:
        if not address.is_loopback():
            logging.getLogger("sidecar").warning(
                "listening on non-loopback address %s: evaluation is reachable from the network",
                address.grpc_target,
            )
    settings = ServeSettings(
        config_dir=args.config_dir,
        state_dir=args.state_dir,
        listen=listen,
        environment=args.environment,
        node_id=args.node_id,
        admin_token_file=args.admin_token_file,
        tick_seconds=args.tick_seconds,
        bucket_seconds=args.outcome_bucket_seconds,
        telemetry=TelemetrySettings.from_args(args),
        sync=sync,
    )
    run_daemon(settings)
    return 0
