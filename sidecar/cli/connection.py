"""How CLI commands reach a running daemon: address, admin token, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

DEFAULT_ADDRESS = "127.0.0.1:8013"
DEFAULT_STATE_DIR = "/var/lib/rollout-sidecar"


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=os.environ.get("SIDECAR_ADDRESS", DEFAULT_ADDRESS),
        help="daemon address, unix:PATH or HOST:PORT (env SIDECAR_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="admin token file (env SIDECAR_ADMIN_TOKEN_FILE; default STATE_DIR/admin.token)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the daemon")


def channel(args: argparse.Namespace) -> grpc.Channel:
    return grpc.insecure_channel(args.address)


def admin_metadata(args: argparse.Namespace) -> list[tuple[str, str]]:
    token = os.environ.get("SIDECAR_ADMIN_TOKEN")
    if not token:
        path = args.token_file or Path(
            os.environ.get("SIDECAR_ADMIN_TOKEN_FILE")
            or Path(os.environ.get("SIDECAR_STATE_DIR", DEFAULT_STATE_DIR)) / "admin.token"
        )
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise SystemExit(
                f"cannot read admin token file {path}: {exc.strerror} (use --token-file)"
            ) from exc
    metadata = [("authorization", f"Bearer {token}")]
    if actor := os.environ.get("SIDECAR_ACTOR") or os.environ.get("USER"):
        metadata.append(("x-actor", actor))
    return metadata


def print_message(message: Message) -> None:
    print_json(json_format.MessageToDict(message, preserving_proto_field_name=True))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def rpc_failed(exc: grpc.RpcError) -> int:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    sys.stderr.write(f"error: {code.name if code else 'UNKNOWN'}: {details}\n")
    return 2
