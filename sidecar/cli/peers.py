"""``sidecar peers``: the peer-sync links of a running daemon."""

from __future__ import annotations

import argparse
import sys
import time

import grpc

from sidecar.cli.connection import (
    add_connection_options,
    admin_metadata,
    channel,
    connection,
    print_message,
    rpc_failed,
)
from sidecar.v1 import admin_pb2, admin_pb2_grpc


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    peers = subparsers.add_parser(
        "peers",
        help="show the peer-sync links",
        description="Every peer-sync link of the daemon: node, address, connected, last contact, lag, "
        "entries behind, traffic; and the replica digest (equal on every converged member).",
    )
    peers.add_argument("--json", action="store_true", help="print the GetStatus peers as JSON")
    add_connection_options(peers)
    peers.set_defaults(handler=run_peers)


def run_peers(args: argparse.Namespace) -> int:
    stub = admin_pb2_grpc.AdminServiceStub(channel(args))
    try:
        status = stub.GetStatus(
            admin_pb2.GetStatusRequest(), metadata=admin_metadata(args), timeout=connection(args).timeout
        )
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    if args.json:
        print_message(
            admin_pb2.GetStatusResponse(
                node_id=status.node_id, peers=status.peers, sync_digest=status.sync_digest
            )
        )
        return 0
    if not status.sync_digest:
        sys.stdout.write("peer sync is disabled on this sidecar\n")
        return 0
    sys.stdout.write(f"node {status.node_id}  digest {status.sync_digest}\n")
    header = ("NODE", "ADDRESS", "DIR", "STATE", "LAST CONTACT", "LAG", "BEHIND", "SENT", "RECEIVED", "ERROR")
    rows = [header]
    now = time.time()
    for peer in status.peers:
        contact = f"{now - peer.last_contact:.1f}s ago" if peer.last_contact else "never"
        rows.append(
            (
                peer.node_id or "?",
                peer.address,
                "out" if peer.outgoing else "in",
                "connected" if peer.connected else "down",
                contact,
                f"{peer.lag_seconds:.2f}s",
                str(peer.entries_behind),
                f"{peer.bytes_sent}B/{peer.entries_sent}",
                f"{peer.bytes_received}B/{peer.entries_received}",
                peer.last_error,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        sys.stdout.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )
    return 0
