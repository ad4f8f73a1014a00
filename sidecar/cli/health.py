"""``sidecar health``: the container healthcheck, kept to the few imports a gRPC health query needs."""

from __future__ import annotations

import argparse

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.cli.connection import add_connection_options, channel, connection, print_json, rpc_failed


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = subparsers.add_parser(
        "health",
        help="check the daemon's health; exit 1 when not serving",
        description="Query grpc.health.v1; prints the status, exits 1 unless SERVING.",
    )
    health.add_argument("--service", default="", help="service name; empty for the whole daemon")
    add_connection_options(health)
    health.set_defaults(handler=run_health)


def run_health(args: argparse.Namespace) -> int:
    stub = health_pb2_grpc.HealthStub(channel(args))
    try:
        response = stub.Check(
            health_pb2.HealthCheckRequest(service=args.service), timeout=connection(args).timeout
        )
    except grpc.RpcError as exc:
        rpc_failed(exc)
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print_json({"service": args.service or "(overall)", "status": status})
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1
