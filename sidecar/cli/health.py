"""``sidecar health``: the container healthcheck, kept to the few imports a gRPC health query needs.

The request and the answer are encoded here rather than with grpc_health's generated messages: both are
one field, and loading protobuf would be a fifth of the command's start-up.
"""

from __future__ import annotations

import argparse
import sys

import grpc

from sidecar.cli.connection import add_connection_options, channel, connection, print_json, rpc_failed

CHECK = "/grpc.health.v1.Health/Check"
# grpc.health.v1.HealthCheckResponse.ServingStatus
STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = subparsers.add_parser(
        "health",
        help="check the daemon's health; exit 1 when not serving",
        description="Query grpc.health.v1; prints the status, exits 1 unless SERVING.",
    )
    health.add_argument("--service", default="", help="service name; empty for the whole daemon")
    add_connection_options(health)
    health.set_defaults(handler=run_health)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_request(service: str) -> bytes:
    """HealthCheckRequest{service}: field 1, length-delimited; the default (empty) is not written."""
    raw = service.encode()
    return b"\x0a" + _varint(len(raw)) + raw if raw else b""


def decode_status(raw: bytes) -> int:
    """HealthCheckResponse.status (field 1, varint; absent means 0); other fields are not expected."""
    status, position = 0, 0
    while position < len(raw):
        tag = raw[position]
        position += 1
        if tag != 0x08:
            raise ValueError(f"unexpected field tag {tag} in a health answer")
        status, shift = 0, 0
        while True:
            if position >= len(raw):
                raise ValueError("a health answer ends inside a number")
            byte = raw[position]
            position += 1
            status |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
    return status


def run_health(args: argparse.Namespace) -> int:
    check = channel(args).unary_unary(CHECK, request_serializer=None, response_deserializer=None)
    try:
        raw = check(encode_request(args.service), timeout=connection(args).timeout)
    except grpc.RpcError as exc:
        rpc_failed(exc)
        return 1
    try:
        status = decode_status(raw)
    except ValueError as exc:
        sys.stderr.write(f"sidecar: {connection(args).address} does not answer as gRPC health does: {exc}\n")
        return 1
    print_json({"service": args.service or "(overall)", "status": STATUSES.get(status, str(status))})
    return 0 if status == 1 else 1
