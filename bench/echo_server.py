"""The floor: a bare grpc.aio server on uvloop answering Evaluate with a constant response."""

from __future__ import annotations

import sys

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


async def main(targets: list[str]) -> None:
    server = grpc.aio.server()
    evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server(Echo(), server)
    for target in targets:
        server.add_insecure_port(target)
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
