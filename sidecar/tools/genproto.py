"""Generate the committed protobuf and gRPC Python code from ``proto/``.

The daemon's modules live in ``sidecar/v1`` so their ``from sidecar.v1 import ..._pb2`` imports resolve
inside this package. The Python client ships its own copy of the message modules it needs (same proto
file names and content, so both copies can share a process's descriptor pool).
``tests/packaging/test_proto_fresh.py`` regenerates into a temporary directory and fails when either
committed copy is stale.
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


def proto_files() -> list[Path]:
    return sorted((PROTO_DIR / "sidecar" / "v1").glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Write ``sidecar/v1/*`` and the client's ``_proto/*`` below ``out_dir``."""
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
        *(str(p.relative_to(PROTO_DIR)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
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
    generate(ROOT)
    sys.stdout.write(f"generated {len(proto_files())} proto files into sidecar/v1 and the Python client\n")


if __name__ == "__main__":
    main()
