"""The daemon's one settings value, and the client commands', built once from flags, variables and defaults.

Precedence is flag > variable > default for every option. Values are parsed here and only here, by the
parsers of :mod:`sidecar.daemon.parsers`, so a bad one always fails the same way: one line naming the
option, the variable, the value and what is accepted.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.daemon import parsers as p
from sidecar.daemon.options import Option, Reader, add_options
from sidecar.daemon.sync_options import SYNC_DESCRIPTION, SYNC_OPTIONS, SYNC_TITLE, sync_settings
from sidecar.daemon.telemetry_options import TELEMETRY_FLAGS, telemetry_settings
from sidecar.server.listen import ListenAddress, default_runtime_dir
from sidecar.sync.settings import SyncSettings
from sidecar.telemetry.settings import TelemetrySettings

LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_ADDRESS = "127.0.0.1:8013"
# flagd's management port, where it serves metrics and health over HTTP.
DEFAULT_MANAGEMENT_ADDRESS = "127.0.0.1:8014"
# Where flagd serves its sync service, so in-process flagd providers find ours without configuration.
DEFAULT_FLAGD_SYNC_ADDRESS = "127.0.0.1:8015"
DEFAULT_FLAGD_SYNC_LISTEN: ListenAddress | None = ListenAddress(host="127.0.0.1", port=8015)
# flagd's OFREP port, so OFREP providers pointed at where flagd would be find ours.
DEFAULT_OFREP_ADDRESS = "127.0.0.1:8016"
DEFAULT_STATE_DIR = "/var/lib/rollout-sidecar"
DEFAULT_CONFIG_DIR = "/etc/rollout-sidecar"

CONFIG_DIR = Option(
    "--config-dir", "SIDECAR_CONFIG_DIR", "directory of flag and rollout files, watched for changes", "PATH"
)
STATE_DIR = Option(
    "--state-dir", "SIDECAR_STATE_DIR", "directory for the SQLite state database and admin token", "PATH"
)
LISTEN = Option(
    "--listen",
    "SIDECAR_LISTEN",
    "unix:PATH or HOST:PORT, port 0 picks one; repeatable, comma-separated "
    "(default unix:RUNTIME_DIR/sidecar.sock and 127.0.0.1:8013)",
    "ADDRESS",
    repeat=True,
)
MANAGEMENT_LISTEN = Option(
    "--management-listen",
    "SIDECAR_MANAGEMENT_LISTEN",
    "HTTP listener for /metrics, /healthz and /readyz: HOST:PORT, port 0 picks one, or off "
    f"(default {DEFAULT_MANAGEMENT_ADDRESS})",
    "ADDRESS",
)
FLAGD_SYNC_LISTEN = Option(
    "--flagd-sync-listen",
    "SIDECAR_FLAGD_SYNC_LISTEN",
    "flagd.sync.v1 listener for OpenFeature in-process providers: unix:PATH, HOST:PORT (port 0 picks one) "
    f"or off (default {DEFAULT_FLAGD_SYNC_ADDRESS})",
    "ADDRESS",
)
OFREP_LISTEN = Option(
    "--ofrep-listen",
    "SIDECAR_OFREP_LISTEN",
    "HTTP listener for the OpenFeature Remote Evaluation Protocol (OFREP providers): HOST:PORT, port 0 "
    f"picks one, or off (default {DEFAULT_OFREP_ADDRESS})",
    "ADDRESS",
)
READY_FILE = Option(
    "--ready-file",
    "SIDECAR_READY_FILE",
    "once listening with the first configuration loaded, write the pid and bound addresses here as JSON",
    "PATH",
)
ENVIRONMENT = Option(
    "--environment",
    "SIDECAR_ENVIRONMENT",
    'environment name, visible to rules as {"var": "environment"} (default development)',
)
NODE_ID = Option(
    "--node-id",
    "SIDECAR_NODE_ID",
    "stable node id for sync and audit; generated and remembered when unset",
)
ADMIN_TOKEN_FILE = Option(
    "--admin-token-file",
    "SIDECAR_ADMIN_TOKEN_FILE",
    "file holding the admin bearer token; created (0600) when absent (default STATE_DIR/admin.token)",
    "PATH",
)
LOG_LEVEL = Option("--log-level", "SIDECAR_LOG_LEVEL", "log level: " + ", ".join(LOG_LEVELS))
TICK_SECONDS = Option(
    "--tick-seconds", "SIDECAR_TICK_SECONDS", "rollout policy period in seconds (default 1.0)", "SECONDS"
)
BUCKET_SECONDS = Option(
    "--outcome-bucket-seconds",
    "SIDECAR_OUTCOME_BUCKET_SECONDS",
    "granularity of outcome windows in seconds (default 5)",
    "SECONDS",
)
DEBUG_DECISIONS = Option(
    "--debug-decisions",
    "SIDECAR_DEBUG_DECISIONS",
    "log every routing and rollout decision at debug level",
    switch=True,
)
START_EMPTY = Option(
    "--start-empty",
    "SIDECAR_START_EMPTY",
    "when the state database is missing, empty or damaged, set it aside and start with empty state "
    "instead of refusing to start",
    switch=True,
)
STATE_MAX_SIZE = Option(
    "--state-max-size",
    "SIDECAR_STATE_MAX_SIZE",
    "largest the state database may grow, e.g. 512MiB or 2GiB; writes past it are refused as on a full "
    "disk (default: no limit but the disk)",
    "SIZE",
)

SERVE_OPTIONS = (
    CONFIG_DIR,
    STATE_DIR,
    START_EMPTY,
    STATE_MAX_SIZE,
    LISTEN,
    MANAGEMENT_LISTEN,
    FLAGD_SYNC_LISTEN,
    OFREP_LISTEN,
    READY_FILE,
    ENVIRONMENT,
    NODE_ID,
    ADMIN_TOKEN_FILE,
    LOG_LEVEL,
    TICK_SECONDS,
    BUCKET_SECONDS,
    DEBUG_DECISIONS,
)

ADDRESS = Option(
    "--address", "SIDECAR_ADDRESS", f"daemon address, unix:PATH or HOST:PORT (default {DEFAULT_ADDRESS})"
)
TOKEN_FILE = Option(
    "--token-file", "SIDECAR_ADMIN_TOKEN_FILE", "admin token file (default STATE_DIR/admin.token)", "PATH"
)
TIMEOUT = Option("--timeout", None, "seconds to wait for the daemon (default 5)", "SECONDS")
ADMIN_TOKEN = Option(None, "SIDECAR_ADMIN_TOKEN")
CLIENT_STATE_DIR = Option(None, "SIDECAR_STATE_DIR")
ACTOR = Option(None, "SIDECAR_ACTOR")
CLIENT_OPTIONS = (ADDRESS, TOKEN_FILE, TIMEOUT)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``sidecar serve`` runs with."""

    config_dir: Path
    state_dir: Path
    listen: tuple[ListenAddress, ...]
    # Damaged or lost state stops the daemon unless the operator chose to start empty (the files are kept).
    start_empty: bool = False
    # Bytes the state database may take; None: as much as its disk has.
    state_max_size: int | None = None
    environment: str = "development"
    node_id: str | None = None
    admin_token_file: Path | None = None
    static_context: Mapping[str, Any] = field(default_factory=dict)
    # Policy loop period and outcome bucket size; shorter values make phases of a few seconds testable.
    tick_seconds: float = 1.0
    bucket_seconds: int = 5
    log_level: str = "info"
    debug_decisions: bool = False
    # HOST:PORT of the management HTTP listener (/metrics, /healthz, /readyz); None: no listener.
    management_listen: str | None = None
    # Where to report the bound addresses once serving; None: only the log line.
    ready_file: Path | None = None
    telemetry: TelemetrySettings = field(default_factory=lambda: TelemetrySettings(enabled=False))
    # Peer sync with the other sidecars of the group; None: this sidecar stands alone.
    sync: SyncSettings | None = None
    # flagd's sync service for in-process providers, on its own listener; None: not served.
    flagd_sync_listen: ListenAddress | None = None
    # HOST:PORT of the OFREP HTTP listener; None: not served.
    ofrep_listen: str | None = None

    @property
    def token_file(self) -> Path:
        return self.admin_token_file or self.state_dir / "admin.token"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How a client command reaches the daemon and proves it may administer it."""

    address: str = DEFAULT_ADDRESS
    timeout: float = 5.0
    token: str | None = None  # the token itself (SIDECAR_ADMIN_TOKEN); else read from token_file
    token_file: Path = Path(DEFAULT_STATE_DIR) / "admin.token"
    actor: str | None = None


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, SERVE_OPTIONS)
    add_options(
        parser.add_argument_group("telemetry", "Flags override the standard OTEL_* variables."),
        TELEMETRY_FLAGS,
    )
    add_options(parser.add_argument_group(SYNC_TITLE, SYNC_DESCRIPTION), SYNC_OPTIONS)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, CLIENT_OPTIONS)


def _systemd_dir(environ: Mapping[str, str], name: str, default: str) -> Path:
    # systemd's StateDirectory= and ConfigurationDirectory= may list several, colon-separated.
    return Path(environ.get(name, "").split(":")[0] or default)


def serve_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    read = Reader(args, environ)
    config_dir = read.get(
        CONFIG_DIR, p.path, _systemd_dir(environ, "CONFIGURATION_DIRECTORY", DEFAULT_CONFIG_DIR)
    )
    if not config_dir.is_dir():
        raise read.bad(CONFIG_DIR, str(config_dir), "an existing directory")
    runtime_dir = default_runtime_dir(environ)
    listen = read.many(LISTEN, p.listen_address) or (
        ListenAddress(unix_path=runtime_dir / "sidecar.sock"),
        p.listen_address(DEFAULT_ADDRESS),
    )
    management_text = read.flag_text(MANAGEMENT_LISTEN) or read.variable_text(MANAGEMENT_LISTEN)
    management = read.parse(
        MANAGEMENT_LISTEN, p.bind_address_or_off, management_text or DEFAULT_MANAGEMENT_ADDRESS
    )
    return Settings(
        config_dir=config_dir,
        management_listen=management,
        state_dir=read.get(STATE_DIR, p.path, _systemd_dir(environ, "STATE_DIRECTORY", DEFAULT_STATE_DIR)),
        listen=listen,
        start_empty=read.get(START_EMPTY, p.boolean, False),
        state_max_size=read.get(STATE_MAX_SIZE, p.size),
        environment=read.get(ENVIRONMENT, p.text, "development"),
        node_id=read.get(NODE_ID, p.text),
        admin_token_file=read.get(ADMIN_TOKEN_FILE, p.path),
        tick_seconds=read.get(TICK_SECONDS, p.positive_seconds, 1.0),
        bucket_seconds=read.get(BUCKET_SECONDS, p.positive_int, 5),
        log_level=read.get(LOG_LEVEL, p.choice(LOG_LEVELS), "info"),
        debug_decisions=read.get(DEBUG_DECISIONS, p.boolean, False),
        ready_file=read.get(READY_FILE, p.path),
        telemetry=telemetry_settings(read, metrics_pull=management is not None),
        sync=sync_settings(read),
        flagd_sync_listen=read.get(FLAGD_SYNC_LISTEN, p.listen_address_or_off, DEFAULT_FLAGD_SYNC_LISTEN),
        ofrep_listen=read.parse(
            OFREP_LISTEN,
            p.bind_address_or_off,
            read.flag_text(OFREP_LISTEN) or read.variable_text(OFREP_LISTEN) or DEFAULT_OFREP_ADDRESS,
        ),
    )


def state_dir_setting(args: argparse.Namespace, environ: Mapping[str, str]) -> Path:
    """The state directory of the commands that handle its files (backup, restore, reset), found as serve
    finds it."""
    return Reader(args, environ).get(
        STATE_DIR, p.path, _systemd_dir(environ, "STATE_DIRECTORY", DEFAULT_STATE_DIR)
    )


def client_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> ClientSettings:
    read = Reader(args, environ)
    state_dir = read.get(CLIENT_STATE_DIR, p.path, Path(DEFAULT_STATE_DIR))
    token_flag = read.flag(TOKEN_FILE, p.path)
    return ClientSettings(
        address=read.get(ADDRESS, p.dial_address, DEFAULT_ADDRESS),
        timeout=read.get(TIMEOUT, p.positive_seconds, 5.0),
        # An explicit --token-file beats a token in the environment.
        token=None if token_flag else read.get(ADMIN_TOKEN, p.text),
        token_file=token_flag or read.get(TOKEN_FILE, p.path, state_dir / "admin.token"),
        actor=read.get(ACTOR, p.text) or (environ.get("USER") or None),
    )
