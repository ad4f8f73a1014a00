"""``sidecar export``, ``sidecar import`` and ``sidecar init``: configuration carried between hosts.

Export and import talk to the running daemon over the admin API, like ``sidecar flags`` and ``sidecar
rollout``: the daemon is the one writer of its database (peer sync included), its credential guards the
admin-written definitions, and what is exported is exactly what it serves. Files are written and read here;
what goes in them is decided by :mod:`sidecar.store.portable`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TypeAlias

import grpc

from sidecar.cli.connection import add_connection_options, admin_metadata, channel, connection, rpc_failed
from sidecar.errors import ConfigError
from sidecar.server.auth import ACTOR_HEADER
from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.store.portable import PORTABLE, export_documents, read_import_directory, write_new_files
from sidecar.store.starter import DESCRIPTIONS, TEMPLATES, UnknownTemplateError, template_files
from sidecar.v1 import admin_pb2, admin_pb2_grpc

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# Exported definitions may name users (targeting lists): private to the operator, like the state files.
EXPORT_MODE = 0o600
# Starter files are ordinary configuration, readable by a daemon running as another user.
TEMPLATE_MODE = 0o644
IMPORT_ACTOR = "import"
SECTION_NAMES = " and ".join(section.key for section in PORTABLE)


def add_parsers(subparsers: Subparsers) -> None:
    export = subparsers.add_parser(
        "export",
        help=f"write the daemon's admin-written {SECTION_NAMES} to DIR as config files",
        description=f"Write the {SECTION_NAMES} stored through the admin API (the ones the daemon serves) "
        "as flagd-format YAML files, one per section, that `sidecar validate` accepts, a config directory "
        "loads and `sidecar import` writes into another daemon (needs the admin token).",
    )
    export.add_argument("dir", type=Path, help="directory to write (created if missing)")
    export.add_argument("--force", action="store_true", help="replace files that exist")
    add_connection_options(export)
    export.set_defaults(handler=run_export)

    load = subparsers.add_parser(
        "import",
        help=f"write the {SECTION_NAMES} of DIR's files into the daemon, all or nothing",
        description=f"Validate every file of DIR, then write all their {SECTION_NAMES} through the admin "
        "API in one transaction, or none of them: an invalid file, a key two files define, a key a file on "
        "the daemon owns or (without --replace) a record stored with another definition is refused, "
        "naming file and line. Every write is audited with the actor (SIDECAR_ACTOR, else $USER, else "
        f"{IMPORT_ACTOR!r}) and the reason (needs the admin token).",
    )
    load.add_argument("dir", type=Path, help="directory of .yaml, .yml and .json files")
    load.add_argument("--reason", default="", help="why, for the audit log (default: 'import from DIR')")
    load.add_argument("--replace", action="store_true", help="replace stored records that differ")
    load.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    add_connection_options(load)
    load.set_defaults(handler=run_import)

    init = subparsers.add_parser(
        "init",
        help="write a commented starter configuration to DIR",
        description="Write a starter config directory that `sidecar validate` accepts and `sidecar serve "
        "--config-dir DIR` serves. Templates: "
        + "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())
        + ".",
    )
    init.add_argument("dir", type=Path, help="directory to write (created if missing)")
    init.add_argument(
        "--template", default="flags", metavar="NAME", help=f"one of {', '.join(TEMPLATES)} (default flags)"
    )
    init.add_argument("--force", action="store_true", help="replace files that exist")
    init.set_defaults(handler=run_init)


def _failed(message: str, code: int = 1) -> int:
    sys.stderr.write(f"sidecar: {message}\n")
    return code


def run_export(args: argparse.Namespace) -> int:
    stub = admin_pb2_grpc.AdminServiceStub(channel(args))
    try:
        response = stub.ExportRecords(
            admin_pb2.ExportRecordsRequest(), metadata=admin_metadata(args), timeout=connection(args).timeout
        )
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    for line in response.skipped:
        sys.stderr.write(f"sidecar: not exported: {line}\n")
    records = [(r.kind, r.key, struct_to_dict(r.definition)) for r in response.records]
    exported_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    header = [
        f"Exported by `sidecar export` from node {response.node_id} ({response.environment}),",
        f"configuration revision {response.revision}, at {exported_at}.",
        "Serve it as (part of) a config directory, or write it into a daemon with `sidecar import DIR`.",
    ]
    try:
        written = write_new_files(
            args.dir, export_documents(records, header), force=args.force, mode=EXPORT_MODE
        )
    except OSError as exc:
        return _failed(str(exc))
    counts = ", ".join(f"{sum(r[0] == s.kind for r in records)} {s.key}" for s in PORTABLE)
    print(f"exported {counts} to {', '.join(str(p) for p in written)}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    try:
        drafts = read_import_directory(args.dir)
    except ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        return 1
    request = admin_pb2.ImportRecordsRequest(
        records=[
            admin_pb2.AdminRecord(kind=d.kind, key=d.key, definition=to_struct(d.definition), origin=d.origin)
            for d in drafts
        ],
        reason=args.reason or f"import from {args.dir}",
        replace=args.replace,
        dry_run=args.dry_run,
    )
    metadata = admin_metadata(args)
    if not any(name == ACTOR_HEADER for name, _ in metadata):
        metadata.append((ACTOR_HEADER, IMPORT_ACTOR))
    stub = admin_pb2_grpc.AdminServiceStub(channel(args))
    try:
        response = stub.ImportRecords(request, metadata=metadata, timeout=connection(args).timeout)
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    done = (
        f"{response.created} created, {response.replaced} replaced, {response.unchanged} unchanged"
        f" (revision {response.revision})"
    )
    if args.dry_run:
        print(f"dry run, nothing written: {len(drafts)} records of {args.dir} would give {done}")
    else:
        print(f"imported {len(drafts)} records of {args.dir}: {done}")
    return 0


def run_init(args: argparse.Namespace) -> int:
    try:
        files = template_files(args.template)
    except UnknownTemplateError as exc:
        return _failed(str(exc), code=2)
    try:
        written = write_new_files(args.dir, files, force=args.force, mode=TEMPLATE_MODE)
    except OSError as exc:
        return _failed(str(exc))
    print(f"wrote {', '.join(str(p) for p in written)}")
    print(
        f"check it with `sidecar validate {args.dir}`, serve it with `sidecar serve --config-dir {args.dir}`"
    )
    return 0
