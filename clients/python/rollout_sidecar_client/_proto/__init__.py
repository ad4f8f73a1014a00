"""Generated protobuf messages for package sidecar.v1."""
