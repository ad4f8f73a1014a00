"""Generate the committed protobuf and gRPC Python code from ``proto/``.

The daemon's modules live in ``sidecar/v1`` so their ``from sidecar.v1 import ..._pb2`` imports resolve
inside this package. The Python client ships its own copy of the message modules it needs (same proto
file names and content, so both copies can share a process's descriptor pool).
``tests/packaging/test_proto_fresh.py`` regenerates into a temporary directory and fails when either
committed copy is stale.

flagd's vendored schemas (``proto/flagd/``) go to ``sidecar/protocols/flagd/pb``. Their messages are built
in the private descriptor pool of ``sidecar.protocols.flagd.pool`` rather than the default one: every
OpenFeature flagd provider ships its own copy of the same ``flagd.*`` messages, and two copies in one
default pool refuse to load side by side.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
CLIENT_PROTO_DIR = ROOT / "clients" / "python" / "rollout_sidecar_client" / "_proto"
# The client needs only the hot-path services; neither proto imports another sidecar proto.
CLIENT_MODULES = ("evaluation_pb2.py", "evaluation_pb2.pyi", "routing_pb2.py", "routing_pb2.pyi")
FLAGD_PACKAGE = "sidecar.protocols.flagd.pb"
FLAGD_DIR = ROOT / Path(*FLAGD_PACKAGE.split("."))
_DEFAULT_POOL = "_descriptor_pool.Default()"
_PRIVATE_POOL = "_flagd_pool.POOL"
_POOL_IMPORT = "from sidecar.protocols.flagd import pool as _flagd_pool\n"
_DOCSTRING = '"""Generated protocol buffer code."""\n'


def proto_files() -> list[Path]:
    return sorted((PROTO_DIR / "sidecar" / "v1").glob("*.proto"))


def flagd_proto_files() -> list[Path]:
    return sorted((PROTO_DIR / "flagd").rglob("*.proto"))


def _protoc(out_dir: Path, files: list[Path]) -> None:
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_DIR)) for p in files),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def _generate_flagd(out_dir: Path) -> None:
    """flagd's modules under ``FLAGD_DIR``, importing each other and registering in the private pool."""
    staging = out_dir / ".flagd-staging"
    staging.mkdir(parents=True, exist_ok=True)
    _protoc(staging, flagd_proto_files())
    target = out_dir / FLAGD_DIR.relative_to(ROOT)
    for source in sorted((staging / "flagd").rglob("*.py*")):
        destination = target / source.relative_to(staging / "flagd")
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text().replace("from flagd.", f"from {FLAGD_PACKAGE}.")
        if source.name.endswith("_pb2.py"):
            if _DEFAULT_POOL not in text or _DOCSTRING not in text:
                raise SystemExit(f"unexpected protoc output in {source.name}: cannot move it to its pool")
            text = text.replace(_DOCSTRING, _DOCSTRING + _POOL_IMPORT, 1).replace(
                _DEFAULT_POOL, _PRIVATE_POOL
            )
        destination.write_text(text)
    shutil.rmtree(staging)
    for directory in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        name = ".".join(directory.relative_to(out_dir).parts)
        (directory / "__init__.py").write_text(
            f'"""Generated code of package {name} (from proto/flagd)."""\n'
        )


def generate(out_dir: Path) -> None:
    """Write ``sidecar/v1/*``, the client's ``_proto/*`` and flagd's modules below ``out_dir``."""
    _protoc(out_dir, proto_files())
    _generate_flagd(out_dir)
    package_dir = out_dir / "sidecar" / "v1"
    (package_dir / "__init__.py").write_text(
        '"""Generated protobuf and gRPC code for package sidecar.v1."""\n'
    )
    client_dir = out_dir / CLIENT_PROTO_DIR.relative_to(ROOT)
    client_dir.mkdir(parents=True, exist_ok=True)
    for name in CLIENT_MODULES:
        shutil.copyfile(package_dir / name, client_dir / name)
    (client_dir / "__init__.py").write_text('"""Generated protobuf messages for package sidecar.v1."""\n')


def main() -> None:
    if FLAGD_DIR.exists():
        shutil.rmtree(FLAGD_DIR)  # a schema dropped upstream must not leave its modules behind
    generate(ROOT)
    count = len(proto_files()) + len(flagd_proto_files())
    sys.stdout.write(
        f"generated {count} proto files into sidecar/v1, {FLAGD_PACKAGE} and the Python client\n"
    )


if __name__ == "__main__":
    main()
