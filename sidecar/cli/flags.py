"""Client commands for flags: ``validate``, ``eval``, ``flags``, ``status``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
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
from sidecar.config.located import parse_file
from sidecar.errors import ConfigError
from sidecar.server.convert import to_struct
from sidecar.store.sections import SECTIONS
from sidecar.store.sources import compile_document
from sidecar.v1 import admin_pb2, admin_pb2_grpc, evaluation_pb2, evaluation_pb2_grpc

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_parsers(subparsers: Subparsers) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check configuration files",
        description="Parse and validate flag/rollout files; exit 1 with "
        "file:line errors when any is invalid.",
    )
    validate.add_argument("paths", nargs="+", type=Path, help="files or directories")
    validate.set_defaults(handler=run_validate)

    evaluate = subparsers.add_parser(
        "eval",
        help="evaluate a flag",
        description="Evaluate one flag against a JSON context on a running daemon.",
    )
    evaluate.add_argument("flag_key")
    evaluate.add_argument("--context", default="{}", help='JSON object, e.g. \'{"targetingKey": "user-1"}\'')
    add_connection_options(evaluate)
    evaluate.set_defaults(handler=run_eval)

    flags = subparsers.add_parser(
        "flags",
        help="list, get, put or delete flags",
        description="Manage flags on a running daemon (needs the admin token).",
    )
    actions = flags.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list every flag with its source")
    get = actions.add_parser("get", help="show one flag's definition")
    get.add_argument("flag_key")
    put = actions.add_parser("put", help="create or replace a database flag from a JSON/YAML definition")
    put.add_argument("flag_key")
    put.add_argument("definition", help="file with the flag definition, or - for standard input")
    put.add_argument("--reason", default="", help="why, for the audit log")
    delete = actions.add_parser("delete", help="delete a database flag")
    delete.add_argument("flag_key")
    delete.add_argument("--reason", default="", help="why, for the audit log")
    audit = actions.add_parser("audit", help="show the audit log")
    audit.add_argument("--target", default="")
    audit.add_argument("--limit", type=int, default=50)
    for sub in (listing, get, put, delete, audit):
        add_connection_options(sub)
    flags.set_defaults(handler=run_flags)

    status = subparsers.add_parser(
        "status",
        help="show the daemon's status",
        description="Revision, sources with their last load result, counts, node id.",
    )
    add_connection_options(status)
    status.set_defaults(handler=run_status)


def run_validate(args: argparse.Namespace) -> int:
    files: list[Path] = []
    for path in args.paths:
        files.extend(
            sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
            if path.is_dir()
            else [path]
        )
    failed = False
    for path in files:
        try:
            content = compile_document(parse_file(path))
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                sys.stderr.write(f"{problem}\n")
            continue
        counts = ", ".join(f"{content.count(s.kind)} {s.key}" for s in SECTIONS)
        sys.stdout.write(f"{path}: ok ({counts})\n")
    return 1 if failed else 0


def run_eval(args: argparse.Namespace) -> int:
    try:
        context = json.loads(args.context)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: --context is not JSON: {exc}") from exc
    if not isinstance(context, dict):
        raise SystemExit("error: --context must be a JSON object")
    stub = evaluation_pb2_grpc.EvaluationServiceStub(channel(args))
    try:
        response = stub.Evaluate(
            evaluation_pb2.EvaluateRequest(flag_key=args.flag_key, context=to_struct(context)),
            timeout=connection(args).timeout,
        )
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    print_message(response)
    return 0


def run_flags(args: argparse.Namespace) -> int:
    stub = admin_pb2_grpc.AdminServiceStub(channel(args))
    metadata = admin_metadata(args)
    request: Any
    try:
        if args.action == "list":
            response: Any = stub.ListFlags(
                admin_pb2.ListFlagsRequest(), metadata=metadata, timeout=connection(args).timeout
            )
            for flag in response.flags:
                sys.stdout.write(f"{flag.key}\t{flag.definition['state']}\t{flag.source}\n")
            return 0
        if args.action == "get":
            request = admin_pb2.GetFlagRequest(flag_key=args.flag_key)
            response = stub.GetFlag(request, metadata=metadata, timeout=connection(args).timeout)
        elif args.action == "put":
            request = admin_pb2.PutFlagRequest(
                flag_key=args.flag_key, definition=to_struct(_read_definition(args)), reason=args.reason
            )
            response = stub.PutFlag(request, metadata=metadata, timeout=connection(args).timeout)
        elif args.action == "delete":
            request = admin_pb2.DeleteFlagRequest(flag_key=args.flag_key, reason=args.reason)
            response = stub.DeleteFlag(request, metadata=metadata, timeout=connection(args).timeout)
        else:
            request = admin_pb2.ListAuditRequest(limit=args.limit, target=args.target)
            response = stub.ListAudit(request, metadata=metadata, timeout=connection(args).timeout)
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    print_message(response)
    return 0


def _read_definition(args: argparse.Namespace) -> dict[str, Any]:
    from sidecar.config.located import parse_text

    raw = sys.stdin.read() if args.definition == "-" else Path(args.definition).read_text()
    fmt = "json" if raw.lstrip().startswith("{") else "yaml"
    try:
        data = parse_text(raw, args.definition, fmt).data
    except ConfigError as exc:
        raise SystemExit(f"error: {exc.message}") from exc
    if not isinstance(data, dict):
        raise SystemExit("error: a flag definition must be a mapping")
    return data


def run_status(args: argparse.Namespace) -> int:
    stub = admin_pb2_grpc.AdminServiceStub(channel(args))
    try:
        response = stub.GetStatus(
            admin_pb2.GetStatusRequest(), metadata=admin_metadata(args), timeout=connection(args).timeout
        )
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    print_message(response)
    return 0
