"""``sidecar alerts``: list, acknowledge and watch the alerts of a running daemon."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TypeAlias

import grpc
from google.protobuf import json_format

from sidecar.cli.connection import (
    add_connection_options,
    admin_metadata,
    channel,
    connection,
    print_message,
    rpc_failed,
)
from sidecar.v1 import alerts_pb2 as pb
from sidecar.v1 import alerts_pb2_grpc

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_parsers(subparsers: Subparsers) -> None:
    alerts = subparsers.add_parser(
        "alerts",
        help="list, acknowledge and watch alerts",
        description="Alerts raised by the rules of the configuration's 'alerts' section (needs the admin "
        "token). Acknowledging records who (SIDECAR_ACTOR or USER), when and the note.",
    )
    actions = alerts.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="one line per alert: id, severity, status, rule, rollout, value"
    )
    listing.add_argument("--all", action="store_true", help="resolved alerts too (newest first)")
    listing.add_argument("--rollout", default="", help="only this rollout's alerts")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="print the full response as JSON")
    ack = actions.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("alert_id")
    ack.add_argument("--note", default="", help="why, or what is being done")
    watch = actions.add_parser(
        "watch", help="print the firing alerts, then every change, one JSON object per line"
    )
    watch.add_argument("--rollout", default="", help="only this rollout's alerts")
    for command in (listing, ack, watch):
        add_connection_options(command)
    alerts.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stub = alerts_pb2_grpc.AlertServiceStub(channel(args))
    metadata = admin_metadata(args)
    try:
        if args.action == "list":
            request = pb.ListAlertsRequest(
                filter=pb.ALERT_FILTER_ALL if args.all else pb.ALERT_FILTER_FIRING,
                rollout=args.rollout,
                limit=args.limit,
            )
            response = stub.ListAlerts(request, metadata=metadata, timeout=connection(args).timeout)
            if args.json:
                print_message(response)
            else:
                sys.stdout.writelines(f"{_line(alert)}\n" for alert in response.alerts)
        elif args.action == "ack":
            acked = stub.AcknowledgeAlert(
                pb.AcknowledgeAlertRequest(id=args.alert_id, note=args.note),
                metadata=metadata,
                timeout=connection(args).timeout,
            )
            print_message(acked)
        else:
            return _watch(stub, args.rollout, metadata)
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    return 0


def _watch(stub: alerts_pb2_grpc.AlertServiceStub, rollout: str, metadata: list[tuple[str, str]]) -> int:
    stream = stub.WatchAlerts(pb.WatchAlertsRequest(rollout=rollout), metadata=metadata)
    try:
        for response in stream:
            data = json_format.MessageToDict(response, preserving_proto_field_name=True)
            sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        stream.cancel()
    return 0


def _line(alert: pb.Alert) -> str:
    severity = pb.AlertSeverity.Name(alert.severity).removeprefix("ALERT_SEVERITY_").lower()
    status = pb.AlertStatus.Name(alert.status).removeprefix("ALERT_STATUS_").lower()
    fired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.fired_at))
    acked = f"acked by {alert.ack_by}" if alert.ack_by else "unacked"
    value = f"{alert.metric}={alert.value:g} (threshold {alert.threshold:g})"
    return "\t".join((alert.id, severity, status, alert.rule, alert.rollout or "-", value, fired, acked))
