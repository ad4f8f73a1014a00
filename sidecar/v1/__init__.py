"""Generated protobuf and gRPC code for package sidecar.v1."""
