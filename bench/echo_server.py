"""The floor: a bare grpc.aio server on uvloop answering Evaluate with a constant response."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import grpc
import uvloop

from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc

RESPONSE = evaluation_pb2.EvaluateResponse(flag_key="echo", variant="on", revision=1)


class Echo(evaluation_pb2_grpc.EvaluationServiceServicer):
    async def Evaluate(
        self, request: evaluation_pb2.EvaluateRequest, context: object
    ) -> evaluation_pb2.EvaluateResponse:
        return RESPONSE

    async def EvaluateAll(
        self, request: evaluation_pb2.EvaluateAllRequest, context: object
    ) -> evaluation_pb2.EvaluateAllResponse:
        return evaluation_pb2.EvaluateAllResponse(revision=1)


async def main(ready_file: Path, targets: list[str]) -> None:
    """Listen on ``targets`` (port 0 picks one), then report them in ``ready_file`` as the daemon does."""
    server = grpc.aio.server()
    evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server(Echo(), server)
    bound = []
    for target in targets:
        port = server.add_insecure_port(target)
        bound.append(target if target.startswith("unix:") else f"{target.rpartition(':')[0]}:{port}")
    await server.start()
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"grpc": bound}))
    tmp.replace(ready_file)
    await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(Path(sys.argv[1]), sys.argv[2:]))
