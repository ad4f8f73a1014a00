"""How CLI commands reach a running daemon: address, admin token, output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

import grpc

from sidecar.daemon.settings import ClientSettings, add_client_arguments

if TYPE_CHECKING:
    from google.protobuf.message import Message


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    add_client_arguments(parser)
    parser.set_defaults(connects=True)


def channel(args: argparse.Namespace) -> grpc.Channel:
    return grpc.insecure_channel(connection(args).address)


def connection(args: argparse.Namespace) -> ClientSettings:
    """The client settings :func:`sidecar.cli.main.main` built before running the command."""
    settings: ClientSettings = args.connection
    return settings


def admin_metadata(args: argparse.Namespace) -> list[tuple[str, str]]:
    settings = connection(args)
    token = settings.token
    if token is None:
        try:
            token = settings.token_file.read_text().strip()
        except OSError as exc:
            raise SystemExit(
                f"cannot read admin token file {settings.token_file}: {exc.strerror} (use --token-file)"
            ) from exc
    metadata = [("authorization", f"Bearer {token}")]
    if settings.actor:
        metadata.append(("x-actor", settings.actor))
    return metadata


def print_message(message: Message) -> None:
    # Imported here: `sidecar health` prints no message and does not load protobuf at all.
    from google.protobuf import json_format

    print_json(json_format.MessageToDict(message, preserving_proto_field_name=True))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def rpc_failed(exc: grpc.RpcError) -> int:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    sys.stderr.write(f"error: {code.name if code else 'UNKNOWN'}: {details}\n")
    return 2
