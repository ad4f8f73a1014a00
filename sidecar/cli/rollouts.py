"""``sidecar rollout``: list, inspect and steer rollouts on a running daemon."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TypeAlias

import grpc

from sidecar.cli.connection import (
    add_connection_options,
    admin_metadata,
    channel,
    connection,
    print_message,
    rpc_failed,
)
from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
ACTIONS = ("pause", "resume", "promote", "rollback", "restart")


def add_parsers(subparsers: Subparsers) -> None:
    rollout = subparsers.add_parser(
        "rollout",
        help="list, inspect and steer V1 -> V2 rollouts",
        description="Inspect rollouts and act on them at runtime (needs the admin token). Every action is "
        "idempotent, takes a reason and is recorded in the audit log.",
    )
    actions = rollout.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per rollout: state, phase, V2 share, last decision")
    status = actions.add_parser(
        "status", help="phase, counts, gate values and the last decision with its reason"
    )
    status.add_argument("rollout_key")
    report = actions.add_parser("report", help="V1 vs V2 comparison with statistical tests and a verdict")
    report.add_argument("rollout_key")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    commands = [listing, status, report]
    for name in ACTIONS:
        command = actions.add_parser(name, help=f"{name} the rollout")
        command.add_argument("rollout_key")
        command.add_argument("--reason", required=True, help="why; recorded in the audit log")
        commands.append(command)
        if name == "promote":
            command.add_argument("--to-full", action="store_true", help="go straight to the 100%% phase")
            command.add_argument("--to-phase", default="", help="the phase to reach (makes retries safe)")
        if name == "restart":
            command.add_argument(
                "--from-generation",
                type=int,
                default=0,
                help="the generation being replaced (makes retries safe)",
            )
    for command in commands:
        add_connection_options(command)
    rollout.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stub = routing_pb2_grpc.RolloutServiceStub(channel(args))
    options: dict[str, Any] = {"metadata": admin_metadata(args), "timeout": connection(args).timeout}
    try:
        if args.action == "list":
            listed = stub.ListRollouts(pb.ListRolloutsRequest(), **options)
            for rollout in listed.rollouts:
                sys.stdout.write(line(rollout) + "\n")
            return 0
        if args.action == "status":
            print_message(stub.GetRollout(pb.GetRolloutRequest(rollout_key=args.rollout_key), **options))
            return 0
        if args.action == "report":
            response = stub.GetRolloutReport(
                pb.GetRolloutReportRequest(rollout_key=args.rollout_key), **options
            )
            if args.json:
                print_message(response.report)
            else:
                sys.stdout.write(response.text + "\n")
            return 0
        print_message(act(stub, args, options))
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    return 0


def act(stub: routing_pb2_grpc.RolloutServiceStub, args: argparse.Namespace, options: dict[str, Any]) -> Any:
    key, reason = args.rollout_key, args.reason
    if args.action == "pause":
        return stub.PauseRollout(pb.PauseRolloutRequest(rollout_key=key, reason=reason), **options)
    if args.action == "resume":
        return stub.ResumeRollout(pb.ResumeRolloutRequest(rollout_key=key, reason=reason), **options)
    if args.action == "promote":
        request = pb.PromoteRolloutRequest(
            rollout_key=key, reason=reason, to_full=args.to_full, to_phase=args.to_phase
        )
        return stub.PromoteRollout(request, **options)
    if args.action == "rollback":
        return stub.RollbackRollout(pb.RollbackRolloutRequest(rollout_key=key, reason=reason), **options)
    request_restart = pb.RestartRolloutRequest(
        rollout_key=key, reason=reason, from_generation=args.from_generation
    )
    return stub.RestartRollout(request_restart, **options)


def line(rollout: pb.RolloutStatus) -> str:
    state = pb.RolloutState.Name(rollout.state).removeprefix("ROLLOUT_STATE_")
    decision = rollout.last_decision
    summary = f"{decision.kind} {decision.code}: {decision.reason}" if decision.kind else "no decision yet"
    return (
        f"{rollout.key}\t{state}\tgen {rollout.generation}\t{rollout.phase} ({rollout.v2_percent:g}% V2)"
        f"\tcircuit {rollout.circuit}\t{summary}"
    )
